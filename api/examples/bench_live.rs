//! Live-mesh benchmark: produce → GraphQL subscriber latency through the
//! server (a separate `mesh-catalog serve` process), against a bare rdkafka
//! consumer on the same topic (the floor), on Apache Kafka and on the
//! embedded broker; then how many subscribers one server holds, and its
//! memory per subscriber. Prints a table.
//!
//! Run it with `scripts/bench-live [--quick]` (it fetches Kafka and builds
//! the server). `--soak MINUTES` instead runs the demo (the README's run
//! command, embedded broker, live traffic) with a few subscribers and
//! reports latency and memory at the start and the end. `--subscribers N`
//! runs only the phase with N subscribers (1, 100, 1000 or 10000), and
//! `--apache-only` skips the embedded broker.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use common::{free_port, graphql, server_binary, start_apache_kafka, token_with_roles, wait_port, Process, SECRET};

const PRODUCT: &str = "bench.live";
const TOPIC: &str = "bench-live";

struct Options {
    quick: bool,
    soak_minutes: Option<u64>,
    /// `--subscribers N`: only the phase with N subscribers.
    only_subscribers: Option<usize>,
    /// `--apache-only`: skip the embedded broker.
    apache_only: bool,
}

fn options() -> Options {
    let mut o = Options {
        quick: false,
        soak_minutes: None,
        only_subscribers: None,
        apache_only: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => o.quick = true,
            "--soak" => o.soak_minutes = args.next().and_then(|m| m.parse().ok()),
            "--subscribers" => o.only_subscribers = args.next().and_then(|n| n.parse().ok()),
            "--apache-only" => o.apache_only = true,
            other => panic!("unknown argument {other}; use --quick, --soak MINUTES, --subscribers N or --apache-only"),
        }
    }
    o
}

fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64
}

fn raise_fd_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

fn rss_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Which broker the server talks to.
enum Broker {
    Apache(String),
    /// The server's embedded broker, on this port.
    Embedded(u16),
}

impl Broker {
    fn bootstrap(&self) -> String {
        match self {
            Broker::Apache(b) => b.clone(),
            Broker::Embedded(port) => format!("127.0.0.1:{port}"),
        }
    }
}

fn start_server(dir: &Path, port: u16, broker: &Broker, demo: bool) -> Process {
    let mut command = Command::new(server_binary());
    command
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(dir)
        .env("MESH_JWT_SECRET", SECRET)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    if demo {
        command.arg("--demo");
    }
    match broker {
        Broker::Apache(bootstrap) => command.env("KAFKA_BOOTSTRAP_SERVERS", bootstrap),
        Broker::Embedded(kafka_port) => command.env("MESH_EMBEDDED_KAFKA_PORT", kafka_port.to_string()),
    };
    let process = Process::new(
        command
            .spawn()
            .expect("mesh-catalog binary (scripts/bench-live builds it)"),
    );
    wait_port(port, "mesh-catalog");
    process
}

fn token(user: &str, teams: &[&str]) -> String {
    token_with_roles(user, teams, &[])
}

/// Publishes the benchmark product (JSON Schema, one partition) and waits
/// for its topic.
async fn publish(port: u16) {
    let http = reqwest::Client::new();
    let owner = token("owner", &["bench-team"]);
    let admin = token_with_roles("admin", &[], &["admin"]);
    graphql(
        &http,
        port,
        &admin,
        r#"mutation { createTeam(input: {name: "bench-team", members: ["owner"]}) { id } }"#,
        json!({}),
    )
    .await;
    graphql(&http, port, &admin, r#"mutation { createDomain(input: {name: "bench", ownerTeam: "bench-team", description: "benchmark"}) { id } }"#, json!({})).await;
    let schema = r#"{"type":"object","properties":{"n":{"type":"integer"},"sentUs":{"type":"integer"}},"required":["n","sentUs"]}"#;
    graphql(
        &http,
        port,
        &owner,
        "mutation($input: PublishDataProductInput!) { publishDataProduct(input: $input) { id } }",
        json!({ "input": {
            "domain": "bench", "name": "live", "description": "benchmark records", "tags": [],
            "topic": { "name": TOPIC, "partitions": 1 },
            "schema": { "format": "JSON_SCHEMA", "definition": schema },
        }}),
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let data = graphql(
            &http,
            port,
            &owner,
            "query($p: String!) { dataProduct(qualifiedName: $p) { topicStatus { exists } } }",
            json!({ "p": PRODUCT }),
        )
        .await;
        if data["dataProduct"]["topicStatus"]["exists"] == true {
            return;
        }
        assert!(Instant::now() < deadline, "the product's topic was not created");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Latencies in microseconds, shared by the receivers of one phase.
#[derive(Default)]
struct Latencies(Mutex<Vec<u32>>);

impl Latencies {
    fn push(&self, us: u64) {
        self.0.lock().unwrap().push(us.min(u32::MAX as u64) as u32);
    }

    fn take(&self) -> Vec<u32> {
        let mut all = std::mem::take(&mut *self.0.lock().unwrap());
        all.sort_unstable();
        all
    }
}

fn pct(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize] as f64 / 1000.0
}

/// `sentUs` of a record in a subscription message, without a full parse.
fn sent_us(text: &str) -> Option<u64> {
    let at = text.find("sentUs")? + "sentUs".len();
    let digits: String = text[at..]
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Connects with graphql-transport-ws as the token's user and starts
/// subscription `1`: `query` with `$p` = `product`.
async fn subscribe(port: u16, token: &str, query: &str, product: &str) -> Result<Socket, String> {
    let mut request = format!("ws://127.0.0.1:{port}/graphql").into_client_request().unwrap();
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().unwrap());
    // tungstenite zero-fills its whole read buffer (128 KiB by default)
    // before every read: with 10,000 clients in this process that memset,
    // not the server, would dominate the measurement.
    let config = WebSocketConfig::default().read_buffer_size(4096);
    let (mut socket, _) = tokio_tungstenite::connect_async_with_config(request, Some(config), false)
        .await
        .map_err(|e| e.to_string())?;
    let init = json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } });
    let start = json!({ "type": "subscribe", "id": "1", "payload": { "query": query, "variables": { "p": product } } });
    for message in [init, start] {
        socket
            .send(WsMessage::text(message.to_string()))
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(socket)
}

/// One graphql-transport-ws subscriber of `productEvents`: records the
/// latency of each record until `stop`.
async fn subscriber(
    port: u16,
    token: String,
    latencies: Arc<Latencies>,
    lagged: Arc<AtomicU64>,
    ready: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
) {
    let query = "subscription($p: String!) { productEvents(product: $p) { ... on KafkaRecord { value } ... on Lagged { skipped } } }";
    let mut socket = match subscribe(port, &token, query, PRODUCT).await {
        Ok(socket) => socket,
        Err(e) => {
            eprintln!("connect failed: {e}");
            return;
        }
    };
    ready.fetch_add(1, Ordering::Relaxed);
    while !stop.load(Ordering::Relaxed) {
        let Ok(Some(Ok(message))) = tokio::time::timeout(Duration::from_millis(200), socket.next()).await else {
            continue;
        };
        if let WsMessage::Text(text) = message {
            if let Some(sent) = sent_us(&text) {
                latencies.push(now_us().saturating_sub(sent));
            } else if text.contains("skipped") {
                lagged.fetch_add(1, Ordering::Relaxed);
            } else if text.contains("\"ping\"") {
                let _ = socket.send(WsMessage::text(r#"{"type":"pong"}"#)).await;
            } else if text.contains("error") {
                eprintln!("subscription error: {text}");
            }
        }
    }
    let _ = socket.close(None).await;
}

/// The floor: a bare rdkafka consumer assigned to the topic's end, with
/// the same fetch settings as the server's live consumers.
async fn bare_consumer(bootstrap: String, latencies: Arc<Latencies>, stop: Arc<AtomicBool>) {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("group.id", "bench-bare")
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "10")
        .create()
        .unwrap();
    let mut list = TopicPartitionList::new();
    list.add_partition_offset(TOPIC, 0, Offset::End).unwrap();
    consumer.assign(&list).unwrap();
    while !stop.load(Ordering::Relaxed) {
        if let Ok(Ok(message)) = tokio::time::timeout(Duration::from_millis(200), consumer.recv()).await {
            if let Some(sent) = message.payload().and_then(|p| sent_us(&String::from_utf8_lossy(p))) {
                latencies.push(now_us().saturating_sub(sent));
            }
        }
    }
}

/// Produces `rate` records/s for `seconds`, each carrying its send time.
async fn produce(bootstrap: &str, rate: u64, seconds: u64) -> u64 {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", "0")
        .create()
        .unwrap();
    let mut ticker = tokio::time::interval(Duration::from_micros(1_000_000 / rate));
    let total = rate * seconds;
    for n in 0..total {
        ticker.tick().await;
        let payload = json!({ "n": n, "sentUs": now_us() }).to_string();
        let _ = producer
            .send(
                FutureRecord::to(TOPIC).key("k").payload(&payload),
                Duration::from_secs(5),
            )
            .await;
    }
    total
}

/// Waits until the server's shared consumer of the topic serves
/// `subscribers` subscriptions (`liveConsumers`).
async fn attached(port: u16, subscribers: usize) {
    let http = reqwest::Client::new();
    let admin = token_with_roles("admin", &[], &["admin"]);
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let data = graphql(
            &http,
            port,
            &admin,
            "{ liveConsumers { topic subscribers } }",
            json!({}),
        )
        .await;
        let serving = data["liveConsumers"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["topic"] == TOPIC)
            .and_then(|c| c["subscribers"].as_u64())
            .unwrap_or(0);
        if serving >= subscribers as u64 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "only {serving} of {subscribers} subscriptions attached"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

struct Phase {
    subscribers: usize,
    rate: u64,
    seconds: u64,
}

struct Outcome {
    server: Vec<u32>,
    bare: Vec<u32>,
    delivered_per_s: f64,
    lagged: u64,
    rss_before_kib: u64,
    rss_during_kib: u64,
}

async fn run_phase(port: u16, bootstrap: &str, server_pid: u32, phase: &Phase) -> Outcome {
    let stop = Arc::new(AtomicBool::new(false));
    let (server_lat, bare_lat) = (Arc::new(Latencies::default()), Arc::new(Latencies::default()));
    let lagged = Arc::new(AtomicU64::new(0));
    let ready = Arc::new(AtomicU64::new(0));
    let rss_before_kib = rss_kib(server_pid, "VmRSS:");
    let mut tasks = Vec::new();
    for i in 0..phase.subscribers {
        // One user per subscriber, as in real use (and under the
        // per-caller subscription cap).
        let reader = token(&format!("reader-{i}"), &["bench-team"]);
        tasks.push(tokio::spawn(subscriber(
            port,
            reader,
            server_lat.clone(),
            lagged.clone(),
            ready.clone(),
            stop.clone(),
        )));
        if i % 200 == 199 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    tasks.push(tokio::spawn(bare_consumer(
        bootstrap.to_owned(),
        bare_lat.clone(),
        stop.clone(),
    )));
    while ready.load(Ordering::Relaxed) < phase.subscribers as u64 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Every subscription attached to the shared consumer (the server may
    // still be authorizing a burst of them), then a moment to settle.
    attached(port, phase.subscribers).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_during_kib = rss_kib(server_pid, "VmRSS:");
    let started = Instant::now();
    produce(bootstrap, phase.rate, phase.seconds).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let elapsed = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        let _ = task.await;
    }
    let server = server_lat.take();
    Outcome {
        delivered_per_s: server.len() as f64 / elapsed,
        server,
        bare: bare_lat.take(),
        lagged: lagged.load(Ordering::Relaxed),
        rss_before_kib,
        rss_during_kib,
    }
}

fn row(what: &str, value: String) {
    println!("| {what:<62} | {value:<52} |");
}

async fn bench_broker(name: &str, broker: Broker, o: &Options, work: &Path) {
    let port = free_port();
    let server = start_server(&work.join(format!("server-{name}")), port, &broker, false);
    let pid = server.pid();
    let bootstrap = broker.bootstrap();
    publish(port).await;
    let seconds = if o.quick { 5 } else { 15 };
    let mut phases = vec![
        Phase {
            subscribers: 1,
            rate: 100,
            seconds,
        },
        Phase {
            subscribers: 100,
            rate: 100,
            seconds,
        },
        Phase {
            subscribers: 1000,
            rate: 20,
            seconds,
        },
    ];
    if !o.quick || o.only_subscribers == Some(10_000) {
        phases.push(Phase {
            subscribers: 10_000,
            rate: 2,
            seconds: 20,
        });
    }
    phases.retain(|p| o.only_subscribers.is_none_or(|n| n == p.subscribers));
    for phase in &phases {
        let out = run_phase(port, &bootstrap, pid, phase).await;
        let expected = phase.subscribers as u64 * phase.rate * phase.seconds;
        row(
            &format!(
                "{name}: {} subscribers, {} records/s: p50 / p99",
                phase.subscribers, phase.rate
            ),
            format!(
                "{:.1} / {:.1} ms (bare consumer {:.1} / {:.1} ms)",
                pct(&out.server, 0.5),
                pct(&out.server, 0.99),
                pct(&out.bare, 0.5),
                pct(&out.bare, 0.99)
            ),
        );
        row(
            &format!("{name}: {} subscribers: delivered", phase.subscribers),
            format!(
                "{:.0} records/s ({} of {expected}; {} lagged notices)",
                out.delivered_per_s,
                out.server.len(),
                out.lagged
            ),
        );
        row(
            &format!("{name}: {} subscribers: p99 server / bare", phase.subscribers),
            format!("{:.1}×", pct(&out.server, 0.99) / pct(&out.bare, 0.99)),
        );
        if phase.subscribers >= 1000 {
            let per =
                (out.rss_during_kib.saturating_sub(out.rss_before_kib)) as f64 * 1024.0 / phase.subscribers as f64;
            row(
                &format!("{name}: {} subscribers: server RSS, per subscriber", phase.subscribers),
                format!(
                    "{:.0} MiB ({:.1} KB each)",
                    out.rss_during_kib as f64 / 1024.0,
                    per / 1000.0
                ),
            );
        }
    }
    row(
        &format!("{name}: server peak RSS"),
        format!("{:.0} MiB", rss_kib(pid, "VmHWM:") as f64 / 1024.0),
    );
    drop(server);
}

/// `--soak`: the demo with its live traffic and a few subscribers.
async fn soak(minutes: u64, work: &Path) {
    let port = free_port();
    let broker = Broker::Embedded(free_port());
    let server = start_server(&work.join("soak"), port, &broker, true);
    let pid = server.pid();
    let products = [
        ("orders.order-events", "orders-team"),
        ("payments.refunds", "payments-team"),
        ("marketing.page-views", "marketing-team"),
        ("inventory.stock-levels", "inventory-team"),
        ("customers.users", "customers-team"),
    ];
    let latencies: Vec<Arc<Latencies>> = products.iter().map(|_| Arc::new(Latencies::default())).collect();
    let stop = Arc::new(AtomicBool::new(false));
    for ((product, team), lat) in products.iter().zip(&latencies) {
        let (product, token, lat, stop) = (product.to_string(), token("soak", &[team]), lat.clone(), stop.clone());
        tokio::spawn(async move {
            let query = "subscription($p: String!) { productEvents(product: $p) { ... on KafkaRecord { timestamp } } }";
            let mut socket = subscribe(port, &token, query, &product).await.unwrap();
            while !stop.load(Ordering::Relaxed) {
                let Ok(Some(Ok(WsMessage::Text(text)))) =
                    tokio::time::timeout(Duration::from_secs(1), socket.next()).await
                else {
                    continue;
                };
                let value: Value = serde_json::from_str(&text).unwrap_or_default();
                if let Some(ts) = value["payload"]["data"]["productEvents"]["timestamp"].as_str() {
                    if let Ok(ts) = chrono::DateTime::parse_from_rfc3339(ts) {
                        lat.push(now_us().saturating_sub(ts.timestamp_micros() as u64));
                    }
                }
            }
        });
    }
    let window = Duration::from_secs(60).min(Duration::from_secs(minutes * 60 / 3).max(Duration::from_secs(10)));
    let sample = |label: &str| {
        let mut all: Vec<u32> = latencies.iter().flat_map(|l| l.take()).collect();
        all.sort_unstable();
        row(
            &format!("soak {label}: record → subscriber p50 / p99 ({} records)", all.len()),
            format!("{:.1} / {:.1} ms", pct(&all, 0.5), pct(&all, 0.99)),
        );
        row(
            &format!("soak {label}: server RSS"),
            format!("{:.0} MiB", rss_kib(pid, "VmRSS:") as f64 / 1024.0),
        );
    };
    tokio::time::sleep(window).await;
    sample("first minute");
    tokio::time::sleep(Duration::from_secs(minutes * 60).saturating_sub(window * 2)).await;
    for l in &latencies {
        l.take();
    }
    tokio::time::sleep(window).await;
    sample(&format!("last minute (after {minutes} min)"));
    stop.store(true, Ordering::Relaxed);
    drop(server);
}

#[tokio::main]
async fn main() {
    raise_fd_limit();
    mesh_catalog::startup::install_tls_provider();
    let o = options();
    let work = std::env::temp_dir().join(format!("mesh-bench-live-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    println!("| {:<62} | {:<52} |", "measure", "value");
    println!("|{}|{}|", "-".repeat(64), "-".repeat(54));
    if let Some(minutes) = o.soak_minutes {
        soak(minutes, &work).await;
    } else {
        let (kafka, bootstrap) = start_apache_kafka(&work.join("kafka"));
        bench_broker("Apache Kafka", Broker::Apache(bootstrap), &o, &work).await;
        drop(kafka);
        if !o.apache_only {
            bench_broker("embedded (tansu)", Broker::Embedded(free_port()), &o, &work).await;
        }
    }
    let _ = std::fs::remove_dir_all(&work);
}
