//! What the benchmark programs share: free ports, child processes that die
//! with the benchmark, an Apache Kafka broker, tokens and GraphQL calls.
//! (Included by each program with `mod common;`; not every program uses
//! every item.)
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mesh_catalog::auth::{Identity, TokenService};
use mesh_catalog::config::AuthConfig;
use serde_json::{json, Value};

/// The token secret of the servers the benchmarks start.
pub const SECRET: &str = "benchmark-secret-0123456789abcdef";

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process, killed when dropped (also when the benchmark fails).
pub struct Process(Option<Child>);

impl Process {
    pub fn new(child: Child) -> Self {
        Self(Some(child))
    }

    pub fn pid(&self) -> u32 {
        self.0.as_ref().map_or(0, Child::id)
    }

    /// Whether it has exited (with its status).
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.0.as_mut().and_then(|c| c.try_wait().ok().flatten())
    }

    /// SIGTERM, then waits for it to exit.
    pub fn terminate(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
            let _ = child.wait();
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub fn wait_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not listen on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The server built beside the benchmark, or `BENCH_SERVER` (a baseline
/// build to compare with).
pub fn server_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("BENCH_SERVER") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(Path::parent).unwrap().join("mesh-catalog")
}

/// One Apache Kafka node (KRaft) on free ports, logging into `dir`.
pub fn start_apache_kafka(dir: &Path) -> (Process, String) {
    let (port, controller) = (free_port(), free_port());
    let child = Command::new(repo_root().join("scripts/kafka-broker"))
        .arg(dir)
        .arg(port.to_string())
        .arg(controller.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("scripts/kafka-broker");
    let process = Process::new(child);
    wait_port(port, "Apache Kafka");
    (process, format!("127.0.0.1:{port}"))
}

pub fn token_with_roles(user: &str, teams: &[&str], roles: &[&str]) -> String {
    let tokens = TokenService::new(&AuthConfig::with_secret(SECRET));
    let identity = Identity {
        subject: user.into(),
        teams: teams.iter().map(|t| t.to_string()).collect(),
        roles: roles.iter().map(|r| r.to_string()).collect(),
    };
    tokens
        .mint(&identity, Duration::from_secs(24 * 3600))
        .expect("the benchmark secret mints")
}

/// A GraphQL request that must succeed; its `data`.
pub async fn graphql(http: &reqwest::Client, port: u16, token: &str, query: &str, variables: Value) -> Value {
    let body: Value = http
        .post(format!("http://127.0.0.1:{port}/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(body.get("errors").is_none(), "{body}");
    body["data"].clone()
}

/// A small deterministic generator (xorshift64*), so every run generates
/// the same data.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    pub fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        list[self.below(list.len())]
    }
}

/// Inserts a team `<domain>-team` (id `team-<domain>`) owning each domain
/// of [`DOMAINS`] (id `domain-<domain>`), straight into the store.
pub async fn insert_domains(db: &sea_orm::DatabaseConnection, now: chrono::DateTime<chrono::Utc>) {
    use mesh_catalog::store::entities::{domain, team};
    use sea_orm::{EntityTrait, Set};
    let teams = DOMAINS.iter().map(|d| team::ActiveModel {
        id: Set(format!("team-{d}")),
        name: Set(format!("{d}-team")),
        description: Set(String::new()),
        created_at: Set(now),
    });
    team::Entity::insert_many(teams).exec(db).await.unwrap();
    let domains = DOMAINS.iter().map(|d| domain::ActiveModel {
        id: Set(format!("domain-{d}")),
        name: Set(d.to_string()),
        description: Set(String::new()),
        owner_team_id: Set(format!("team-{d}")),
        created_at: Set(now),
        updated_at: Set(now),
    });
    domain::Entity::insert_many(domains).exec(db).await.unwrap();
}

/// The domains of the synthetic catalogs.
pub const DOMAINS: &[&str] = &[
    "orders",
    "payments",
    "customers",
    "inventory",
    "logistics",
    "marketing",
    "analytics",
    "finance",
    "pricing",
    "catalog",
    "support",
    "identity",
    "fraud",
    "loyalty",
    "search",
    "recommendations",
    "billing",
    "shipping",
    "returns",
    "warehouse",
    "procurement",
    "hr",
    "security",
    "telemetry",
];
