//! The demo mesh: realistic, complete, and seeded idempotently.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::{spawn_on, spawn_with, Backend, TestApp, ADMIN};
use crate::ws::{Incoming, Protocol, WsClient};

const COUNTS: &str = "{
  domains { name dataProducts { qualifiedName } }
  applications { name }
  dataProducts(first: 100) { totalCount edges { node { qualifiedName status schemaVersions { version } sla { tier }
    qualityScore qualityChecks { name } } } }
  subscriptions { status }
}";

fn count(list: &Value) -> usize {
    list.as_array().map_or(0, Vec::len)
}

async fn check_demo(app: &TestApp) -> Value {
    let data = app.ok(ADMIN, COUNTS, json!({})).await;
    assert!(count(&data["domains"]) >= 6, "domains: {}", count(&data["domains"]));
    assert!(count(&data["applications"]) >= 8);
    let products = data["dataProducts"]["edges"].as_array().unwrap();
    assert!(products.len() >= 30, "products: {}", products.len());
    let multi = products
        .iter()
        .filter(|p| count(&p["node"]["schemaVersions"]) >= 2)
        .count();
    assert!(multi >= 5, "products with several schema versions: {multi}");
    for status in ["DRAFT", "PUBLISHED", "DEPRECATED", "RETIRED"] {
        assert!(
            products.iter().any(|p| p["node"]["status"] == status),
            "no {status} product"
        );
    }
    assert!(
        products
            .iter()
            .filter(|p| p["node"]["qualityScore"].is_number())
            .count()
            >= 15
    );
    for status in ["PENDING", "APPROVED", "REJECTED", "REVOKED"] {
        assert!(
            data["subscriptions"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["status"] == status),
            "no {status} subscription"
        );
    }
    // Lineage at least 4 levels deep from some product.
    let mut deepest = 0;
    for p in products {
        let name = p["node"]["qualifiedName"].as_str().unwrap();
        let g = app
            .ok(ADMIN, "query($p: String!) { lineage(of: {product: $p}, direction: DOWNSTREAM, depth: 50) { nodes { depth } } }", json!({ "p": name }))
            .await;
        let d = g["lineage"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["depth"].as_i64().unwrap())
            .max()
            .unwrap_or(0);
        deepest = deepest.max(d);
    }
    assert!(deepest >= 4, "deepest lineage: {deepest}");
    data
}

async fn seeds_idempotently(backend: Backend) {
    let app = spawn_with(backend, true).await;
    let first = check_demo(&app).await;
    let (dir, url) = (app.data_dir.clone(), app.database_url.clone());
    drop(app);
    // Seeding again on the same database changes nothing.
    let again = spawn_on(dir, url, true).await;
    let second = again.ok(ADMIN, COUNTS, json!({})).await;
    assert_eq!(first, second);
}

#[tokio::test]
async fn demo_seeds_idempotently_on_sqlite() {
    seeds_idempotently(Backend::Sqlite).await;
}

#[tokio::test]
async fn demo_seeds_idempotently_on_postgres() {
    seeds_idempotently(Backend::Postgres).await;
}

/// The demo produces live records for its products, decodable with their
/// registered schemas: Confluent-framed Avro and JSON.
#[tokio::test]
async fn demo_traffic_flows() {
    let app = spawn_with(Backend::Sqlite, true).await;
    let token = app.team_token("alice.martin", &["orders-team"]);
    let auth = json!({ "Authorization": format!("Bearer {token}") });
    let mut client = WsClient::connect(&app.address, Protocol::TransportWs, auth)
        .await
        .unwrap();
    let query = "subscription($p: String!) { productEvents(product: $p) {
        __typename ... on KafkaRecord { key value encoding schemaVersion conforms } } }";
    for (id, product, encoding) in [
        ("1", "orders.order-events", "AVRO_CONFLUENT"),
        ("2", "orders.order-line-items", "JSON"),
    ] {
        client.subscribe(id, query, json!({ "p": product })).await;
        // Records of the previous subscription may still be in flight.
        let event = loop {
            match client.next(Duration::from_secs(30)).await {
                (got, Incoming::Data(data)) if got == id => break data["productEvents"].clone(),
                (got, other) if got == id => panic!("{product}: {other:?}"),
                _ => continue,
            }
        };
        assert_eq!(event["__typename"], "KafkaRecord", "{event}");
        assert_eq!(event["encoding"], encoding, "{event}");
        assert_eq!(event["conforms"], true, "{event}");
        assert!(event["value"].is_object(), "{event}");
        assert!(event["schemaVersion"].is_number(), "{event}");
        client.stop(id).await;
    }
    client.close().await;
}
