//! Scale-out: three `mesh-catalog serve` processes sharing one PostgreSQL
//! database and the Apache Kafka broker, as behind a load balancer.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use apache_avro::types::Value as Avro;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{json, Value};

use mesh_catalog::search::{differences, SearchIndex};

use crate::brokers::shared_apache;
use crate::helpers::{count, fresh_postgres_url, order_schema, temp_dir, TestApp, ADMIN, PUBLISH, SECRET};
use crate::outbox::{assert_in_order, read_events};
use crate::ws::{Protocol, WsClient};

const BIN: &str = env!("CARGO_BIN_EXE_mesh-catalog");
const WAIT: Duration = Duration::from_secs(60);

/// One replica: a server process on its own port and data directory.
struct Replica {
    name: &'static str,
    port: u16,
    data_dir: PathBuf,
    database_url: String,
    bootstrap: String,
    child: Option<Child>,
}

impl Replica {
    fn new(name: &'static str, database_url: &str, bootstrap: &str) -> Self {
        let port = crate::helpers::port_for_a_child();
        let mut replica = Self {
            name,
            port,
            data_dir: temp_dir(),
            database_url: database_url.to_owned(),
            bootstrap: bootstrap.to_owned(),
            child: None,
        };
        replica.start();
        replica
    }

    fn start(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.data_dir.join("server.log"))
            .unwrap();
        let child = Command::new(BIN)
            .args(["serve", "--listen", &format!("127.0.0.1:{}", self.port)])
            .env("DATABASE_URL", &self.database_url)
            .env("MESH_DATA_DIR", &self.data_dir)
            .env("KAFKA_BOOTSTRAP_SERVERS", &self.bootstrap)
            .env("MESH_JWT_SECRET", SECRET)
            .env("MESH_RATE_LIMIT", "0")
            .env("MESH_FRESHNESS_CHECK", "1s")
            .env("RUST_LOG", "warn,mesh_catalog=info")
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        self.child = Some(child);
    }

    fn address(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn app(&self) -> TestApp {
        TestApp::remote(
            self.address(),
            self.data_dir.clone(),
            self.database_url.clone(),
            self.bootstrap.clone(),
        )
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.data_dir.join("server.log")).unwrap_or_default()
    }

    /// Waits until `/readyz` answers 200: migrated, index reconciled and
    /// the first pass over `mesh.catalog.events` done.
    async fn ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(120);
        let client = reqwest::Client::new();
        loop {
            if let Ok(r) = client.get(format!("{}/readyz", self.address())).send().await {
                if r.status().is_success() {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "replica {} not ready:\n{}",
                self.name,
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A figure of `/metrics`.
    async fn metric(&self, name: &str) -> Option<f64> {
        crate::helpers::metric(&self.address(), name).await
    }

    /// Waits until the replica has read every event and made it searchable.
    async fn settled(&self) {
        let deadline = Instant::now() + WAIT;
        loop {
            let behind = self.metric("mesh_catalog_events_behind").await;
            let lag = self.metric("mesh_index_lag_seconds").await;
            if behind == Some(0.0) && lag == Some(0.0) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "replica {} behind: {behind:?} events, lag {lag:?}",
                self.name
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    fn signal(&mut self, signal: &str) {
        let Some(mut child) = self.child.take() else { return };
        Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "replica {} did not stop", self.name);
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Compares the replica's index (at rest) with the database.
    async fn index_differences(&self) -> Vec<String> {
        let index = SearchIndex::open_existing(&self.data_dir.join("index")).unwrap();
        let db = Database::connect(&self.database_url).await.unwrap();
        differences(&index, &db)
            .await
            .unwrap()
            .into_iter()
            .map(|d| format!("{d:?}"))
            .collect()
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Total hits of `search(query)` as `user`, with `filter`.
async fn hits(app: &TestApp, user: &str, query: &str, filter: Value) -> Vec<String> {
    let data = app
        .ok(
            user,
            "query($q: String!, $f: SearchFiltersInput) { search(query: $q, filters: $f, first: 100) { edges { node { product { qualifiedName } } } } }",
            json!({ "q": query, "f": filter }),
        )
        .await;
    data["search"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["product"]["qualifiedName"].as_str().unwrap().to_owned())
        .collect()
}

/// Waits until `query` on `app` finds `product` (with `filter`).
async fn searchable(app: &TestApp, query: &str, filter: Value, product: &str) {
    let deadline = Instant::now() + WAIT;
    while !hits(app, ADMIN, query, filter.clone())
        .await
        .iter()
        .any(|p| p == product)
    {
        assert!(
            Instant::now() < deadline,
            "{product} not found by `{query}` ({filter}) on {}",
            app.address
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A mutation that may fail because its replica is killed: `None` then.
async fn try_mutate(app: &TestApp, query: &str, variables: Value) -> Option<Value> {
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(app.token("alice"))
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .ok()?;
    let body: Value = response.json().await.ok()?;
    body.get("errors").is_none().then_some(body)
}

/// Every committed change's event id, in commit order.
async fn committed_changes(database_url: &str) -> Vec<String> {
    let db = Database::connect(database_url).await.unwrap();
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT id FROM audit_entry WHERE action <> 'DENIED' ORDER BY id",
        ))
        .await
        .unwrap();
    rows.iter().map(|r| r.try_get::<String>("", "id").unwrap()).collect()
}

/// An Avro record of `schema`, in the Confluent wire format with `id`.
fn framed(schema: &str, id: i64, fields: Vec<(String, Avro)>) -> Vec<u8> {
    let schema = apache_avro::Schema::parse_str(schema).unwrap();
    let writer = apache_avro::writer::datum::GenericDatumWriter::builder(&schema)
        .build()
        .unwrap();
    let body = writer.write_value_to_vec(Avro::Record(fields)).unwrap();
    let mut out = vec![0u8];
    out.extend_from_slice(&(id as u32).to_be_bytes());
    out.extend_from_slice(&body);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_share_postgres_and_kafka() {
    mesh_catalog::startup::install_tls_provider();
    let database_url = fresh_postgres_url().await;
    let bootstrap = shared_apache();
    // Started together: one migrates, the others wait for it.
    let mut replicas = vec![
        Replica::new("a", &database_url, &bootstrap),
        Replica::new("b", &database_url, &bootstrap),
        Replica::new("c", &database_url, &bootstrap),
    ];
    for r in &replicas {
        r.ready().await;
    }
    let (a, b, c) = (replicas[0].app(), replicas[1].app(), replicas[2].app());

    // Publish through A: searchable on B and C.
    a.orders_domain().await;
    a.publish("shipments", &order_schema(&[])).await;
    searchable(&b, "shipments", json!({}), "orders.shipments").await;
    searchable(&c, "shipments", json!({}), "orders.shipments").await;

    // Deprecate through B: C's index has the new status.
    b.ok(
        "alice",
        "mutation { deprecateDataProduct(input: {product: \"orders.shipments\", reason: \"v2\"}) { id } }",
        json!({}),
    )
    .await;
    searchable(
        &c,
        "shipments",
        json!({ "statuses": ["DEPRECATED"] }),
        "orders.shipments",
    )
    .await;
    searchable(
        &a,
        "shipments",
        json!({ "statuses": ["DEPRECATED"] }),
        "orders.shipments",
    )
    .await;

    // Request access through C, approve through A: B reads the decision.
    a.publish("invoices", &order_schema(&[])).await;
    c.application("fraud").await;
    let request = c
        .ok(
            "bob",
            "mutation { requestAccess(input: {application: \"fraud\", product: \"orders.invoices\", purpose: \"scoring\"}) { id } }",
            json!({}),
        )
        .await["requestAccess"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    a.ok(
        "alice",
        "mutation($s: ID!) { approveAccess(subscription: $s) { status } }",
        json!({ "s": request }),
    )
    .await;
    let status = b
        .ok(
            "bob",
            "{ application(key: \"fraud\") { subscriptions { status product { qualifiedName } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        status["application"]["subscriptions"][0]["status"], "APPROVED",
        "{status}"
    );

    // Decoders on every replica: B streams the product's records; a schema
    // version registered through A decodes on B.
    let live = a.publish("live", &order_schema(&[])).await;
    assert_eq!(live["schema"]["version"], 1);
    let topic = a
        .ok(
            "alice",
            "{ dataProduct(qualifiedName: \"orders.live\") { topic { name } } }",
            json!({}),
        )
        .await["dataProduct"]["topic"]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = b.token("alice");
    let mut client = WsClient::connect(&b.address, Protocol::TransportWs, json!({ "token": token }))
        .await
        .unwrap();
    client
        .subscribe(
            "1",
            "subscription { productEvents(product: \"orders.live\") { __typename ... on KafkaRecord { value schemaVersion } ... on RecordDecodeError { message } } }",
            json!({}),
        )
        .await;
    // The subscription's consumer is running once B counts a subscriber.
    let deadline = Instant::now() + WAIT;
    while replicas[1]
        .metric(&format!("mesh_live_subscribers{{topic=\"{topic}\"}}"))
        .await
        != Some(1.0)
    {
        assert!(Instant::now() < deadline, "B never counted the subscriber");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let v2 = order_schema(&[r#"{"name": "note", "type": ["null", "string"], "default": null}"#]);
    a.ok(
        "alice",
        "mutation($d: String!) { registerSchemaVersion(input: {product: \"orders.live\", schema: {format: AVRO, definition: $d}}) { version } }",
        json!({ "d": v2 }),
    )
    .await;
    let schema_id = a
        .ok(
            "alice",
            "{ dataProduct(qualifiedName: \"orders.live\") { schema { version schemaId } } }",
            json!({}),
        )
        .await["dataProduct"]["schema"]["schemaId"]
        .as_i64()
        .unwrap();
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("linger.ms", "0")
        .create()
        .unwrap();
    let record = framed(
        &v2,
        schema_id,
        vec![
            ("order_id".into(), Avro::String("o-9".into())),
            ("amount".into(), Avro::Long(9)),
            ("note".into(), Avro::Union(1, Box::new(Avro::String("hi".into())))),
        ],
    );
    producer
        .send(
            FutureRecord::to(&topic).key("o-9").payload(&record),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    let event = client.data(WAIT).await["productEvents"].clone();
    assert_eq!(event["__typename"], "KafkaRecord", "{event}");
    assert_eq!(event["schemaVersion"], 2, "{event}");
    assert_eq!(event["value"]["note"], "hi", "{event}");
    // B's shared consumer reports how far behind the topic's end it is.
    let lag = format!("mesh_live_consumer_lag{{topic=\"{topic}\"}}");
    let deadline = Instant::now() + WAIT;
    while replicas[1].metric(&lag).await != Some(0.0) {
        assert!(Instant::now() < deadline, "B never measured its consumer lag");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    client.close().await;
    // The relays observed their latency (whichever replicas published).
    let mut relayed = 0.0;
    for replica in &replicas {
        relayed += replica
            .metric("mesh_outbox_relay_seconds_count")
            .await
            .unwrap_or_default();
    }
    assert!(relayed > 0.0, "no relay latency observed");

    // One freshness monitor's flag, not three: `orders.quiet` promises a
    // record every second and gets none.
    a.ok(
        "alice",
        PUBLISH,
        json!({ "input": {
            "domain": "orders", "name": "quiet", "description": "Never written",
            "schema": { "format": "AVRO", "definition": order_schema(&[]) },
            "sla": { "tier": "SILVER", "maxFreshnessSeconds": 1 },
        }}),
    )
    .await;
    let stale = "SELECT COUNT(*) AS n FROM audit_entry a JOIN data_product p ON p.id = a.entity_id \
                 WHERE p.qualified_name = 'orders.quiet' AND a.action = 'PRODUCT_STALE'";
    let deadline = Instant::now() + WAIT;
    while count(&database_url, stale).await == 0 {
        assert!(Instant::now() < deadline, "orders.quiet never flagged stale");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Every monitor has had several checks since.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        count(&database_url, stale).await,
        1,
        "one PRODUCT_STALE for three monitors"
    );

    // A burst of mutations through all three; C is killed in the middle.
    let done = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for (r, app) in [&a, &b, &c].into_iter().enumerate() {
        let (app, done) = (
            TestApp::remote(
                app.address.clone(),
                app.data_dir.clone(),
                app.database_url.clone(),
                app.bootstrap.clone(),
            ),
            done.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut published_here = 0;
            for i in 0..30 {
                let name = format!("burst-{r}-{i}");
                let published = try_mutate(
                    &app,
                    PUBLISH,
                    json!({ "input": {
                        "domain": "orders", "name": name, "description": "A burst",
                        "tags": [format!("r{r}")],
                        "schema": { "format": "AVRO", "definition": order_schema(&[]) },
                    }}),
                )
                .await;
                if published.is_none() {
                    break;
                }
                done.fetch_add(1, Ordering::SeqCst);
                published_here += 1;
                if i % 3 == 2 {
                    let deprecated = try_mutate(
                        &app,
                        "mutation($p: String!) { deprecateDataProduct(input: {product: $p, reason: \"burst\"}) { id } }",
                        json!({ "p": format!("orders.burst-{r}-{}", i - 1) }),
                    )
                    .await;
                    if deprecated.is_none() {
                        break;
                    }
                }
            }
            published_here
        }));
    }
    while done.load(Ordering::SeqCst) < 20 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    replicas[2].signal("-KILL");
    let mut published = Vec::new();
    for worker in workers {
        published.push(worker.await.unwrap());
    }
    assert_eq!(published[..2], [30, 30], "A and B answered every mutation");
    assert!(published[2] < 30, "C was killed mid-burst ({published:?})");

    // Every committed change reached mesh.catalog.events, in order per entity.
    let committed = committed_changes(&database_url).await;
    let events = read_events(&bootstrap, &committed, WAIT).await;
    assert_in_order(&events, &committed);

    // The survivors' indexes match the database exactly.
    for replica in &mut replicas[..2] {
        replica.settled().await;
        replica.signal("-TERM");
        let diff = replica.index_differences().await;
        assert!(diff.is_empty(), "replica {}: {diff:?}", replica.name);
    }
    let products = count(&database_url, "SELECT COUNT(*) AS n FROM data_product").await;
    assert!(products > 20, "the burst published products ({products})");

    // C, killed mid-burst, catches up when it starts again.
    let c = &mut replicas[2];
    c.start();
    c.ready().await;
    searchable(&c.app(), "burst", json!({ "tags": ["r0"] }), "orders.burst-0-0").await;
    c.settled().await;
    c.signal("-TERM");
    let diff = c.index_differences().await;
    assert!(diff.is_empty(), "replica c after restart: {diff:?}");
}
