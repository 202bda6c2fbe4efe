//! Adopting existing topics: a topic created and filled directly on the
//! broker (plain rdkafka) is offered by `unadoptedTopics` with its settings,
//! size, rate, sample and inferred schema, adopted in one mutation and found
//! by search; internal topics are never offered. On the embedded broker and
//! on Apache Kafka.

use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;
use serde_json::{json, Value};

use crate::brokers::Broker;
use crate::helpers::{code_of, spawn_live, Backend, TestApp, ADMIN};

const UNADOPTED: &str = "query($f: UnadoptedTopicFilter, $first: Int, $after: String) {
  unadoptedTopics(filter: $f, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes {
      name partitions retentionMs cleanupPolicy approximateRecords estimatedBytes recordsPerSecond
      sample(limit: 3) { partition offset key timestamp json rawBase64 }
      inferredSchema { definition records skipped }
    }
  }
}";

const NAMES: &str = "query($f: UnadoptedTopicFilter, $first: Int, $after: String) {
  unadoptedTopics(filter: $f, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } nodes { name }
  }
}";

const ADOPT: &str = "mutation($input: AdoptTopicInput!) {
  adoptTopic(input: $input) {
    qualifiedName status qualityClass
    topic { name partitions retentionMs cleanupPolicy }
    schema { format fields { path type nullable required } }
  }
}";

fn admin(app: &TestApp) -> AdminClient<DefaultClientContext> {
    ClientConfig::new()
        .set("bootstrap.servers", &app.bootstrap)
        .create()
        .unwrap()
}

async fn create_topic(app: &TestApp, name: &str, partitions: i32, retention_ms: &str) {
    let topic = NewTopic::new(name, partitions, TopicReplication::Fixed(1))
        .set("retention.ms", retention_ms)
        .set("cleanup.policy", "delete");
    let results = admin(app).create_topics([&topic], &AdminOptions::new()).await.unwrap();
    assert!(results.iter().all(Result::is_ok), "{results:?}");
}

async fn produce_all(app: &TestApp, topic: &str, values: &[Vec<u8>]) {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &app.bootstrap)
        .set("linger.ms", "0")
        .create()
        .unwrap();
    for (i, value) in values.iter().enumerate() {
        let key = format!("k{i}");
        producer
            .send(
                FutureRecord::to(topic).key(&key).payload(value),
                Duration::from_secs(10),
            )
            .await
            .unwrap();
    }
}

/// Click records as a legacy producer wrote them: nested objects, arrays,
/// nulls, optional keys and a field whose type varies.
fn clicks(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let mut record = json!({
                "click_id": format!("c-{i}"),
                "at": "2026-11-27T10:00:00Z",
                "page": { "url": format!("/p/{i}"), "referrer": if i % 2 == 0 { Value::Null } else { json!("/home") } },
                "items": [{ "sku": "A-1", "qty": i }],
                "score": if i % 3 == 0 { json!(1) } else { json!(0.5) },
                "campaign": if i % 4 == 0 { json!(7) } else { json!("spring") },
            });
            if i % 5 == 0 {
                record["coupon"] = json!("FREESHIP");
            }
            serde_json::to_vec(&record).unwrap()
        })
        .collect()
}

async fn unadopted(app: &TestApp, user: &str, contains: &str) -> Value {
    app.ok(user, UNADOPTED, json!({ "f": { "nameContains": contains } }))
        .await["unadoptedTopics"]
        .clone()
}

/// The sample's records may take a moment to be readable after a produce.
async fn until_sampled(app: &TestApp, contains: &str, records: i64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let found = unadopted(app, "alice", contains).await;
        let node = &found["nodes"][0];
        if node["approximateRecords"] == records && node["inferredSchema"]["records"] == records {
            return found;
        }
        assert!(Instant::now() < deadline, "topic not fully sampled: {found:#}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn field<'a>(fields: &'a Value, path: &str) -> &'a Value {
    fields
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == path)
        .unwrap_or_else(|| panic!("no field {path} in {fields:#}"))
}

async fn adopt(broker: Broker) {
    let app = spawn_live(Backend::Sqlite, broker.config()).await;
    app.orders_domain().await;
    app.application("spy").await; // bob: a team, but no domain
    let run = uuid::Uuid::new_v4().simple().to_string();
    let legacy = format!("legacy-clicks-{run}");
    let internal = format!("_internal-{run}");
    create_topic(&app, &legacy, 2, "172800000").await;
    create_topic(&app, &internal, 1, "172800000").await;
    produce_all(&app, &legacy, &clicks(20)).await;
    produce_all(&app, &internal, &clicks(2)).await;

    // Offered with its settings, size, rate, sample and inferred schema.
    let found = until_sampled(&app, &run, 20).await;
    assert_eq!(found["totalCount"], 1, "the internal topic is never offered: {found:#}");
    let topic = &found["nodes"][0];
    assert_eq!(topic["name"], legacy);
    assert_eq!(topic["partitions"], 2);
    assert_eq!(topic["retentionMs"], 172_800_000);
    assert_eq!(topic["cleanupPolicy"], "DELETE");
    let sizes: Vec<usize> = clicks(20).iter().map(|v| v.len() + 2).collect(); // keys k0..k9 take 2 bytes
    let (smallest, largest) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
    let estimated = topic["estimatedBytes"].as_u64().unwrap() as usize;
    assert!(
        (20 * smallest..=20 * (largest + 1)).contains(&estimated),
        "estimated {estimated} bytes for 20 records of {smallest}–{largest}"
    );
    match broker {
        // 20 records in the last minute.
        Broker::Apache => assert_eq!(topic["recordsPerSecond"].as_f64(), Some(20.0 / 60.0)),
        Broker::Tansu => assert!(
            topic["recordsPerSecond"].is_null() || topic["recordsPerSecond"].as_f64() > Some(0.0),
            "{topic:#}"
        ),
    }
    let sample = topic["sample"].as_array().unwrap();
    assert_eq!(sample.len(), 3);
    for record in sample {
        assert!(
            record["json"]["click_id"].as_str().unwrap().starts_with("c-"),
            "{record:#}"
        );
        assert!(record["key"].as_str().unwrap().starts_with('k'));
        assert!(record["rawBase64"].is_string());
    }
    let stamps: Vec<&str> = sample.iter().map(|r| r["timestamp"].as_str().unwrap()).collect();
    assert!(stamps.windows(2).all(|w| w[0] >= w[1]), "newest first: {stamps:?}");
    let inferred: Value = serde_json::from_str(topic["inferredSchema"]["definition"].as_str().unwrap()).unwrap();
    assert_eq!(topic["inferredSchema"]["skipped"], 0);
    let mut required: Vec<&str> = inferred["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    required.sort_unstable();
    assert_eq!(required, ["at", "campaign", "click_id", "items", "page", "score"]);
    assert_eq!(inferred["properties"]["at"]["format"], "date-time");
    assert_eq!(
        inferred["properties"]["page"]["properties"]["referrer"]["type"],
        json!(["string", "null"])
    );
    assert_eq!(inferred["properties"]["score"]["type"], "number");
    assert_eq!(
        inferred["properties"]["items"]["items"]["properties"]["qty"]["type"],
        "integer"
    );

    // Internal topics are never listed, whatever the filter.
    let mut after = Value::Null;
    loop {
        let page = app.ok("alice", NAMES, json!({ "first": 100, "after": after })).await["unadoptedTopics"].clone();
        for node in page["nodes"].as_array().unwrap() {
            let name = node["name"].as_str().unwrap();
            assert!(
                !name.starts_with('_') && name != "mesh.catalog.events",
                "{name} offered"
            );
        }
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }

    // Only members of a domain's team (and admins) look at the cluster.
    let body = app
        .post(Some(&app.token("bob")), NAMES, json!({ "f": { "nameContains": run } }))
        .await;
    assert_eq!(code_of(&body), "FORBIDDEN");
    assert_eq!(code_of(&app.post(None, NAMES, json!({})).await), "UNAUTHENTICATED");
    let adopt_input = |topic: &str, name: &str| {
        json!({ "input": {
            "topic": topic, "domain": "orders", "name": name,
            "description": "Clicks of the legacy web shop, adopted as they are",
            "tags": ["clickstream"], "qualityClass": "RAW",
        }})
    };
    assert_eq!(
        app.error_code("bob", ADOPT, adopt_input(&legacy, "legacy-clicks"))
            .await,
        "FORBIDDEN"
    );

    // Adopted in one mutation: the topic's settings, the inferred schema.
    let product = app.ok("alice", ADOPT, adopt_input(&legacy, "legacy-clicks")).await["adoptTopic"].clone();
    assert_eq!(product["qualifiedName"], "orders.legacy-clicks");
    assert_eq!(product["status"], "PUBLISHED");
    assert_eq!(product["qualityClass"], "RAW");
    assert_eq!(
        product["topic"],
        json!({ "name": legacy, "partitions": 2, "retentionMs": 172_800_000, "cleanupPolicy": "DELETE" })
    );
    assert_eq!(product["schema"]["format"], "JSON_SCHEMA");
    let fields = &product["schema"]["fields"];
    assert_eq!(field(fields, "page.referrer")["nullable"], true);
    assert_eq!(field(fields, "coupon")["required"], false);
    assert_eq!(field(fields, "click_id")["required"], true);
    field(fields, "items[].sku");

    // No drift: the product declares what the topic has.
    let status = app
        .ok(
            "alice",
            "{ dataProduct(qualifiedName: \"orders.legacy-clicks\") { topicStatus { exists drift { setting } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        status["dataProduct"]["topicStatus"],
        json!({ "exists": true, "drift": [] })
    );

    // Found by search, and no longer offered.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let hits = app
            .ok(
                ADMIN,
                "{ search(query: \"legacy clicks\") { edges { node { product { qualifiedName } } } } }",
                json!({}),
            )
            .await;
        if hits["search"]["edges"][0]["node"]["product"]["qualifiedName"] == "orders.legacy-clicks" {
            break;
        }
        assert!(Instant::now() < deadline, "adopted product not searchable: {hits:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let after = unadopted(&app, "alice", &run).await;
    assert_eq!(after["totalCount"], 0, "{after:#}");

    // Refusals, with nothing written.
    assert_eq!(
        app.error_code("alice", ADOPT, adopt_input(&legacy, "clicks-again"))
            .await,
        "CONFLICT"
    );
    assert_eq!(
        app.error_code("alice", ADOPT, adopt_input(&internal, "internal")).await,
        "VALIDATION"
    );
    assert_eq!(
        app.error_code("alice", ADOPT, adopt_input("mesh.catalog.events", "events"))
            .await,
        "VALIDATION"
    );
    assert_eq!(
        app.error_code("alice", ADOPT, adopt_input(&format!("missing-{run}"), "missing"))
            .await,
        "NOT_FOUND"
    );

    // A topic is adopted with its settings as they are, even a retention
    // shorter than the catalog gives new topics.
    let brief = format!("brief-{run}");
    create_topic(&app, &brief, 1, "30000").await;
    produce_all(&app, &brief, &clicks(2)).await;
    let product = app.ok("alice", ADOPT, adopt_input(&brief, "brief")).await["adoptTopic"].clone();
    assert_eq!(product["topic"]["retentionMs"], 30_000);

    // Records that are not JSON: no schema to infer, unless one is given.
    let binary = format!("legacy-binary-{run}");
    create_topic(&app, &binary, 1, "604800000").await;
    produce_all(&app, &binary, &[vec![0, 159, 146, 150], vec![1, 2, 3]]).await;
    let mut input = adopt_input(&binary, "legacy-binary");
    assert_eq!(app.error_code("alice", ADOPT, input.clone()).await, "VALIDATION");
    input["input"]["schema"] = json!({
        "format": "AVRO",
        "definition": r#"{"type":"record","name":"Blob","fields":[{"name":"data","type":"bytes"}]}"#,
    });
    let product = app.ok("alice", ADOPT, input).await["adoptTopic"].clone();
    assert_eq!(product["schema"]["format"], "AVRO");
    assert_eq!(product["topic"]["retentionMs"], 604_800_000);
    let names: Vec<String> = app
        .ok(
            "alice",
            "{ dataProducts { edges { node { qualifiedName } } } }",
            json!({}),
        )
        .await["dataProducts"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["qualifiedName"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["orders.brief", "orders.legacy-binary", "orders.legacy-clicks"]);
}

#[tokio::test]
async fn adopt_topics_on_tansu() {
    adopt(Broker::Tansu).await;
}

#[tokio::test]
async fn adopt_topics_on_apache_kafka() {
    adopt(Broker::Apache).await;
}
