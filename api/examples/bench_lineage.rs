//! Lineage benchmark: a generated lineage graph (100,000 products and
//! applications, or 10,000 with `--quick`) stored in a SQLite file, the
//! real `mesh-catalog serve` process from the same build started on it and
//! queried over HTTP GraphQL as the portal queries it, printed as a table.
//!
//! Run it with `scripts/bench-lineage [--quick] [--postgres]` (it builds the
//! server too). The graph is a layered DAG typical of a mesh: source-aligned
//! products, then aggregates, consumer-aligned products and applications
//! over eight layers; most nodes feed 1–5 nodes of the next layers (near
//! their own position, as a domain's products feed its neighbours), 1 % are
//! hubs feeding 20–60, and one hub product has exactly 1,000 direct
//! consumers (applications and products). A tenth of the products are
//! PRIVATE, so the reader's answers go through masking.
//!
//! It measures, as an ordinary reader (member of one domain's team) and as
//! an admin: `lineage(…, direction: DOWNSTREAM, depth: 5)` with the
//! portal's node fields and `impact(of: …)` with the portal's fields, for a
//! few hundred distinct typical products (1 client: p50/p99; 4 clients:
//! throughput), and both for the 1,000-consumer hub. A latency runs from
//! sending a request to its answer's last byte; the program's check of
//! each answer (a JSON parse) follows, untimed.
//!
//! After the server's figures, the floor under them: the catalog's own work
//! (SQL and assembly) in this process, without GraphQL or HTTP
//! (`BENCH_NO_FLOOR=1` skips it).
//!
//! `BENCH_SERVER=path` runs another build of the server (a baseline).
//! `--postgres` runs the same on PostgreSQL (`MESH_TEST_POSTGRES_URL`, or
//! `--postgres-url URL`). `BENCH_ONLY=lineage|impact` skips the other;
//! `BENCH_SERVE_ONLY=1` leaves the server running on the generated catalog
//! (for `perf record -p`); `BENCH_FLOOR_ONLY=1` measures only the floors.

mod common;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use common::{free_port, token_with_roles, Process, Rng, DOMAINS, SECRET};
use mesh_catalog::auth::{Caller, Identity};
use mesh_catalog::catalog::policy::Principal;
use mesh_catalog::catalog::{
    Catalog, CleanupPolicy, Direction, EdgeKind, NodeKind, NodeRef, ProductStatus, QualityClass, SlaTier, Visibility,
};
use mesh_catalog::config::GraphqlLimits;
use mesh_catalog::graphql::http::response_body;
use mesh_catalog::graphql::metrics::Metrics;
use mesh_catalog::graphql::{build_schema, request_loader, RequestContext};
use mesh_catalog::store::entities::{application, data_product, lineage_edge};
use mesh_catalog::store::Store;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, EntityTrait, Set};
use serde_json::{json, Value};

/// The server's allocator (`main.rs`): the floors measured in this process
/// run as in the server.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

// ---------------------------------------------------------------- options

struct Options {
    nodes: usize,
    sample: usize,
    seconds: u64,
    hub_runs: usize,
    postgres: Option<String>,
    out: Option<PathBuf>,
}

fn options() -> Options {
    let mut o = Options {
        nodes: 100_000,
        sample: 400,
        seconds: 5,
        hub_runs: 30,
        postgres: None,
        out: None,
    };
    let default_pg =
        || std::env::var("MESH_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let value = || args.get(i + 1).cloned().unwrap_or_default();
        let mut flag = true;
        match args[i].as_str() {
            "--quick" => {
                o.nodes = 10_000;
                o.sample = 150;
                o.seconds = 2;
                o.hub_runs = 10;
            }
            "--postgres" => o.postgres = Some(default_pg()),
            "--postgres-url" => {
                o.postgres = Some(value());
                flag = false;
            }
            "--nodes" => {
                o.nodes = value().parse().expect("--nodes N");
                flag = false;
            }
            "--sample" => {
                o.sample = value().parse().expect("--sample N");
                flag = false;
            }
            "--seconds" => {
                o.seconds = value().parse().expect("--seconds N");
                flag = false;
            }
            "--out" => {
                o.out = Some(PathBuf::from(value()));
                flag = false;
            }
            other => panic!("unknown option {other}"),
        }
        i += if flag { 1 } else { 2 };
    }
    o
}

// ---------------------------------------------------------- the graph

const NOUNS: &[&str] = &[
    "order", "payment", "invoice", "customer", "account", "shipment", "parcel", "stock", "price", "refund", "ledger",
    "session", "click", "campaign", "risk", "ticket", "review", "forecast", "supplier", "device",
];
const QUALIFIERS: &[&str] = &[
    "events",
    "snapshots",
    "daily",
    "hourly",
    "enriched",
    "aggregated",
    "curated",
    "changes",
    "history",
    "scores",
];

/// Relative layer sizes: source-aligned products first, then aggregates and
/// consumer-aligned products, applications throughout (leaves at the end).
const LAYERS: &[usize] = &[20, 17, 15, 13, 11, 9, 8, 7];
/// The hub's layer: its consumers sit in the next two layers.
const HUB_LAYER: usize = 5;

#[derive(Clone)]
struct Node {
    id: String,
    /// Qualified name (product) or name (application).
    name: String,
    product: bool,
    domain: usize,
    private: bool,
    layer: usize,
}

struct Graph {
    nodes: Vec<Node>,
    /// Node indexes of each layer.
    layers: Vec<Vec<usize>>,
    /// (from, to) node indexes, no duplicates, never application →
    /// application.
    edges: Vec<(usize, usize)>,
    hub: usize,
}

fn generate(total: usize) -> Graph {
    let mut rng = Rng(0x11AE_A6E5_CA1E_0042);
    let weight: usize = LAYERS.iter().sum();
    let mut nodes = Vec::with_capacity(total);
    let mut layers: Vec<Vec<usize>> = Vec::new();
    for (l, w) in LAYERS.iter().enumerate() {
        let size = if l + 1 == LAYERS.len() {
            total - nodes.len()
        } else {
            total * w / weight
        };
        // No applications among the sources; a quarter of every later
        // layer, and most of the last.
        let app_share = match l {
            0 => 0,
            _ if l + 1 == LAYERS.len() => 60,
            _ => 25,
        };
        let mut members = Vec::with_capacity(size);
        for position in 0..size {
            let i = nodes.len();
            // Domains by position: neighbours in a layer are mostly of the
            // same domain, as edges mostly stay near their position.
            let domain = (position * DOMAINS.len() / size.max(1) + rng.below(3)) % DOMAINS.len();
            let product = rng.below(100) >= app_share;
            let d = DOMAINS[domain];
            let name = if product {
                format!(
                    "{d}.{}-{}-{i}",
                    NOUNS[rng.below(NOUNS.len())],
                    QUALIFIERS[rng.below(QUALIFIERS.len())]
                )
            } else {
                format!("{d}-{}-app-{i}", NOUNS[rng.below(NOUNS.len())])
            };
            nodes.push(Node {
                id: format!("{:08x}-0000-7000-8000-{:012}", l, i),
                name,
                product,
                domain,
                private: product && rng.below(10) == 0,
                layer: l,
            });
            members.push(i);
        }
        layers.push(members);
    }
    // The hub: a public product of its layer.
    let hub = layers[HUB_LAYER][layers[HUB_LAYER].len() / 2];
    nodes[hub].product = true;
    nodes[hub].private = false;
    nodes[hub].name = format!("customers.customer-master-{hub}");
    nodes[hub].domain = 2;

    let mut seen: HashSet<(usize, usize)> = HashSet::new();
    let mut edges = Vec::new();
    let mut add = |edges: &mut Vec<(usize, usize)>, nodes: &[Node], from: usize, to: usize| {
        if from != to && (nodes[from].product || nodes[to].product) && seen.insert((from, to)) {
            edges.push((from, to));
        }
    };
    for l in 0..LAYERS.len() - 1 {
        for (position, &from) in layers[l].iter().enumerate() {
            if from == hub {
                continue;
            }
            let hub_node = rng.below(100) == 0;
            let degree = if hub_node {
                20 + rng.below(41)
            } else {
                match rng.below(100) {
                    0..=34 => 1,
                    35..=59 => 2,
                    60..=77 => 3,
                    78..=89 => 4,
                    _ => 5,
                }
            };
            for _ in 0..degree {
                // Mostly the next layer, sometimes one further.
                let target_layer = if l + 2 < LAYERS.len() && rng.below(5) == 0 {
                    l + 2
                } else {
                    l + 1
                };
                let target = &layers[target_layer];
                let center = position * target.len() / layers[l].len();
                let window = if hub_node { 400 } else { 40 };
                let offset = rng.below(2 * window + 1) as isize - window as isize;
                let at = (center as isize + offset).clamp(0, target.len() as isize - 1) as usize;
                let mut to = target[at];
                if !nodes[from].product && !nodes[to].product {
                    // An application feeds products only: the nearest one.
                    match target[at..]
                        .iter()
                        .chain(target[..at].iter().rev())
                        .find(|&&t| nodes[t].product)
                    {
                        Some(&t) => to = t,
                        None => continue,
                    }
                }
                add(&mut edges, &nodes, from, to);
            }
        }
    }
    // The hub's 1,000 direct consumers: applications and products of the
    // next two layers (most consumers are leaves: dashboards, services).
    let mut consumers = 0;
    let candidates: Vec<usize> = layers[HUB_LAYER + 1]
        .iter()
        .chain(&layers[HUB_LAYER + 2])
        .copied()
        .collect();
    let mut tries = 0;
    while consumers < 1_000.min(candidates.len()) && tries < 1_000_000 {
        tries += 1;
        let to = candidates[rng.below(candidates.len())];
        let before = edges.len();
        add(&mut edges, &nodes, hub, to);
        consumers += edges.len() - before;
    }
    // Every source feeds through something: the hub is fed too.
    let feeder = layers[HUB_LAYER - 1][layers[HUB_LAYER - 1].len() / 2];
    add(&mut edges, &nodes, feeder, hub);
    Graph {
        nodes,
        layers,
        edges,
        hub,
    }
}

async fn insert(db: &DatabaseConnection, g: &Graph) {
    let now = Utc::now() - chrono::Duration::hours(1);
    common::insert_domains(db, now).await;
    let products: Vec<&Node> = g.nodes.iter().filter(|n| n.product).collect();
    for chunk in products.chunks(400) {
        let rows = chunk.iter().map(|n| {
            let d = DOMAINS[n.domain];
            let short = n.name.split_once('.').unwrap().1.to_owned();
            data_product::ActiveModel {
                id: Set(n.id.clone()),
                qualified_name: Set(n.name.clone()),
                domain_id: Set(format!("domain-{d}")),
                name: Set(short.clone()),
                display_name: Set(short.clone()),
                description: Set(format!(
                    "Layer {} product of the {d} domain, derived from upstream products and \
                     consumed downstream by reports, models and services.",
                    n.layer
                )),
                owner_team_id: Set(format!("team-{d}")),
                contacts: Set("[]".into()),
                status: Set(ProductStatus::Published),
                deprecation_reason: Set(None),
                sunset_date: Set(None),
                successor_id: Set(None),
                visibility: Set(if n.private {
                    Visibility::Private
                } else {
                    Visibility::Public
                }),
                compatibility: Set("BACKWARD".into()),
                topic_name: Set(n.name.clone()),
                topic_partitions: Set(3),
                topic_retention_ms: Set(604_800_000),
                topic_cleanup_policy: Set(CleanupPolicy::Delete),
                sla_tier: Set(Some(SlaTier::Gold)),
                sla_availability_percent: Set(None),
                sla_max_freshness_seconds: Set(None),
                sla_max_latency_ms: Set(None),
                sla_retention_days: Set(None),
                sla_support_hours: Set(None),
                sla_on_call: Set(None),
                quality_class: Set(QualityClass::Curated),
                version: Set(1),
                created_at: Set(now),
                updated_at: Set(now),
            }
        });
        data_product::Entity::insert_many(rows).exec(db).await.unwrap();
    }
    let apps: Vec<&Node> = g.nodes.iter().filter(|n| !n.product).collect();
    for chunk in apps.chunks(1_000) {
        let rows = chunk.iter().map(|n| application::ActiveModel {
            id: Set(n.id.clone()),
            name: Set(n.name.clone()),
            description: Set("A service or dashboard".into()),
            owner_team_id: Set(format!("team-{}", DOMAINS[n.domain])),
            created_at: Set(now),
            updated_at: Set(now),
        });
        application::Entity::insert_many(rows).exec(db).await.unwrap();
    }
    for (c, chunk) in g.edges.chunks(1_000).enumerate() {
        let rows = chunk.iter().enumerate().map(|(i, &(from, to))| {
            let (f, t) = (&g.nodes[from], &g.nodes[to]);
            let kind = match (f.product, t.product) {
                (true, true) => EdgeKind::DerivedFrom,
                (true, false) => EdgeKind::Consumes,
                _ => EdgeKind::Produces,
            };
            let mappings = if f.product && t.product {
                r#"[{"from":"customer_id","to":"customer_id"},{"from":"amount","to":"total"}]"#
            } else {
                "[]"
            };
            lineage_edge::ActiveModel {
                id: Set(format!("e{:07}-{:05}", c, i)),
                from_kind: Set(node_kind(f)),
                from_id: Set(f.id.clone()),
                to_kind: Set(node_kind(t)),
                to_id: Set(t.id.clone()),
                kind: Set(kind),
                field_mappings: Set(mappings.into()),
                created_by: Set("bench".into()),
                created_at: Set(now),
            }
        });
        lineage_edge::Entity::insert_many(rows).exec(db).await.unwrap();
    }
}

/// Typical nodes: distinct public products with downstream edges, from
/// every layer but the last, not hubs.
fn sample(g: &Graph, n: usize) -> Vec<String> {
    let mut out_degree = vec![0usize; g.nodes.len()];
    for &(from, _) in &g.edges {
        out_degree[from] += 1;
    }
    let candidates: Vec<usize> = g.layers[..LAYERS.len() - 1]
        .iter()
        .flatten()
        .copied()
        .filter(|&i| g.nodes[i].product && !g.nodes[i].private && (1..=5).contains(&out_degree[i]))
        .collect();
    let mut rng = Rng(7);
    let mut picked = HashSet::new();
    let mut out = Vec::new();
    while out.len() < n.min(candidates.len()) {
        let i = candidates[rng.below(candidates.len())];
        if picked.insert(i) {
            out.push(g.nodes[i].name.clone());
        }
    }
    out
}

// --------------------------------------------------------------- figures

#[derive(Default, Clone)]
struct Latencies(Vec<Duration>);

impl Latencies {
    fn quantile(&self, q: f64) -> Duration {
        let mut v = self.0.clone();
        v.sort();
        if v.is_empty() {
            return Duration::ZERO;
        }
        v[((v.len() as f64 - 1.0) * q).round() as usize]
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

// ---------------------------------------------------------------- server

fn start_server(dir: &Path, port: u16, database_url: Option<&str>) -> Process {
    let mut command = Command::new(common::server_binary());
    command
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(dir)
        .env("MESH_JWT_SECRET", SECRET)
        .env("MESH_RATE_LIMIT", "0")
        // No broker: lineage needs none.
        .env("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9")
        .env("RUST_LOG", "error,librdkafka=off,rdkafka=off")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    if let Some(url) = database_url {
        command.env("DATABASE_URL", url);
    }
    Process::new(
        command
            .spawn()
            .expect("mesh-catalog binary (scripts/bench-lineage builds it)"),
    )
}

/// The portal's lineage tab (frontend/src/lineage/LineageTab.tsx), 5 hops
/// downstream.
const LINEAGE: &str = "query($qn: String!, $depth: Int!) {
  lineage(of: { product: $qn }, direction: DOWNSTREAM, depth: $depth) {
    root { id name kind depth restricted }
    nodes { id name kind depth restricted
      entity { __typename ... on DataProduct { qualifiedName status } ... on Application { name } } }
    edges { id kind fromId toId } } }";

/// The portal's impact view (frontend/src/lineage/LineageTab.tsx).
const IMPACT: &str = "query($qn: String!) { impact(of: $qn) {
  products { depth product { id qualifiedName } ownerTeam { name } }
  applications { depth application { id name } ownerTeam { name } }
  restrictedProducts teams { name } } }";

#[derive(Clone)]
struct Client {
    http: reqwest::Client,
    port: u16,
}

/// The size of one answer.
#[derive(Clone, Copy, Default)]
struct Size {
    /// Nodes (lineage) or impacted entries, restricted ones included
    /// (impact).
    nodes: usize,
    /// Edges (lineage).
    edges: usize,
    /// The response body.
    bytes: usize,
}

/// One answer: when it arrived, when it was checked, and its size.
struct Answer {
    /// From sending the request to the answer's last byte: the latency
    /// every figure reports (as wrk's, or k6's `http_req_duration`).
    received: Duration,
    /// The same plus this program's check of the answer (a JSON parse),
    /// which every figure included until session 26.
    checked: Duration,
    size: Size,
}

impl Client {
    /// Sends a query; its answer, checked for errors.
    async fn run(&self, token: &str, query: &str, variables: Value) -> Answer {
        let t = Instant::now();
        let body = self
            .http
            .post(format!("http://127.0.0.1:{}/graphql", self.port))
            .bearer_auth(token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let received = t.elapsed();
        let bytes = body.len();
        let body: Value = serde_json::from_slice(&body).unwrap_or_else(|e| panic!("{e}: {body:?}"));
        assert!(body.get("errors").is_none(), "{body}");
        let data = &body["data"];
        let size = if let Some(nodes) = data["lineage"]["nodes"].as_array() {
            Size {
                nodes: nodes.len(),
                edges: data["lineage"]["edges"].as_array().map_or(0, Vec::len),
                bytes,
            }
        } else {
            let count = |k: &str| data["impact"][k].as_array().map_or(0, Vec::len);
            Size {
                nodes: count("products")
                    + count("applications")
                    + data["impact"]["restrictedProducts"].as_u64().unwrap_or(0) as usize,
                edges: 0,
                bytes,
            }
        };
        Answer {
            received,
            checked: t.elapsed(),
            size,
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Probe {
    Lineage(i32),
    Impact,
}

impl Probe {
    fn query(self, qn: &str) -> (&'static str, Value) {
        match self {
            Probe::Lineage(depth) => (LINEAGE, json!({ "qn": qn, "depth": depth })),
            Probe::Impact => (IMPACT, json!({ "qn": qn })),
        }
    }
}

/// Every node once, one at a time: latencies (to the last byte, and with
/// the answer's check), the mean answer size (nodes) and each node's
/// latency and answer size (in `nodes` order).
async fn one_client(
    client: &Client,
    token: &str,
    probe: Probe,
    nodes: &[String],
) -> (Latencies, Latencies, f64, Vec<(Duration, Size)>) {
    let mut lat = Latencies::default();
    let mut checked = Latencies::default();
    let mut each = Vec::with_capacity(nodes.len());
    for qn in nodes {
        let (query, vars) = probe.query(qn);
        let answer = client.run(token, query, vars).await;
        lat.0.push(answer.received);
        checked.0.push(answer.checked);
        each.push((answer.received, answer.size));
    }
    let total: usize = each.iter().map(|(_, s)| s.nodes).sum();
    (lat, checked, total as f64 / nodes.len().max(1) as f64, each)
}

/// The slowest 1 % of the nodes (at least 5; the p99 of 400 is the 5th
/// slowest), slowest first: what the p99 is made of.
fn slowest(nodes: &[String], each: &[(Duration, Size)]) -> String {
    let mut order: Vec<usize> = (0..each.len()).collect();
    order.sort_by(|&a, &b| each[b].0.cmp(&each[a].0));
    let n = (each.len() / 100).max(5).min(each.len());
    let mut sizes: Vec<usize> = each.iter().map(|(_, s)| s.nodes).collect();
    sizes.sort_unstable();
    let p99_size = sizes
        .get(((sizes.len().max(1) - 1) as f64 * 0.99).round() as usize)
        .copied()
        .unwrap_or(0);
    let list: Vec<String> = order[..n]
        .iter()
        .map(|&i| {
            let (t, s) = each[i];
            format!(
                "{} {} ({} nodes, {} edges, {} kB)",
                ms(t),
                nodes[i],
                s.nodes,
                s.edges,
                s.bytes / 1000
            )
        })
        .collect();
    format!("p99 of answer sizes {p99_size} nodes; slowest: {}", list.join("; "))
}

/// `clients` concurrent clients cycling through the nodes for `seconds`.
async fn many_clients(
    client: &Client,
    token: &str,
    probe: Probe,
    nodes: &Arc<Vec<String>>,
    clients: usize,
    seconds: u64,
) -> (Latencies, f64) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let handles: Vec<_> = (0..clients)
        .map(|c| {
            let (client, token, nodes) = (client.clone(), token.to_owned(), nodes.clone());
            tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut i = c * nodes.len() / clients;
                while Instant::now() < deadline {
                    let (query, vars) = probe.query(&nodes[i % nodes.len()]);
                    lat.push(client.run(&token, query, vars).await.received);
                    i += 1;
                }
                lat
            })
        })
        .collect();
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.unwrap());
    }
    let qps = all.len() as f64 / started.elapsed().as_secs_f64();
    (Latencies(all), qps)
}

/// The same node `runs` times: latencies and the answer size.
async fn repeated(client: &Client, token: &str, probe: Probe, qn: &str, runs: usize) -> (Latencies, usize) {
    let (query, vars) = probe.query(qn);
    let size = client.run(token, query, vars.clone()).await.size.nodes;
    let mut lat = Latencies::default();
    for _ in 0..runs {
        lat.0.push(client.run(token, query, vars.clone()).await.received);
    }
    (lat, size)
}

/// Measures one backend; rows are prefixed with `label`.
async fn measure(
    o: &Options,
    g: &Graph,
    typical: &[String],
    port: u16,
    label: &str,
    row: &mut impl FnMut(&str, String),
) {
    let client = Client {
        http: reqwest::Client::builder().pool_max_idle_per_host(16).build().unwrap(),
        port,
    };
    let reader = token_with_roles("bench-reader", &["orders-team"], &[]);
    let admin = token_with_roles("bench-admin", &[], &["admin"]);
    let typical = Arc::new(typical.to_vec());
    let hub = g.nodes[g.hub].name.clone();
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    // Warm the server (connections, statement caches, page cache).
    let warm: Vec<String> = typical.iter().rev().take(30).cloned().collect();
    for token in [&reader, &admin] {
        one_client(&client, token, Probe::Lineage(5), &warm).await;
        one_client(&client, token, Probe::Impact, &warm).await;
    }
    for (who, token) in [("reader", &reader), ("admin", &admin)] {
        for (name, probe) in [("lineage 5 hops down", Probe::Lineage(5)), ("impact", Probe::Impact)] {
            if (only == "lineage" && probe == Probe::Impact) || (only == "impact" && probe != Probe::Impact) {
                continue;
            }
            let (lat, checked, size, each) = one_client(&client, token, probe, &typical).await;
            row(
                &format!("{label}{name}, typical, {who}, 1 client: p50 / p99 (mean nodes)"),
                format!("{} / {} ({size:.0})", ms(lat.quantile(0.5)), ms(lat.quantile(0.99))),
            );
            println!(
                "    with this program's check of each answer (a JSON parse) timed too, as until session 26: p50 {} / p99 {}",
                ms(checked.quantile(0.5)),
                ms(checked.quantile(0.99))
            );
            println!("    {}", slowest(&typical, &each));
            let (lat, qps) = many_clients(&client, token, probe, &typical, 4, o.seconds).await;
            row(
                &format!("{label}{name}, typical, {who}, 4 clients: throughput (p99)"),
                format!("{qps:.0} queries/s ({})", ms(lat.quantile(0.99))),
            );
        }
        for (name, probe) in [
            ("lineage 1 hop down", Probe::Lineage(1)),
            ("lineage 5 hops down", Probe::Lineage(5)),
            ("impact", Probe::Impact),
        ] {
            if (only == "lineage" && probe == Probe::Impact) || (only == "impact" && probe != Probe::Impact) {
                continue;
            }
            let (lat, size) = repeated(&client, token, probe, &hub, o.hub_runs).await;
            row(
                &format!("{label}{name}, 1,000-consumer hub, {who}: p50 / max (nodes)"),
                format!("{} / {} ({size})", ms(lat.quantile(0.5)), ms(lat.quantile(1.0))),
            );
        }
    }
}

/// The typical nodes and the hub run through the server's schema in this
/// process, as `principal`: rows of figures, and the hub's answers.
async fn gql_floor(
    (o, typical, hub, catalog, principal): (&Options, &[String], &str, &Catalog, &Principal),
    row: &mut impl FnMut(&str, String),
) -> Vec<(&'static str, async_graphql::Response)> {
    let schema = &build_schema(None, &GraphqlLimits::default());
    let run = |query: &'static str, vars: Value| {
        let request = async_graphql::Request::new(query)
            .variables(async_graphql::Variables::from_json(vars))
            .data(catalog.clone())
            .data(RequestContext {
                principal: principal.clone(),
            })
            .data(request_loader(catalog, &Metrics::default()));
        async move {
            let t = Instant::now();
            let response = schema.execute(request).await;
            assert!(response.errors.is_empty(), "{:?}", response.errors);
            (t.elapsed(), response)
        }
    };
    let mut cells = Vec::new();
    for probe in [Probe::Lineage(5), Probe::Impact] {
        let mut lat = Latencies::default();
        for qn in typical {
            let (query, vars) = probe.query(qn);
            lat.0.push(run(query, vars).await.0);
        }
        cells.push(format!("{} / {}", ms(lat.quantile(0.5)), ms(lat.quantile(0.99))));
    }
    row(
        "floor: GraphQL in-process (catalog + execution), reader, typical: lineage 5 hops p50 / p99; impact p50 / p99",
        cells.join("; "),
    );
    let mut cells = Vec::new();
    let mut answers = Vec::new();
    for (name, probe) in [
        ("1 hop", Probe::Lineage(1)),
        ("5 hops", Probe::Lineage(5)),
        ("impact", Probe::Impact),
    ] {
        let (query, vars) = probe.query(hub);
        let mut lat = Latencies::default();
        let mut last = None;
        for _ in 0..o.hub_runs {
            let (t, response) = run(query, vars.clone()).await;
            lat.0.push(t);
            last = Some(response);
        }
        answers.push((name, last.unwrap()));
        cells.push(format!("{name} {} / {}", ms(lat.quantile(0.5)), ms(lat.quantile(1.0))));
    }
    row(
        "floor: GraphQL in-process (catalog + execution), reader, 1,000-consumer hub: p50 / max",
        cells.join("; "),
    );
    answers
}

/// The floors under the server's answers, in this process on the same
/// database: the catalog's own work (the SQL queries and the assembly of
/// the answer, summary rows as the portal's selections get), without
/// GraphQL, serialisation or HTTP; then the GraphQL execution; then the
/// serialisation. Typical nodes once each (p50 / p99), the hub `hub_runs`
/// times (p50 / max).
async fn floors(o: &Options, g: &Graph, typical: &[String], db_url: &str, row: &mut impl FnMut(&str, String)) {
    let catalog = Catalog::new(Store::open(db_url).await.unwrap());
    let reader = Caller::User(Identity {
        subject: "bench-reader".into(),
        teams: vec!["orders-team".into()],
        roles: vec![],
    });
    let principal = catalog.principal(&reader).await.unwrap();
    let hub = g.nodes[g.hub].name.clone();
    let lineage = |qn: String, depth: i32| {
        let (catalog, principal) = (&catalog, &principal);
        async move {
            let of = NodeRef::Product(qn);
            let t = Instant::now();
            let graph = catalog
                .lineage_of(principal, &of, Direction::Downstream, depth)
                .summary_rows(true)
                .summary_edges(true)
                .run()
                .await
                .unwrap();
            (t.elapsed(), graph.nodes.len())
        }
    };
    let impact = |qn: String| {
        let (catalog, principal) = (&catalog, &principal);
        async move {
            let t = Instant::now();
            let report = catalog
                .impact_of(principal, &qn)
                .summary_rows(true)
                .with_teams(true)
                .run()
                .await
                .unwrap();
            (
                t.elapsed(),
                report.products.len() + report.applications.len() + report.restricted_products as usize,
            )
        }
    };
    for qn in typical.iter().take(30) {
        lineage(qn.clone(), 5).await;
    }
    let mut lat = Latencies::default();
    for qn in typical {
        lat.0.push(lineage(qn.clone(), 5).await.0);
    }
    let mut imp = Latencies::default();
    for qn in typical {
        imp.0.push(impact(qn.clone()).await.0);
    }
    row(
        "floor: the catalog alone (SQL + assembly, in-process, no GraphQL/HTTP), reader, typical: lineage 5 hops p50 / p99; impact p50 / p99",
        format!(
            "{} / {}; {} / {}",
            ms(lat.quantile(0.5)),
            ms(lat.quantile(0.99)),
            ms(imp.quantile(0.5)),
            ms(imp.quantile(0.99))
        ),
    );
    let mut hub_rows = Vec::new();
    for (name, depth) in [("1 hop", Some(1)), ("5 hops", Some(5)), ("impact", None)] {
        let mut lat = Latencies::default();
        let mut size = 0;
        for _ in 0..o.hub_runs {
            let (t, n) = match depth {
                Some(depth) => lineage(hub.clone(), depth).await,
                None => impact(hub.clone()).await,
            };
            lat.0.push(t);
            size = n;
        }
        hub_rows.push(format!(
            "{name} {} / {} ({size})",
            ms(lat.quantile(0.5)),
            ms(lat.quantile(1.0))
        ));
    }
    row(
        "floor: the catalog alone, reader, 1,000-consumer hub: p50 / max (nodes)",
        hub_rows.join("; "),
    );

    // The same through the server's GraphQL schema, in this process: the
    // catalog and async-graphql's execution, without serialisation or
    // HTTP; then the serialisation of the answers alone.
    let mut answers = gql_floor((o, typical, &hub, &catalog, &principal), row).await;
    answers.truncate(3);
    // Serialisation alone, on the hub's answers: as the server did (a
    // serde_json tree, then bytes) and as it does (straight to bytes).
    let mut cells = Vec::new();
    for (name, response) in answers.iter().take(3) {
        let mut tree = Latencies::default();
        let mut direct = Latencies::default();
        let mut bytes = 0;
        for _ in 0..o.hub_runs {
            let t = Instant::now();
            let body = serde_json::to_vec(&serde_json::to_value(response).unwrap()).unwrap();
            tree.0.push(t.elapsed());
            let t = Instant::now();
            let fast = response_body(response, true).unwrap();
            direct.0.push(t.elapsed());
            assert_eq!(body, fast);
            bytes = body.len();
        }
        cells.push(format!(
            "{name} ({} kB) {} → {}",
            bytes / 1000,
            ms(tree.quantile(0.5)),
            ms(direct.quantile(0.5))
        ));
    }
    row(
        "floor: serialisation alone, hub answers: p50 via a serde_json tree → straight to bytes",
        cells.join("; "),
    );
}

async fn wait_ready(port: u16, server: &mut Process) -> Duration {
    let started = Instant::now();
    let http = reqwest::Client::new();
    loop {
        // Not /readyz: without a broker the server never catches up with
        // mesh.catalog.events, but it answers queries.
        if http
            .post(format!("http://127.0.0.1:{port}/graphql"))
            .json(&json!({ "query": "{ __typename }" }))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return started.elapsed();
        }
        assert!(server.exited().is_none(), "the server exited");
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "the server never got ready"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// ------------------------------------------------------------------ main

#[tokio::main]
async fn main() {
    mesh_catalog::startup::install_tls_provider();
    let o = options();
    let mut rows: Vec<(String, String)> = Vec::new();
    let mut row = |what: &str, value: String| {
        println!("{what:<78} {value}");
        rows.push((what.to_owned(), value));
    };
    let work = std::env::temp_dir().join(format!("mesh-bench-lineage-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let db_url = format!("sqlite://{}", work.join("catalog.db").display());

    let t = Instant::now();
    let g = generate(o.nodes);
    let store = Store::open(&db_url).await.unwrap();
    insert(store.db(), &g).await;
    drop(store);
    let products = g.nodes.iter().filter(|n| n.product).count();
    let private = g.nodes.iter().filter(|n| n.private).count();
    let hub_out = g.edges.iter().filter(|&&(f, _)| f == g.hub).count();
    row(
        "graph (generated, stored in SQLite)",
        format!(
            "{} nodes: {products} products ({private} PRIVATE), {} applications; {} edges; hub with {hub_out} consumers ({:.1?})",
            g.nodes.len(),
            g.nodes.len() - products,
            g.edges.len(),
            t.elapsed()
        ),
    );
    let typical = sample(&g, o.sample);

    if std::env::var_os("BENCH_FLOOR_ONLY").is_some() {
        floors(&o, &g, &typical, &db_url, &mut row).await;
        let _ = std::fs::remove_dir_all(&work);
        return;
    }
    let port = free_port();
    let mut server = start_server(&work, port, None);
    let ready = wait_ready(port, &mut server).await;
    row("server start to ready (SQLite)", format!("{ready:.1?}"));
    if std::env::var_os("BENCH_SERVE_ONLY").is_some() {
        println!(
            "serving on 127.0.0.1:{port} (pid {}); typical node {}, hub {}; Ctrl-C to stop",
            server.pid(),
            typical[0],
            g.nodes[g.hub].name
        );
        tokio::signal::ctrl_c().await.unwrap();
        let _ = std::fs::remove_dir_all(&work);
        return;
    }
    measure(&o, &g, &typical, port, "", &mut row).await;
    server.terminate();
    if std::env::var_os("BENCH_NO_FLOOR").is_none() {
        floors(&o, &g, &typical, &db_url, &mut row).await;
    }

    if let Some(admin_url) = &o.postgres {
        let admin = Database::connect(admin_url)
            .await
            .expect("PostgreSQL reachable (run scripts/postgres.sh)");
        let name = format!("mc_bench_lineage_{}", std::process::id());
        admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name}"))
            .await
            .unwrap();
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        let url = format!("{}/{name}", admin_url.rsplit_once('/').unwrap().0);
        let t = Instant::now();
        let store = Store::open(&url).await.unwrap();
        insert(store.db(), &g).await;
        store.db().execute_unprepared("ANALYZE").await.unwrap();
        drop(store);
        row("graph stored in PostgreSQL", format!("{:.1?}", t.elapsed()));
        let pg_dir = work.join("pg");
        std::fs::create_dir_all(&pg_dir).unwrap();
        let port = free_port();
        let mut server = start_server(&pg_dir, port, Some(&url));
        let ready = wait_ready(port, &mut server).await;
        row("server start to ready (PostgreSQL)", format!("{ready:.1?}"));
        measure(&o, &g, &typical, port, "PostgreSQL: ", &mut row).await;
        server.terminate();
        let _ = admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await;
    }

    if let Some(out) = o.out {
        let mut md = format!(
            "| measure ({} nodes, {} typical nodes, {} s per throughput phase) | value |\n|---|---|\n",
            o.nodes, o.sample, o.seconds
        );
        for (k, v) in &rows {
            md.push_str(&format!("| {k} | {v} |\n"));
        }
        std::fs::write(out, md).unwrap();
    }
    let _ = std::fs::remove_dir_all(&work);
}

fn node_kind(node: &Node) -> NodeKind {
    if node.product {
        NodeKind::Product
    } else {
        NodeKind::Application
    }
}
