//! Applications' use cases (lineage through the application and access
//! requests, in one transaction) and products' quality classes (on the
//! product, in filters, in search filters and facets).

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::{on_both, spawn_with, Backend, TestApp, ADMIN, PUBLISH};

on_both!(
    registering_a_use_case_records_lineage_and_requests_access,
    use_case_refusals_write_nothing,
    removing_a_use_case_keeps_what_others_need,
    a_use_case_touching_a_private_product_is_hidden_with_it,
    quality_classes_are_shown_filtered_and_faceted
);

const REGISTER: &str = "mutation($input: RegisterUseCaseInput!) {
  registerUseCase(input: $input) {
    useCase { id name kind description transformation application { name }
      inputs { qualifiedName } outputs { qualifiedName } createdBy }
    lineageEdges { kind from { ... on DataProduct { qualifiedName } ... on Application { name } }
      to { ... on DataProduct { qualifiedName } ... on Application { name } } }
    accessRequests { id status purpose product { qualifiedName } application { name } }
  }
}";

const LINEAGE: &str = "query($p: String!) {
  lineage(of: {product: $p}, direction: DOWNSTREAM, depth: 10) { nodes { name depth } edges { kind } }
}";

const JSON_SCHEMA: &str = r#"{"type":"object","properties":{"id":{"type":"string"}},"required":["id"]}"#;

/// `orders.<name>`, published by alice (orders-team).
async fn product(app: &TestApp, name: &str, extra: Value) -> Value {
    let mut input = json!({
        "domain": "orders", "name": name, "description": format!("The {name} stream"), "tags": [],
        "schema": { "format": "JSON_SCHEMA", "definition": JSON_SCHEMA },
    });
    for (k, v) in extra.as_object().unwrap() {
        input[k] = v.clone();
    }
    app.ok("alice", PUBLISH, json!({ "input": input })).await["publishDataProduct"].clone()
}

/// page-views, users → enriched, and filtered; application `enricher`
/// (bob's team).
async fn pipeline(app: &TestApp) {
    app.orders_domain().await;
    for name in ["page-views", "users", "enriched", "filtered"] {
        product(app, name, json!({})).await;
    }
    app.application("enricher").await;
}

fn enrich(name: &str) -> Value {
    json!({ "input": {
        "application": "enricher", "name": name, "kind": "ENRICH",
        "description": "Joins page views with users",
        "inputs": ["orders.page-views", "orders.users"], "outputs": ["orders.enriched"],
        "transformation": "SELECT * FROM page_views pv LEFT JOIN users u ON pv.user_id = u.id EMIT CHANGES",
    }})
}

fn filter() -> Value {
    json!({ "input": {
        "application": "enricher", "name": "drop-bots", "kind": "FILTER",
        "description": "Keeps humans",
        "inputs": ["orders.enriched"], "outputs": ["orders.filtered"],
        "transformation": "SELECT * FROM enriched WHERE is_bot = false",
    }})
}

fn node_names(graph: &Value) -> Vec<(String, i64)> {
    let mut nodes: Vec<(String, i64)> = graph["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["name"].as_str().unwrap().to_owned(), n["depth"].as_i64().unwrap()))
        .collect();
    nodes.sort();
    nodes
}

fn edge_summary(edges: &Value) -> Vec<String> {
    let name = |end: &Value| {
        end["qualifiedName"]
            .as_str()
            .or(end["name"].as_str())
            .unwrap()
            .to_owned()
    };
    let mut out: Vec<String> = edges
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{} {} {}",
                name(&e["from"]),
                e["kind"].as_str().unwrap(),
                name(&e["to"])
            )
        })
        .collect();
    out.sort();
    out
}

async fn subscriptions(app: &TestApp) -> Vec<(String, String)> {
    let data = app
        .ok(
            ADMIN,
            "{ subscriptions { status product { qualifiedName } } }",
            json!({}),
        )
        .await;
    let mut subs: Vec<(String, String)> = data["subscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["product"]["qualifiedName"].as_str().unwrap().to_owned(),
                s["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    subs.sort();
    subs
}

async fn registering_a_use_case_records_lineage_and_requests_access(app: TestApp) {
    pipeline(&app).await;
    let registered = app.ok("bob", REGISTER, enrich("enrich-views")).await["registerUseCase"].clone();
    let use_case = &registered["useCase"];
    assert_eq!(use_case["name"], "enrich-views");
    assert_eq!(use_case["kind"], "ENRICH");
    assert_eq!(use_case["application"]["name"], "enricher");
    assert_eq!(use_case["createdBy"], "bob");
    assert_eq!(
        use_case["inputs"],
        json!([{ "qualifiedName": "orders.page-views" }, { "qualifiedName": "orders.users" }])
    );
    assert_eq!(use_case["outputs"], json!([{ "qualifiedName": "orders.enriched" }]));
    assert!(use_case["transformation"].as_str().unwrap().contains("LEFT JOIN"));
    assert_eq!(
        edge_summary(&registered["lineageEdges"]),
        [
            "enricher PRODUCES orders.enriched",
            "orders.page-views CONSUMES enricher",
            "orders.users CONSUMES enricher",
        ]
    );
    let requests = registered["accessRequests"].as_array().unwrap();
    assert_eq!(requests.len(), 2);
    for r in requests {
        assert_eq!(r["status"], "PENDING");
        assert_eq!(r["application"]["name"], "enricher");
        assert!(r["purpose"].as_str().unwrap().contains("enrich-views"), "{r:#}");
    }

    // Lineage runs from each input through the application to the output.
    let graph = app.ok(ADMIN, LINEAGE, json!({ "p": "orders.page-views" })).await["lineage"].clone();
    assert_eq!(
        node_names(&graph),
        [("enricher".to_owned(), 1), ("orders.enriched".to_owned(), 2)]
    );

    // The owner approves one request: no second CONSUMES edge appears.
    let users_request = requests
        .iter()
        .find(|r| r["product"]["qualifiedName"] == "orders.users")
        .unwrap();
    app.ok(
        "alice",
        "mutation($id: ID!) { approveAccess(subscription: $id) { status } }",
        json!({ "id": users_request["id"] }),
    )
    .await;
    let graph = app.ok(ADMIN, LINEAGE, json!({ "p": "orders.users" })).await["lineage"].clone();
    assert_eq!(graph["edges"].as_array().unwrap().len(), 2, "{graph:#}");

    // A second use case: a request only for the input not yet held; the
    // chain now reaches the filtered product.
    let second = app.ok("bob", REGISTER, filter()).await["registerUseCase"].clone();
    assert_eq!(
        edge_summary(&second["lineageEdges"]),
        ["enricher PRODUCES orders.filtered", "orders.enriched CONSUMES enricher"]
    );
    assert_eq!(second["accessRequests"].as_array().unwrap().len(), 1);
    let impact = app
        .ok(
            ADMIN,
            "{ impact(of: \"orders.page-views\") { products { product { qualifiedName } } applications { application { name } } } }",
            json!({}),
        )
        .await["impact"]
        .clone();
    let impacted: Vec<&str> = impact["products"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["product"]["qualifiedName"].as_str().unwrap())
        .collect();
    assert!(
        impacted.contains(&"orders.enriched") && impacted.contains(&"orders.filtered"),
        "{impact:#}"
    );

    // Listed on the application and on the products, by role.
    let data = app
        .ok(
            "alice",
            "{ application(key: \"enricher\") { useCases { name kind } }
               dataProduct(qualifiedName: \"orders.enriched\") {
                 readers: useCases(role: INPUT) { name } writers: useCases(role: OUTPUT) { name } all: useCases { name } }
               useCases(kind: FILTER) { name inputs { qualifiedName } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data["application"]["useCases"],
        json!([{ "name": "drop-bots", "kind": "FILTER" }, { "name": "enrich-views", "kind": "ENRICH" }])
    );
    assert_eq!(data["dataProduct"]["readers"], json!([{ "name": "drop-bots" }]));
    assert_eq!(data["dataProduct"]["writers"], json!([{ "name": "enrich-views" }]));
    assert_eq!(data["dataProduct"]["all"].as_array().unwrap().len(), 2);
    assert_eq!(
        data["useCases"],
        json!([{ "name": "drop-bots", "inputs": [{ "qualifiedName": "orders.enriched" }] }])
    );

    // Audited, and announced as catalog changes.
    let audit = app
        .ok(
            ADMIN,
            "{ auditLog(filter: {entityKind: USE_CASE}) { edges { node { action actor entityName } } } }",
            json!({}),
        )
        .await;
    let entries = audit["auditLog"]["edges"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert!(entries
        .iter()
        .all(|e| e["node"]["action"] == "USE_CASE_REGISTERED" && e["node"]["actor"] == "bob"));
}

async fn use_case_refusals_write_nothing(app: TestApp) {
    pipeline(&app).await;
    let mut private = product(&app, "secret", json!({ "visibility": "PRIVATE" })).await;
    private["visibility"] = json!("PRIVATE");
    let before = subscriptions(&app).await;
    let cases: Vec<(&str, Value, &str)> = vec![
        // alice is not in the application's team.
        ("alice", enrich("xx"), "FORBIDDEN"),
        (
            "bob",
            {
                let mut v = enrich("xx");
                v["input"]["outputs"] = json!(["orders.page-views"]);
                v
            },
            "VALIDATION",
        ),
        (
            "bob",
            {
                let mut v = enrich("xx");
                v["input"]["kind"] = json!("JOIN");
                v["input"]["inputs"] = json!(["orders.users"]);
                v
            },
            "VALIDATION",
        ),
        (
            "bob",
            {
                let mut v = enrich("xx");
                v["input"]["inputs"] = json!([]);
                v
            },
            "VALIDATION",
        ),
        (
            "bob",
            {
                let mut v = enrich("xx");
                v["input"]["name"] = json!("Bad Name");
                v
            },
            "VALIDATION",
        ),
        (
            "bob",
            {
                let mut v = enrich("xx");
                v["input"]["inputs"] = json!(["orders.page-views", "orders.nope"]);
                v
            },
            "NOT_FOUND",
        ),
        // A product bob may not see does not exist for him.
        (
            "bob",
            {
                let mut v = enrich("xx");
                v["input"]["inputs"] = json!(["orders.page-views", "orders.secret"]);
                v
            },
            "NOT_FOUND",
        ),
        (
            "bob",
            {
                let mut v = enrich("xx");
                v["input"]["application"] = json!("nope");
                v
            },
            "NOT_FOUND",
        ),
    ];
    for (user, input, code) in cases {
        assert_eq!(app.error_code(user, REGISTER, input).await, code);
    }
    // A draft input cannot be requested: the whole registration is undone.
    product(&app, "draft-feed", json!({ "draft": true })).await;
    let mut v = enrich("with-draft");
    v["input"]["inputs"] = json!(["orders.page-views", "orders.draft-feed"]);
    assert_eq!(app.error_code("bob", REGISTER, v).await, "CONFLICT");

    assert_eq!(subscriptions(&app).await, before);
    let data = app
        .ok(ADMIN, "{ useCases { name } lineage(of: {application: \"enricher\"}, direction: BOTH, depth: 3) { edges { id } } }", json!({}))
        .await;
    assert_eq!(data["useCases"], json!([]));
    assert_eq!(data["lineage"]["edges"], json!([]));

    // The name is unique within the application.
    app.ok("bob", REGISTER, enrich("enrich-views")).await;
    assert_eq!(
        app.error_code("bob", REGISTER, enrich("enrich-views")).await,
        "CONFLICT"
    );
    let denied = app
        .ok(
            ADMIN,
            "{ auditLog(filter: {actor: \"alice\", entityKind: USE_CASE}) { edges { node { action summary } } } }",
            json!({}),
        )
        .await;
    assert_eq!(denied["auditLog"]["edges"][0]["node"]["action"], "DENIED");
}

async fn removing_a_use_case_keeps_what_others_need(app: TestApp) {
    pipeline(&app).await;
    let first = app.ok("bob", REGISTER, enrich("enrich-views")).await["registerUseCase"].clone();
    // Access to users is approved: its CONSUMES edge outlives the use case.
    let users = first["accessRequests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["product"]["qualifiedName"] == "orders.users")
        .unwrap()
        .clone();
    app.ok(
        "alice",
        "mutation($id: ID!) { approveAccess(subscription: $id) { status } }",
        json!({ "id": users["id"] }),
    )
    .await;
    // A second use case also writes orders.enriched.
    let mut other = enrich("backfill");
    other["input"]["kind"] = json!("CUSTOM");
    other["input"]["inputs"] = json!(["orders.filtered"]);
    app.ok("bob", REGISTER, other).await;

    let remove = "mutation($id: ID!) { removeUseCase(id: $id) { name } }";
    assert_eq!(
        app.error_code("alice", remove, json!({ "id": first["useCase"]["id"] }))
            .await,
        "FORBIDDEN"
    );
    let removed = app.ok("bob", remove, json!({ "id": first["useCase"]["id"] })).await;
    assert_eq!(removed["removeUseCase"]["name"], "enrich-views");
    let graph = app
        .ok(
            ADMIN,
            "{ lineage(of: {application: \"enricher\"}, direction: BOTH, depth: 1) { nodes { name depth } } }",
            json!({}),
        )
        .await["lineage"]
        .clone();
    assert_eq!(
        node_names(&graph),
        [
            ("orders.enriched".to_owned(), 1),
            ("orders.filtered".to_owned(), -1),
            ("orders.users".to_owned(), -1),
        ],
        "page-views is no longer consumed; users (approved) and enriched (backfill) stay"
    );
    assert_eq!(
        app.error_code("bob", remove, json!({ "id": first["useCase"]["id"] }))
            .await,
        "NOT_FOUND"
    );
    let names = app.ok(ADMIN, "{ useCases { name } }", json!({})).await;
    assert_eq!(names["useCases"], json!([{ "name": "backfill" }]));
}

async fn a_use_case_touching_a_private_product_is_hidden_with_it(app: TestApp) {
    pipeline(&app).await;
    product(&app, "secret", json!({ "visibility": "PRIVATE" })).await;
    // bob's application gets access to the private product, so bob sees it.
    let request = app
        .ok(
            ADMIN,
            "mutation { requestAccess(input: {application: \"enricher\", product: \"orders.secret\", purpose: \"join\"}) { id } }",
            json!({}),
        )
        .await;
    app.ok(
        "alice",
        "mutation($id: ID!) { approveAccess(subscription: $id) { status } }",
        json!({ "id": request["requestAccess"]["id"] }),
    )
    .await;
    let mut input = enrich("join-secret");
    input["input"]["inputs"] = json!(["orders.page-views", "orders.secret"]);
    let id = app.ok("bob", REGISTER, input).await["registerUseCase"]["useCase"]["id"].clone();
    app.ok("bob", REGISTER, filter()).await;

    let query = "query($id: ID!) { useCases { name } useCase(id: $id) { name }
        application(key: \"enricher\") { useCases { name } }
        dataProduct(qualifiedName: \"orders.page-views\") { useCases { name } } }";
    for user in ["bob", "alice", ADMIN] {
        let seen = app.ok(user, query, json!({ "id": id })).await;
        assert_eq!(seen["useCase"]["name"], "join-secret", "{user}: {seen:#}");
        assert_eq!(seen["useCases"].as_array().unwrap().len(), 2, "{user}");
    }
    // carol sees neither the private product nor the use case naming it.
    let carol = app.ok("carol", query, json!({ "id": id })).await;
    assert_eq!(carol["useCase"], Value::Null);
    assert_eq!(carol["useCases"], json!([{ "name": "drop-bots" }]));
    assert_eq!(carol["application"]["useCases"], json!([{ "name": "drop-bots" }]));
    assert_eq!(carol["dataProduct"]["useCases"], json!([]));
}

async fn quality_classes_are_shown_filtered_and_faceted(app: TestApp) {
    app.orders_domain().await;
    product(&app, "ledger", json!({ "qualityClass": "AUTHORITATIVE" })).await;
    product(&app, "cleaned", json!({ "qualityClass": "CURATED" })).await;
    product(&app, "firehose", json!({})).await;
    let classes = app
        .ok(
            "alice",
            "{ dataProducts { edges { node { qualifiedName qualityClass } } }
               curated: dataProducts(filter: {qualityClasses: [CURATED, AUTHORITATIVE]}) { totalCount edges { node { qualifiedName } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        classes["dataProducts"]["edges"],
        json!([
            { "node": { "qualifiedName": "orders.cleaned", "qualityClass": "CURATED" } },
            { "node": { "qualifiedName": "orders.firehose", "qualityClass": "RAW" } },
            { "node": { "qualifiedName": "orders.ledger", "qualityClass": "AUTHORITATIVE" } },
        ])
    );
    assert_eq!(classes["curated"]["totalCount"], 2);

    let search = "query($f: SearchFiltersInput) { search(query: \"\", filters: $f) {
        totalCount edges { node { product { qualifiedName } } } facets { qualityClasses { value count } tiers { value count } } } }";
    // Search follows commits within moments.
    let deadline = Instant::now() + Duration::from_secs(2);
    let all = loop {
        let all = app.ok(ADMIN, search, json!({})).await["search"].clone();
        if all["totalCount"] == 3 {
            break all;
        }
        assert!(Instant::now() < deadline, "products not indexed: {all:#}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        all["facets"]["qualityClasses"],
        json!([
            { "value": "AUTHORITATIVE", "count": 1 },
            { "value": "CURATED", "count": 1 },
            { "value": "RAW", "count": 1 },
        ])
    );
    let raw = app
        .ok(ADMIN, search, json!({ "f": { "qualityClasses": ["RAW"] } }))
        .await["search"]
        .clone();
    assert_eq!(raw["totalCount"], 1);
    assert_eq!(raw["edges"][0]["node"]["product"]["qualifiedName"], "orders.firehose");

    // The owner changes the class: the product and the index follow.
    let updated = app
        .ok(
            "alice",
            "mutation { publishDataProduct(input: {domain: \"orders\", name: \"firehose\", qualityClass: CURATED, expectedVersion: 1}) { qualityClass } }",
            json!({}),
        )
        .await;
    assert_eq!(updated["publishDataProduct"]["qualityClass"], "CURATED");
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let curated = app
            .ok(ADMIN, search, json!({ "f": { "qualityClasses": ["CURATED"] } }))
            .await["search"]
            .clone();
        if curated["totalCount"] == 2 {
            assert_eq!(
                curated["facets"]["qualityClasses"],
                json!([{ "value": "CURATED", "count": 2 }])
            );
            break;
        }
        assert!(Instant::now() < deadline, "class change not indexed: {curated:#}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The demo includes the classic three: enrich, filter, aggregate.
#[tokio::test]
async fn demo_has_the_classic_stream_processing_use_cases() {
    let app = spawn_with(Backend::Sqlite, true).await;
    let data = app
        .ok(
            ADMIN,
            "{ useCases { name kind application { name } inputs { qualifiedName } outputs { qualifiedName } transformation }
               lineage(of: {product: \"marketing.page-views\"}, direction: DOWNSTREAM, depth: 6) { nodes { name depth } } }",
            json!({}),
        )
        .await;
    let cases: Vec<(&str, &str)> = data["useCases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["application"]["name"].as_str().unwrap(), u["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        cases,
        [
            ("pageview-aggregator", "AGGREGATE"),
            ("pageview-enricher", "ENRICH"),
            ("pageview-filter", "FILTER"),
        ]
    );
    let aggregate = &data["useCases"][0];
    assert!(aggregate["transformation"].as_str().unwrap().contains("TUMBLING"));
    assert_eq!(
        aggregate["outputs"],
        json!([{ "qualifiedName": "analytics.page-view-counts" }])
    );
    let reached: Vec<(&str, i64)> = data["lineage"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["name"].as_str().unwrap(), n["depth"].as_i64().unwrap()))
        .collect();
    assert!(reached.contains(&("analytics.page-view-counts", 6)), "{reached:?}");
}
