//! Search benchmark: a synthetic catalog (100,000 products, or 10,000 with
//! `--quick`), indexed and queried through every path, printed as a table.
//!
//! Run it with `scripts/bench-search [--quick]` (it builds the server too).
//! It measures, on the same data: index build time and size, cold start,
//! GraphQL `search` over HTTP against the real server process with 16
//! concurrent clients, the same query mix in-process (no HTTP/GraphQL) and
//! on PostgreSQL full-text search, `suggest` latency, publish → searchable
//! latency, and the server's peak RSS.
//!
//! For profiling: `BENCH_SLOWEST=1` prints the slowest queries of the mix,
//! `BENCH_ONLY_IN_PROCESS=1` stops after the in-process phase (run it
//! under `perf record`), `BENCH_COMPARE=1` times each query of the mix on
//! one thread against the floor (per kind of query), `BENCH_ONLY_BUILD=1`
//! stops after the index build, with its stages timed one by one
//! (`search::profile`), the raw-tantivy floor, and the server's cold start
//! (the whole index rebuilt). `BENCH_ONLY_PUBLISH=1` measures only
//! publishing into the generated catalog, through the real server, on
//! SQLite and PostgreSQL (`BENCH_ONLY_PUBLISH=sqlite`: on SQLite only,
//! without a broker).
//! `BENCH_ONLY_HTTP=seconds` runs the search in-process, alone then
//! through the server's GraphQL schema, then only the GraphQL search over
//! HTTP, each for that long, and prints the server's process id (to
//! attach `perf`); it then times the request part by part. Each prints
//! the CPU a query costs the process that answers it.
//! `BENCH_SERVER=path` runs another build of the server (a baseline).
//! The floor behind HTTP, and behind GraphQL, runs in a process of this
//! program (`BENCH_FLOOR_SERVE`, see `floor_serve` and `floor_graphql`);
//! every server is warmed up before it is measured (`warm_up`).

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::Utc;
use common::{Rng, DOMAINS, SECRET};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use mesh_catalog::auth::{Identity, TokenService};
use mesh_catalog::catalog::policy::Audience;
use mesh_catalog::catalog::schema::SchemaField;
use mesh_catalog::catalog::{
    CheckKind, CleanupPolicy, ProductStatus, QualityClass, QualityStatus, SlaTier, SubscriptionStatus, Visibility,
};
use mesh_catalog::config::AuthConfig;
use mesh_catalog::search::analysis::split_words;
use mesh_catalog::search::profile::{cpu_of, process_cpu};
use mesh_catalog::search::{Extras, Highlights, IndexLocation, Indexer, SearchFilters, SearchIndex};
use mesh_catalog::store::entities::{
    access_subscription, application, data_product, product_tag, quality_check, quality_result, schema_version,
};
use mesh_catalog::store::Store;
use sea_orm::{ActiveEnum, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, EntityTrait, Set, Statement};
use serde_json::{json, Value};

/// The server's allocator (`main.rs`): the index build and the in-process
/// searches measured here run as in the server.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

// ---------------------------------------------------------------- options

struct Options {
    products: usize,
    clients: usize,
    seconds: u64,
    postgres: String,
    out: Option<PathBuf>,
}

fn options() -> Options {
    let mut o = Options {
        products: 100_000,
        clients: 16,
        seconds: 10,
        postgres: std::env::var("MESH_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into()),
        out: None,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let value = || args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--quick" => o.products = 10_000,
            "--products" => o.products = value().parse().expect("--products N"),
            "--clients" => o.clients = value().parse().expect("--clients N"),
            "--seconds" => o.seconds = value().parse().expect("--seconds N"),
            "--postgres" => o.postgres = value(),
            "--out" => o.out = Some(PathBuf::from(value())),
            other => panic!("unknown option {other}"),
        }
        if matches!(args[i].as_str(), "--quick") {
            i += 1;
        } else {
            i += 2;
        }
    }
    o
}

// ------------------------------------------------------- synthetic catalog

const NOUNS: &[&str] = &[
    "order",
    "payment",
    "invoice",
    "customer",
    "account",
    "shipment",
    "parcel",
    "carrier",
    "route",
    "stock",
    "sku",
    "product",
    "price",
    "discount",
    "coupon",
    "campaign",
    "click",
    "session",
    "page",
    "view",
    "cart",
    "basket",
    "refund",
    "return",
    "chargeback",
    "dispute",
    "ledger",
    "journal",
    "balance",
    "transfer",
    "wallet",
    "card",
    "subscription",
    "plan",
    "usage",
    "meter",
    "event",
    "signal",
    "score",
    "risk",
    "alert",
    "incident",
    "ticket",
    "agent",
    "review",
    "rating",
    "recommendation",
    "forecast",
    "demand",
    "supplier",
    "purchase",
    "receipt",
    "warehouse",
    "bin",
    "pallet",
    "vehicle",
    "driver",
    "delivery",
    "address",
    "consent",
    "profile",
    "segment",
    "cohort",
    "experiment",
    "variant",
    "metric",
    "kpi",
    "revenue",
    "margin",
    "cost",
    "budget",
    "tax",
    "currency",
    "exchange",
    "rate",
    "employee",
    "shift",
    "badge",
    "device",
    "sensor",
    "reading",
    "log",
    "trace",
    "login",
    "password",
    "token",
    "permission",
    "role",
    "audit",
    "snapshot",
    "catalog",
    "listing",
    "offer",
    "bid",
    "auction",
];
const QUALIFIERS: &[&str] = &[
    "events",
    "snapshots",
    "daily",
    "hourly",
    "enriched",
    "filtered",
    "aggregated",
    "raw",
    "curated",
    "changes",
    "status",
    "history",
    "facts",
    "dimensions",
    "stream",
    "feed",
    "updates",
    "summary",
    "scores",
    "counts",
];
const PROSE: &[&str] = &[
    "captures",
    "every",
    "change",
    "emitted",
    "when",
    "customers",
    "place",
    "settle",
    "reconcile",
    "nightly",
    "real-time",
    "downstream",
    "consumers",
    "use",
    "this",
    "to",
    "compute",
    "reporting",
    "dashboards",
    "models",
    "deduplicated",
    "ordered",
    "per",
    "key",
    "retained",
    "for",
    "days",
    "includes",
    "personal",
    "data",
    "masked",
    "regulatory",
    "compliance",
    "audited",
    "quarterly",
    "source",
    "of",
    "truth",
    "for",
    "operations",
    "teams",
    "latency",
    "sensitive",
    "published",
    "by",
    "the",
    "domain",
    "team",
    "partitioned",
    "by",
    "region",
];
const FIELD_STEMS: &[&str] = &[
    "id",
    "created",
    "updated",
    "amount",
    "currency",
    "status",
    "type",
    "reason",
    "code",
    "name",
    "email",
    "phone",
    "country",
    "city",
    "postal",
    "street",
    "quantity",
    "price",
    "total",
    "tax",
    "discount",
    "channel",
    "device",
    "ip",
    "user",
    "agent",
    "session",
    "score",
    "model",
    "version",
    "region",
    "timezone",
    "locale",
    "source",
    "target",
    "reference",
    "external",
    "internal",
    "tracking",
    "number",
    "weight",
    "length",
    "width",
    "height",
];
const TAGS: &[&str] = &[
    "core",
    "pii",
    "gdpr",
    "finance",
    "realtime",
    "batch",
    "legacy",
    "curated",
    "raw",
    "ml",
    "kpi",
    "compacted",
    "clickstream",
    "events",
    "snapshot",
    "reference",
    "master-data",
    "critical",
    "experimental",
    "internal",
];
const TIERS: &[&str] = &["PLATINUM", "GOLD", "SILVER", "BRONZE"];

struct Synth {
    id: String,
    domain: usize,
    name: String,
    display: String,
    description: String,
    tags: Vec<String>,
    fields: Vec<SchemaField>,
    status: &'static str,
    tier: &'static str,
    format: &'static str,
}

fn field_name(rng: &mut Rng) -> String {
    let n = 1 + rng.below(3);
    let parts: Vec<&str> = (0..n).map(|_| rng.pick(FIELD_STEMS)).collect();
    match rng.below(3) {
        0 => parts.join("_"),
        1 => parts
            .iter()
            .enumerate()
            .map(|(i, p)| {
                if i == 0 {
                    p.to_string()
                } else {
                    p[..1].to_uppercase() + &p[1..]
                }
            })
            .collect(),
        _ => parts
            .iter()
            .enumerate()
            .map(|(i, p)| if i == 0 { p.to_string() } else { p.to_uppercase() })
            .collect(),
    }
}

fn generate(n: usize) -> Vec<Synth> {
    let mut rng = Rng(0x5EED_CAFE_F00D_BEEF);
    let mut seen: HashMap<String, usize> = HashMap::new();
    (0..n)
        .map(|i| {
            let domain = rng.below(DOMAINS.len());
            let base = format!("{}-{}-{}", rng.pick(NOUNS), rng.pick(NOUNS), rng.pick(QUALIFIERS));
            let count = seen.entry(format!("{domain}{base}")).or_insert(0);
            *count += 1;
            let name = if *count > 1 { format!("{base}-v{count}") } else { base };
            let display = name
                .split('-')
                .map(|w| w[..1].to_uppercase() + &w[1..])
                .collect::<Vec<_>>()
                .join(" ");
            let words = 12 + rng.below(25);
            let description = (0..words).map(|_| rng.pick(PROSE)).collect::<Vec<_>>().join(" ")
                + format!(" about {} and {}.", rng.pick(NOUNS), rng.pick(NOUNS)).as_str();
            let mut tags: Vec<String> = (0..1 + rng.below(4)).map(|_| rng.pick(TAGS).to_owned()).collect();
            tags.sort();
            tags.dedup();
            let fields = (0..6 + rng.below(15))
                .map(|_| SchemaField {
                    path: field_name(&mut rng),
                    type_name: "string".into(),
                    doc: (rng.below(3) > 0)
                        .then(|| format!("The {} {} of the {}", rng.pick(PROSE), rng.pick(NOUNS), rng.pick(NOUNS))),
                    nullable: rng.below(4) == 0,
                    required: true,
                    default: None,
                    tags: vec![],
                })
                .collect();
            let status = match rng.below(100) {
                0..=84 => "PUBLISHED",
                85..=92 => "DEPRECATED",
                93..=96 => "DRAFT",
                _ => "RETIRED",
            };
            Synth {
                id: format!("{:08}-0000-7000-8000-{:012}", i / 10_000, i),
                domain,
                name,
                display,
                description,
                tags,
                fields,
                status,
                tier: rng.pick(TIERS),
                format: if rng.below(10) < 7 { "AVRO" } else { "JSON_SCHEMA" },
            }
        })
        .collect()
}

async fn insert(db: &DatabaseConnection, catalog: &[Synth]) {
    // An hour ago: a start-up reconciles only changes near the index's
    // watermark, so the warm start below finds nothing to redo.
    let now = Utc::now() - chrono::Duration::hours(1);
    common::insert_domains(db, now).await;
    let apps: Vec<application::ActiveModel> = (0..50)
        .map(|i| application::ActiveModel {
            id: Set(format!("app-{i}")),
            name: Set(format!("app-{i}")),
            description: Set(String::new()),
            owner_team_id: Set(format!("team-{}", DOMAINS[i % DOMAINS.len()])),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .collect();
    application::Entity::insert_many(apps).exec(db).await.unwrap();
    for chunk in catalog.chunks(400) {
        let products = chunk.iter().map(|p| {
            let d = DOMAINS[p.domain];
            data_product::ActiveModel {
                id: Set(p.id.clone()),
                qualified_name: Set(format!("{d}.{}", p.name)),
                domain_id: Set(format!("domain-{d}")),
                name: Set(p.name.clone()),
                display_name: Set(p.display.clone()),
                description: Set(p.description.clone()),
                owner_team_id: Set(format!("team-{d}")),
                contacts: Set("[]".into()),
                status: Set(ProductStatus::try_from_value(&p.status.to_owned()).expect("a generated status")),
                deprecation_reason: Set((p.status == "DEPRECATED").then(|| "superseded".into())),
                sunset_date: Set(None),
                successor_id: Set(None),
                visibility: Set(Visibility::Public),
                compatibility: Set("BACKWARD".into()),
                topic_name: Set(format!("{d}.{}", p.name)),
                topic_partitions: Set(3),
                topic_retention_ms: Set(604_800_000),
                topic_cleanup_policy: Set(CleanupPolicy::Delete),
                sla_tier: Set(Some(
                    SlaTier::try_from_value(&p.tier.to_owned()).expect("a generated tier"),
                )),
                sla_availability_percent: Set(None),
                sla_max_freshness_seconds: Set(None),
                sla_max_latency_ms: Set(None),
                sla_retention_days: Set(None),
                sla_support_hours: Set(None),
                sla_on_call: Set(None),
                quality_class: Set(
                    [QualityClass::Authoritative, QualityClass::Curated, QualityClass::Raw][p.domain % 3]
                ),
                version: Set(1),
                created_at: Set(now),
                updated_at: Set(now),
            }
        });
        data_product::Entity::insert_many(products).exec(db).await.unwrap();
        let tags = chunk.iter().flat_map(|p| {
            p.tags.iter().map(|t| product_tag::ActiveModel {
                product_id: Set(p.id.clone()),
                tag: Set(t.clone()),
            })
        });
        product_tag::Entity::insert_many(tags).exec(db).await.unwrap();
        let versions = chunk.iter().map(|p| schema_version::ActiveModel {
            id: Set(format!("sv-{}", p.id)),
            product_id: Set(p.id.clone()),
            version: Set(1),
            format: Set(p.format.into()),
            definition: Set("{}".into()),
            canonical: Set("{}".into()),
            fields: Set(serde_json::to_string(&p.fields).unwrap()),
            created_by: Set("bench".into()),
            created_at: Set(now),
        });
        schema_version::Entity::insert_many(versions).exec(db).await.unwrap();
        let checks = chunk.iter().step_by(3).map(|p| quality_check::ActiveModel {
            id: Set(format!("qc-{}", p.id)),
            product_id: Set(p.id.clone()),
            name: Set("completeness".into()),
            kind: Set(CheckKind::Completeness),
            description: Set(String::new()),
            threshold: Set(Some(0.99)),
            created_at: Set(now),
        });
        quality_check::Entity::insert_many(checks).exec(db).await.unwrap();
        let results = chunk
            .iter()
            .step_by(3)
            .enumerate()
            .map(|(i, p)| quality_result::ActiveModel {
                id: Set(format!("qr-{}", p.id)),
                check_id: Set(format!("qc-{}", p.id)),
                product_id: Set(p.id.clone()),
                status: Set([
                    QualityStatus::Pass,
                    QualityStatus::Pass,
                    QualityStatus::Warn,
                    QualityStatus::Fail,
                ][i % 4]),
                observed_value: Set(Some(0.99)),
                message: Set(None),
                observed_at: Set(now),
            });
        quality_result::Entity::insert_many(results).exec(db).await.unwrap();
        let subs = chunk
            .iter()
            .step_by(10)
            .enumerate()
            .map(|(i, p)| access_subscription::ActiveModel {
                id: Set(format!("sub-{}", p.id)),
                application_id: Set(format!("app-{}", i % 50)),
                product_id: Set(p.id.clone()),
                purpose: Set("bench".into()),
                status: Set(SubscriptionStatus::Approved),
                requested_by: Set("bench".into()),
                requested_at: Set(now),
                decided_by: Set(Some("bench".into())),
                decided_at: Set(Some(now)),
                decision_reason: Set(None),
                pii_access: Set(false),
            });
        access_subscription::Entity::insert_many(subs).exec(db).await.unwrap();
    }
}

// ------------------------------------------------------------- query mix

#[derive(Clone)]
struct Probe {
    query: String,
    filters: SearchFilters,
    domain: Option<String>,
}

/// The kinds of query of the mix, in the order [`query_mix`] makes them.
const KINDS: [&str; 5] = ["one word", "two words", "field path", "typo", "prefix"];

/// The kind of query `i` of the mix (an index into [`KINDS`]).
fn kind_of(i: usize) -> usize {
    i % KINDS.len()
}

/// A fixed mix: single words, two words, field names in several casings,
/// typos, prefixes, each also with a filter.
fn query_mix(catalog: &[Synth]) -> Vec<Probe> {
    let mut rng = Rng(42);
    let mut mix = Vec::new();
    for i in 0..200 {
        let p = &catalog[rng.below(catalog.len())];
        let noun = rng.pick(NOUNS).to_owned();
        let query = match kind_of(i) {
            0 => noun,
            1 => format!("{} {}", rng.pick(NOUNS), rng.pick(QUALIFIERS)),
            2 => p.fields[rng.below(p.fields.len())].path.clone(),
            3 => {
                // A typo: swap two letters of a long word.
                let word = p
                    .name
                    .split('-')
                    .max_by_key(|w| w.len())
                    .unwrap_or("payment")
                    .to_owned();
                let mut chars: Vec<char> = word.chars().collect();
                if chars.len() >= 5 {
                    chars.swap(2, 3);
                }
                chars.into_iter().collect()
            }
            _ => p.name.split('-').next().unwrap_or("ord").chars().take(4).collect(),
        };
        let domain = (i % 2 == 1).then(|| DOMAINS[rng.below(DOMAINS.len())].to_owned());
        let filters = SearchFilters {
            domains: domain.iter().cloned().collect(),
            ..Default::default()
        };
        mix.push(Probe { query, filters, domain });
    }
    mix
}

// --------------------------------------------------------------- figures

#[derive(Default, Clone)]
struct Latencies(Vec<Duration>);

impl Latencies {
    /// `p50 / p99`, in milliseconds.
    fn p50_p99(&self) -> String {
        format!("{} / {}", ms(self.quantile(0.5)), ms(self.quantile(0.99)))
    }

    /// `throughput, p50 / p99`.
    fn with_throughput(&self, qps: f64) -> String {
        format!("{qps:.0} queries/s, {}", self.p50_p99())
    }

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
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn us(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

/// `cpu` shared among the queries `latencies` timed.
fn per_query(cpu: Duration, latencies: &Latencies) -> Duration {
    cpu / u32::try_from(latencies.0.len().max(1)).unwrap_or(u32::MAX)
}

/// `load`, with the CPU time process `pid` (a server, or this process)
/// spent per query while it ran: what a query costs the process that
/// answers it, whatever the load generator sharing its cores costs.
async fn on_cpu_of(pid: u32, load: impl std::future::Future<Output = (Latencies, f64)>) -> (Latencies, f64, Duration) {
    let before = cpu_of(pid);
    let (latencies, qps) = load.await;
    let cpu = per_query(cpu_of(pid).saturating_sub(before), &latencies);
    (latencies, qps, cpu)
}

/// The size of the files under `path` (a file removed while it is read, as
/// a background merge does with the segments it replaced, counts nothing).
fn dir_size(path: &Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| {
                    let Ok(m) = e.metadata() else { return 0 };
                    if m.is_dir() {
                        dir_size(&e.path())
                    } else {
                        m.len()
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

/// Runs `work` from `clients` threads for `seconds`; returns the latencies.
fn load_threads(clients: usize, seconds: u64, work: Arc<dyn Fn(usize) + Send + Sync>) -> (Latencies, f64) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let handles: Vec<_> = (0..clients)
        .map(|c| {
            let work = work.clone();
            std::thread::spawn(move || {
                let mut lat = Vec::new();
                let mut i = c * 7;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    work(i);
                    lat.push(t.elapsed());
                    i += 1;
                }
                lat
            })
        })
        .collect();
    let all: Vec<Duration> = handles.into_iter().flat_map(|h| h.join().unwrap()).collect();
    let qps = all.len() as f64 / started.elapsed().as_secs_f64();
    (Latencies(all), qps)
}

/// Runs `work(client, i)` from `clients` tasks for `seconds`; returns the
/// latencies.
async fn load_tasks<F, Fut>(clients: usize, seconds: u64, work: F) -> (Latencies, f64)
where
    F: Fn(usize, usize) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let handles: Vec<_> = (0..clients)
        .map(|c| {
            let work = work.clone();
            tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut i = c * 7;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    work(c, i).await;
                    lat.push(t.elapsed());
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

// ------------------------------------------------------------ PostgreSQL

fn words(text: &str) -> String {
    split_words(text)
        .into_iter()
        .map(|(a, b)| &text[a..b])
        .collect::<Vec<_>>()
        .join(" ")
}

/// A fresh PostgreSQL database `name` beside `admin_url`'s; its URL.
async fn create_database(admin_url: &str, name: &str) -> String {
    let admin = Database::connect(admin_url)
        .await
        .expect("PostgreSQL reachable (run scripts/postgres.sh)");
    for sql in [
        format!("DROP DATABASE IF EXISTS {name}"),
        format!("CREATE DATABASE {name}"),
    ] {
        admin.execute_unprepared(&sql).await.unwrap();
    }
    format!("{}/{name}", admin_url.rsplit_once('/').unwrap().0)
}

async fn postgres_setup(admin_url: &str, catalog: &[Synth]) -> (DatabaseConnection, String, Duration) {
    let name = format!("mc_bench_{}", std::process::id());
    let url = create_database(admin_url, &name).await;
    let mut options = ConnectOptions::new(url.clone());
    options.max_connections(32).sqlx_logging(false);
    let db = Database::connect(options).await.unwrap();
    db.execute_unprepared(
        "CREATE TABLE products (id text PRIMARY KEY, qualified_name text NOT NULL, domain text NOT NULL,
           status text NOT NULL, document tsvector NOT NULL)",
    )
    .await
    .unwrap();
    let started = Instant::now();
    for chunk in catalog.chunks(200) {
        let mut sql = String::from("INSERT INTO products VALUES ");
        let mut values: Vec<sea_orm::Value> = Vec::new();
        for (i, p) in chunk.iter().enumerate() {
            let d = DOMAINS[p.domain];
            let names = words(&format!("{d}.{} {}", p.name, p.display));
            let middle = words(&format!(
                "{} {} {d} {d}-team",
                p.tags.join(" "),
                p.fields.iter().map(|f| f.path.as_str()).collect::<Vec<_>>().join(" ")
            ));
            let docs = p
                .fields
                .iter()
                .filter_map(|f| f.doc.clone())
                .collect::<Vec<_>>()
                .join(" ");
            let b = i * 8;
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&format!(
                "(${}, ${}, ${}, ${}, setweight(to_tsvector('english', ${}), 'A') || setweight(to_tsvector('english', ${}), 'B') || setweight(to_tsvector('english', ${}), 'C') || setweight(to_tsvector('english', ${}), 'D'))",
                b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7, b + 8
            ));
            values.extend([
                p.id.clone().into(),
                format!("{d}.{}", p.name).into(),
                d.to_string().into(),
                p.status.to_string().into(),
                names.into(),
                middle.into(),
                p.description.clone().into(),
                words(&docs).into(),
            ]);
        }
        db.execute_raw(Statement::from_sql_and_values(
            sea_orm::DatabaseBackend::Postgres,
            sql,
            values,
        ))
        .await
        .unwrap();
    }
    db.execute_unprepared("CREATE INDEX products_document ON products USING GIN (document)")
        .await
        .unwrap();
    db.execute_unprepared("CREATE INDEX products_domain ON products (domain)")
        .await
        .unwrap();
    db.execute_unprepared("ANALYZE products").await.unwrap();
    (db, name, started.elapsed())
}

async fn postgres_query(db: &DatabaseConnection, probe: &Probe) {
    let (sql, values): (&str, Vec<sea_orm::Value>) = match &probe.domain {
        None => (
            "SELECT id, ts_rank(document, q) AS rank FROM products, websearch_to_tsquery('english', $1) q
             WHERE document @@ q AND status <> 'RETIRED' ORDER BY rank DESC LIMIT 20",
            vec![probe.query.clone().into()],
        ),
        Some(d) => (
            "SELECT id, ts_rank(document, q) AS rank FROM products, websearch_to_tsquery('english', $1) q
             WHERE document @@ q AND status <> 'RETIRED' AND domain = $2 ORDER BY rank DESC LIMIT 20",
            vec![probe.query.clone().into(), d.clone().into()],
        ),
    };
    db.query_all_raw(Statement::from_sql_and_values(
        sea_orm::DatabaseBackend::Postgres,
        sql,
        values,
    ))
    .await
    .unwrap();
}

// ---------------------------------------------------------------- server

/// Current and peak resident memory of a process, KiB.
fn rss_kib(pid: u32) -> (u64, u64) {
    let status = proc_status(pid);
    (status("VmRSS:"), status("VmHWM:"))
}

/// [`rss_kib`]'s pair as a table cell: `now / peak MiB`.
fn now_and_peak((now, peak): (u64, u64)) -> String {
    format!("{:.0} / {:.0} MiB", now as f64 / 1024.0, peak as f64 / 1024.0)
}

/// `pid`'s `/proc/…/status`, as a lookup of its kB fields (0 if absent).
fn proc_status(pid: u32) -> impl Fn(&str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    move |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
            .unwrap_or(0)
    }
}

/// CPU time used so far by `pid`'s threads, in all and by those whose
/// name starts with `prefix` (Linux; 100 ticks per second).
fn thread_cpu(pid: u32, prefix: &str) -> (Duration, Duration) {
    let ticks = |stat: &str| -> Option<(String, u64)> {
        let (name, rest) = stat.split_once(" (")?.1.rsplit_once(") ")?;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // utime and stime are fields 14 and 15 of stat, 12 and 13 after the name.
        Some((
            name.to_owned(),
            fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?,
        ))
    };
    let (mut all, mut matching) = (0, 0);
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .flatten()
    {
        if let Some((name, t)) = std::fs::read_to_string(task.path().join("stat"))
            .ok()
            .as_deref()
            .and_then(ticks)
        {
            all += t;
            if name.starts_with(prefix) {
                matching += t;
            }
        }
    }
    (Duration::from_millis(all * 10), Duration::from_millis(matching * 10))
}

/// The server process, killed when dropped (also when the benchmark fails).
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Which Kafka the benchmark's server talks to.
#[derive(Clone, Copy)]
enum Broker {
    /// None: search needs none, and an embedded one would spend the run
    /// creating the topics of 100,000 published products.
    Unreachable,
    /// The in-process one (`scripts/demo`'s default), on this port.
    Embedded(u16),
}

fn start_server(dir: &Path, port: u16) -> Server {
    start_server_on(dir, port, None, Broker::Unreachable)
}

/// The server on `dir`'s SQLite catalog, or on `database_url` when given.
fn start_server_on(dir: &Path, port: u16, database_url: Option<&str>, broker: Broker) -> Server {
    let mut command = Command::new(common::server_binary());
    command
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(dir)
        .env("MESH_JWT_SECRET", SECRET)
        // The benchmark reads anonymously, at full speed.
        .env("MESH_ANONYMOUS_READ", "true")
        .env("MESH_RATE_LIMIT", "0")
        .env("RUST_LOG", "error,librdkafka=off,rdkafka=off")
        .env_remove("DATABASE_URL")
        .env_remove("KAFKA_BOOTSTRAP_SERVERS")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    if let Some(url) = database_url {
        command.env("DATABASE_URL", url);
    }
    match broker {
        Broker::Unreachable => command.env("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9"),
        Broker::Embedded(port) => command.env("MESH_EMBEDDED_KAFKA_PORT", port.to_string()),
    };
    Server(
        command
            .spawn()
            .expect("mesh-catalog binary (scripts/bench-search builds it)"),
    )
}

/// Waits until the server answers GraphQL (not `/readyz`: without a
/// broker the server never catches up with mesh.catalog.events, so it
/// never reports ready).
async fn wait_serving(client: &reqwest::Client, url: &str, limit: Duration) {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        let answered = client
            .post(url)
            .json(&json!({ "query": "{ __typename }" }))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if answered {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the server did not answer GraphQL within {limit:?}");
}

fn admin_token() -> String {
    TokenService::new(&AuthConfig::with_secret(SECRET))
        .mint(
            &Identity {
                subject: "bench".into(),
                teams: vec![],
                roles: vec!["admin".into()],
            },
            Duration::from_secs(3600),
        )
        .expect("a secret is configured")
}

const PUBLISH: &str = "mutation($i: PublishDataProductInput!) { publishDataProduct(input: $i) { id } }";
const AVRO: &str = r#"{"type":"record","name":"R","fields":[{"name":"a","type":"string"}]}"#;

/// Publish → searchable: 100 publishes one after the other, each searched
/// for (by a word only it has) until the search finds it.
async fn publish_to_searchable(client: &reqwest::Client, url: &str, token: &str, tag: &str) -> Latencies {
    let mut fresh = Latencies::default();
    for i in 0..100 {
        let marker = format!("zq{i}x{tag}{}", std::process::id());
        let name = format!("fresh-{tag}-{i}");
        let input = json!({ "domain": "orders", "name": name, "description": format!("marker {marker}"),
            "schema": { "format": "AVRO", "definition": AVRO } });
        graphql(client, url, Some(token), PUBLISH, json!({ "i": input })).await;
        let committed = Instant::now();
        let wanted = format!("orders.{name}");
        loop {
            let r = graphql(client, url, None, SEARCH, json!({ "q": marker })).await;
            let edges = r["data"]["search"]["edges"].as_array().cloned().unwrap_or_default();
            if edges
                .iter()
                .any(|e| e["node"]["product"]["qualifiedName"] == wanted.as_str())
            {
                break;
            }
            assert!(committed.elapsed() < Duration::from_secs(5), "not searchable after 5 s");
        }
        fresh.0.push(committed.elapsed());
    }
    fresh
}

/// Publishing throughput into the full catalog: `clients` clients, each
/// publishing new products (with a schema) one after the other.
async fn publish_load(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    tag: &str,
    clients: usize,
    seconds: u64,
) -> (Latencies, f64) {
    let (client, url, token, tag) = (client.clone(), url.to_owned(), token.to_owned(), tag.to_owned());
    let counter = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    load_tasks(clients, seconds, move |_, _| {
        let (client, url, token, tag, counter) = (client.clone(), url.clone(), token.clone(), tag.clone(), counter.clone());
        async move {
            let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let input = json!({ "domain": DOMAINS[n % DOMAINS.len()], "name": format!("load-{tag}-{n}"), "description": "publish load",
                "schema": { "format": "AVRO", "definition": AVRO } });
            graphql(&client, &url, Some(&token), PUBLISH, json!({ "i": input })).await;
        }
    })
    .await
}

/// `BENCH_QUALITY_HISTORY=1`: what a quality check's history costs. One
/// product's check gets 1,000, then 10,000, then 100,000 results: reading
/// its search document (as re-indexing it after any change does) and the
/// GraphQL query of its quality, each the median of 20. Then every
/// check of the catalog gets 30 results (a month of daily runs) and the
/// rebuild's database load is timed again. Between the two, the product
/// gets 100 schema versions, and reading its latest is timed.
async fn quality_history(store: &Store, catalog: &[Synth], row: &mut impl FnMut(&str, String)) {
    use mesh_catalog::auth::Caller;
    use mesh_catalog::catalog::policy::{Principal, Settings};
    use mesh_catalog::catalog::Catalog;
    use mesh_catalog::config::GraphqlLimits;
    use mesh_catalog::graphql::metrics::Metrics;
    use mesh_catalog::graphql::{build_schema, request_loader, RequestContext};
    use mesh_catalog::search::profile::{database_load, product_ids};
    let db = store.db();
    let settings = Settings {
        anonymous_read: true,
        ..Settings::default()
    };
    let principal = Principal::resolve(db, &Caller::Anonymous, &settings).await.unwrap();
    let schema = build_schema(None, &GraphqlLimits::default());
    let core = Catalog::new(store.clone());
    let metrics = Metrics::default();
    // The first product has a check (every third product has one).
    let product = &catalog[0];
    let qname = format!("{}.{}", DOMAINS[product.domain], product.name);
    let query = format!(
        "{{ dataProduct(qualifiedName: \"{qname}\") {{ qualityScore qualityChecks {{ latestResult {{ status }} results(limit: 5) {{ status }} }} }} }}"
    );
    // One execution of `query` as a request of its own (its own loader).
    let execute = |query: &str| {
        let request = async_graphql::Request::new(query)
            .data(core.clone())
            .data(request_loader(&core, &metrics))
            .data(RequestContext {
                principal: principal.clone(),
            });
        let schema = schema.clone();
        async move {
            let t = Instant::now();
            let response = schema.execute(request).await;
            assert!(response.errors.is_empty(), "{:?}", response.errors);
            t.elapsed()
        }
    };
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let ids = [product.id.clone()];
    let mut results = 1;
    let now = Utc::now() - chrono::Duration::hours(2);
    let history = |check: String, product: String, from: usize, n: usize| {
        (from..from + n).map(move |i| quality_result::ActiveModel {
            id: Set(format!("qh-{check}-{i}")),
            check_id: Set(check.clone()),
            product_id: Set(product.clone()),
            status: Set(QualityStatus::Pass),
            observed_value: Set(Some(1.0)),
            message: Set(None),
            observed_at: Set(now - chrono::Duration::minutes(i as i64 + 1)),
        })
    };
    for target in [1, 1_000, 10_000, 100_000] {
        let more: Vec<_> = history(
            format!("qc-{}", product.id),
            product.id.clone(),
            results,
            target - results,
        )
        .collect();
        for chunk in more.chunks(1000) {
            quality_result::Entity::insert_many(chunk.to_vec())
                .exec(db)
                .await
                .unwrap();
        }
        results = target;
        let mut loads = Vec::new();
        let mut queries = Vec::new();
        for _ in 0..20 {
            loads.push(database_load(db, &ids).await.unwrap());
            queries.push(execute(&query).await);
        }
        row(
            &format!("one check with {target} results"),
            format!(
                "its product's search document read in {:.2?}; its quality over GraphQL in-process {:.2?}",
                median(loads),
                median(queries)
            ),
        );
    }
    // Schema history: the product gets 100 versions of a 20 KB definition.
    // Its latest version (`schema`) against every version (`schemaVersions`,
    // which is how `schema` was read before session 36).
    let definition = format!("{{\"doc\": \"{}\"}}", "x".repeat(20_000));
    let versions: Vec<_> = (2..=100)
        .map(|v| schema_version::ActiveModel {
            id: Set(format!("sv-{}-{v}", product.id)),
            product_id: Set(product.id.clone()),
            version: Set(v),
            format: Set(product.format.into()),
            definition: Set(definition.clone()),
            canonical: Set(definition.clone()),
            fields: Set(serde_json::to_string(&product.fields).unwrap()),
            created_by: Set("bench".into()),
            created_at: Set(now),
        })
        .collect();
    schema_version::Entity::insert_many(versions).exec(db).await.unwrap();
    for (what, selection) in [
        ("its latest schema (`schema`)", "schema { version format }"),
        ("every version (`schemaVersions`)", "schemaVersions { version format }"),
    ] {
        let query = format!("{{ dataProduct(qualifiedName: \"{qname}\") {{ {selection} }} }}");
        let mut took = Vec::new();
        for _ in 0..20 {
            took.push(execute(&query).await);
        }
        row(
            &format!("100 schema versions of 20 KB: {what}"),
            format!("over GraphQL in-process {:.2?}", median(took)),
        );
    }
    let all = product_ids(db).await.unwrap();
    let before = database_load(db, &all).await.unwrap();
    let t = Instant::now();
    let mut added = 0;
    // The products `insert` gave a check: every third of each 400.
    let checked: Vec<&Synth> = catalog.chunks(400).flat_map(|c| c.iter().step_by(3)).skip(1).collect();
    for chunk in checked.chunks(30) {
        let rows: Vec<_> = chunk
            .iter()
            .flat_map(|p| history(format!("qc-{}", p.id), p.id.clone(), 1, 30))
            .collect();
        added += rows.len();
        quality_result::Entity::insert_many(rows).exec(db).await.unwrap();
    }
    let inserted = t.elapsed();
    let after = database_load(db, &all).await.unwrap();
    row(
        "rebuild's database load: before / after 30 more results per check",
        format!("{before:.2?} / {after:.2?} ({added} results added in {inserted:.1?})"),
    );
}

/// `BENCH_ONLY_PUBLISH=1`: publishing into the generated catalog, through
/// the real server, on SQLite and on PostgreSQL, without a broker and with
/// the embedded one; `sqlite_only`: on SQLite without a broker.
async fn publish_only(
    o: &Options,
    work: &Path,
    catalog: &[Synth],
    sqlite_only: bool,
    row: &mut impl FnMut(&str, String),
) {
    let client = reqwest::Client::builder().pool_max_idle_per_host(64).build().unwrap();
    let token = admin_token();
    if sqlite_only {
        return publish_into(&client, &token, o, work, &[("SQLite", None)], row).await;
    }
    let (pg_url, pg_name) = {
        let name = format!("mc_bench_pub_{}", std::process::id());
        let url = create_database(&o.postgres, &name).await;
        let t = Instant::now();
        let store = Store::open(&url).await.unwrap();
        insert(store.db(), catalog).await;
        row("PostgreSQL: products stored", format!("{:.1?}", t.elapsed()));
        (url, name)
    };
    let stores = [("SQLite", None), ("PostgreSQL", Some(pg_url.as_str()))];
    publish_into(&client, &token, o, work, &stores, row).await;
    if let Ok(admin) = Database::connect(&o.postgres).await {
        let _ = admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {pg_name} WITH (FORCE)"))
            .await;
    }
    publish_into_embedded_broker(o, work, &client, &token, row).await;
}

/// Publishing into the generated catalog on each of `stores` (a name and
/// its database URL, `None` for the copy of the SQLite catalog), without a
/// broker: start-up, publish → searchable, 4 clients' throughput, RSS.
async fn publish_into(
    client: &reqwest::Client,
    token: &str,
    o: &Options,
    work: &Path,
    stores: &[(&str, Option<&str>)],
    row: &mut impl FnMut(&str, String),
) {
    for &(store, database_url) in stores {
        let dir = work.join(format!("publish-{store}"));
        std::fs::create_dir_all(&dir).unwrap();
        if database_url.is_none() {
            std::fs::copy(work.join("catalog.db"), dir.join("catalog.db")).unwrap();
        }
        let port = common::free_port();
        let t = Instant::now();
        let server = start_server_on(&dir, port, database_url, Broker::Unreachable);
        let url = format!("http://127.0.0.1:{port}/graphql");
        wait_serving(client, &url, Duration::from_secs(600)).await;
        let what = format!("{store}, no broker");
        row(
            &format!("{what}: server start (index build) to serving"),
            format!("{:.1?}", t.elapsed()),
        );
        let tag = store.to_lowercase();
        let fresh = publish_to_searchable(client, &url, token, &tag).await;
        let cpu_before = thread_cpu(server.0.id(), "merge_thread");
        let (load, rate) = publish_load(client, &url, token, &tag, 4, o.seconds).await;
        // Merges still running after the load count: they are its cost.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let cpu_after = thread_cpu(server.0.id(), "merge_thread");
        let published = (rate * o.seconds as f64).max(1.0);
        row(
            &format!("{what}: server CPU per publish, of which index merges"),
            format!(
                "{:.2} ms, {:.2} ms",
                (cpu_after.0 - cpu_before.0).as_secs_f64() * 1e3 / published,
                (cpu_after.1 - cpu_before.1).as_secs_f64() * 1e3 / published
            ),
        );
        row(
            &format!("{what}: publish → searchable (100 publishes): p50 / p99"),
            fresh.p50_p99(),
        );
        row(
            &format!("{what}: publishes over HTTP, 4 clients: throughput, p50 / p99"),
            format!("{rate:.0} /s, {} / {}", ms(load.quantile(0.5)), ms(load.quantile(0.99))),
        );
        let status = proc_status(server.0.id());
        let mib = |name: &str| status(name) as f64 / 1024.0;
        row(
            &format!("{what}: server RSS now (anonymous + files) / peak"),
            format!(
                "{:.0} ({:.0} + {:.0}) / {:.0} MiB",
                mib("VmRSS:"),
                mib("RssAnon:"),
                mib("RssFile:"),
                mib("VmHWM:")
            ),
        );
        drop(server);
    }
}

/// Publishing with the embedded broker, from an empty catalog: 4 clients
/// for 6 windows of `--seconds`, each window's rate and how many topics the
/// broker has at its end (each product's topic is created after its commit,
/// in the background).
async fn publish_into_embedded_broker(
    o: &Options,
    work: &Path,
    client: &reqwest::Client,
    token: &str,
    row: &mut impl FnMut(&str, String),
) {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let dir = work.join("publish-embedded");
    std::fs::create_dir_all(&dir).unwrap();
    {
        // The domains and their teams, no products.
        let store = Store::open(&format!("sqlite://{}", dir.join("catalog.db").display()))
            .await
            .unwrap();
        common::insert_domains(store.db(), Utc::now()).await;
    }
    let (port, kafka_port) = (common::free_port(), common::free_port());
    let server = start_server_on(&dir, port, None, Broker::Embedded(kafka_port));
    let url = format!("http://127.0.0.1:{port}/graphql");
    wait_serving(client, &url, Duration::from_secs(120)).await;
    let metadata: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", format!("127.0.0.1:{kafka_port}"))
        .set("log_level", "0")
        .create()
        .unwrap();
    let mut published = 0.0;
    for window in 1..=6 {
        let tag = format!("embedded{window}");
        let (load, rate) = publish_load(client, &url, token, &tag, 4, o.seconds).await;
        published += rate * o.seconds as f64;
        let topics = metadata
            .fetch_metadata(None, Duration::from_secs(60))
            .map(|m| m.topics().iter().filter(|t| t.name().contains(".load-")).count())
            .unwrap_or(0);
        let cpu = thread_cpu(server.0.id(), "");
        row(
            &format!("SQLite, embedded broker, window {window}: publishes/s, p99; topics created / published; server CPU so far"),
            format!(
                "{rate:.0} /s, {}; {topics} / {published:.0}; {:.1?}",
                ms(load.quantile(0.99)),
                cpu.0
            ),
        );
    }
    drop(server);
}

async fn graphql(client: &reqwest::Client, url: &str, token: Option<&str>, query: &str, variables: Value) -> Value {
    let mut request = client
        .post(url)
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let body: Value = request.send().await.unwrap().json().await.unwrap();
    assert!(body.get("errors").is_none(), "{body}");
    body
}

/// A result list: 20 hits with their names, scores and matched fields.
const SEARCH: &str = "query($q: String!, $f: SearchFiltersInput) { search(query: $q, filters: $f, first: 20) {
  totalCount edges { node { score matchedFields product { qualifiedName } } } } }";
/// [`SEARCH`] without the products and matched fields (the 1-client split).
const SCORES: &str = "query($q: String!, $f: SearchFiltersInput) { search(query: $q, filters: $f, first: 20) {
  totalCount edges { node { score } } } }";
/// [`SEARCH`] without the products (the 1-client split).
const MATCHED: &str = "query($q: String!, $f: SearchFiltersInput) { search(query: $q, filters: $f, first: 20) {
  totalCount edges { node { score matchedFields } } } }";
/// The transport's floor: HTTP, authentication, GraphQL parsing and
/// execution and the load generator, with nothing to compute (the search's
/// variables are sent, and ignored).
const TRIVIAL: &str = "{ __typename }";
/// What [`SEARCH`] makes the server compute.
const EXTRAS: Extras = Extras {
    facets: false,
    highlights: Highlights::Fields,
};
/// A portal's search page: [`SEARCH`] plus highlighted fragments and
/// every facet (computes [`Extras::ALL`]).
const SEARCH_PAGE: &str = "query($q: String!, $f: SearchFiltersInput) { search(query: $q, filters: $f, first: 20) {
  totalCount edges { node { score matchedFields highlights { field marked } product { qualifiedName } } }
  facets { domains { value count } tags { value count } tiers { value count } qualityClasses { value count }
    statuses { value count } owners { value count } formats { value count } } } }";

/// The query mix searched in-process from `clients` threads, as a reader
/// who may see public products (the visibility filter applies).
fn in_process(
    index: &SearchIndex,
    mix: &Arc<Vec<Probe>>,
    extras: Extras,
    clients: usize,
    seconds: u64,
) -> (Latencies, f64) {
    let (index, mix) = (index.clone(), mix.clone());
    let reader = Audience::Readers(vec![mesh_catalog::catalog::policy::PUBLIC_READER.to_owned()]);
    load_threads(
        clients,
        seconds,
        Arc::new(move |i| {
            let p = &mix[i % mix.len()];
            index.search(&p.query, &p.filters, &reader, 20, None, extras).unwrap();
        }),
    )
}

/// The engine's floor: the same words over the same fields with the same
/// boosts, typo and prefix expansion for words the index does not know,
/// the domain filter as a term, straight tantivy top-20 (block-max WAND,
/// no totals, no visibility, no status or popularity boosts).
struct Floor {
    searcher: tantivy::Searcher,
    fields: Vec<(tantivy::schema::Field, f32, bool)>,
    domain: tantivy::schema::Field,
}

impl Floor {
    fn open(dir: &Path) -> Self {
        let index = tantivy::Index::open_in_dir(dir).unwrap();
        let schema = index.schema();
        let field = |name: &str| schema.get_field(name).unwrap();
        // (field, boost, stemmed)
        let fields = vec![
            (field("name"), 6.0, false),
            (field("tags"), 3.0, false),
            (field("fields"), 3.0, false),
            (field("field_joined"), 3.0, false),
            (field("owner_text"), 2.5, false),
            (field("domain_text"), 2.5, false),
            (field("description"), 1.5, true),
            (field("docs"), 1.0, true),
        ];
        let searcher = index.reader().unwrap().searcher();
        Self {
            searcher,
            fields,
            domain: field("domain"),
        }
    }

    /// A hit's product name, from the index's `qname` fast field.
    fn qualified_name(&self, addr: tantivy::DocAddress) -> String {
        let segment = self.searcher.segment_reader(addr.segment_ord);
        let mut name = String::new();
        if let Ok(Some(column)) = segment.fast_fields().str("qname") {
            if let Some(ord) = column.term_ords(addr.doc_id).next() {
                let _ = column.ord_to_str(ord, &mut name);
            }
        }
        name
    }

    fn search(&self, probe: &Probe) -> Vec<(f32, tantivy::DocAddress)> {
        use mesh_catalog::search::analysis::{analyze, ident_words, prose_analyzer, typo_budget};
        use tantivy::query::{BooleanQuery, BoostQuery, ConstScoreQuery, FuzzyTermQuery, Occur, Query, TermQuery};
        use tantivy::schema::IndexRecordOption;
        use tantivy::Term;
        let plain: Vec<String> = ident_words(&probe.query);
        let stemmed: Vec<String> = analyze(&mut prose_analyzer(), &probe.query)
            .into_iter()
            .map(|w| w.text)
            .collect();
        let known = |field, word: &str| {
            self.searcher.segment_readers().iter().any(|s| {
                s.inverted_index(field)
                    .unwrap()
                    .terms()
                    .get(word.as_bytes())
                    .unwrap()
                    .is_some()
            })
        };
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for (i, word) in plain.iter().enumerate() {
            let stem = stemmed.get(i).unwrap_or(word);
            let mut any: Vec<(Occur, Box<dyn Query>)> = Vec::new();
            let mut is_known = false;
            for &(field, boost, prose) in &self.fields {
                let w = if prose { stem } else { word };
                is_known |= known(field, w);
                let term = TermQuery::new(Term::from_field_text(field, w), IndexRecordOption::WithFreqs);
                any.push((Occur::Should, Box::new(BoostQuery::new(Box::new(term), boost))));
            }
            if !is_known {
                for &(field, _, prose) in self.fields.iter().filter(|(_, b, _)| *b >= 2.5) {
                    let budget = typo_budget(word);
                    if budget > 0 && !prose {
                        let fuzzy = FuzzyTermQuery::new(Term::from_field_text(field, word), budget, true);
                        any.push((Occur::Should, Box::new(ConstScoreQuery::new(Box::new(fuzzy), 0.01))));
                    }
                }
                if i + 1 == plain.len() {
                    let (name, _, _) = self.fields[0];
                    let prefix = FuzzyTermQuery::new_prefix(Term::from_field_text(name, word), 0, true);
                    any.push((Occur::Should, Box::new(ConstScoreQuery::new(Box::new(prefix), 0.02))));
                }
            }
            clauses.push((Occur::Must, Box::new(BooleanQuery::new(any))));
        }
        if let Some(d) = &probe.domain {
            let term = TermQuery::new(Term::from_field_text(self.domain, d), IndexRecordOption::Basic);
            clauses.push((Occur::Must, Box::new(ConstScoreQuery::new(Box::new(term), 0.0))));
        }
        let query: Box<dyn Query> = if clauses.len() == 1 {
            clauses.pop().unwrap().1
        } else {
            Box::new(BooleanQuery::new(clauses))
        };
        self.searcher
            .search(&*query, &tantivy::collector::TopDocs::with_limit(20).order_by_score())
            .unwrap()
    }
}

/// The floor behind HTTP (`BENCH_FLOOR_SERVE=port:index-dir`, a process of
/// this program): [`Floor::search`] behind a bare axum route in place of
/// the server. It takes the benchmark's request (the query and domain from
/// its variables, the rest of the body unread: no authentication, GraphQL
/// or visibility), runs the search on one thread per core taking requests
/// first come, first served (as the server's runners), and answers the 20
/// hits' scores in the shape of [`SCORES`] without `totalCount`. What a
/// search over HTTP could do at best, latency included, on this machine.
fn floor_serve(spec: &str) -> ! {
    let (port, dir) = spec.split_once(':').expect("BENCH_FLOOR_SERVE=port:index-dir");
    let floor = Arc::new(Floor::open(Path::new(dir)));
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let pool = Arc::new(rayon::ThreadPoolBuilder::new().num_threads(cores).build().unwrap());
    let graphql = std::env::var_os("BENCH_FLOOR_GRAPHQL").is_some();
    let schema = graphql.then(|| floor_graphql::schema(floor.clone(), pool.clone()));
    let search = move |body: axum::body::Bytes| {
        let (floor, pool) = (floor.clone(), pool.clone());
        async move {
            let request: Value = serde_json::from_slice(&body).unwrap_or_default();
            let variables = &request["variables"];
            let domain = variables["f"]["domains"][0].as_str().map(str::to_owned);
            let probe = Probe {
                query: variables["q"].as_str().unwrap_or_default().to_owned(),
                filters: SearchFilters::default(),
                domain,
            };
            let hits = on_pool(&pool, move || floor.search(&probe)).await;
            let edges: Vec<Value> = hits
                .iter()
                .map(|(score, _)| json!({ "node": { "score": score } }))
                .collect();
            axum::Json(json!({ "data": { "search": { "edges": edges } } }))
        }
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port.parse::<u16>().unwrap()))
            .await
            .unwrap();
        let app = if let Some(schema) = schema {
            let documents = mesh_catalog::graphql::Documents::default();
            axum::Router::new().route(
                "/graphql",
                axum::routing::post(move |axum::Json(mut request): axum::Json<async_graphql::Request>| {
                    // Parsed once, as the server's cache of documents does.
                    documents.parse(&mut request);
                    let schema = schema.clone();
                    async move { axum::Json(schema.execute(request).await) }
                }),
            )
        } else {
            axum::Router::new().route("/graphql", axum::routing::post(search))
        };
        axum::serve(listener, app).await.unwrap();
    });
    std::process::exit(0)
}

/// `work` run on the floor's search pool (first come, first served), its
/// result awaited (the default if the pool dropped it).
async fn on_pool<T: Default + Send + 'static>(
    pool: &rayon::ThreadPool,
    work: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = tokio::sync::oneshot::channel();
    pool.spawn_fifo(move || {
        let _ = tx.send(work());
    });
    rx.await.unwrap_or_default()
}

/// The floor behind GraphQL (`BENCH_FLOOR_GRAPHQL` with
/// `BENCH_FLOOR_SERVE`): [`Floor::search`] behind async-graphql on axum,
/// answering the benchmark's query ([`SEARCH`]) in the server's shape
/// (20 edges, hits and products, the names read from the index's fast
/// field), its documents parsed once as the server's are, without
/// authentication, visibility, data loaders, totals (the page's length)
/// or matched fields (empty). What the fixed stack
/// (async-graphql, axum, hyper, tokio) adds to the engine's floor at
/// least.
mod floor_graphql {
    use std::sync::Arc;

    use async_graphql::{EmptyMutation, EmptySubscription, InputObject, Object, Schema, SimpleObject};

    use super::{on_pool, Floor, Probe, SearchFilters};

    pub type FloorSchema = Schema<Query, EmptyMutation, EmptySubscription>;

    pub fn schema(floor: Arc<Floor>, pool: Arc<rayon::ThreadPool>) -> FloorSchema {
        Schema::build(Query { floor, pool }, EmptyMutation, EmptySubscription).finish()
    }

    pub struct Query {
        floor: Arc<Floor>,
        pool: Arc<rayon::ThreadPool>,
    }

    #[derive(InputObject)]
    #[graphql(name = "SearchFiltersInput")]
    pub struct Filters {
        domains: Option<Vec<String>>,
    }

    #[derive(SimpleObject)]
    pub struct Connection {
        total_count: i32,
        edges: Vec<Edge>,
    }

    #[derive(SimpleObject)]
    pub struct Edge {
        node: Hit,
    }

    #[derive(SimpleObject)]
    pub struct Hit {
        score: f32,
        matched_fields: Vec<String>,
        product: Product,
    }

    #[derive(SimpleObject)]
    pub struct Product {
        qualified_name: String,
    }

    #[Object]
    impl Query {
        async fn search(&self, query: String, filters: Option<Filters>, first: i32) -> Connection {
            let probe = Probe {
                query,
                filters: SearchFilters::default(),
                domain: filters.and_then(|f| f.domains).and_then(|d| d.into_iter().next()),
            };
            let floor = self.floor.clone();
            let hits = on_pool(&self.pool, move || {
                let hits = floor.search(&probe);
                hits.into_iter()
                    .map(|(score, addr)| (score, floor.qualified_name(addr)))
                    .collect::<Vec<_>>()
            })
            .await;
            let edges: Vec<Edge> = hits
                .into_iter()
                .take(usize::try_from(first).unwrap_or(0))
                .map(|(score, qualified_name)| Edge {
                    node: Hit {
                        score,
                        matched_fields: Vec::new(),
                        product: Product { qualified_name },
                    },
                })
                .collect();
            Connection {
                total_count: edges.len() as i32,
                edges,
            }
        }
    }
}

/// The floor behind HTTP on `port`, in a process of its own.
fn start_floor_server(index_dir: &Path, port: u16, behind: Behind) -> Server {
    let spec = format!("{port}:{}", index_dir.display());
    let mut command = Command::new(std::env::current_exe().unwrap());
    if behind == Behind::GraphQL {
        command.env("BENCH_FLOOR_GRAPHQL", "1");
    }
    Server(
        command
            .env("BENCH_FLOOR_SERVE", spec)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    )
}

/// What the floor's search is served behind.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Behind {
    /// A bare axum route answering the hits' scores ([`SCORES`]).
    Http,
    /// async-graphql on axum answering the benchmark's query ([`SEARCH`]).
    GraphQL,
}

impl Behind {
    /// The query the floor is sent.
    fn query(self) -> &'static str {
        match self {
            Behind::Http => SCORES,
            Behind::GraphQL => SEARCH,
        }
    }
}

/// The query mix over HTTP against the floor behind HTTP (or GraphQL), by
/// `clients`.
async fn floor_over_http(
    index_dir: &Path,
    mix: &Arc<Vec<Probe>>,
    clients: usize,
    seconds: u64,
    behind: Behind,
) -> (Latencies, f64, Duration) {
    let port = common::free_port();
    let server = start_floor_server(index_dir, port, behind);
    let url = format!("http://127.0.0.1:{port}/graphql");
    let client = reqwest::Client::builder().pool_max_idle_per_host(64).build().unwrap();
    wait_serving(&client, &url, Duration::from_secs(60)).await;
    let query = behind.query();
    warm_up(port, mix, query).await;
    on_cpu_of(server.0.id(), over_http(port, mix, query, clients, seconds)).await
}

/// Before a server is measured (ours or a floor): the query mix sent by
/// 16 clients for 3 s, unmeasured, so that every figure is of a warm
/// server (its caches filled, the index's pages read, its threads
/// started), as in production; the cold start is measured apart.
async fn warm_up(port: u16, mix: &[Probe], query: &str) {
    over_http(port, mix, query, 16, 3).await;
}

/// `BENCH_COMPARE=1`: each query of the mix on one thread (best of 7),
/// ranking only, against the floor; the mean per kind of query, then the
/// queries where the two differ most.
fn compare_with_floor(index: &SearchIndex, floor: &Floor, mix: &[Probe]) {
    let reader = Audience::Readers(vec![mesh_catalog::catalog::policy::PUBLIC_READER.to_owned()]);
    let ranking = Extras {
        facets: false,
        highlights: Highlights::None,
    };
    let best = |f: &dyn Fn()| {
        (0..7)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .min()
            .unwrap_or_default()
    };
    let mut kinds: std::collections::BTreeMap<String, (Duration, Duration, Duration, usize)> = Default::default();
    let mut each = Vec::new();
    for (i, p) in mix.iter().enumerate() {
        let search = |extras| index.search(&p.query, &p.filters, &reader, 20, None, extras).unwrap();
        let ours = best(&|| {
            search(ranking);
        });
        let highlighted = best(&|| {
            search(EXTRAS);
        });
        let bare = best(&|| drop(floor.search(p)));
        let filtered = if p.domain.is_some() { " + domain" } else { "" };
        let kind = kinds.entry(format!("{}{filtered}", KINDS[kind_of(i)])).or_default();
        *kind = (kind.0 + ours, kind.1 + highlighted, kind.2 + bare, kind.3 + 1);
        each.push((ours.saturating_sub(bare), ours, bare, search(ranking).total, &p.query));
    }
    println!(
        "{:<22} {:>4} {:>10} {:>16} {:>10} {:>6}",
        "kind", "n", "ours", "+ matched fields", "floor", "ratio"
    );
    for (kind, (ours, highlighted, bare, n)) in &kinds {
        let mean = |d: &Duration| ms(*d / *n as u32);
        println!(
            "{kind:<22} {n:>4} {:>10} {:>16} {:>10} {:>5.1}×",
            mean(ours),
            mean(highlighted),
            mean(bare),
            ours.as_secs_f64() / bare.as_secs_f64()
        );
    }
    each.sort_by_key(|e| std::cmp::Reverse(e.0));
    println!(
        "{:>10} {:>10} {:>7}  query (largest differences)",
        "ours", "floor", "total"
    );
    for (_, ours, bare, total, query) in each.iter().take(15) {
        println!("{:>10} {:>10} {total:>7}  {query}", ms(*ours), ms(*bare));
    }
}

/// `BENCH_KINDS=1`: each kind of query of the mix, unfiltered and
/// filtered, searched in-process by 2 threads (no core idle, so no search
/// split over two) for 4 s, ours then the floor: the CPU a query costs
/// this process, and each kind's share of the mix's CPU.
async fn cpu_by_kind(index: &SearchIndex, floor: &Arc<Floor>, mix: &[Probe]) {
    let mut rows = Vec::new();
    for (k, kind) in KINDS.iter().enumerate() {
        for filtered in [false, true] {
            let probes: Vec<Probe> = mix
                .iter()
                .enumerate()
                .filter(|(i, p)| kind_of(*i) == k && p.domain.is_some() == filtered)
                .map(|(_, p)| p.clone())
                .collect();
            let n = probes.len();
            let probes = Arc::new(probes);
            let pid = std::process::id();
            let (_, _, ours) = on_cpu_of(pid, async { in_process(index, &probes, EXTRAS, 2, 4) }).await;
            let (_, _, bare) = on_cpu_of(pid, async { floor_load(floor, &probes, 2, 4) }).await;
            let filter = if filtered { " + domain" } else { "" };
            rows.push((format!("{kind}{filter}"), n, ours, bare));
        }
    }
    let mix_cpu: Duration = rows.iter().map(|(_, n, ours, _)| *ours * *n as u32).sum();
    println!(
        "{:<22} {:>4} {:>12} {:>12} {:>6} {:>14}",
        "kind", "n", "ours CPU/q", "floor CPU/q", "ratio", "share of mix"
    );
    for (kind, n, ours, bare) in &rows {
        println!(
            "{kind:<22} {n:>4} {:>12} {:>12} {:>5.2}× {:>13.0}%",
            us(*ours),
            us(*bare),
            ours.as_secs_f64() / bare.as_secs_f64(),
            100.0 * (*ours * *n as u32).as_secs_f64() / mix_cpu.as_secs_f64()
        );
    }
}

/// The query mix searched in-process by `clients` threads: through
/// [`SearchIndex::search`] as a reader of public products, or at the floor.
fn floor_load(floor: &Arc<Floor>, mix: &Arc<Vec<Probe>>, clients: usize, seconds: u64) -> (Latencies, f64) {
    let (floor, mix) = (floor.clone(), mix.clone());
    load_threads(
        clients,
        seconds,
        Arc::new(move |i| drop(floor.search(&mix[i % mix.len()]))),
    )
}

/// Opens the index on `index_dir` and reconciles it with the catalog, as
/// a start-up does; returns how long that took.
async fn warm_start(index_dir: &Path, store: &Store) -> Duration {
    let t = Instant::now();
    let (index, fresh) = SearchIndex::open(&IndexLocation::Disk(index_dir.to_owned())).unwrap();
    assert!(!fresh);
    let indexer = Indexer::start(index, store, fresh).await.unwrap();
    let took = t.elapsed();
    indexer.stop().await.unwrap();
    took
}

/// Waits until every dirty page of the machine is written: a start-up
/// timed while the disk writes back what the run has just written
/// (gigabytes at a million products) measures that backlog as much as the
/// start-up (docs/BENCHMARKS-search.md, session 39).
fn sync_disk() {
    // SAFETY: sync(2) takes no arguments and cannot fail.
    unsafe { libc::sync() };
}

/// Drops the files under `dir` from the page cache (clean pages only:
/// call [`sync_disk`] first).
fn evict_page_cache(dir: &Path) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            evict_page_cache(&path);
        } else if let Ok(file) = std::fs::File::open(&path) {
            use std::os::fd::AsRawFd;
            // SAFETY: the descriptor is open for the call's duration.
            unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
        }
    }
}

/// Waits (at most 5 minutes) until this process is idle: less than a tenth
/// of a core used over a second, i.e. no background merge running.
fn settle() {
    let deadline = Instant::now() + Duration::from_secs(300);
    while Instant::now() < deadline {
        let before = process_cpu();
        std::thread::sleep(Duration::from_secs(1));
        if process_cpu().saturating_sub(before) < Duration::from_millis(100) {
            return;
        }
    }
}

/// The query mix sent as `query` to the server on `port` by `clients`
/// clients, each on a [`Connection`] of its own, the requests' bodies
/// written before the load starts.
async fn over_http(port: u16, mix: &[Probe], query: &str, clients: usize, seconds: u64) -> (Latencies, f64) {
    let bodies: Arc<Vec<Bytes>> = Arc::new(
        mix.iter()
            .map(|p| {
                let filters = p.domain.as_ref().map(|d| json!({ "domains": [d] }));
                let request = json!({ "query": query, "variables": { "q": p.query, "f": filters } });
                Bytes::from(request.to_string())
            })
            .collect(),
    );
    let mut connections = Vec::with_capacity(clients);
    for _ in 0..clients {
        connections.push(tokio::sync::Mutex::new(Connection::open(port).await));
    }
    let connections = Arc::new(connections);
    load_tasks(clients, seconds, move |c, i| {
        let (connections, bodies) = (connections.clone(), bodies.clone());
        async move { connections[c].lock().await.post(&bodies[i % bodies.len()]).await }
    })
    .await
}

/// A client of the load over HTTP: one keep-alive HTTP/1.1 connection
/// (hyper's client connection: no pool, no URL to parse, the answer checked
/// as bytes, not parsed), so that the load generator takes as little as it
/// can of the two cores it shares with the server it measures.
struct Connection(hyper::client::conn::http1::SendRequest<Full<Bytes>>);

impl Connection {
    async fn open(port: u16) -> Self {
        let stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let (send, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(connection);
        Self(send)
    }

    /// POSTs a GraphQL request's `body` to `/graphql`; panics unless it is
    /// answered 200 without errors.
    async fn post(&mut self, body: &Bytes) {
        let request = hyper::Request::post("/graphql")
            .header(hyper::header::HOST, "127.0.0.1")
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(Full::new(body.clone()))
            .unwrap();
        let response = self.0.send_request(request).await.unwrap();
        let status = response.status();
        let answer = response.into_body().collect().await.unwrap().to_bytes();
        assert!(
            status.is_success() && memchr::memmem::find(&answer, b"\"errors\"").is_none(),
            "{status}: {}",
            String::from_utf8_lossy(&answer)
        );
    }
}

/// [`MATCHED`] through the server's GraphQL schema in this process (its
/// runners included, no HTTP) by `clients` tasks, as an anonymous reader.
async fn graphql_in_process(
    index: &SearchIndex,
    store: &Store,
    mix: &Arc<Vec<Probe>>,
    clients: usize,
    seconds: u64,
) -> (Latencies, f64) {
    use mesh_catalog::auth::Caller;
    use mesh_catalog::catalog::policy::{Principal, Settings};
    use mesh_catalog::catalog::Catalog;
    use mesh_catalog::config::GraphqlLimits;
    use mesh_catalog::graphql::{build_schema, Documents, RequestContext};
    let settings = Settings {
        anonymous_read: true,
        ..Settings::default()
    };
    let principal = Principal::resolve(store.db(), &Caller::Anonymous, &settings)
        .await
        .unwrap();
    let schema = build_schema(None, &GraphqlLimits::default());
    let variables: Arc<Vec<Value>> = Arc::new(
        mix.iter()
            .map(|p| {
                let filters = p.domain.as_ref().map(|d| json!({ "domains": [d] }));
                json!({ "q": p.query, "f": filters })
            })
            .collect(),
    );
    // Parsed once, as the server's cache of documents does.
    let documents = Documents::default();
    let (index, catalog) = (index.clone(), Catalog::new(store.clone()));
    load_tasks(clients, seconds, move |_, i| {
        let vars = async_graphql::Variables::from_json(variables[i % variables.len()].clone());
        let mut request = async_graphql::Request::new(MATCHED).variables(vars);
        documents.parse(&mut request);
        let request = request.data(index.clone()).data(catalog.clone()).data(RequestContext {
            principal: principal.clone(),
        });
        let schema = schema.clone();
        async move {
            let response = schema.execute(request).await;
            assert!(response.errors.is_empty(), "{:?}", response.errors);
        }
    })
    .await
}

/// `BENCH_ONLY_HTTP=seconds`: only the GraphQL search over HTTP, for
/// that long, against a server whose process id is printed (to profile).
async fn http_only(work: &Path, mix: &Arc<Vec<Probe>>, clients: usize, seconds: u64) {
    for (behind, label) in [(Behind::Http, "HTTP"), (Behind::GraphQL, "GraphQL")] {
        let (floor, floor_qps, floor_cpu) = floor_over_http(&work.join("index"), mix, clients, seconds, behind).await;
        println!(
            "the floor behind {label}, {clients} clients: {}; its server's CPU per query {}",
            floor.with_throughput(floor_qps),
            us(floor_cpu)
        );
    }
    let port = common::free_port();
    let server = start_server(work, port);
    let url = format!("http://127.0.0.1:{port}/graphql");
    let client = reqwest::Client::builder().pool_max_idle_per_host(64).build().unwrap();
    wait_serving(&client, &url, Duration::from_secs(120)).await;
    let pid = server.0.id();
    warm_up(port, mix, SEARCH).await;
    println!("server pid {pid}");
    let (http, qps, cpu) = on_cpu_of(pid, over_http(port, mix, SEARCH, clients, seconds)).await;
    println!(
        "GraphQL search over HTTP, {clients} clients: {}; the server's CPU per query {}",
        http.with_throughput(qps),
        us(cpu)
    );
    // The request part by part: each shape adds one part of [`SEARCH`] to
    // the one before (the first is the transport's ceiling).
    for (what, query) in [
        ("the transport alone", TRIVIAL),
        ("+ the search, 20 hits' scores", SCORES),
        ("+ matched fields", MATCHED),
        ("+ the products (= the search above)", SEARCH),
    ] {
        let (http, qps, cpu) = on_cpu_of(pid, over_http(port, mix, query, clients, seconds)).await;
        println!(
            "{clients} clients, {what}: {}; CPU per query {}",
            http.with_throughput(qps),
            us(cpu)
        );
    }
}

/// The server started on the catalog without its index (`BENCH_ONLY_BUILD=1`,
/// after the split): the whole index rebuilt by its start-up, as after an
/// upgrade of the index layout. Time to serving, and its memory then.
async fn server_cold_start(work: &Path, index_dir: &Path, row: &mut impl FnMut(&str, String)) {
    std::fs::remove_dir_all(index_dir).unwrap();
    let port = common::free_port();
    let started = Instant::now();
    let server = start_server(work, port);
    let url = format!("http://127.0.0.1:{port}/graphql");
    let client = reqwest::Client::new();
    wait_serving(&client, &url, Duration::from_secs(300)).await;
    let took = started.elapsed();
    row("server cold start (index rebuilt) to serving", format!("{took:.2?}"));
    row(
        "server RSS after a cold start: now / peak",
        now_and_peak(rss_kib(server.0.id())),
    );
}

/// `BENCH_ONLY_BUILD=1`: each stage of the index build timed alone.
async fn build_split(db: &DatabaseConnection, row: &mut impl FnMut(&str, String)) {
    let p = mesh_catalog::search::profile::build_phases(db).await.unwrap();
    let per = |d: Duration| format!("{d:.2?} ({:.1} µs/product)", d.as_secs_f64() * 1e6 / p.products as f64);
    let cpu = |d: Duration, c: Duration| format!("{} CPU {c:.1?}", per(d));
    row("split: database load + document assembly", cpu(p.database, p.cpu[0]));
    row("split: tantivy documents (to_document)", cpu(p.documents, p.cpu[1]));
    row("split:   of which digests", per(p.digests));
    row("split: our analyzers, 1 thread", per(p.tokenize));
    row("split: tantivy default tokenizer, 1 thread", per(p.tokenize_default));
    row("split: writer add_document (RAM), all documents", per(p.index));
    row("split: writer commit (RAM)", cpu(p.commit, p.cpu[2]));
    row("split: merges after the commit", per(p.merges));
    row(
        "split: floor: raw tantivy, default tokenizer (RAM)",
        cpu(p.floor, p.cpu[3]),
    );
    for h in &p.heaps {
        row(
            &format!("split: add + commit with a {} MiB writer heap", h.heap_mib),
            format!(
                "{}, {} segments, peak RSS +{:.0} MiB",
                cpu(h.wall, h.cpu),
                h.segments,
                h.peak_growth_kib as f64 / 1024.0
            ),
        );
    }
}

// ------------------------------------------------------------------ main

fn main() {
    if let Ok(spec) = std::env::var("BENCH_FLOOR_SERVE") {
        floor_serve(&spec);
    }
    bench();
}

#[tokio::main]
async fn bench() {
    mesh_catalog::startup::install_tls_provider();
    let o = options();
    let mut rows: Vec<(String, String)> = Vec::new();
    let mut row = |what: &str, value: String| {
        println!("{what:<55} {value}");
        rows.push((what.to_owned(), value));
    };
    let work = std::env::temp_dir().join(format!("mesh-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let db_url = format!("sqlite://{}", work.join("catalog.db").display());

    let t = Instant::now();
    let catalog = generate(o.products);
    let store = Store::open(&db_url).await.unwrap();
    insert(store.db(), &catalog).await;
    row(
        "products (synthetic)",
        format!("{} ({} in {:.1?})", o.products, "generated and stored", t.elapsed()),
    );

    if std::env::var_os("BENCH_QUALITY_HISTORY").is_some() {
        quality_history(&store, &catalog, &mut row).await;
        let _ = std::fs::remove_dir_all(&work);
        return;
    }
    if let Some(only) = std::env::var_os("BENCH_ONLY_PUBLISH") {
        publish_only(&o, &work, &catalog, only == "sqlite", &mut row).await;
        let _ = std::fs::remove_dir_all(&work);
        return;
    }

    // Index build.
    let index_dir = work.join("index");
    let (index, fresh) = SearchIndex::open(&IndexLocation::Disk(index_dir.clone())).unwrap();
    let only_build = std::env::var_os("BENCH_ONLY_BUILD").is_some();
    let before_build = rss_kib(std::process::id());
    // The peak RSS from here on (Linux: writing 5 to clear_refs resets it).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let (t, cpu) = (Instant::now(), process_cpu());
    // As the server's start-up runs it (`serve`), freed pages returned as then.
    let indexer = mesh_catalog::memory::start_up(Indexer::start(index.clone(), &store, fresh))
        .await
        .unwrap();
    let build = t.elapsed();
    let cpu = process_cpu().saturating_sub(cpu);
    row(
        "index build",
        format!(
            "{build:.2?} ({:.0} docs/s; CPU {cpu:.1?})",
            o.products as f64 / build.as_secs_f64()
        ),
    );
    row("index segments after the build", index.segments().to_string());
    row(
        "index size on disk",
        format!("{:.1} MiB", dir_size(&index_dir) as f64 / 1048576.0),
    );
    // What a server searches once its start-up is over: the build's
    // segments merged in the background (the indexer's writer does it).
    // The split, too, starts once they are, to measure each stage alone.
    let t = Instant::now();
    settle();
    row(
        "background merges after the build: time; segments searched",
        format!("{:.1?}; {}", t.elapsed(), index.segments()),
    );
    drop(indexer);
    if only_build {
        let after = rss_kib(std::process::id());
        row(
            "benchmark RSS before the build / peak during it",
            format!(
                "{:.0} / {:.0} MiB",
                before_build.0 as f64 / 1024.0,
                after.1 as f64 / 1024.0
            ),
        );
        build_split(store.db(), &mut row).await;
        drop(index);
        drop(store);
        server_cold_start(&work, &index_dir, &mut row).await;
        let _ = std::fs::remove_dir_all(&work);
        return;
    }

    let mix = Arc::new(query_mix(&catalog));
    if let Some(seconds) = std::env::var_os("BENCH_ONLY_HTTP") {
        let seconds = seconds.to_str().and_then(|s| s.parse().ok()).unwrap_or(o.seconds);
        // The search alone, then through GraphQL, in this process.
        let (alone, qps, cpu) = on_cpu_of(std::process::id(), async {
            in_process(&index, &mix, EXTRAS, o.clients, seconds)
        })
        .await;
        println!(
            "in-process, {} threads, the search alone: {}; CPU per query {}",
            o.clients,
            alone.with_throughput(qps),
            us(cpu)
        );
        let (gql, qps, cpu) = on_cpu_of(
            std::process::id(),
            graphql_in_process(&index, &store, &mix, o.clients, seconds),
        )
        .await;
        println!(
            "in-process, {} tasks, through GraphQL (`+ matched fields` below): {}; CPU per query {}",
            o.clients,
            gql.with_throughput(qps),
            us(cpu)
        );
        drop(index);
        drop(store);
        http_only(&work, &mix, o.clients, seconds).await;
        let _ = std::fs::remove_dir_all(&work);
        return;
    }
    // The build's floor in the same run, once nothing else runs (the
    // split has it too).
    let (wall, cpu) = mesh_catalog::search::profile::build_floor(store.db()).await.unwrap();
    row(
        "floor: raw tantivy indexing the same documents (RAM)",
        format!("{wall:.2?} (CPU {cpu:.1?})"),
    );

    if std::env::var_os("BENCH_KINDS").is_some() {
        cpu_by_kind(&index, &Arc::new(Floor::open(&index_dir)), &mix).await;
        return;
    }
    // In-process search (no HTTP/GraphQL): the floor.
    if std::env::var_os("BENCH_SLOWEST").is_some() {
        // Each query's best of five runs (the first run of a query warms
        // its postings), and the share of the mix's time the slowest take.
        let mut timed: Vec<(Duration, String, usize)> = mix
            .iter()
            .map(|p| {
                let mut best = Duration::MAX;
                let mut total = 0;
                for _ in 0..5 {
                    let t = Instant::now();
                    let page = index
                        .search(&p.query, &p.filters, &Audience::All, 20, None, EXTRAS)
                        .unwrap();
                    best = best.min(t.elapsed());
                    total = page.total;
                }
                (best, format!("{} {:?}", p.query, p.domain), total)
            })
            .collect();
        timed.sort();
        let all: Duration = timed.iter().map(|t| t.0).sum();
        let slowest: Duration = timed.iter().rev().take(20).map(|t| t.0).sum();
        println!(
            "the mix's {} queries: {} in all, the slowest 20 {} of it",
            timed.len(),
            ms(all),
            ms(slowest)
        );
        for (d, q, total) in timed.iter().rev().take(30) {
            println!("{:>10} {q} (total {total})", ms(*d));
        }
    }
    let (raw, raw_qps, raw_cpu) = on_cpu_of(std::process::id(), async {
        in_process(&index, &mix, EXTRAS, o.clients, o.seconds)
    })
    .await;
    let (raw1, _) = in_process(&index, &mix, EXTRAS, 1, o.seconds);
    let (raw_all, raw_all_qps) = in_process(&index, &mix, Extras::ALL, o.clients, o.seconds);
    let (raw_all1, _) = in_process(&index, &mix, Extras::ALL, 1, o.seconds);
    let ranking = Extras {
        facets: false,
        highlights: Highlights::None,
    };
    let (rank_l, rank_qps) = in_process(&index, &mix, ranking, o.clients, o.seconds);
    let (gql, gql_qps, gql_cpu) = on_cpu_of(
        std::process::id(),
        graphql_in_process(&index, &store, &mix, o.clients, o.seconds),
    )
    .await;
    let floor = Arc::new(Floor::open(&index_dir));
    if std::env::var_os("BENCH_COMPARE").is_some() {
        compare_with_floor(&index, &floor, &mix);
    }
    let (floor_l, floor_qps, floor_cpu) = on_cpu_of(std::process::id(), async {
        floor_load(&floor, &mix, o.clients, o.seconds)
    })
    .await;
    let (floor1, _) = floor_load(&floor, &mix, 1, o.seconds);
    drop(floor);
    if std::env::var_os("BENCH_ONLY_IN_PROCESS").is_some() {
        println!("in-process, p50 / p99: {}, {raw_qps:.0}/s", raw.p50_p99());
        println!("in-process with facets: {}, {raw_all_qps:.0}/s", raw_all.p50_p99());
        println!("in-process with facets, 1 thread: {}", raw_all1.p50_p99());
        println!("in-process, 1 thread: {}", raw1.p50_p99());
        let _ = std::fs::remove_dir_all(&work);
        return;
    }
    let mut suggest = Latencies::default();
    for i in 0..2_000 {
        let p = &mix[i % mix.len()];
        let prefix: String = p.query.chars().take(3 + i % 3).collect();
        let s = Instant::now();
        index.suggest(&prefix, &Audience::All, 8).unwrap();
        suggest.0.push(s.elapsed());
    }
    drop(index);
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Warm start: open + reconcile an index that is current, once the
    // run's writes are on disk; then again with the catalog's and the
    // index's files out of the page cache, as after a reboot.
    sync_disk();
    row(
        "warm start (open + reconcile, nothing changed)",
        format!("{:.2?}", warm_start(&index_dir, &store).await),
    );
    evict_page_cache(&work);
    row(
        "warm start, its files out of the page cache",
        format!("{:.2?}", warm_start(&index_dir, &store).await),
    );
    drop(store);
    tokio::time::sleep(Duration::from_millis(500)).await;

    // The floor behind HTTP, then the real server.
    let (floor_http, floor_http_qps, floor_http_cpu) =
        floor_over_http(&index_dir, &mix, o.clients, o.seconds, Behind::Http).await;
    let (floor_http1, _, _) = floor_over_http(&index_dir, &mix, 1, o.seconds, Behind::Http).await;
    let (floor_gql, floor_gql_qps, floor_gql_cpu) =
        floor_over_http(&index_dir, &mix, o.clients, o.seconds, Behind::GraphQL).await;
    let (floor_gql1, _, _) = floor_over_http(&index_dir, &mix, 1, o.seconds, Behind::GraphQL).await;
    let port = common::free_port();
    sync_disk();
    let server_started = Instant::now();
    let server = start_server(&work, port);
    let url = format!("http://127.0.0.1:{port}/graphql");
    let client = reqwest::Client::builder().pool_max_idle_per_host(64).build().unwrap();
    wait_serving(&client, &url, Duration::from_secs(120)).await;
    let started_rss = rss_kib(server.0.id());
    let started_in = server_started.elapsed();
    let pid = server.0.id();
    warm_up(port, &mix, SEARCH).await;
    let (http, http_qps, http_cpu) = on_cpu_of(pid, over_http(port, &mix, SEARCH, o.clients, o.seconds)).await;
    let (http1, _) = over_http(port, &mix, SEARCH, 1, o.seconds).await;
    let (transport, transport_qps, transport_cpu) =
        on_cpu_of(pid, over_http(port, &mix, TRIVIAL, o.clients, o.seconds)).await;
    let (transport1, _) = over_http(port, &mix, TRIVIAL, 1, o.seconds).await;
    let (http_page, http_page_qps) = over_http(port, &mix, SEARCH_PAGE, o.clients, o.seconds).await;
    let mut http_suggest = Latencies::default();
    for i in 0..500 {
        let prefix: String = mix[i % mix.len()].query.chars().take(3 + i % 3).collect();
        let s = Instant::now();
        graphql(
            &client,
            &url,
            None,
            "query($p: String!) { suggest(prefix: $p) { text } }",
            json!({ "p": prefix }),
        )
        .await;
        http_suggest.0.push(s.elapsed());
    }

    // Publish → searchable, and publishing into the full catalog.
    let token = admin_token();
    let fresh = publish_to_searchable(&client, &url, &token, "a").await;
    let publishes = publish_load(&client, &url, &token, "a", 4, o.seconds).await;
    let rss = rss_kib(server.0.id());
    drop(server);

    // PostgreSQL full-text search, same data, same mix, same concurrency.
    let (pg, pg_name, pg_load) = postgres_setup(&o.postgres, &catalog).await;
    let pg_db = Arc::new(pg);
    let pg_mix = mix.clone();
    let pg_db2 = pg_db.clone();
    let (pgl, pg_qps) = load_tasks(o.clients, o.seconds, move |_, i| {
        let (db, mix) = (pg_db2.clone(), pg_mix.clone());
        async move { postgres_query(&db, &mix[i % mix.len()]).await }
    })
    .await;
    drop(pg_db);
    if let Ok(admin) = Database::connect(&o.postgres).await {
        let _ = admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {pg_name} WITH (FORCE)"))
            .await;
    }

    row(
        &format!("GraphQL search over HTTP, {} clients: p50 / p99", o.clients),
        http.p50_p99(),
    );
    row(
        "GraphQL search over HTTP: throughput",
        format!("{http_qps:.0} queries/s"),
    );
    row("GraphQL search over HTTP, 1 client: p50 / p99", http1.p50_p99());
    row(
        &format!("in-process search, {} threads: p50 / p99", o.clients),
        raw.p50_p99(),
    );
    row("in-process search: throughput", format!("{raw_qps:.0} queries/s"));
    row("in-process search, 1 thread: p50 / p99", raw1.p50_p99());
    row(
        &format!("floor: raw tantivy top-20, {} threads: p50 / p99", o.clients),
        floor_l.p50_p99(),
    );
    row("floor: throughput", format!("{floor_qps:.0} queries/s"));
    row("floor: raw tantivy top-20, 1 thread: p50 / p99", floor1.p50_p99());
    row(
        &format!(
            "floor: the transport alone (`{{ __typename }}` over HTTP), {} clients: throughput, p50 / p99",
            o.clients
        ),
        transport.with_throughput(transport_qps),
    );
    row("floor: the transport alone, 1 client: p50 / p99", transport1.p50_p99());
    // Both saturate the same cores, so their CPU per query adds up: a
    // search over HTTP can go no faster than the engine and the transport
    // each at their floor, one after the other.
    let ceiling = 1.0 / (1.0 / floor_qps + 1.0 / transport_qps);
    row(
        "ceiling over HTTP: 1 / (1 / floor + 1 / transport)",
        format!("{ceiling:.0} queries/s"),
    );
    row(
        &format!(
            "floor over HTTP (raw top-20 behind axum, 20 scores), {} clients: throughput, p50 / p99",
            o.clients
        ),
        floor_http.with_throughput(floor_http_qps),
    );
    row("floor over HTTP, 1 client: p50 / p99", floor_http1.p50_p99());
    row(
        &format!(
            "floor behind GraphQL over HTTP (async-graphql, axum; the benchmark's query), {} clients: throughput, p50 / p99; CPU per query",
            o.clients
        ),
        format!("{}; {}", floor_gql.with_throughput(floor_gql_qps), us(floor_gql_cpu)),
    );
    row("floor behind GraphQL, 1 client: p50 / p99", floor_gql1.p50_p99());
    row(
        &format!(
            "in-process ranking only (no highlights), {} threads: p50 / p99",
            o.clients
        ),
        rank_l.p50_p99(),
    );
    row(
        "in-process ranking only: throughput",
        format!("{rank_qps:.0} queries/s"),
    );
    row(
        "in-process throughput / floor: ranking only, with highlights",
        format!(
            "{:.0} %, {:.0} %",
            100.0 * rank_qps / floor_qps,
            100.0 * raw_qps / floor_qps
        ),
    );
    // Where a query's CPU goes: the same search in-process and in the
    // server's process over HTTP, ours and the floor's.
    row(
        &format!(
            "CPU per query, {} threads in-process: the search; raw tantivy",
            o.clients
        ),
        format!("{}; {}", us(raw_cpu), us(floor_cpu)),
    );
    row(
        &format!(
            "GraphQL in-process (scores and matched fields, no HTTP), {} tasks: throughput, p50 / p99; CPU per query",
            o.clients
        ),
        format!("{}; {}", gql.with_throughput(gql_qps), us(gql_cpu)),
    );
    row(
        &format!(
            "CPU per query, {} clients over HTTP (the server's process): the search; the floor behind HTTP; the transport alone",
            o.clients
        ),
        format!("{}; {}; {}", us(http_cpu), us(floor_http_cpu), us(transport_cpu)),
    );
    row(
        "CPU per query over HTTP less in-process: the search; the floor",
        format!(
            "{}; {}",
            us(http_cpu.saturating_sub(raw_cpu)),
            us(floor_http_cpu.saturating_sub(floor_cpu))
        ),
    );
    row(
        "search page (+ highlights, facets) over HTTP: p50 / p99",
        http_page.p50_p99(),
    );
    row(
        "search page over HTTP: throughput",
        format!("{http_page_qps:.0} queries/s"),
    );
    row("search page in-process: p50 / p99", raw_all.p50_p99());
    row("search page in-process, 1 thread: p50 / p99", raw_all1.p50_p99());
    row(
        "search page in-process: throughput",
        format!("{raw_all_qps:.0} queries/s"),
    );
    row(
        &format!("PostgreSQL FTS, {} clients: p50 / p99", o.clients),
        pgl.p50_p99(),
    );
    row(
        "PostgreSQL FTS: throughput",
        format!("{pg_qps:.0} queries/s (load + GIN build {pg_load:.1?})"),
    );
    row(
        "throughput ratio GraphQL / PostgreSQL; the ceiling / PostgreSQL",
        format!("{:.1}×; {:.1}×", http_qps / pg_qps, ceiling / pg_qps),
    );
    row(
        "p99 ratio GraphQL / in-process",
        format!(
            "{:.1}×",
            http.quantile(0.99).as_secs_f64() / raw.quantile(0.99).as_secs_f64()
        ),
    );
    row("suggest in-process: p50 / p99", suggest.p50_p99());
    row("suggest over HTTP (1 client): p50 / p99", http_suggest.p50_p99());
    row("publish → searchable (100 publishes): p50 / p99", fresh.p50_p99());
    row(
        "publishes over HTTP, 4 clients (no broker): throughput, p99",
        format!("{:.0} /s, {}", publishes.1, ms(publishes.0.quantile(0.99))),
    );
    row("server start to serving (current index)", format!("{started_in:.2?}"));
    row(
        "server RSS once started (open + reconcile): now / peak",
        now_and_peak(started_rss),
    );
    row("server RSS at the end: now / peak", now_and_peak(rss));

    if let Some(out) = o.out {
        let mut md = format!(
            "| measure ({} products, {} clients, {} s per phase) | value |\n|---|---|\n",
            o.products, o.clients, o.seconds
        );
        for (k, v) in &rows {
            md.push_str(&format!("| {k} | {v} |\n"));
        }
        std::fs::write(out, md).unwrap();
    }
    let _ = std::fs::remove_dir_all(&work);
}
