//! Lineage: depth, direction, cycles, refusals and impact analysis.

use serde_json::{json, Value};

use crate::helpers::{on_both, order_schema, TestApp, ADMIN};

on_both!(
    lineage_depth_direction_and_cycles,
    impact_lists_everything_downstream_with_owners,
    lineage_refusals
);

const ADD: &str = "mutation($from: LineageNodeInput!, $to: LineageNodeInput!, $m: [FieldMappingInput!]) {
  addLineageEdge(input: {from: $from, to: $to, fieldMappings: $m}) { id kind fieldMappings { from to }
    from { ... on DataProduct { qualifiedName } ... on Application { name } } to { ... on DataProduct { qualifiedName } ... on Application { name } } }
}";

fn p(name: &str) -> Value {
    json!({ "product": format!("orders.{name}") })
}

fn a(name: &str) -> Value {
    json!({ "application": name })
}

/// raw → enricher → enriched → (derived) daily → reporting → report, and
/// report → (derived) raw closing a cycle.
async fn chain(app: &TestApp) {
    app.orders_domain().await;
    for name in ["raw", "enriched", "daily", "report"] {
        app.publish(name, &order_schema(&[])).await;
    }
    app.application("enricher").await;
    app.application("reporting").await;
    let edge = app
        .ok("alice", ADD, json!({ "from": p("raw"), "to": a("enricher") }))
        .await["addLineageEdge"]
        .clone();
    assert_eq!(edge["kind"], "CONSUMES");
    assert_eq!(edge["from"]["qualifiedName"], "orders.raw");
    assert_eq!(edge["to"]["name"], "enricher");
    let edge = app
        .ok("alice", ADD, json!({ "from": a("enricher"), "to": p("enriched") }))
        .await["addLineageEdge"]
        .clone();
    assert_eq!(edge["kind"], "PRODUCES");
    let edge = app
        .ok(
            "alice",
            ADD,
            json!({ "from": p("enriched"), "to": p("daily"), "m": [{ "from": "amount", "to": "revenue" }] }),
        )
        .await["addLineageEdge"]
        .clone();
    assert_eq!(edge["kind"], "DERIVED_FROM");
    assert_eq!(edge["fieldMappings"], json!([{ "from": "amount", "to": "revenue" }]));
    app.ok("alice", ADD, json!({ "from": p("daily"), "to": a("reporting") }))
        .await;
    app.ok("alice", ADD, json!({ "from": a("reporting"), "to": p("report") }))
        .await;
    app.ok("alice", ADD, json!({ "from": p("report"), "to": p("raw") }))
        .await;
}

const LINEAGE: &str = "query($of: LineageNodeInput!, $d: Direction!, $depth: Int!) {
  lineage(of: $of, direction: $d, depth: $depth) { root { name depth } nodes { name kind depth entity { __typename } } edges { id kind } }
}";

fn names(graph: &Value) -> Vec<(String, i64)> {
    graph["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["name"].as_str().unwrap().to_owned(), n["depth"].as_i64().unwrap()))
        .collect()
}

async fn lineage_depth_direction_and_cycles(app: TestApp) {
    chain(&app).await;
    let g = app
        .anon(LINEAGE, json!({ "of": p("raw"), "d": "DOWNSTREAM", "depth": 2 }))
        .await["lineage"]
        .clone();
    assert_eq!(g["root"], json!({ "name": "orders.raw", "depth": 0 }));
    assert_eq!(names(&g), [("enricher".into(), 1), ("orders.enriched".into(), 2)]);
    assert_eq!(g["nodes"][0]["entity"]["__typename"], "Application");
    assert_eq!(g["edges"].as_array().unwrap().len(), 2);

    // Any depth: the cycle back to the root is walked once and terminates.
    let g = app
        .anon(LINEAGE, json!({ "of": p("raw"), "d": "DOWNSTREAM", "depth": 100 }))
        .await["lineage"]
        .clone();
    assert_eq!(
        names(&g),
        [
            ("enricher".into(), 1),
            ("orders.enriched".into(), 2),
            ("orders.daily".into(), 3),
            ("reporting".into(), 4),
            ("orders.report".into(), 5)
        ]
    );
    assert_eq!(
        g["edges"].as_array().unwrap().len(),
        6,
        "the edge closing the cycle is included"
    );

    let g = app
        .anon(LINEAGE, json!({ "of": p("daily"), "d": "UPSTREAM", "depth": 2 }))
        .await["lineage"]
        .clone();
    assert_eq!(names(&g), [("enricher".into(), -2), ("orders.enriched".into(), -1)]);
    let g = app
        .anon(LINEAGE, json!({ "of": a("reporting"), "d": "BOTH", "depth": 1 }))
        .await["lineage"]
        .clone();
    assert_eq!(names(&g), [("orders.daily".into(), -1), ("orders.report".into(), 1)]);

    let body = app
        .post(None, LINEAGE, json!({ "of": p("raw"), "d": "DOWNSTREAM", "depth": 0 }))
        .await;
    assert_eq!(crate::helpers::code_of(&body), "VALIDATION");
    let body = app
        .post(
            None,
            LINEAGE,
            json!({ "of": p("ghost"), "d": "DOWNSTREAM", "depth": 1 }),
        )
        .await;
    assert_eq!(crate::helpers::code_of(&body), "NOT_FOUND");
}

async fn impact_lists_everything_downstream_with_owners(app: TestApp) {
    chain(&app).await;
    let impact = app
        .anon(
            "{ impact(of: \"orders.enriched\") { product { qualifiedName }
                 products { depth product { qualifiedName } ownerTeam { name } }
                 applications { depth application { name } ownerTeam { name } } teams { name } } }",
            json!({}),
        )
        .await["impact"]
        .clone();
    assert_eq!(impact["product"]["qualifiedName"], "orders.enriched");
    let products: Vec<&str> = impact["products"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["product"]["qualifiedName"].as_str().unwrap())
        .collect();
    assert_eq!(products, ["orders.daily", "orders.report", "orders.raw"]);
    let apps: Vec<(&str, i64)> = impact["applications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["application"]["name"].as_str().unwrap(), a["depth"].as_i64().unwrap()))
        .collect();
    assert_eq!(apps, [("reporting", 2), ("enricher", 5)]);
    assert_eq!(impact["applications"][0]["ownerTeam"]["name"], "reporting-team");
    assert_eq!(
        impact["teams"],
        json!([{ "name": "enricher-team" }, { "name": "orders-team" }, { "name": "reporting-team" }])
    );
}

async fn lineage_refusals(app: TestApp) {
    chain(&app).await;
    let cases = [
        (json!({ "from": a("enricher"), "to": a("reporting") }), "VALIDATION"),
        (json!({ "from": p("raw"), "to": p("raw") }), "VALIDATION"),
        (json!({ "from": p("raw"), "to": a("enricher") }), "CONFLICT"),
        (json!({ "from": p("ghost"), "to": a("enricher") }), "NOT_FOUND"),
        (
            json!({ "from": p("raw"), "to": p("daily"), "m": [{ "from": "", "to": "x" }] }),
            "VALIDATION",
        ),
    ];
    for (vars, code) in cases {
        assert_eq!(app.error_code(ADMIN, ADD, vars.clone()).await, code, "{vars}");
    }
    // Both endpoints given is not a valid oneOf input.
    let body = app
        .post(
            Some(&app.token("alice")),
            ADD,
            json!({ "from": { "product": "orders.raw", "application": "enricher" }, "to": p("daily") }),
        )
        .await;
    assert!(body["errors"].is_array(), "{body:#}");

    let edges = app
        .anon(LINEAGE, json!({ "of": p("raw"), "d": "DOWNSTREAM", "depth": 1 }))
        .await["lineage"]["edges"]
        .clone();
    let id = edges[0]["id"].clone();
    let removed = app
        .ok(
            "alice",
            "mutation($id: ID!) { removeLineageEdge(id: $id) { id kind } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(removed["removeLineageEdge"]["kind"], "CONSUMES");
    let g = app
        .anon(LINEAGE, json!({ "of": p("raw"), "d": "DOWNSTREAM", "depth": 5 }))
        .await["lineage"]
        .clone();
    assert_eq!(names(&g), Vec::<(String, i64)>::new());
    assert_eq!(
        app.error_code(
            "alice",
            "mutation($id: ID!) { removeLineageEdge(id: $id) { id } }",
            json!({ "id": id })
        )
        .await,
        "NOT_FOUND"
    );
}
