//! Schema evolution through the API: every compatibility mode on both
//! formats, dry runs, diffs and the INCOMPATIBLE_SCHEMA error.

use serde_json::{json, Value};

use crate::helpers::{code_of, on_both, order_schema, TestApp, PUBLISH};

on_both!(
    compatibility_modes_accept_and_reject_as_confluent_does,
    transitive_modes_check_every_version,
    dry_run_diff_and_error_details
);

const REGISTER: &str = "mutation($p: String!, $f: SchemaFormat!, $d: String!) {
  registerSchemaVersion(input: {product: $p, schema: {format: $f, definition: $d}}) { version fields { path } }
}";

fn json_schema(properties: Value, required: &[&str], closed: bool) -> String {
    let mut schema = json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object", "properties": properties, "required": required,
    });
    if closed {
        schema["additionalProperties"] = json!(false);
    }
    schema.to_string()
}

fn json_v1(closed: bool) -> String {
    json_schema(
        json!({ "order_id": { "type": "string" }, "amount": { "type": "integer" } }),
        &["order_id"],
        closed,
    )
}

/// (name, format, v1, v2, modes that accept v2, modes that refuse it)
type Case = (
    &'static str,
    &'static str,
    String,
    String,
    Vec<&'static str>,
    Vec<&'static str>,
);

fn cases() -> Vec<Case> {
    let avro_v1 = order_schema(&[]);
    let renamed = r#"{"type": "record", "name": "Order", "namespace": "com.example", "fields": [
        {"name": "id", "type": "string", "aliases": ["order_id"]}, {"name": "amount", "type": "long"}]}"#
        .to_owned();
    let renamed_no_alias = r#"{"type": "record", "name": "Order", "namespace": "com.example", "fields": [
        {"name": "id", "type": "string"}, {"name": "amount", "type": "long"}]}"#
        .to_owned();
    let removed = r#"{"type": "record", "name": "Order", "namespace": "com.example", "fields": [
        {"name": "order_id", "type": "string"}]}"#
        .to_owned();
    let retyped = r#"{"type": "record", "name": "Order", "namespace": "com.example", "fields": [
        {"name": "order_id", "type": "string"}, {"name": "amount", "type": "string"}]}"#
        .to_owned();
    let int_qty = order_schema(&[r#"{"name": "qty", "type": "int", "default": 0}"#]);
    let long_qty = order_schema(&[r#"{"name": "qty", "type": "long", "default": 0}"#]);
    let closed = |p: Value, r: &[&str]| json_schema(p, r, true);
    vec![
        (
            "avro add field without default",
            "AVRO",
            avro_v1.clone(),
            order_schema(&[r#"{"name": "note", "type": "string"}"#]),
            vec!["FORWARD", "NONE"],
            vec!["BACKWARD", "FULL"],
        ),
        (
            "avro add field with default",
            "AVRO",
            avro_v1.clone(),
            order_schema(&[r#"{"name": "note", "type": "string", "default": ""}"#]),
            vec!["BACKWARD", "FORWARD", "FULL", "NONE"],
            vec![],
        ),
        (
            "avro remove field without default",
            "AVRO",
            avro_v1.clone(),
            removed,
            vec!["BACKWARD", "NONE"],
            vec!["FORWARD", "FULL"],
        ),
        (
            "avro change type",
            "AVRO",
            avro_v1.clone(),
            retyped,
            vec!["NONE"],
            vec!["BACKWARD", "FORWARD", "FULL"],
        ),
        (
            "avro promote int to long",
            "AVRO",
            int_qty,
            long_qty,
            vec!["BACKWARD", "NONE"],
            vec!["FORWARD", "FULL"],
        ),
        (
            "avro rename via alias",
            "AVRO",
            avro_v1.clone(),
            renamed,
            vec!["BACKWARD", "NONE"],
            vec!["FORWARD", "FULL"],
        ),
        (
            "avro rename without alias",
            "AVRO",
            avro_v1,
            renamed_no_alias,
            vec!["NONE"],
            vec!["BACKWARD", "FULL"],
        ),
        (
            "json add optional property to closed model",
            "JSON_SCHEMA",
            json_v1(true),
            closed(
                json!({ "order_id": { "type": "string" }, "amount": { "type": "integer" }, "note": { "type": "string" } }),
                &["order_id"],
            ),
            vec!["BACKWARD", "NONE"],
            vec!["FORWARD", "FULL"],
        ),
        (
            "json add required property",
            "JSON_SCHEMA",
            json_v1(true),
            closed(
                json!({ "order_id": { "type": "string" }, "amount": { "type": "integer" }, "note": { "type": "string" } }),
                &["order_id", "note"],
            ),
            vec!["NONE"],
            vec!["BACKWARD", "FULL"],
        ),
        (
            "json remove property from closed model",
            "JSON_SCHEMA",
            json_v1(true),
            closed(json!({ "order_id": { "type": "string" } }), &["order_id"]),
            vec!["FORWARD", "NONE"],
            vec!["BACKWARD", "FULL"],
        ),
        (
            "json change type",
            "JSON_SCHEMA",
            json_v1(true),
            closed(
                json!({ "order_id": { "type": "string" }, "amount": { "type": "string" } }),
                &["order_id"],
            ),
            vec!["NONE"],
            vec!["BACKWARD", "FORWARD", "FULL"],
        ),
        (
            "json widen integer to number",
            "JSON_SCHEMA",
            json_v1(true),
            closed(
                json!({ "order_id": { "type": "string" }, "amount": { "type": "number" } }),
                &["order_id"],
            ),
            vec!["BACKWARD", "NONE"],
            vec!["FORWARD", "FULL"],
        ),
        (
            "json add property to open model",
            "JSON_SCHEMA",
            json_v1(false),
            json_schema(
                json!({ "order_id": { "type": "string" }, "amount": { "type": "integer" }, "note": { "type": "string" } }),
                &["order_id"],
                false,
            ),
            vec!["NONE"],
            vec!["BACKWARD"],
        ),
    ]
}

async fn compatibility_modes_accept_and_reject_as_confluent_does(app: TestApp) {
    app.orders_domain().await;
    let mut n = 0;
    for (case, format, v1, v2, accept, refuse) in cases() {
        for (mode, accepted) in accept
            .iter()
            .map(|m| (m, true))
            .chain(refuse.iter().map(|m| (m, false)))
        {
            n += 1;
            let name = format!("p{n}");
            let input = json!({ "domain": "orders", "name": name, "compatibility": mode,
                "schema": { "format": format, "definition": v1 } });
            app.ok("alice", PUBLISH, json!({ "input": input })).await;
            let vars = json!({ "p": format!("orders.{name}"), "f": format, "d": v2 });
            let body = app.post(Some(&app.token("alice")), REGISTER, vars).await;
            if accepted {
                assert!(
                    body.get("errors").is_none(),
                    "{case} under {mode} should be accepted: {body:#}"
                );
                assert_eq!(
                    body["data"]["registerSchemaVersion"]["version"], 2,
                    "{case} under {mode}"
                );
            } else {
                assert_eq!(
                    code_of(&body),
                    "INCOMPATIBLE_SCHEMA",
                    "{case} under {mode} should be refused: {body:#}"
                );
            }
        }
    }
}

async fn transitive_modes_check_every_version(app: TestApp) {
    app.orders_domain().await;
    let v2 = r#"{"type": "record", "name": "Order", "namespace": "com.example", "fields": [{"name": "order_id", "type": "string"}]}"#;
    let v3 = order_schema(&[]).replace(
        r#"{"name": "amount", "type": "long"}"#,
        r#"{"name": "amount", "type": "string", "default": "0"}"#,
    );
    for (mode, v3_accepted) in [("BACKWARD", true), ("BACKWARD_TRANSITIVE", false)] {
        let name = format!("t-{}", mode.to_lowercase().replace('_', "-"));
        let input = json!({ "domain": "orders", "name": name, "compatibility": mode, "schema": { "format": "AVRO", "definition": order_schema(&[]) } });
        app.ok("alice", PUBLISH, json!({ "input": input })).await;
        let product = format!("orders.{name}");
        app.ok("alice", REGISTER, json!({ "p": product, "f": "AVRO", "d": v2 }))
            .await;
        let body = app
            .post(
                Some(&app.token("alice")),
                REGISTER,
                json!({ "p": product, "f": "AVRO", "d": v3 }),
            )
            .await;
        if v3_accepted {
            assert!(body.get("errors").is_none(), "{mode}: {body:#}");
        } else {
            assert_eq!(code_of(&body), "INCOMPATIBLE_SCHEMA", "{mode}");
            assert_eq!(
                body["errors"][0]["extensions"]["incompatibilities"][0]["againstVersion"], 1,
                "{body:#}"
            );
        }
    }
}

async fn dry_run_diff_and_error_details(app: TestApp) {
    app.orders_domain().await;
    app.publish("order-events", &order_schema(&[])).await;
    let check = "query($d: String!) { checkSchemaCompatibility(product: \"orders.order-events\", schema: {format: AVRO, definition: $d}) {
        compatible mode incompatibilities { path message againstVersion } } }";
    let bad = order_schema(&[r#"{"name": "customer_email", "type": "string", "tags": ["PII"]}"#]);
    let report = app.anon(check, json!({ "d": bad })).await["checkSchemaCompatibility"].clone();
    assert_eq!(report["compatible"], false);
    assert_eq!(report["mode"], "BACKWARD");
    assert!(
        report["incompatibilities"][0]["message"]
            .as_str()
            .unwrap()
            .contains("customer_email"),
        "{report:#}"
    );
    let good = order_schema(&[
        r#"{"name": "customer_email", "type": ["null", "string"], "default": null, "doc": "Buyer email", "tags": ["PII"]}"#,
    ]);
    let report = app.anon(check, json!({ "d": good })).await["checkSchemaCompatibility"].clone();
    assert_eq!(
        report,
        json!({ "compatible": true, "mode": "BACKWARD", "incompatibilities": [] })
    );

    // The real registration of the bad schema carries the details in extensions.
    let body = app
        .post(
            Some(&app.token("alice")),
            REGISTER,
            json!({ "p": "orders.order-events", "f": "AVRO", "d": bad }),
        )
        .await;
    assert_eq!(code_of(&body), "INCOMPATIBLE_SCHEMA");
    assert!(body["errors"][0]["extensions"]["incompatibilities"]
        .as_array()
        .is_some_and(|l| !l.is_empty()));

    let v2 = app
        .ok(
            "alice",
            REGISTER,
            json!({ "p": "orders.order-events", "f": "AVRO", "d": good }),
        )
        .await;
    assert_eq!(v2["registerSchemaVersion"]["version"], 2);
    // Registering the latest schema again is a no-op.
    let again = app
        .ok(
            "alice",
            REGISTER,
            json!({ "p": "orders.order-events", "f": "AVRO", "d": good }),
        )
        .await;
    assert_eq!(again["registerSchemaVersion"]["version"], 2);

    let diff = app
        .anon(
            "{ schemaDiff(product: \"orders.order-events\", from: 1, to: 2) { from { version } to { version }
            changes { path kind before { type } after { type nullable doc tags } details } } }",
            json!({}),
        )
        .await["schemaDiff"]
        .clone();
    assert_eq!(diff["from"]["version"], 1);
    assert_eq!(diff["to"]["version"], 2);
    assert_eq!(diff["changes"].as_array().unwrap().len(), 1, "{diff:#}");
    assert_eq!(diff["changes"][0]["path"], "customer_email");
    assert_eq!(diff["changes"][0]["kind"], "ADDED");
    assert_eq!(diff["changes"][0]["after"]["nullable"], true);
    assert_eq!(diff["changes"][0]["after"]["tags"], json!(["PII"]));
    let fields = app.anon("{ dataProduct(qualifiedName: \"orders.order-events\") { schemaVersions { version } schema { fields { path tags } } } }", json!({})).await;
    assert_eq!(
        fields["dataProduct"]["schemaVersions"],
        json!([{ "version": 1 }, { "version": 2 }])
    );
    assert_eq!(
        fields["dataProduct"]["schema"]["fields"][2],
        json!({ "path": "customer_email", "tags": ["PII"] })
    );

    for (query, code) in [
        ("{ schemaDiff(product: \"orders.order-events\", from: 1, to: 9) { from { version } } }", "NOT_FOUND"),
        ("{ schemaDiff(product: \"orders.ghost\") { from { version } } }", "NOT_FOUND"),
        ("{ checkSchemaCompatibility(product: \"orders.order-events\", schema: {format: AVRO, definition: \"{\\\"type\\\": \\\"nope\\\"}\"}) { compatible } }", "VALIDATION"),
    ] {
        assert_eq!(code_of(&app.post(None, query, json!({})).await), code, "{query}");
    }
    // A format change is refused under BACKWARD.
    let json_def = json_v1(true);
    let body = app
        .post(
            Some(&app.token("alice")),
            REGISTER,
            json!({ "p": "orders.order-events", "f": "JSON_SCHEMA", "d": json_def }),
        )
        .await;
    assert_eq!(code_of(&body), "INCOMPATIBLE_SCHEMA");
}
