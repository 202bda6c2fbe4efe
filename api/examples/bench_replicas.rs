//! Scale-out benchmark: 1, 2 and 3 `mesh-catalog serve` replicas sharing
//! one PostgreSQL database and one Apache Kafka broker on this machine.
//! For each replica count: change on A → searchable on B (p50/p99), publish
//! throughput (4 clients) and search throughput (16 clients), spread over
//! the replicas; then, with 3 replicas, how long a replica that was down
//! while 10,000 changes were made takes to catch up. Prints a table.
//!
//! Run it with `scripts/bench-replicas [--quick]` (it fetches Kafka, starts
//! PostgreSQL and builds the server). On a 2-core machine the replicas
//! share the cores: more replicas show their overhead, not a speed-up.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Database};
use serde_json::{json, Value};

use common::{free_port, graphql, server_binary, start_apache_kafka, token_with_roles, Process, SECRET};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bench-replicas-{name}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// One replica process.
struct Replica {
    port: u16,
    dir: PathBuf,
    process: Process,
}

fn spawn_replica(port: u16, dir: &Path, database_url: &str, bootstrap: &str) -> Process {
    let child = Command::new(server_binary())
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(dir)
        .env("DATABASE_URL", database_url)
        .env("KAFKA_BOOTSTRAP_SERVERS", bootstrap)
        .env("MESH_JWT_SECRET", SECRET)
        .env("MESH_RATE_LIMIT", "0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("mesh-catalog binary (scripts/bench-replicas builds it)");
    Process::new(child)
}

impl Replica {
    fn start(database_url: &str, bootstrap: &str) -> Self {
        let port = free_port();
        let dir = temp_dir("replica");
        let process = spawn_replica(port, &dir, database_url, bootstrap);
        Self { port, dir, process }
    }

    fn restart(&mut self, database_url: &str, bootstrap: &str) {
        self.process = spawn_replica(self.port, &self.dir, database_url, bootstrap);
    }

    /// Waits for `/readyz`; returns how long it took.
    async fn ready(&mut self) -> Duration {
        let started = Instant::now();
        let http = reqwest::Client::new();
        loop {
            if let Ok(r) = http.get(format!("http://127.0.0.1:{}/readyz", self.port)).send().await {
                if r.status().is_success() {
                    return started.elapsed();
                }
            }
            if let Some(status) = self.process.exited() {
                panic!("replica on {} exited: {status}", self.port);
            }
            assert!(
                started.elapsed() < Duration::from_secs(600),
                "replica on {} not ready",
                self.port
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

const PUBLISH: &str = "mutation($input: PublishDataProductInput!) { publishDataProduct(input: $input) { id } }";
const SEARCH: &str =
    "query($q: String!) { search(query: $q, first: 10) { totalCount edges { node { product { qualifiedName } } } } }";
const SCHEMA: &str =
    r#"{"type":"object","properties":{"id":{"type":"string"},"amount":{"type":"number"}},"required":["id"]}"#;
const WORDS: [&str; 8] = [
    "orders", "payment", "shipment", "customer", "invoice", "refund", "stock", "ledger",
];

fn token(user: &str, roles: &[&str]) -> String {
    token_with_roles(user, &[], roles)
}

fn product_input(name: &str, word: &str) -> Value {
    json!({ "input": {
        "domain": "bench", "name": name, "description": format!("The {word} events of {name}"),
        "tags": [word],
        "schema": { "format": "JSON_SCHEMA", "definition": SCHEMA },
        "qualityChecks": [{ "name": "complete", "kind": "COMPLETENESS", "threshold": 0.9 }],
    }})
}

async fn hits(http: &reqwest::Client, port: u16, token: &str, query: &str) -> Vec<String> {
    graphql(http, port, token, SEARCH, json!({ "q": query })).await["search"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            e["node"]["product"]["qualifiedName"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// A fresh PostgreSQL database; returns its URL.
async fn fresh_database(admin_url: &str) -> String {
    let name = format!("bench_replicas_{}", uuid::Uuid::new_v4().simple());
    let admin = Database::connect(admin_url)
        .await
        .expect("PostgreSQL (scripts/postgres.sh)");
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let (prefix, _) = admin_url.rsplit_once('/').unwrap();
    format!("{prefix}/{name}")
}

struct Row {
    replicas: usize,
    visible_p50: Duration,
    visible_p99: Duration,
    publishes: f64,
    searches: f64,
}

/// Runs `clients` loops of `work(client, i)` for `window` over `ports`
/// round-robin; returns operations per second.
async fn throughput<F, Fut>(clients: usize, window: Duration, ports: &[u16], work: F) -> f64
where
    F: Fn(reqwest::Client, u16, u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let work = Arc::new(work);
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (work, done, stop, port) = (work.clone(), done.clone(), stop.clone(), ports[c % ports.len()]);
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                work(http.clone(), port, (c as u64) << 32 | i).await;
                done.fetch_add(1, Ordering::Relaxed);
                i += 1;
            }
        }));
    }
    let started = Instant::now();
    tokio::time::sleep(window).await;
    stop.store(true, Ordering::Relaxed);
    let count = done.load(Ordering::Relaxed);
    let took = started.elapsed();
    for t in tasks {
        t.await.unwrap();
    }
    count as f64 / took.as_secs_f64()
}

async fn run_phase(replica_count: usize, admin_url: &str, bootstrap: &str, quick: bool) -> (Row, Vec<Replica>, String) {
    let database_url = fresh_database(admin_url).await;
    let mut replicas: Vec<Replica> = (0..replica_count)
        .map(|_| Replica::start(&database_url, bootstrap))
        .collect();
    for r in &mut replicas {
        r.ready().await;
    }
    let http = reqwest::Client::new();
    let admin = token("admin", &["admin"]);
    let a = replicas[0].port;
    graphql(
        &http,
        a,
        &admin,
        r#"mutation { createTeam(input: {name: "bench-team", members: ["owner"]}) { id } }"#,
        json!({}),
    )
    .await;
    graphql(&http, a, &admin, r#"mutation { createDomain(input: {name: "bench", ownerTeam: "bench-team", description: "benchmark"}) { id } }"#, json!({})).await;
    let owner = token("owner", &[]);
    // A catalog to search.
    let base = if quick { 200 } else { 1000 };
    let ports: Vec<u16> = replicas.iter().map(|r| r.port).collect();
    for i in 0..base {
        let port = ports[i % ports.len()];
        graphql(
            &http,
            port,
            &owner,
            PUBLISH,
            product_input(&format!("p{i}"), WORDS[i % WORDS.len()]),
        )
        .await;
    }

    // Change on A → searchable on B.
    let b = replicas[replica_count.min(2) - 1].port;
    let samples = if quick { 20 } else { 60 };
    let mut visible = Vec::new();
    for i in 0..samples {
        let name = format!("probe{i}x{}", uuid::Uuid::new_v4().simple());
        let started = Instant::now();
        graphql(&http, a, &owner, PUBLISH, product_input(&name, "probe")).await;
        let wanted = format!("bench.{name}");
        while !hits(&http, b, &owner, &name).await.contains(&wanted) {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "{wanted} never searchable on B"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        visible.push(started.elapsed());
    }
    visible.sort();

    let window = Duration::from_secs(if quick { 4 } else { 10 });
    let publish_owner = owner.clone();
    let publishes = throughput(4, window, &ports, move |http, port, i| {
        let owner = publish_owner.clone();
        async move {
            graphql(
                &http,
                port,
                &owner,
                PUBLISH,
                product_input(&format!("t{i:x}"), WORDS[(i % 8) as usize]),
            )
            .await;
        }
    })
    .await;
    let search_owner = owner.clone();
    let searches = throughput(16, window, &ports, move |http, port, i| {
        let owner = search_owner.clone();
        async move {
            // The words, a typo, a prefix: as the search benchmark's mix.
            let q = match i % 4 {
                0 => WORDS[(i % 8) as usize].to_owned(),
                1 => "shipmnet".to_owned(),
                2 => "ord".to_owned(),
                _ => format!("{} events", WORDS[((i >> 2) % 8) as usize]),
            };
            graphql(&http, port, &owner, SEARCH, json!({ "q": q })).await;
        }
    })
    .await;
    let row = Row {
        replicas: replica_count,
        visible_p50: percentile(&visible, 0.5),
        visible_p99: percentile(&visible, 0.99),
        publishes,
        searches,
    };
    (row, replicas, database_url)
}

#[tokio::main]
async fn main() {
    mesh_catalog::startup::install_tls_provider();
    let quick = std::env::args().any(|a| a == "--quick");
    let admin_url =
        std::env::var("MESH_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let (_kafka, bootstrap) = start_apache_kafka(&temp_dir("kafka"));
    let mut rows = Vec::new();
    let mut last = None;
    for n in [1, 2, 3] {
        eprintln!("== {n} replica(s)");
        let (row, replicas, url) = run_phase(n, &admin_url, &bootstrap, quick).await;
        rows.push(row);
        last = Some((replicas, url));
    }

    // Catch-up: C is down while changes are made through A and B.
    let (mut replicas, database_url) = last.unwrap();
    let changes = if quick { 1_000 } else { 10_000 };
    eprintln!("== catch-up after {changes} changes");
    replicas[2].process.terminate();
    let http = reqwest::Client::new();
    let owner = token("owner", &[]);
    let ports = [replicas[0].port, replicas[1].port];
    let started = Instant::now();
    let made = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for c in 0..4u64 {
        let (http, owner, made) = (http.clone(), owner.clone(), made.clone());
        let port = ports[c as usize % 2];
        tasks.push(tokio::spawn(async move {
            loop {
                let i = made.fetch_add(1, Ordering::Relaxed);
                if i >= changes {
                    break;
                }
                // Quality results re-rank (and so re-index) a product.
                graphql(
                    &http,
                    port,
                    &owner,
                    "mutation($p: String!, $s: QualityStatus!) { recordQualityResult(input: {product: $p, check: \"complete\", status: $s}) { status } }",
                    json!({ "p": format!("bench.p{}", i % 200), "s": if i % 2 == 0 { "PASS" } else { "FAIL" } }),
                )
                .await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let made_in = started.elapsed();
    // The last change's product, as the others see it.
    let marker = format!("late{}", uuid::Uuid::new_v4().simple());
    graphql(&http, ports[0], &owner, PUBLISH, product_input(&marker, "late")).await;
    replicas[2].restart(&database_url, &bootstrap);
    let restarted = Instant::now();
    let ready = replicas[2].ready().await;
    let wanted = format!("bench.{marker}");
    while !hits(&http, replicas[2].port, &owner, &marker).await.contains(&wanted) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let searchable = restarted.elapsed();

    println!("| replicas | change on A → searchable on B p50 (ms) | p99 (ms) | publishes/s (4 clients) | searches/s (16 clients) |");
    println!("|---:|---:|---:|---:|---:|");
    for r in &rows {
        println!(
            "| {} | {} | {} | {:.0} | {:.0} |",
            r.replicas,
            ms(r.visible_p50),
            ms(r.visible_p99),
            r.publishes,
            r.searches
        );
    }
    println!();
    println!(
        "Catch-up: {changes} changes made through A and B in {:.1} s while C was down; C ready (index reconciled, first pass over mesh.catalog.events) {:.1} s after its start, the newest change searchable on C after {:.1} s.",
        made_in.as_secs_f64(),
        ready.as_secs_f64(),
        searchable.as_secs_f64()
    );
}
