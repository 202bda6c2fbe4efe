//! Quality results and score; the audit log.

use serde_json::json;

use crate::helpers::{code_of, on_both, order_schema, TestApp, PUBLISH};

on_both!(quality_results_drive_the_score, audit_log_records_every_change);

const RECORD: &str = "mutation($c: String!, $s: QualityStatus!, $v: Float, $at: DateTime) {
  recordQualityResult(input: {product: \"orders.order-events\", check: $c, status: $s, observedValue: $v, observedAt: $at}) { status observedValue observedAt }
}";

async fn quality_results_drive_the_score(app: TestApp) {
    app.orders_domain().await;
    let input = json!({ "domain": "orders", "name": "order-events",
        "schema": { "format": "AVRO", "definition": order_schema(&[]) },
        "qualityChecks": [
            { "name": "completeness", "kind": "COMPLETENESS", "description": "order_id present", "threshold": 0.99 },
            { "name": "freshness", "kind": "FRESHNESS", "threshold": 300.0 },
        ] });
    app.ok("alice", PUBLISH, json!({ "input": input })).await;
    let score = "{ dataProduct(qualifiedName: \"orders.order-events\") { qualityScore qualityChecks { name latestResult { status } results(limit: 5) { status } } } }";
    assert!(app.anon(score, json!({})).await["dataProduct"]["qualityScore"].is_null());

    app.ok(
        "alice",
        RECORD,
        json!({ "c": "completeness", "s": "FAIL", "v": 0.5, "at": "2026-01-01T00:00:00Z" }),
    )
    .await;
    app.ok("alice", RECORD, json!({ "c": "completeness", "s": "PASS", "v": 0.999 }))
        .await;
    app.ok("alice", RECORD, json!({ "c": "freshness", "s": "WARN", "v": 400.0 }))
        .await;
    let p = app.anon(score, json!({})).await["dataProduct"].clone();
    // Latest: PASS (1) and WARN (½) → 75.
    assert_eq!(p["qualityScore"], 75.0);
    assert_eq!(p["qualityChecks"][0]["name"], "completeness");
    assert_eq!(p["qualityChecks"][0]["latestResult"]["status"], "PASS");
    assert_eq!(
        p["qualityChecks"][0]["results"],
        json!([{ "status": "PASS" }, { "status": "FAIL" }])
    );
    // A result recorded late but observed earlier is not the latest: the
    // observation time orders them, not the order they were recorded in.
    app.ok(
        "alice",
        RECORD,
        json!({ "c": "completeness", "s": "WARN", "at": "2026-01-02T00:00:00Z" }),
    )
    .await;
    let p = app.anon(score, json!({})).await["dataProduct"].clone();
    assert_eq!(p["qualityScore"], 75.0);
    assert_eq!(p["qualityChecks"][0]["latestResult"]["status"], "PASS");
    assert_eq!(
        p["qualityChecks"][0]["results"],
        json!([{ "status": "PASS" }, { "status": "WARN" }, { "status": "FAIL" }])
    );
    assert_eq!(p["qualityChecks"][1]["results"], json!([{ "status": "WARN" }]));
    // Pages of one check with different limits, in one request.
    let pages = "{ dataProduct(qualifiedName: \"orders.order-events\") { qualityChecks { one: results(limit: 1) { status } two: results(limit: 2) { status } } } }";
    let p = app.anon(pages, json!({})).await["dataProduct"].clone();
    assert_eq!(
        p["qualityChecks"][0],
        json!({ "one": [{ "status": "PASS" }], "two": [{ "status": "PASS" }, { "status": "WARN" }] })
    );
    assert_eq!(p["qualityChecks"][1]["two"], json!([{ "status": "WARN" }]));
    // A page holds 1 to 1000 results.
    let page = "query($n: Int!) { dataProduct(qualifiedName: \"orders.order-events\") { qualityChecks { results(limit: $n) { status } } } }";
    for n in [0, -1, 1001] {
        assert_eq!(
            app.error_code("alice", page, json!({ "n": n })).await,
            "VALIDATION",
            "limit {n}"
        );
    }
    let p = app.anon(page, json!({ "n": 1000 })).await["dataProduct"].clone();
    assert_eq!(p["qualityChecks"][0]["results"].as_array().map(Vec::len), Some(3));

    assert_eq!(
        app.error_code("alice", RECORD, json!({ "c": "ghost", "s": "PASS" }))
            .await,
        "NOT_FOUND"
    );
    assert_eq!(
        app.error_code(
            "alice",
            RECORD,
            json!({ "c": "completeness", "s": "PASS", "at": "2999-01-01T00:00:00Z" })
        )
        .await,
        "VALIDATION"
    );
    let body = app
        .post(None, RECORD, json!({ "c": "completeness", "s": "PASS" }))
        .await;
    assert_eq!(code_of(&body), "UNAUTHENTICATED");
}

async fn audit_log_records_every_change(app: TestApp) {
    app.orders_domain().await;
    app.publish("order-events", &order_schema(&[])).await;
    app.application("fraud-detection").await;
    let audit =
        "query($f: AuditFilter, $first: Int, $after: String) { auditLog(filter: $f, first: $first, after: $after) {
        pageInfo { hasNextPage endCursor } edges { node { actor action entityKind entityName summary at } } } }";
    let all = app.ok("carol", audit, json!({})).await["auditLog"].clone();
    let actions: Vec<&str> = all["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "APPLICATION_CREATED",
            "TEAM_CREATED",
            "PRODUCT_PUBLISHED",
            "DOMAIN_CREATED",
            "TEAM_CREATED"
        ]
    );
    assert_eq!(all["edges"][2]["node"]["actor"], "alice");
    assert_eq!(all["edges"][2]["node"]["entityName"], "orders.order-events");

    let bob = app.ok("carol", audit, json!({ "f": { "actor": "bob" } })).await["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(bob, 1, "bob created the application; the admin its team");
    let products = app
        .ok("carol", audit, json!({ "f": { "entityKind": "PRODUCT" } }))
        .await;
    assert_eq!(products["auditLog"]["edges"].as_array().unwrap().len(), 1);
    let future = app
        .ok("carol", audit, json!({ "f": { "since": "2999-01-01T00:00:00Z" } }))
        .await;
    assert_eq!(future["auditLog"]["edges"], json!([]));

    // Cursor pagination walks every entry once.
    let first = app.ok("carol", audit, json!({ "first": 3 })).await["auditLog"].clone();
    assert_eq!(first["pageInfo"]["hasNextPage"], true);
    let rest = app
        .ok(
            "carol",
            audit,
            json!({ "first": 3, "after": first["pageInfo"]["endCursor"] }),
        )
        .await["auditLog"]
        .clone();
    assert_eq!(rest["pageInfo"]["hasNextPage"], false);
    assert_eq!(rest["edges"].as_array().unwrap().len(), 2);

    // Reading the audit log needs a token.
    assert_eq!(code_of(&app.post(None, audit, json!({})).await), "UNAUTHENTICATED");
}
