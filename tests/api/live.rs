//! Topics, and GraphQL subscriptions over a real WebSocket client in both
//! protocols, on Apache Kafka and on the embedded tansu broker.

use std::sync::Arc;
use std::time::{Duration, Instant};

use apache_avro::types::Value as Avro;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;
use serde_json::{json, Value};

use mesh_catalog::auth::Identity;

use crate::brokers::Broker;
use crate::helpers::{
    code_of, order_schema, spawn_configured, spawn_live, spawn_live_on, Backend, TestApp, ADMIN, PUBLISH,
};
use crate::ws::{Incoming, Protocol, WsClient};

const WAIT: Duration = Duration::from_secs(30);

fn producer(bootstrap: &str) -> FutureProducer {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", "0")
        .create()
        .unwrap()
}

async fn produce(p: &FutureProducer, topic: &str, key: &str, value: &[u8]) {
    let headers = OwnedHeaders::new().insert(Header {
        key: "source",
        value: Some("test"),
    });
    p.send(
        FutureRecord::to(topic).key(key).payload(value).headers(headers),
        Duration::from_secs(10),
    )
    .await
    .unwrap();
}

/// Publishes `orders.<name>` (JSON Schema) on a unique topic and waits for
/// the topic to exist; returns the topic name.
async fn json_product(app: &TestApp, name: &str) -> String {
    json_product_fresh_within(app, name, 60).await
}

/// Like `json_product`, with the SLA's maximum freshness in seconds.
async fn json_product_fresh_within(app: &TestApp, name: &str, freshness: i64) -> String {
    let topic = format!("t-{name}-{}", uuid::Uuid::new_v4().simple());
    let schema =
        r#"{"type":"object","properties":{"id":{"type":"integer"},"country":{"type":"string"}},"required":["id"]}"#;
    app.ok(
        "alice",
        PUBLISH,
        json!({ "input": {
            "domain": "orders", "name": name, "description": "live test", "tags": [],
            "topic": { "name": topic, "partitions": 1 },
            "sla": { "tier": "SILVER", "maxFreshnessSeconds": freshness },
            "schema": { "format": "JSON_SCHEMA", "definition": schema },
        }}),
    )
    .await;
    wait_topic(app, &format!("orders.{name}")).await;
    topic
}

async fn wait_topic(app: &TestApp, product: &str) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let data = app
            .anon("query($p: String!) { dataProduct(qualifiedName: $p) { topicStatus { exists partitions drift { setting expected actual } } } }", json!({ "p": product }))
            .await;
        let status = data["dataProduct"]["topicStatus"].clone();
        if status["exists"] == true {
            return status;
        }
        assert!(Instant::now() < deadline, "topic of {product} not created");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until `topic`'s shared consumer has `n` subscribers.
async fn wait_subscribers(app: &TestApp, topic: &str, n: i64) {
    let deadline = Instant::now() + WAIT;
    loop {
        let data = app
            .ok(ADMIN, "{ liveConsumers { topic subscribers } }", json!({}))
            .await;
        let count = data["liveConsumers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["topic"] == topic)
            .map_or(0, |c| c["subscribers"].as_i64().unwrap());
        if count == n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{topic} has {count} subscribers, expected {n}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Distinct live `productEvents` subscriptions rendered for `topic`.
async fn renditions(app: &TestApp, topic: &str) -> i64 {
    let data = app.ok(ADMIN, "{ liveConsumers { topic renditions } }", json!({})).await;
    data["liveConsumers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["topic"] == topic)
        .map_or(0, |c| c["renditions"].as_i64().unwrap())
}

fn auth(app: &TestApp, user: &str) -> Value {
    json!({ "Authorization": format!("Bearer {}", app.token(user)) })
}

const PRODUCT_EVENTS: &str =
    "subscription($p: String!, $f: ProductEventsFilter) { productEvents(product: $p, filter: $f) {
  __typename
  ... on KafkaRecord { partition offset key timestamp headers { key value } value encoding schemaVersion conforms }
  ... on RecordDecodeError { offset message rawBase64 }
  ... on Lagged { skipped }
} }";

async fn subscriptions(broker: Broker) {
    let app = spawn_live(Backend::Sqlite, broker.config()).await;
    app.orders_domain().await;
    let topic = json_product(&app, "clicks").await;
    let kafka = producer(&app.bootstrap);

    // Unauthorized: anonymous, and a user outside the owner team.
    let mut anon = WsClient::connect(&app.address, Protocol::TransportWs, json!({}))
        .await
        .unwrap();
    anon.subscribe("1", PRODUCT_EVENTS, json!({ "p": "orders.clicks" }))
        .await;
    match anon.next(WAIT).await {
        (_, Incoming::Errors(e)) => {
            assert_eq!(e[0]["extensions"]["code"], "UNAUTHENTICATED", "{e}")
        }
        other => panic!("expected an error, got {other:?}"),
    }
    let mut mallory = WsClient::connect(&app.address, Protocol::LegacyWs, auth(&app, "mallory"))
        .await
        .unwrap();
    mallory
        .subscribe("1", PRODUCT_EVENTS, json!({ "p": "orders.clicks" }))
        .await;
    match mallory.next(WAIT).await {
        (_, Incoming::Errors(e)) => assert_eq!(e[0]["extensions"]["code"], "FORBIDDEN", "{e}"),
        other => panic!("expected an error, got {other:?}"),
    }
    assert!(
        WsClient::connect(&app.address, Protocol::TransportWs, json!({"token": "nonsense"}))
            .await
            .is_err()
    );

    // One client per protocol, sharing one consumer; the legacy one filters.
    let mut modern = WsClient::connect(&app.address, Protocol::TransportWs, auth(&app, "alice"))
        .await
        .unwrap();
    modern
        .subscribe("a", PRODUCT_EVENTS, json!({ "p": "orders.clicks" }))
        .await;
    let token = app.team_token("carol", &["orders-team"]);
    let mut legacy = WsClient::connect(&app.address, Protocol::LegacyWs, json!({ "token": token }))
        .await
        .unwrap();
    legacy
        .subscribe(
            "b",
            PRODUCT_EVENTS,
            json!({ "p": "orders.clicks", "f": { "fieldEquals": [{ "path": "country", "value": "FR" }] } }),
        )
        .await;
    wait_subscribers(&app, &topic, 2).await;

    produce(&kafka, &topic, "k1", br#"{"id": 1, "country": "FR"}"#).await;
    produce(&kafka, &topic, "k2", br#"{"id": 2, "country": "DE"}"#).await;
    produce(&kafka, &topic, "k3", &[0xff, 0xfe]).await;
    produce(&kafka, &topic, "k4", br#"{"name": "no id"}"#).await;

    let first = modern.data(WAIT).await["productEvents"].clone();
    assert_eq!(first["__typename"], "KafkaRecord");
    assert_eq!(first["value"], json!({"id": 1, "country": "FR"}));
    assert_eq!(first["key"], "k1");
    assert_eq!(first["encoding"], "JSON");
    assert_eq!(first["conforms"], true);
    assert_eq!(first["headers"], json!([{ "key": "source", "value": "test" }]));
    let second = modern.data(WAIT).await["productEvents"].clone();
    assert_eq!(
        second["offset"].as_i64().unwrap(),
        first["offset"].as_i64().unwrap() + 1
    );
    let broken = modern.data(WAIT).await["productEvents"].clone();
    assert_eq!(broken["__typename"], "RecordDecodeError");
    assert_eq!(broken["rawBase64"], "//4=");
    let nonconforming = modern.data(WAIT).await["productEvents"].clone();
    assert_eq!(nonconforming["conforms"], false);

    let filtered = legacy.data(WAIT).await["productEvents"].clone();
    assert_eq!(filtered["key"], "k1");
    let broken_too = legacy.data(WAIT).await["productEvents"].clone();
    assert_eq!(
        broken_too["__typename"], "RecordDecodeError",
        "decode errors are never filtered out"
    );

    // Health, and the live fields, from the same consumer.
    let mut health = WsClient::connect(&app.address, Protocol::TransportWs, json!({}))
        .await
        .unwrap();
    health.subscribe("h", "subscription { productHealth(product: \"orders.clicks\", intervalSeconds: 1) { eventsPerSecond lastEventTime freshness schemaConformance recentRecords } }", json!({})).await;
    let figures = health.data(WAIT).await["productHealth"].clone();
    assert_eq!(figures["recentRecords"], 4, "{figures}");
    assert_eq!(figures["freshness"], "OK");
    assert_eq!(figures["schemaConformance"], 0.5);
    let data = app
        .anon(
            "{ dataProduct(qualifiedName: \"orders.clicks\") { live { lastEventTime freshness } } }",
            json!({}),
        )
        .await;
    assert_eq!(data["dataProduct"]["live"]["freshness"], "OK");

    // Leaving releases the consumer (the live field holds it a while, so
    // count subscribers, not consumers).
    modern.stop("a").await;
    legacy.close().await;
    health.close().await;
    wait_subscribers(&app, &topic, 0).await;
    modern.close().await;
}

#[tokio::test]
async fn subscriptions_on_apache_kafka() {
    subscriptions(Broker::Apache).await;
}

#[tokio::test]
async fn subscriptions_on_tansu() {
    subscriptions(Broker::Tansu).await;
}

/// Confluent-framed and plain Avro, read with the product's versions.
async fn avro(broker: Broker) {
    let app = spawn_live(Backend::Sqlite, broker.config()).await;
    app.orders_domain().await;
    let product = app.publish("payments", &order_schema(&[])).await;
    assert_eq!(product["schema"]["version"], 1);
    let data = app
        .anon(
            "{ dataProduct(qualifiedName: \"orders.payments\") { topic { name } schema { schemaId definition } } }",
            json!({}),
        )
        .await;
    let topic = data["dataProduct"]["topic"]["name"].as_str().unwrap().to_owned();
    let schema_id = data["dataProduct"]["schema"]["schemaId"].as_i64().unwrap();
    wait_topic(&app, "orders.payments").await;
    let schema = apache_avro::Schema::parse_str(&order_schema(&[])).unwrap();
    let record = Avro::Record(vec![
        ("order_id".into(), Avro::String("o-1".into())),
        ("amount".into(), Avro::Long(42)),
    ]);
    let writer = apache_avro::writer::datum::GenericDatumWriter::builder(&schema)
        .build()
        .unwrap();
    let body = writer.write_value_to_vec(record).unwrap();
    let mut framed = vec![0u8];
    framed.extend_from_slice(&(schema_id as u32).to_be_bytes());
    framed.extend_from_slice(&body);

    let mut client = WsClient::connect(&app.address, Protocol::TransportWs, auth(&app, "alice"))
        .await
        .unwrap();
    client
        .subscribe("1", PRODUCT_EVENTS, json!({ "p": "orders.payments" }))
        .await;
    wait_subscribers(&app, &topic, 1).await;
    let kafka = producer(&app.bootstrap);
    // One key: one partition, so the three arrive in order.
    produce(&kafka, &topic, "a", &framed).await;
    produce(&kafka, &topic, "a", &body).await;
    let mut unknown = framed.clone();
    unknown[4] = unknown[4].wrapping_add(100);
    produce(&kafka, &topic, "a", &unknown[..6]).await;

    let confluent = client.data(WAIT).await["productEvents"].clone();
    assert_eq!(confluent["encoding"], "AVRO_CONFLUENT", "{confluent}");
    assert_eq!(confluent["value"], json!({"order_id": "o-1", "amount": 42}));
    assert_eq!(confluent["schemaVersion"], 1);
    let plain = client.data(WAIT).await["productEvents"].clone();
    assert_eq!(plain["encoding"], "AVRO");
    assert_eq!(plain["value"], json!({"order_id": "o-1", "amount": 42}));
    let bad = client.data(WAIT).await["productEvents"].clone();
    assert_eq!(bad["__typename"], "RecordDecodeError");
    assert!(bad["message"].as_str().unwrap().contains("unknown schema id"), "{bad}");
    client.close().await;
}

#[tokio::test]
async fn avro_on_apache_kafka() {
    avro(Broker::Apache).await;
}

#[tokio::test]
async fn avro_on_tansu() {
    avro(Broker::Tansu).await;
}

/// catalogEvents: live catalog changes, filtered by kind and domain.
async fn catalog_events(broker: Broker) {
    let app = spawn_live(Backend::Sqlite, broker.config()).await;
    app.orders_domain().await;
    let mut client = WsClient::connect(&app.address, Protocol::LegacyWs, json!({}))
        .await
        .unwrap();
    client
        .subscribe("1", "subscription { catalogEvents(kinds: [PRODUCT_PUBLISHED], domains: [\"orders\"]) { ... on CatalogEvent { type entityName actor domains entity } ... on Lagged { skipped } } }", json!({}))
        .await;
    wait_subscribers(&app, "mesh.catalog.events", 1).await;
    app.application("bi").await; // another kind: filtered out
    app.publish("live-orders", &order_schema(&[])).await;
    let event = client.data(WAIT).await["catalogEvents"].clone();
    assert_eq!(event["type"], "PRODUCT_PUBLISHED");
    assert_eq!(event["entityName"], "orders.live-orders");
    assert_eq!(event["entity"]["status"], "PUBLISHED");
    client.close().await;
}

#[tokio::test]
async fn catalog_events_on_apache_kafka() {
    catalog_events(Broker::Apache).await;
}

#[tokio::test]
async fn catalog_events_on_tansu() {
    catalog_events(Broker::Tansu).await;
}

/// Topics are created from the product; a differing topic is drift.
async fn topics(broker: Broker) {
    let app = spawn_live(Backend::Sqlite, broker.config()).await;
    app.orders_domain().await;
    let topic = json_product(&app, "views").await;
    let status = wait_topic(&app, "orders.views").await;
    assert_eq!(status["partitions"], 1);
    assert_eq!(status["drift"], json!([]), "{topic}");

    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &app.bootstrap)
        .create()
        .unwrap();
    let existing = format!("t-existing-{}", uuid::Uuid::new_v4().simple());
    admin
        .create_topics(
            [&NewTopic::new(&existing, 2, TopicReplication::Fixed(1))],
            &AdminOptions::new(),
        )
        .await
        .unwrap();
    let body = app
        .post(
            Some(&app.token("alice")),
            PUBLISH,
            json!({ "input": {
                "domain": "orders", "name": "drifted", "description": "d", "tags": [],
                "topic": { "name": existing, "partitions": 4 },
                "schema": { "format": "AVRO", "definition": order_schema(&[]) },
            }}),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    let status = wait_topic(&app, "orders.drifted").await;
    assert_eq!(
        status["drift"][0],
        json!({ "setting": "partitions", "expected": "4", "actual": "2" })
    );
    let missing = app
        .post(
            None,
            "{ dataProduct(qualifiedName: \"orders.nope\") { topicStatus { exists } } }",
            json!({}),
        )
        .await;
    assert!(missing["data"]["dataProduct"].is_null() || code_of(&missing) == "NOT_FOUND");
}

#[tokio::test]
async fn topics_on_apache_kafka() {
    topics(Broker::Apache).await;
}

#[tokio::test]
async fn topics_on_tansu() {
    topics(Broker::Tansu).await;
}

/// The embedded broker starts empty: on start the server creates the topic
/// of every published product already in the catalog.
#[tokio::test]
async fn topics_of_existing_products_are_created_at_start() {
    let first = spawn_live(Backend::Sqlite, Broker::Tansu.config()).await;
    first.orders_domain().await;
    json_product(&first, "views").await;
    json_product(&first, "clicks").await;
    let (data_dir, database_url) = (first.data_dir.clone(), first.database_url.clone());
    drop(first);

    let second = spawn_live_on(data_dir, database_url, false, Broker::Tansu.config()).await;
    for product in ["orders.views", "orders.clicks"] {
        let status = wait_topic(&second, product).await;
        assert_eq!(status["partitions"], 1, "{product}");
        assert_eq!(status["drift"], json!([]), "{product}");
    }
}

/// Subscribers sending the same document and variables share one
/// rendition of each record, whatever their protocol; a different filter
/// is another rendition. Aliases and named fragments are honoured, an
/// invalid document gets the schema's error, and a start other than the
/// live end is served on its own.
async fn shared_renditions(broker: Broker) {
    let app = spawn_live(Backend::Sqlite, broker.config()).await;
    app.orders_domain().await;
    let topic = json_product(&app, "shared").await;
    let query = "subscription S($p: String!, $f: ProductEventsFilter) {
  feed: productEvents(product: $p, filter: $f) { __typename ...Record ... on Lagged { skipped } }
}
fragment Record on KafkaRecord { offset key value }";
    let everything = json!({ "p": "orders.shared" });
    let mut alice = WsClient::connect(&app.address, Protocol::TransportWs, auth(&app, "alice"))
        .await
        .unwrap();
    alice.subscribe("1", query, everything.clone()).await;
    let carol_token = app.team_token("carol", &["orders-team"]);
    let mut carol = WsClient::connect(&app.address, Protocol::LegacyWs, json!({ "token": carol_token }))
        .await
        .unwrap();
    carol.subscribe("1", query, everything.clone()).await;
    let only_k2 = json!({ "p": "orders.shared", "f": { "key": "k2" } });
    carol.subscribe("2", query, only_k2).await;
    wait_subscribers(&app, &topic, 3).await;
    assert_eq!(renditions(&app, &topic).await, 2);

    // Invalid, and a replay: answered by the full schema, not shared.
    alice
        .subscribe(
            "bad",
            "subscription { productEvents(product: \"orders.shared\") { nope } }",
            json!({}),
        )
        .await;
    match alice.next(WAIT).await {
        (id, Incoming::Errors(e)) => {
            assert_eq!(id, "bad");
            assert_eq!(e[0]["extensions"]["code"], "VALIDATION", "{e}");
        }
        other => panic!("expected a validation error, got {other:?}"),
    }
    assert_eq!(alice.next(WAIT).await.1, Incoming::Complete);
    let replay = json!({ "p": "orders.shared" });
    let replay_query = "subscription($p: String!) { productEvents(product: $p, from: { position: EARLIEST }) { ... on KafkaRecord { key } } }";
    alice.subscribe("replay", replay_query, replay).await;

    let kafka = producer(&app.bootstrap);
    produce(&kafka, &topic, "k1", br#"{"id": 1}"#).await;
    produce(&kafka, &topic, "k2", br#"{"id": 2}"#).await;
    let mut seen = Vec::new();
    while seen.len() < 2 {
        match alice.next(WAIT).await {
            (id, Incoming::Data(data)) if id == "1" => seen.push(data["feed"].clone()),
            (id, Incoming::Data(data)) if id == "replay" => {
                assert!(["k1", "k2"].contains(&data["productEvents"]["key"].as_str().unwrap()))
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    // Carol's copy of the shared subscription is the same; her filtered
    // one gets k2 only.
    let (mut shared, mut filtered) = (Vec::new(), Vec::new());
    while shared.len() < 2 || filtered.is_empty() {
        match carol.next(WAIT).await {
            (id, Incoming::Data(data)) if id == "1" => shared.push(data["feed"].clone()),
            (id, Incoming::Data(data)) if id == "2" => filtered.push(data["feed"]["key"].clone()),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(shared, seen);
    assert_eq!(filtered, vec![json!("k2")]);
    assert_eq!(seen[0]["__typename"], "KafkaRecord");
    assert_eq!(seen[0]["key"], "k1");
    assert_eq!(seen[0]["value"], json!({"id": 1}));
    assert_eq!(seen[1]["key"], "k2");
    assert_eq!(
        renditions(&app, &topic).await,
        2,
        "the replay has a consumer of its own"
    );

    alice.close().await;
    carol.close().await;
    wait_subscribers(&app, &topic, 0).await;
    assert_eq!(
        renditions(&app, &topic).await,
        0,
        "renditions end with their last subscriber"
    );
}

#[tokio::test]
async fn shared_renditions_on_apache_kafka() {
    shared_renditions(Broker::Apache).await;
}

#[tokio::test]
async fn shared_renditions_on_tansu() {
    shared_renditions(Broker::Tansu).await;
}

/// A client that stops reading gets `lagged` and skips ahead, while a fast
/// one on the same consumer receives every record in order.
async fn lagged(broker: Broker) {
    let mut config = broker.config();
    config.live_queue = 32;
    let app = spawn_live(Backend::Sqlite, config).await;
    app.orders_domain().await;
    let topic = json_product(&app, "bulk").await;
    let mut fast = WsClient::connect(&app.address, Protocol::TransportWs, auth(&app, "alice"))
        .await
        .unwrap();
    fast.subscribe("f", PRODUCT_EVENTS, json!({ "p": "orders.bulk" })).await;
    let mut slow = WsClient::connect_with_buffer(&app.address, Protocol::TransportWs, auth(&app, "alice"), Some(4096))
        .await
        .unwrap();
    slow.subscribe("s", PRODUCT_EVENTS, json!({ "p": "orders.bulk" })).await;
    wait_subscribers(&app, &topic, 2).await;
    assert_eq!(
        renditions(&app, &topic).await,
        1,
        "one rendition, lagging per subscriber"
    );

    // ~8 MB in 16 KB records: more than the slow client's socket buffers.
    // The producer stays at most 16 records ahead of the fast client (half
    // the queue), so the fast client keeps up however loaded the machine is,
    // while the slow one, which reads nothing, falls behind.
    let total = 500;
    let pad = "x".repeat(16 * 1024);
    let kafka = producer(&app.bootstrap);
    let ahead = Arc::new(tokio::sync::Semaphore::new(16));
    let producing = {
        let (topic, ahead) = (topic.clone(), ahead.clone());
        tokio::spawn(async move {
            for i in 0..total {
                ahead.acquire().await.unwrap().forget();
                produce(
                    &kafka,
                    &topic,
                    "k",
                    json!({ "id": i, "pad": pad }).to_string().as_bytes(),
                )
                .await;
            }
        })
    };
    for i in 0..total {
        let event = fast.data(WAIT).await["productEvents"].clone();
        assert_eq!(event["value"]["id"], i, "the fast client gets every record, in order");
        ahead.add_permits(1);
    }
    producing.await.unwrap();
    let mut skipped = 0;
    let mut received = 0;
    while received + skipped < total {
        let event = slow.data(WAIT).await["productEvents"].clone();
        match event["__typename"].as_str() {
            Some("Lagged") => skipped += event["skipped"].as_i64().unwrap(),
            _ => received += 1,
        }
    }
    assert!(skipped > 0, "the slow client was told it lagged");
    fast.close().await;
    slow.close().await;
    wait_subscribers(&app, &topic, 0).await;
}

#[tokio::test]
async fn lagged_on_apache_kafka() {
    lagged(Broker::Apache).await;
}

/// A product quiet for longer than its SLA's freshness is flagged
/// PRODUCT_STALE in catalogEvents (and the audit log), and PRODUCT_FRESH
/// once records flow again.
async fn freshness_flags(broker: Broker) {
    let mut config = broker.config();
    config.freshness_interval = Duration::from_millis(200);
    let app = spawn_live(Backend::Sqlite, config).await;
    app.orders_domain().await;
    let mut client = WsClient::connect(&app.address, Protocol::TransportWs, json!({}))
        .await
        .unwrap();
    client
        .subscribe(
            "1",
            "subscription { catalogEvents(kinds: [PRODUCT_STALE, PRODUCT_FRESH]) { ... on CatalogEvent { type entityName actor summary } } }",
            json!({}),
        )
        .await;
    wait_subscribers(&app, "mesh.catalog.events", 1).await;
    let started = Instant::now();
    let topic = json_product_fresh_within(&app, "quiet", 2).await;
    let stale = client.data(WAIT).await["catalogEvents"].clone();
    assert_eq!(stale["type"], "PRODUCT_STALE");
    assert_eq!(stale["entityName"], "orders.quiet");
    assert_eq!(stale["actor"], "mesh-catalog");
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "flagged before the SLA's 2 s had passed"
    );
    produce(&producer(&app.bootstrap), &topic, "k", br#"{"id":1}"#).await;
    let fresh = client.data(WAIT).await["catalogEvents"].clone();
    assert_eq!(fresh["type"], "PRODUCT_FRESH");
    assert_eq!(fresh["entityName"], "orders.quiet");
    let audit = app
        .ok(
            "alice",
            "{ auditLog(first: 50) { edges { node { action entityName } } } }",
            json!({}),
        )
        .await;
    let actions: Vec<&str> = audit["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["node"]["entityName"] == "orders.quiet")
        .filter_map(|e| e["node"]["action"].as_str())
        .collect();
    assert!(
        actions.contains(&"PRODUCT_STALE") && actions.contains(&"PRODUCT_FRESH"),
        "{actions:?}"
    );
    client.close().await;
}

#[tokio::test]
async fn freshness_flags_on_apache_kafka() {
    freshness_flags(Broker::Apache).await;
}

#[tokio::test]
async fn freshness_flags_on_tansu() {
    freshness_flags(Broker::Tansu).await;
}

/// `liveHistory` has the recent past at once: the freshness monitor's
/// intervals, with the records produced before anyone looked and their
/// last time; empty for a product without a freshness SLA; `minutes` is
/// checked.
async fn live_history(broker: Broker) {
    let mut config = broker.config();
    config.freshness_interval = Duration::from_millis(300);
    let app = spawn_live(Backend::Sqlite, config).await;
    app.orders_domain().await;
    let topic = json_product_fresh_within(&app, "recent", 60).await;
    let schema = r#"{"type":"object","properties":{"id":{"type":"integer"}}}"#;
    app.ok(
        "alice",
        PUBLISH,
        json!({ "input": {
            "domain": "orders", "name": "unmonitored", "description": "no SLA", "tags": [],
            "schema": { "format": "JSON_SCHEMA", "definition": schema },
        }}),
    )
    .await;
    let producer = producer(&app.bootstrap);
    // Two passes see the topic first, then records arrive.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let before = chrono::Utc::now();
    for id in 0..30 {
        produce(&producer, &topic, "k", format!("{{\"id\": {id}}}").as_bytes()).await;
    }
    let query = "{ a: dataProduct(qualifiedName: \"orders.recent\") { liveHistory(minutes: 5) { at eventsPerSecond lastEventTime } }
                   b: dataProduct(qualifiedName: \"orders.unmonitored\") { liveHistory { at } } }";
    let started = Instant::now();
    let history = loop {
        let data = app.ok("alice", query, json!({})).await;
        assert_eq!(
            data["b"]["liveHistory"],
            json!([]),
            "no freshness SLA, no history: {data:#}"
        );
        let history = data["a"]["liveHistory"].as_array().unwrap().clone();
        if history.iter().any(|i| i["lastEventTime"].is_string()) {
            break history;
        }
        assert!(started.elapsed() < WAIT, "no interval with the records: {data:#}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let at = |i: &Value, key: &str| chrono::DateTime::parse_from_rfc3339(i[key].as_str().unwrap()).unwrap();
    assert!(
        history.windows(2).all(|w| at(&w[0], "at") < at(&w[1], "at")),
        "oldest first: {history:#?}"
    );
    // Before the records: intervals with no event and no last event time.
    assert!(
        history
            .iter()
            .any(|i| i["lastEventTime"].is_null() && i["eventsPerSecond"] == 0.0),
        "{history:#?}"
    );
    let counted: f64 = history
        .windows(2)
        .map(|w| (at(&w[1], "at") - at(&w[0], "at")).as_seconds_f64() * w[1]["eventsPerSecond"].as_f64().unwrap())
        .sum();
    assert!(counted > 0.0, "{history:#?}");
    let last = history.last().unwrap();
    assert!(at(last, "lastEventTime") >= before, "{history:#?}");

    let bad = "{ dataProduct(qualifiedName: \"orders.recent\") { liveHistory(minutes: 0) { at } } }";
    assert_eq!(app.error_code("alice", bad, json!({})).await, "VALIDATION");
}

#[tokio::test]
async fn live_history_on_apache_kafka() {
    live_history(Broker::Apache).await;
}

#[tokio::test]
async fn live_history_on_tansu() {
    live_history(Broker::Tansu).await;
}

/// The first answer of a product's live figures, from a feed that has just
/// started, already knows the newest record and the recent rate: no STALE,
/// 0 events/s and no last event time for a topic that is being produced.
async fn first_figures_are_right(broker: Broker) {
    let app = spawn_live(Backend::Sqlite, broker.config()).await;
    app.orders_domain().await;
    let topic = json_product_fresh_within(&app, "warm", 60).await;
    let producer = producer(&app.bootstrap);
    for id in 0..20 {
        produce(&producer, &topic, "k", format!("{{\"id\": {id}}}").as_bytes()).await;
    }
    let query = "{ dataProduct(qualifiedName: \"orders.warm\") { live { freshness lastEventTime eventsPerSecond recentRecords } } }";
    let live = app.ok("alice", query, json!({})).await["dataProduct"]["live"].clone();
    assert_eq!(live["freshness"], "OK", "{live:#}");
    assert!(live["lastEventTime"].is_string(), "{live:#}");
    assert!(live["eventsPerSecond"].as_f64().unwrap() > 0.0, "{live:#}");

    let mut client = WsClient::connect(&app.address, Protocol::TransportWs, auth(&app, "alice"))
        .await
        .unwrap();
    let other = json_product_fresh_within(&app, "warm2", 60).await;
    for id in 0..5 {
        produce(&producer, &other, "k", format!("{{\"id\": {id}}}").as_bytes()).await;
    }
    client
        .subscribe(
            "h",
            "subscription { productHealth(product: \"orders.warm2\", intervalSeconds: 1) { freshness lastEventTime } }",
            json!({}),
        )
        .await;
    let first = client.data(WAIT).await["productHealth"].clone();
    assert_eq!(first["freshness"], "OK", "{first:#}");
    assert!(first["lastEventTime"].is_string(), "{first:#}");
}

#[tokio::test]
async fn first_figures_are_right_on_apache_kafka() {
    first_figures_are_right(Broker::Apache).await;
}

#[tokio::test]
async fn first_figures_are_right_on_tansu() {
    first_figures_are_right(Broker::Tansu).await;
}

/// PII fields are masked for an application approved without PII access
/// (and shown to the owner team and to one approved with it); revoking the
/// access ends the application's stream with FORBIDDEN.
async fn pii_and_revocation(broker: Broker) {
    let app = spawn_live(Backend::Sqlite, broker.config()).await;
    app.orders_domain().await;
    let topic = format!("t-people-{}", uuid::Uuid::new_v4().simple());
    let schema = r#"{"type":"object","properties":{"id":{"type":"integer"},"email":{"type":"string","pii":true},
        "contacts":{"type":"array","items":{"type":"object","properties":{"phone":{"type":"string","tags":["PII"]}}}}}}"#;
    app.ok(
        "alice",
        PUBLISH,
        json!({ "input": {
            "domain": "orders", "name": "people", "description": "people", "tags": [],
            "topic": { "name": topic, "partitions": 1 },
            "schema": { "format": "JSON_SCHEMA", "definition": schema },
        }}),
    )
    .await;
    wait_topic(&app, "orders.people").await;
    app.application("crm").await;
    let request = "mutation { requestAccess(input: {application: \"crm\", product: \"orders.people\", purpose: \"support\"}) { id } }";
    let subscription = app.ok("bob", request, json!({})).await["requestAccess"]["id"].clone();
    let approve = "mutation($s: ID!) { approveAccess(subscription: $s) { status piiAccess } }";
    let approved = app.ok("alice", approve, json!({ "s": subscription })).await;
    assert_eq!(
        approved["approveAccess"],
        json!({ "status": "APPROVED", "piiAccess": false })
    );

    let query = "subscription { productEvents(product: \"orders.people\") { ... on KafkaRecord { value masked } } }";
    let mut bob = WsClient::connect(&app.address, Protocol::TransportWs, auth(&app, "bob"))
        .await
        .unwrap();
    bob.subscribe("b", query, json!({})).await;
    let mut alice = WsClient::connect(&app.address, Protocol::LegacyWs, auth(&app, "alice"))
        .await
        .unwrap();
    alice.subscribe("a", query, json!({})).await;
    wait_subscribers(&app, &topic, 2).await;
    assert_eq!(
        renditions(&app, &topic).await,
        2,
        "the same document, rendered apart for PII access"
    );
    let record = br#"{"id": 1, "email": "ada@example.com", "contacts": [{"phone": "+33 1"}, {"phone": "+33 2"}]}"#;
    produce(&producer(&app.bootstrap), &topic, "k", record).await;
    let masked = bob.data(WAIT).await["productEvents"].clone();
    assert_eq!(masked["masked"], true);
    assert_eq!(
        masked["value"],
        json!({"id": 1, "email": "***", "contacts": [{"phone": "***"}, {"phone": "***"}]})
    );
    let clear = alice.data(WAIT).await["productEvents"].clone();
    assert_eq!(clear["masked"], false);
    assert_eq!(clear["value"]["email"], "ada@example.com");

    // A filter sees what its subscriber sees: bob cannot test guesses of a
    // masked field (the right guess matches nothing, the mask matches).
    let filtered = "subscription($v: JSON!) { productEvents(product: \"orders.people\", \
        filter: {fieldEquals: [{path: \"email\", value: $v}]}) { ... on KafkaRecord { value } } }";
    bob.subscribe("guess", filtered, json!({ "v": "ada@example.com" }))
        .await;
    bob.subscribe("mask", filtered, json!({ "v": "***" })).await;
    alice
        .subscribe("owner", filtered, json!({ "v": "ada@example.com" }))
        .await;
    wait_subscribers(&app, &topic, 5).await;
    produce(&producer(&app.bootstrap), &topic, "k", record).await;
    assert_eq!(
        alice.data(WAIT).await["productEvents"]["value"]["email"],
        "ada@example.com"
    );
    let mut seen = Vec::new();
    let until = Instant::now() + Duration::from_secs(3);
    while let Ok(Some(message)) = tokio::time::timeout(until - Instant::now(), bob.raw()).await {
        seen.push(message["id"].as_str().unwrap_or_default().to_owned());
        if Instant::now() >= until {
            break;
        }
    }
    seen.sort();
    assert_eq!(seen, ["b", "mask"], "which of bob's subscriptions got the record");
    bob.stop("guess").await;
    bob.stop("mask").await;
    alice.stop("owner").await;
    for client in [&mut bob, &mut alice] {
        while let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(500), client.raw()).await {}
    }

    let revoke = "mutation($s: ID!) { revokeAccess(subscription: $s, reason: \"done\") { status } }";
    app.ok("alice", revoke, json!({ "s": subscription })).await;
    let started = Instant::now();
    match bob.next(WAIT).await {
        (_, Incoming::Errors(e)) => assert_eq!(e[0]["extensions"]["code"], "FORBIDDEN", "{e}"),
        other => panic!("expected the stream to end with FORBIDDEN, got {other:?}"),
    }
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "revocation took {:?}",
        started.elapsed()
    );
    // A new subscription is refused too; the owner's stream goes on.
    bob.subscribe("b2", query, json!({})).await;
    loop {
        match bob.next(WAIT).await {
            (id, Incoming::Complete) if id == "b" => continue,
            (_, Incoming::Errors(e)) => break assert_eq!(e[0]["extensions"]["code"], "FORBIDDEN", "{e}"),
            other => panic!("expected FORBIDDEN, got {other:?}"),
        }
    }
    produce(&producer(&app.bootstrap), &topic, "k", br#"{"id": 2}"#).await;
    assert_eq!(alice.data(WAIT).await["productEvents"]["value"]["id"], 2);
}

#[tokio::test]
async fn pii_and_revocation_on_apache_kafka() {
    pii_and_revocation(Broker::Apache).await;
}

#[tokio::test]
async fn pii_and_revocation_on_tansu() {
    pii_and_revocation(Broker::Tansu).await;
}

/// A WebSocket authenticated in `connection_init` is closed with 4401 when
/// its token expires; a live subscription on it ends with it.
#[tokio::test]
async fn token_expiry_closes_the_websocket() {
    let app = spawn_live(Backend::Sqlite, Broker::Tansu.config()).await;
    let identity = Identity {
        subject: "alice".into(),
        teams: vec![],
        roles: vec![],
    };
    let token = app.tokens.mint(&identity, Duration::from_secs(2)).unwrap();
    let started = Instant::now();
    let mut client = WsClient::connect(&app.address, Protocol::TransportWs, json!({ "token": token }))
        .await
        .unwrap();
    client
        .subscribe("1", "subscription { catalogEvents { __typename } }", json!({}))
        .await;
    assert_eq!(client.closed_with(WAIT).await, Some(4401));
    let after = started.elapsed();
    assert!(
        after >= Duration::from_millis(900) && after < Duration::from_secs(10),
        "closed after {after:?}"
    );
}

/// A caller holds at most `max_subscriptions` live subscriptions at once,
/// over all its connections; ending one frees its slot.
#[tokio::test]
async fn concurrent_subscriptions_are_capped_per_caller() {
    let app = spawn_configured(Backend::Sqlite, |c| c.limits.max_subscriptions = 2).await;
    let query = "subscription { catalogEvents { __typename } }";
    let mut first = WsClient::connect(&app.address, Protocol::TransportWs, auth(&app, "alice"))
        .await
        .unwrap();
    first.subscribe("1", query, json!({})).await;
    let mut second = WsClient::connect(&app.address, Protocol::LegacyWs, auth(&app, "alice"))
        .await
        .unwrap();
    second.subscribe("2", query, json!({})).await;
    wait_subscribers(&app, "mesh.catalog.events", 2).await;
    second.subscribe("3", query, json!({})).await;
    match second.next(WAIT).await {
        (id, Incoming::Errors(e)) => {
            assert_eq!(id, "3");
            assert_eq!(e[0]["extensions"]["code"], "RATE_LIMITED", "{e}");
        }
        other => panic!("expected RATE_LIMITED, got {other:?}"),
    }
    // Someone else is not affected.
    let mut bob = WsClient::connect(&app.address, Protocol::TransportWs, auth(&app, "bob"))
        .await
        .unwrap();
    bob.subscribe("b", query, json!({})).await;
    wait_subscribers(&app, "mesh.catalog.events", 3).await;
    // Leaving frees the slot.
    first.close().await;
    wait_subscribers(&app, "mesh.catalog.events", 2).await;
    second.subscribe("4", query, json!({})).await;
    wait_subscribers(&app, "mesh.catalog.events", 3).await;
}

/// The protocol's edges, in both subprotocols: ping, a query over the
/// socket, stopping an operation, and the ways a client is refused.
#[tokio::test]
async fn websocket_protocol_edges() {
    let app = spawn_live(Backend::Sqlite, Broker::Tansu.config()).await;
    let mut client = WsClient::connect(&app.address, Protocol::TransportWs, auth(&app, "alice"))
        .await
        .unwrap();
    client.send(json!({ "type": "ping", "payload": { "n": 1 } })).await;
    assert_eq!(
        client.raw().await.unwrap(),
        json!({ "type": "pong", "payload": { "n": 1 } })
    );
    // A query runs once, then completes.
    client.subscribe("q", "{ viewer { subject } }", json!({})).await;
    assert_eq!(client.data(WAIT).await["viewer"]["subject"], "alice");
    assert_eq!(client.next(WAIT).await, ("q".into(), Incoming::Complete));
    // Stopping a running subscription is acknowledged with `complete`.
    let events = "subscription { catalogEvents { __typename } }";
    client.subscribe("s", events, json!({})).await;
    wait_subscribers(&app, "mesh.catalog.events", 1).await;
    client.stop("s").await;
    assert_eq!(client.next(WAIT).await, ("s".into(), Incoming::Complete));
    // An id already in use closes the connection (4409).
    client.subscribe("d", events, json!({})).await;
    client.subscribe("d", events, json!({})).await;
    assert_eq!(client.closed_with(WAIT).await, Some(4409));

    // Subscribing before `connection_init` (4401), a second init (4429),
    // a message that is not JSON (4400), a bad token (4403).
    let mut early = WsClient::open(&app.address, Protocol::TransportWs).await;
    early.subscribe("1", events, json!({})).await;
    assert_eq!(early.closed_with(WAIT).await, Some(4401));
    let mut twice = WsClient::connect(&app.address, Protocol::TransportWs, json!({}))
        .await
        .unwrap();
    twice.send(json!({ "type": "connection_init" })).await;
    assert_eq!(twice.closed_with(WAIT).await, Some(4429));
    let mut garbage = WsClient::connect(&app.address, Protocol::TransportWs, json!({}))
        .await
        .unwrap();
    garbage.send_text("hello").await;
    assert_eq!(garbage.closed_with(WAIT).await, Some(4400));
    let mut forged = WsClient::open(&app.address, Protocol::TransportWs).await;
    forged
        .send(json!({ "type": "connection_init", "payload": { "token": "forged" } }))
        .await;
    assert_eq!(forged.closed_with(WAIT).await, Some(4403));
    // The legacy protocol answers a bad token with `connection_error`.
    let mut legacy = WsClient::open(&app.address, Protocol::LegacyWs).await;
    legacy
        .send(json!({ "type": "connection_init", "payload": { "token": "forged" } }))
        .await;
    let refused = legacy.raw().await.unwrap();
    assert_eq!(refused["type"], "connection_error", "{refused}");
    assert!(refused["payload"]["message"].is_string(), "{refused}");
}

/// Debian's stock kcat (librdkafka 2.0.2) talks to the embedded broker
/// (patched: patches/tansu-service): records it produces arrive through
/// `productEvents`, and it reads them back.
#[tokio::test]
async fn kcat_produces_to_the_embedded_broker() {
    use std::io::Write;
    let app = spawn_live(Backend::Sqlite, Broker::Tansu.config()).await;
    app.orders_domain().await;
    let topic = json_product(&app, "kcat").await;
    let mut client = WsClient::connect(&app.address, Protocol::TransportWs, auth(&app, "alice"))
        .await
        .unwrap();
    client
        .subscribe(
            "k",
            "subscription { productEvents(product: \"orders.kcat\") { ... on KafkaRecord { key value } } }",
            json!({}),
        )
        .await;
    wait_subscribers(&app, &topic, 1).await;
    let bootstrap = app.bootstrap.clone();
    let produce_topic = topic.clone();
    let produced = tokio::task::spawn_blocking(move || {
        let mut kcat = std::process::Command::new("kcat")
            .args(["-P", "-b", &bootstrap, "-t", &produce_topic, "-k", "from-kcat"])
            .args(["-X", "message.timeout.ms=10000"])
            .stdin(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("kcat is installed (scripts/packages.sh)");
        kcat.stdin
            .take()
            .unwrap()
            .write_all(b"{\"id\": 7, \"country\": \"FR\"}\n")
            .unwrap();
        kcat.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    assert!(
        produced.status.success(),
        "kcat -P: {}",
        String::from_utf8_lossy(&produced.stderr)
    );
    let record = client.data(WAIT).await["productEvents"].clone();
    assert_eq!(
        record,
        json!({ "key": "from-kcat", "value": { "id": 7, "country": "FR" } })
    );

    let bootstrap = app.bootstrap.clone();
    let consumed = tokio::task::spawn_blocking(move || {
        std::process::Command::new("kcat")
            .args([
                "-C",
                "-b",
                &bootstrap,
                "-t",
                &topic,
                "-o",
                "beginning",
                "-e",
                "-q",
                "-f",
                "%k %s\\n",
            ])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let out = String::from_utf8_lossy(&consumed.stdout);
    assert!(
        consumed.status.success(),
        "kcat -C: {}",
        String::from_utf8_lossy(&consumed.stderr)
    );
    assert!(out.contains("from-kcat {\"id\": 7, \"country\": \"FR\"}"), "{out}");
}

/// A live subscription starts at the topic's end, also when the last
/// records arrived in one batch: the embedded broker answered a batch's
/// first offset + 1 as the topic's end (patches/tansu-storage), so a new
/// feed delivered the batch's older records as live ones.
#[tokio::test]
async fn a_live_start_after_a_batch_delivers_only_new_records() {
    let app = spawn_live(Backend::Sqlite, Broker::Tansu.config()).await;
    app.orders_domain().await;
    let topic = json_product(&app, "batched").await;
    // Three records in one produce request: held back together by linger.
    let batching: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &app.bootstrap)
        .set("linger.ms", "500")
        .create()
        .unwrap();
    let old = futures_util::future::join_all((0..3).map(|i| {
        let value = format!("{{\"id\": {i}}}");
        let (batching, topic) = (&batching, &topic);
        async move {
            batching
                .send(
                    FutureRecord::to(topic).key("old").payload(&value),
                    Duration::from_secs(10),
                )
                .await
                .unwrap()
        }
    }))
    .await;
    let offsets: Vec<i64> = old.iter().map(|delivered| delivered.offset).collect();
    assert_eq!(offsets, [0, 1, 2]);

    let mut client = WsClient::connect(&app.address, Protocol::TransportWs, auth(&app, "alice"))
        .await
        .unwrap();
    client
        .subscribe("b", PRODUCT_EVENTS, json!({ "p": "orders.batched" }))
        .await;
    wait_subscribers(&app, &topic, 1).await;
    produce(&producer(&app.bootstrap), &topic, "new", b"{\"id\": 3}").await;
    let first = client.data(WAIT).await["productEvents"].clone();
    assert_eq!(
        (&first["key"], &first["offset"]),
        (&json!("new"), &json!(3)),
        "{first:#}"
    );
}
