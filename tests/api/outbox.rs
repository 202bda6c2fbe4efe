//! The catalog event stream: every committed change reaches
//! `mesh.catalog.events` in order per entity — across a broker outage
//! (Apache Kafka stopped and restarted) and a server killed with SIGKILL
//! mid-burst.

use std::collections::{HashMap, HashSet};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mesh_catalog::config::KafkaConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{json, Value};

use crate::brokers::{shared_apache, ApacheKafka, Broker};
use crate::helpers::{order_schema, spawn_live, temp_dir, Backend, TestApp, SECRET};

/// Audit entry ids (= event ids) of a database, in commit order.
pub async fn audit_ids(database_url: &str) -> Vec<String> {
    let db = Database::connect(database_url).await.unwrap();
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT id FROM audit_entry ORDER BY id",
        ))
        .await
        .unwrap();
    rows.iter().map(|r| r.try_get::<String>("", "id").unwrap()).collect()
}

async fn outbox_len(database_url: &str) -> i64 {
    crate::helpers::count(database_url, "SELECT COUNT(*) AS n FROM outbox").await
}

/// Reads `mesh.catalog.events` from the beginning until every id in
/// `expected` has been seen; returns the events of those ids in arrival
/// order per partition (duplicates kept: delivery is at-least-once).
pub async fn read_events(bootstrap: &str, expected: &[String], timeout: Duration) -> Vec<Value> {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "mesh-catalog-test-reader")
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "10")
        .create()
        .unwrap();
    let mut list = TopicPartitionList::new();
    for p in 0..3 {
        list.add_partition_offset("mesh.catalog.events", p, Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&list).unwrap();
    let wanted: HashSet<&String> = expected.iter().collect();
    let mut seen = HashSet::new();
    let mut events = Vec::new();
    let deadline = Instant::now() + timeout;
    let mut last_error = None;
    while seen.len() < wanted.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        let received = tokio::time::timeout(left, consumer.recv()).await.unwrap_or_else(|_| {
            panic!(
                "only {} of {} events arrived (last consumer error: {last_error:?})",
                seen.len(),
                wanted.len()
            )
        });
        // A consumer reports a broker's transient trouble (a restart, a
        // refused connection) and carries on, as any consumer does; only
        // a fatal error ends the read. Missing events still fail above.
        let message = match received {
            Ok(message) => message,
            Err(e @ KafkaError::MessageConsumptionFatal(_)) => panic!("consumer failed: {e}"),
            Err(e) => {
                last_error = Some(e);
                continue;
            }
        };
        let event: Value = serde_json::from_slice(message.payload().unwrap()).unwrap();
        let id = event["eventId"].as_str().unwrap().to_owned();
        if wanted.contains(&id) {
            assert_eq!(
                message.key(),
                Some(event["entityId"].as_str().unwrap().as_bytes()),
                "keyed by entity id"
            );
            seen.insert(id);
            events.push(event);
        }
    }
    events
}

/// Every expected event arrived, and per entity in commit order.
pub fn assert_in_order(events: &[Value], expected: &[String]) {
    let position: HashMap<&str, usize> = expected.iter().enumerate().map(|(i, id)| (id.as_str(), i)).collect();
    let mut last: HashMap<String, usize> = HashMap::new();
    for event in events {
        let at = position[event["eventId"].as_str().unwrap()];
        let entity = event["entityId"].as_str().unwrap().to_owned();
        if let Some(previous) = last.get(&entity) {
            // A redelivered batch may repeat older events; never skip ahead.
            assert!(
                at >= *previous || events.iter().filter(|e| e["eventId"] == event["eventId"]).count() > 1,
                "out of order for {entity}"
            );
        }
        last.insert(entity, at);
    }
}

async fn some_changes(app: &TestApp, tag: &str) {
    for i in 0..3 {
        app.publish(&format!("{tag}-{i}"), &order_schema(&[])).await;
    }
    let product = format!("orders.{tag}-0");
    let schema = order_schema(&[r#"{"name": "note", "type": ["null", "string"], "default": null}"#]);
    app.ok(
        "alice",
        "mutation($p: String!, $d: String!) { registerSchemaVersion(input: {product: $p, schema: {format: AVRO, definition: $d}}) { version } }",
        json!({ "p": product, "d": schema }),
    )
    .await;
}

async fn delivered_in_order(app: TestApp) {
    app.orders_domain().await;
    some_changes(&app, "ev").await;
    let ids = audit_ids(&app.database_url).await;
    assert!(ids.len() >= 6);
    let events = read_events(&app.bootstrap, &ids, Duration::from_secs(60)).await;
    assert_in_order(&events, &ids);
    // Events are ordered per entity (partition), not globally.
    let published = events
        .iter()
        .find(|e| e["type"] == "PRODUCT_PUBLISHED" && e["entityName"] == "orders.ev-0")
        .unwrap();
    assert_eq!(
        published["entity"]["qualified_name"], "orders.ev-0",
        "the entity after the change"
    );
    assert_eq!(published["domains"], json!(["orders"]));
    assert_eq!(published["actor"], "alice");
}

#[tokio::test]
async fn delivered_in_order_apache_sqlite() {
    delivered_in_order(spawn_live(Backend::Sqlite, Broker::Apache.config()).await).await;
}

#[tokio::test]
async fn delivered_in_order_apache_postgres() {
    delivered_in_order(spawn_live(Backend::Postgres, Broker::Apache.config()).await).await;
}

#[tokio::test]
async fn delivered_in_order_tansu_sqlite() {
    delivered_in_order(spawn_live(Backend::Sqlite, Broker::Tansu.config()).await).await;
}

/// The broker goes down mid-way: changes still commit, the outbox grows,
/// and everything drains in order once the broker is back.
#[tokio::test]
async fn survives_a_broker_outage() {
    let mut kafka = ApacheKafka::start();
    let app = spawn_live(Backend::Sqlite, KafkaConfig::external(kafka.bootstrap.clone())).await;
    app.orders_domain().await;
    app.publish("before", &order_schema(&[])).await;
    let before = audit_ids(&app.database_url).await;
    read_events(&app.bootstrap, &before, Duration::from_secs(60)).await;

    kafka.stop();
    some_changes(&app, "during").await;
    assert!(
        outbox_len(&app.database_url).await > 0,
        "held in the outbox while the broker is down"
    );

    kafka.restart();
    let ids = audit_ids(&app.database_url).await;
    let events = read_events(&app.bootstrap, &ids, Duration::from_secs(90)).await;
    assert_in_order(&events, &ids);
    let deadline = Instant::now() + Duration::from_secs(30);
    while outbox_len(&app.database_url).await > 0 {
        assert!(Instant::now() < deadline, "outbox not drained");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The real binary, killed with SIGKILL in the middle of a burst of
/// mutations, then restarted: every committed change is published.
#[tokio::test]
async fn survives_kill_9_mid_burst() {
    let bootstrap = shared_apache();
    let dir = temp_dir();
    let url = format!("sqlite://{}", dir.join("catalog.db").display());
    let port = crate::helpers::port_for_a_child();
    let start = || {
        Command::new(env!("CARGO_BIN_EXE_mesh-catalog"))
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--database-url",
                &url,
            ])
            .env("MESH_JWT_SECRET", SECRET)
            .env("KAFKA_BOOTSTRAP_SERVERS", &bootstrap)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let address = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let wait_up = || async {
        let deadline = Instant::now() + Duration::from_secs(30);
        while client.get(format!("{address}/healthz")).send().await.is_err() {
            assert!(Instant::now() < deadline, "server did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let mut server = start();
    wait_up().await;
    // Only admins create teams.
    let tokens = mesh_catalog::auth::TokenService::new(&mesh_catalog::config::AuthConfig::with_secret(SECRET));
    let token = tokens
        .mint(
            &mesh_catalog::auth::Identity {
                subject: "admin".into(),
                teams: vec![],
                roles: vec!["admin".into()],
            },
            Duration::from_secs(600),
        )
        .unwrap();
    let done = Arc::new(AtomicUsize::new(0));
    let burst = {
        let (done, client, address) = (done.clone(), client.clone(), address.clone());
        tokio::spawn(async move {
            for i in 0..200 {
                let body =
                    json!({ "query": format!("mutation {{ createTeam(input: {{name: \"burst-{i}\"}}) {{ id }} }}") });
                match client
                    .post(format!("{address}/graphql"))
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await
                {
                    Ok(r) if r.status().is_success() => done.fetch_add(1, Ordering::SeqCst),
                    _ => break,
                };
            }
        })
    };
    while done.load(Ordering::SeqCst) < 20 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill().unwrap(); // SIGKILL
    server.wait().unwrap();
    let _ = burst.await;
    let committed = audit_ids(&url).await;
    assert!(
        committed.len() >= 20 && committed.len() < 200,
        "killed mid-burst ({} committed)",
        committed.len()
    );

    let mut server = start();
    wait_up().await;
    let events = read_events(&bootstrap, &committed, Duration::from_secs(60)).await;
    assert_in_order(&events, &committed);
    server.kill().unwrap();
    server.wait().unwrap();
}
