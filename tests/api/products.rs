//! Publishing, updating, deprecating and retiring data products; listing
//! with filters and cursors; optimistic concurrency.

use serde_json::{json, Value};

use crate::helpers::{on_both, order_schema, TestApp, PUBLISH};

on_both!(
    publish_creates_and_updates_with_optimistic_concurrency,
    life_cycle_transitions_and_refusals,
    listing_filters_and_cursor_pagination,
    invalid_product_input_is_refused_without_side_effects,
    deprecation_names_a_visible_published_successor,
    audit_log_filters_by_kind_and_domain,
);

const PRODUCT: &str = "query($q: String) {
  dataProduct(qualifiedName: $q) {
    id qualifiedName name displayName description status version visibility compatibility
    domain { name } ownerTeam { name } tags contacts { name email role }
    topic { name partitions retentionMs cleanupPolicy }
    sla { tier availabilityPercent maxFreshnessSeconds maxLatencyMs retentionDays supportHours onCall }
    deprecation { reason sunsetDate }
    schema { version format fields { path type doc nullable } }
    schemaVersions { version }
    qualityChecks { name kind threshold }
  }
}";

async fn product(app: &TestApp, name: &str) -> Value {
    app.anon(PRODUCT, json!({ "q": name })).await["dataProduct"].clone()
}

async fn publish_creates_and_updates_with_optimistic_concurrency(app: TestApp) {
    app.orders_domain().await;
    let input = json!({
        "domain": "orders", "name": "order-events", "displayName": "Order events",
        "description": "Every **order** placed.", "tags": ["Orders", "core", "orders"],
        "contacts": [{ "name": "Alice", "email": "alice@example.com", "role": "owner" }],
        "visibility": "PUBLIC", "compatibility": "FULL",
        "topic": { "partitions": 6, "retentionMs": 86400000, "cleanupPolicy": "COMPACT" },
        "sla": { "tier": "GOLD", "availabilityPercent": 99.9, "maxFreshnessSeconds": 300,
                 "maxLatencyMs": 2000, "retentionDays": 7, "supportHours": "24x7", "onCall": "oncall@example.com" },
        "schema": { "format": "AVRO", "definition": order_schema(&[]) },
        "qualityChecks": [{ "name": "order-id-complete", "kind": "COMPLETENESS", "threshold": 0.99 }],
    });
    let created = app.ok("alice", PUBLISH, json!({ "input": input })).await["publishDataProduct"].clone();
    assert_eq!(created["qualifiedName"], "orders.order-events");
    assert_eq!(created["status"], "PUBLISHED");
    assert_eq!(created["version"], 1);
    assert_eq!(created["schema"]["version"], 1);

    let p = product(&app, "orders.order-events").await;
    assert_eq!(p["displayName"], "Order events");
    assert_eq!(p["tags"], json!(["core", "orders"]));
    assert_eq!(p["domain"]["name"], "orders");
    assert_eq!(p["ownerTeam"]["name"], "orders-team");
    assert_eq!(p["compatibility"], "FULL");
    assert_eq!(
        p["topic"],
        json!({ "name": "orders.order-events", "partitions": 6, "retentionMs": 86400000, "cleanupPolicy": "COMPACT" })
    );
    assert_eq!(p["sla"]["tier"], "GOLD");
    assert_eq!(p["sla"]["maxFreshnessSeconds"], 300);
    assert_eq!(p["contacts"][0]["email"], "alice@example.com");
    assert_eq!(
        p["schema"]["fields"][0],
        json!({ "path": "order_id", "type": "string", "doc": "Unique order id", "nullable": false })
    );
    assert_eq!(p["qualityChecks"][0]["kind"], "COMPLETENESS");
    // Lookup by id as well.
    let by_id = app
        .anon(
            "query($id: ID) { dataProduct(id: $id) { qualifiedName } }",
            json!({ "id": created["id"] }),
        )
        .await;
    assert_eq!(by_id["dataProduct"]["qualifiedName"], "orders.order-events");

    // Updating needs the current version…
    let update = json!({ "domain": "orders", "name": "order-events", "displayName": "Orders" });
    assert_eq!(
        app.error_code("alice", PUBLISH, json!({ "input": update })).await,
        "CONFLICT"
    );
    let mut stale = update.clone();
    stale["expectedVersion"] = json!(7);
    assert_eq!(
        app.error_code("alice", PUBLISH, json!({ "input": stale })).await,
        "CONFLICT"
    );
    // …and then changes only what is given.
    let mut fresh = update.clone();
    fresh["expectedVersion"] = json!(1);
    let updated = app.ok("alice", PUBLISH, json!({ "input": fresh.clone() })).await["publishDataProduct"].clone();
    assert_eq!(updated["version"], 2);
    let p = product(&app, "orders.order-events").await;
    assert_eq!(p["displayName"], "Orders");
    assert_eq!(p["description"], "Every **order** placed.");
    assert_eq!(p["sla"]["tier"], "GOLD");
    // The same expected version a second time is stale.
    assert_eq!(
        app.error_code("alice", PUBLISH, json!({ "input": fresh })).await,
        "CONFLICT"
    );

    // An evolved schema through publish registers version 2 (FULL: new field with a default).
    let evolved = json!({ "domain": "orders", "name": "order-events", "expectedVersion": 2,
        "schema": { "format": "AVRO", "definition": order_schema(&[r#"{"name": "currency", "type": "string", "default": "EUR"}"#]) } });
    let p = app.ok("alice", PUBLISH, json!({ "input": evolved })).await["publishDataProduct"].clone();
    assert_eq!(p["schema"]["version"], 2);
    assert_eq!(p["version"], 3);
    // Read back: the latest version, not the first.
    let p = product(&app, "orders.order-events").await;
    assert_eq!(p["schema"]["version"], 2);
    let paths: Vec<&str> = p["schema"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(paths.contains(&"currency"), "{paths:?}");
}

async fn life_cycle_transitions_and_refusals(app: TestApp) {
    app.orders_domain().await;
    // A draft needs no schema; publishing it does.
    let draft = json!({ "domain": "orders", "name": "drafty", "draft": true });
    let p = app.ok("alice", PUBLISH, json!({ "input": draft })).await["publishDataProduct"].clone();
    assert_eq!(p["status"], "DRAFT");
    let publish = json!({ "domain": "orders", "name": "drafty", "expectedVersion": 1 });
    assert_eq!(
        app.error_code("alice", PUBLISH, json!({ "input": publish })).await,
        "VALIDATION"
    );
    let publish = json!({ "domain": "orders", "name": "drafty", "expectedVersion": 1,
        "schema": { "format": "AVRO", "definition": order_schema(&[]) } });
    let p = app.ok("alice", PUBLISH, json!({ "input": publish })).await["publishDataProduct"].clone();
    assert_eq!(p["status"], "PUBLISHED");
    // Back to draft is refused.
    let back = json!({ "domain": "orders", "name": "drafty", "expectedVersion": 2, "draft": true });
    assert_eq!(
        app.error_code("alice", PUBLISH, json!({ "input": back })).await,
        "CONFLICT"
    );

    let retire = "mutation($p: String!) { retireDataProduct(product: $p) { status } }";
    let deprecate = "mutation($p: String!, $d: String) { deprecateDataProduct(input: {product: $p, reason: \"use v2\", sunsetDate: $d}) { status version deprecation { reason sunsetDate } } }";
    // PUBLISHED cannot be retired directly.
    assert_eq!(
        app.error_code("alice", retire, json!({ "p": "orders.drafty" })).await,
        "CONFLICT"
    );
    assert_eq!(
        app.error_code("alice", deprecate, json!({ "p": "orders.drafty", "d": "31/12/2027" }))
            .await,
        "VALIDATION"
    );
    let d = app
        .ok("alice", deprecate, json!({ "p": "orders.drafty", "d": "2027-12-31" }))
        .await["deprecateDataProduct"]
        .clone();
    assert_eq!(d["status"], "DEPRECATED");
    assert_eq!(
        d["deprecation"],
        json!({ "reason": "use v2", "sunsetDate": "2027-12-31" })
    );
    assert_eq!(
        app.error_code("alice", deprecate, json!({ "p": "orders.drafty" }))
            .await,
        "CONFLICT"
    );
    // A deprecated product can still be updated, but stays deprecated.
    let update = json!({ "domain": "orders", "name": "drafty", "expectedVersion": d["version"], "description": "old" });
    let p = app.ok("alice", PUBLISH, json!({ "input": update })).await["publishDataProduct"].clone();
    assert_eq!(p["status"], "DEPRECATED");
    let r = app.ok("alice", retire, json!({ "p": "orders.drafty" })).await;
    assert_eq!(r["retireDataProduct"]["status"], "RETIRED");
    // Retired is final.
    assert_eq!(
        app.error_code("alice", retire, json!({ "p": "orders.drafty" })).await,
        "CONFLICT"
    );
    let update = json!({ "domain": "orders", "name": "drafty", "expectedVersion": p["version"].as_i64().unwrap() + 1 });
    assert_eq!(
        app.error_code("alice", PUBLISH, json!({ "input": update })).await,
        "CONFLICT"
    );
    assert_eq!(
        app.error_code("alice", deprecate, json!({ "p": "orders.nope" })).await,
        "NOT_FOUND"
    );
    // A never-published draft can be retired.
    app.ok(
        "alice",
        PUBLISH,
        json!({ "input": { "domain": "orders", "name": "scrap", "draft": true } }),
    )
    .await;
    let r = app.ok("alice", retire, json!({ "p": "orders.scrap" })).await;
    assert_eq!(r["retireDataProduct"]["status"], "RETIRED");
}

async fn listing_filters_and_cursor_pagination(app: TestApp) {
    app.orders_domain().await;
    for i in 0..7 {
        let input = json!({ "domain": "orders", "name": format!("stream-{i}"),
            "tags": if i % 2 == 0 { json!(["even", "all"]) } else { json!(["odd", "all"]) },
            "sla": { "tier": if i < 3 { "GOLD" } else { "BRONZE" } },
            "schema": { "format": "AVRO", "definition": order_schema(&[]) }, "draft": i == 6 });
        app.ok("alice", PUBLISH, json!({ "input": input })).await;
    }
    let list = "query($f: DataProductFilter, $first: Int, $after: String) {
      dataProducts(filter: $f, first: $first, after: $after) {
        totalCount pageInfo { hasNextPage hasPreviousPage endCursor } edges { cursor node { qualifiedName } }
      } }";
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let page = app.anon(list, json!({ "first": 3, "after": after })).await["dataProducts"].clone();
        assert_eq!(page["totalCount"], 7);
        for e in page["edges"].as_array().unwrap() {
            seen.push(e["node"]["qualifiedName"].as_str().unwrap().to_owned());
        }
        if !page["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    let expected: Vec<String> = (0..7).map(|i| format!("orders.stream-{i}")).collect();
    assert_eq!(seen, expected);

    let names = |v: &Value| -> Vec<String> {
        v["dataProducts"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["qualifiedName"].as_str().unwrap().to_owned())
            .collect()
    };
    let even = app.anon(list, json!({ "f": { "tags": ["even", "all"] } })).await;
    assert_eq!(
        names(&even),
        [
            "orders.stream-0",
            "orders.stream-2",
            "orders.stream-4",
            "orders.stream-6"
        ]
    );
    let gold = app
        .anon(list, json!({ "f": { "tiers": ["GOLD"], "statuses": ["PUBLISHED"] } }))
        .await;
    assert_eq!(names(&gold), ["orders.stream-0", "orders.stream-1", "orders.stream-2"]);
    let drafts = app
        .anon(
            list,
            json!({ "f": { "statuses": ["DRAFT"], "domain": "orders", "ownerTeam": "orders-team" } }),
        )
        .await;
    assert_eq!(names(&drafts), ["orders.stream-6"]);

    let body = app.post(None, list, json!({ "after": "garbage!" })).await;
    assert_eq!(crate::helpers::code_of(&body), "VALIDATION");
    let body = app.post(None, list, json!({ "first": 1000 })).await;
    assert_eq!(crate::helpers::code_of(&body), "VALIDATION");
}

async fn invalid_product_input_is_refused_without_side_effects(app: TestApp) {
    app.orders_domain().await;
    let base = json!({ "domain": "orders", "name": "good-name", "schema": { "format": "AVRO", "definition": order_schema(&[]) } });
    let cases: Vec<(Value, &str)> = vec![
        (json!({ "name": "Bad_Name" }), "VALIDATION"),
        (json!({ "domain": "ghost" }), "NOT_FOUND"),
        (json!({ "ownerTeam": "ghost-team" }), "NOT_FOUND"),
        (json!({ "tags": ["not a tag"] }), "VALIDATION"),
        (json!({ "contacts": [{ "name": "x", "email": "nope" }] }), "VALIDATION"),
        (json!({ "topic": { "name": "bad topic!" } }), "VALIDATION"),
        (json!({ "topic": { "partitions": 0 } }), "VALIDATION"),
        (json!({ "topic": { "retentionMs": 5 } }), "VALIDATION"),
        (
            json!({ "sla": { "tier": "GOLD", "availabilityPercent": 120.0 } }),
            "VALIDATION",
        ),
        (
            json!({ "sla": { "tier": "GOLD", "maxFreshnessSeconds": -1 } }),
            "VALIDATION",
        ),
        (
            json!({ "schema": { "format": "AVRO", "definition": "{ not json" } }),
            "VALIDATION",
        ),
        (
            json!({ "schema": { "format": "JSON_SCHEMA", "definition": "{\"type\": 12}" } }),
            "VALIDATION",
        ),
        (
            json!({ "qualityChecks": [{ "name": "Bad Check", "kind": "CUSTOM" }] }),
            "VALIDATION",
        ),
        (json!({ "expectedVersion": 4 }), "CONFLICT"),
    ];
    for (patch, code) in cases {
        let mut input = base.clone();
        for (k, v) in patch.as_object().unwrap() {
            input[k] = v.clone();
        }
        assert_eq!(
            app.error_code("alice", PUBLISH, json!({ "input": input })).await,
            code,
            "{patch}"
        );
    }
    // None of the refused attempts left a product, tag or audit entry behind.
    let data = app
        .ok(
            "alice",
            "{ dataProducts { totalCount } auditLog(filter: {entityKind: PRODUCT}) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(data["dataProducts"]["totalCount"], 0);
    assert_eq!(data["auditLog"]["edges"], json!([]));

    // Two products cannot share a topic.
    app.publish("first", &order_schema(&[])).await;
    let clash =
        json!({ "domain": "orders", "name": "second", "topic": { "name": "orders.first" }, "schema": base["schema"] });
    assert_eq!(
        app.error_code("alice", PUBLISH, json!({ "input": clash })).await,
        "CONFLICT"
    );
    // Partitions never decrease.
    let shrink = json!({ "domain": "orders", "name": "first", "expectedVersion": 1, "topic": { "partitions": 1 } });
    assert_eq!(
        app.error_code("alice", PUBLISH, json!({ "input": shrink })).await,
        "VALIDATION"
    );
    let p = product(&app, "orders.first").await;
    assert_eq!(p["version"], 1);
    assert_eq!(p["topic"]["partitions"], 3);
}

/// A deprecation may name its successor: a PUBLISHED product the owner can
/// see, never the product itself; a product hidden from the owner is
/// refused exactly like a missing one, and a reader who cannot see the
/// successor gets null.
async fn deprecation_names_a_visible_published_successor(app: TestApp) {
    app.orders_domain().await;
    for name in ["events-v1", "events-v2", "draft-v3", "old-a", "old-b"] {
        app.publish(name, &order_schema(&[])).await;
    }
    // A private product of another domain, hidden from alice.
    app.ok(
        "admin",
        "mutation { createTeam(input: {name: \"vault-team\", members: [\"victor\"]}) { id } }",
        json!({}),
    )
    .await;
    app.ok(
        "admin",
        "mutation { createDomain(input: {name: \"vault\", description: \"Vault\", ownerTeam: \"vault-team\"}) { id } }",
        json!({}),
    )
    .await;
    app.ok(
        "victor",
        PUBLISH,
        json!({ "input": {
            "domain": "vault", "name": "secret", "description": "hidden", "visibility": "PRIVATE",
            "schema": { "format": "AVRO", "definition": order_schema(&[]) },
        }}),
    )
    .await;
    let deprecate = "mutation($p: String!, $s: String) { deprecateDataProduct(input: {product: $p, reason: \"moved\", successor: $s}) { status deprecation { reason successor { qualifiedName status } } } }";
    // Refusals change nothing.
    assert_eq!(
        app.error_code(
            "alice",
            deprecate,
            json!({ "p": "orders.events-v1", "s": "orders.events-v1" })
        )
        .await,
        "VALIDATION"
    );
    assert_eq!(
        app.error_code(
            "alice",
            deprecate,
            json!({ "p": "orders.events-v1", "s": "orders.nope" })
        )
        .await,
        "NOT_FOUND"
    );
    let message = |v: Value| v["errors"][0]["message"].as_str().unwrap().to_owned();
    let hidden = app
        .post(
            Some(&app.token("alice")),
            deprecate,
            json!({ "p": "orders.events-v1", "s": "vault.secret" }),
        )
        .await;
    let missing = app
        .post(
            Some(&app.token("alice")),
            deprecate,
            json!({ "p": "orders.events-v1", "s": "vault.nope" }),
        )
        .await;
    assert_eq!(hidden["errors"][0]["extensions"]["code"], "NOT_FOUND", "{hidden}");
    assert!(message(missing.clone()).starts_with("successor: "), "{missing}");
    assert_eq!(
        message(hidden).replace("vault.secret", "X"),
        message(missing).replace("vault.nope", "X"),
        "a hidden successor is refused exactly like a missing one"
    );
    // Only a PUBLISHED successor: deprecate old-a first, then point at it.
    app.ok("alice", deprecate, json!({ "p": "orders.old-a", "s": null }))
        .await;
    assert_eq!(
        app.error_code("alice", deprecate, json!({ "p": "orders.old-b", "s": "orders.old-a" }))
            .await,
        "VALIDATION"
    );
    let status = app
        .ok(
            "alice",
            "{ dataProduct(qualifiedName: \"orders.events-v1\") { status } }",
            json!({}),
        )
        .await;
    assert_eq!(
        status["dataProduct"]["status"], "PUBLISHED",
        "refusals left it as it was"
    );

    let done = app
        .ok(
            "alice",
            deprecate,
            json!({ "p": "orders.events-v1", "s": "orders.events-v2" }),
        )
        .await;
    let deprecation = &done["deprecateDataProduct"]["deprecation"];
    assert_eq!(deprecation["successor"]["qualifiedName"], "orders.events-v2", "{done}");
    assert_eq!(deprecation["successor"]["status"], "PUBLISHED");
    let log = app
        .ok(
            "admin",
            "{ auditLog(first: 1, filter: {actions: [PRODUCT_DEPRECATED]}) { edges { node { summary } } } }",
            json!({}),
        )
        .await;
    assert!(
        log["auditLog"]["edges"][0]["node"]["summary"]
            .as_str()
            .unwrap()
            .contains("successor orders.events-v2"),
        "{log}"
    );

    // A successor the reader cannot see reads as null: alice names a
    // PRIVATE product of her domain as the successor of a PUBLIC one.
    app.ok(
        "alice",
        PUBLISH,
        json!({ "input": {
            "domain": "orders", "name": "inner-v2", "description": "private", "visibility": "PRIVATE",
            "schema": { "format": "AVRO", "definition": order_schema(&[]) },
        }}),
    )
    .await;
    app.ok(
        "alice",
        deprecate,
        json!({ "p": "orders.old-b", "s": "orders.inner-v2" }),
    )
    .await;
    let read = "{ dataProduct(qualifiedName: \"orders.old-b\") { status deprecation { reason successor { qualifiedName } } } }";
    let alice = app.ok("alice", read, json!({})).await;
    assert_eq!(
        alice["dataProduct"]["deprecation"]["successor"]["qualifiedName"],
        "orders.inner-v2"
    );
    let stranger = app.ok("stranger", read, json!({})).await;
    assert_eq!(stranger["dataProduct"]["status"], "DEPRECATED", "{stranger}");
    assert!(
        stranger["dataProduct"]["deprecation"]["successor"].is_null(),
        "{stranger}"
    );
}

/// `auditLog(filter: {actions, domain})`: only those kinds of change, only
/// entries about the domain, its products and their subscriptions.
async fn audit_log_filters_by_kind_and_domain(app: TestApp) {
    app.orders_domain().await;
    app.publish("events", &order_schema(&[])).await;
    app.ok(
        "admin",
        "mutation { createTeam(input: {name: \"pay-team\", members: [\"pat\"]}) { id } }",
        json!({}),
    )
    .await;
    app.ok(
        "admin",
        "mutation { createDomain(input: {name: \"payments\", description: \"Payments\", ownerTeam: \"pay-team\"}) { id } }",
        json!({}),
    )
    .await;
    app.ok(
        "pat",
        PUBLISH,
        json!({ "input": {
            "domain": "payments", "name": "ledger", "description": "ledger",
            "schema": { "format": "AVRO", "definition": order_schema(&[]) },
        }}),
    )
    .await;
    app.application("fraud").await;
    app.ok(
        "bob",
        "mutation { requestAccess(input: {application: \"fraud\", product: \"payments.ledger\", purpose: \"scoring\"}) { id } }",
        json!({}),
    )
    .await;
    let log = "query($f: AuditFilter) { auditLog(first: 100, filter: $f) { edges { node { action entityKind entityName } } } }";
    let entries = |v: &Value| -> Vec<(String, String, String)> {
        v["auditLog"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let n = &e["node"];
                (
                    n["action"].as_str().unwrap().to_owned(),
                    n["entityKind"].as_str().unwrap().to_owned(),
                    n["entityName"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let payments = entries(&app.ok("admin", log, json!({ "f": { "domain": "payments" } })).await);
    let kinds: Vec<&str> = payments.iter().map(|(a, _, _)| a.as_str()).collect();
    assert!(kinds.contains(&"DOMAIN_CREATED"), "{payments:?}");
    assert!(kinds.contains(&"PRODUCT_PUBLISHED"), "{payments:?}");
    assert!(kinds.contains(&"ACCESS_REQUESTED"), "{payments:?}");
    assert!(
        payments.iter().all(|(_, _, name)| !name.starts_with("orders")),
        "nothing about orders: {payments:?}"
    );
    let published = entries(
        &app.ok(
            "admin",
            log,
            json!({ "f": { "actions": ["PRODUCT_PUBLISHED", "DOMAIN_CREATED"] } }),
        )
        .await,
    );
    assert_eq!(published.len(), 4, "{published:?}");
    assert!(published
        .iter()
        .all(|(a, _, _)| a == "PRODUCT_PUBLISHED" || a == "DOMAIN_CREATED"));
    let both = entries(
        &app.ok(
            "admin",
            log,
            json!({ "f": { "actions": ["PRODUCT_PUBLISHED"], "domain": "orders" } }),
        )
        .await,
    );
    assert_eq!(both.len(), 1, "{both:?}");
    assert_eq!(both[0].2, "orders.events");
    assert_eq!(
        app.error_code("admin", log, json!({ "f": { "domain": "nowhere" } }))
            .await,
        "NOT_FOUND"
    );
}

/// The topic-clash check of every publish reads one index entry, not the
/// whole product table (a full scan per publish slowed publishing as the
/// catalog grew).
#[tokio::test]
async fn the_topic_clash_check_uses_an_index() {
    let app = crate::helpers::spawn_app(crate::helpers::Backend::Sqlite).await;
    let detail = crate::helpers::sqlite_plan(
        &app.database_url,
        "SELECT id FROM data_product WHERE topic_name = 'orders.x' AND id <> 'y'",
    )
    .await;
    assert!(
        detail.iter().any(|d| d.contains("idx_data_product_topic_name")),
        "{detail:?}"
    );
}
