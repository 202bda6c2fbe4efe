//! Test harness: starts the real server on an ephemeral port with a fresh
//! database (SQLite file or a new PostgreSQL database) and talks to it over
//! HTTP.

use std::path::PathBuf;
use std::time::Duration;

use mesh_catalog::auth::{Identity, TokenService};
use mesh_catalog::config::{AuthConfig, Config, GraphqlLimits, KafkaConfig, RateLimit, SecurityConfig};
use mesh_catalog::startup::Application;
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{json, Value};
use tokio::sync::oneshot;

pub const SECRET: &str = "integration-test-secret-0123456789";

/// Which database the server under test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A running server and a client for it.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub tokens: TokenService,
    pub data_dir: PathBuf,
    pub database_url: String,
    /// The Kafka cluster the server talks to.
    pub bootstrap: String,
    _shutdown: oneshot::Sender<()>,
    /// The in-process server's task (`None` for a remote server).
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

pub fn auth() -> AuthConfig {
    AuthConfig::with_secret(SECRET)
}

/// The user whose tokens carry the `admin` role in tests.
pub const ADMIN: &str = "admin";

/// A fresh, uniquely named PostgreSQL database. Its name carries this
/// process's id; the first call drops the databases of test runs that have
/// ended.
pub async fn fresh_postgres_url() -> String {
    static SWEPT: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    let base =
        std::env::var("MESH_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let name = format!("mc_t_{}_{}", std::process::id(), uuid::Uuid::new_v4().simple());
    let admin = Database::connect(&base)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {base} is not reachable ({e}); run scripts/test, which starts it"));
    SWEPT
        .get_or_init(|| async {
            let rows = admin
                .query_all_raw(Statement::from_string(
                    admin.get_database_backend(),
                    r"SELECT datname FROM pg_database WHERE datname LIKE 'mc\_t\_%'",
                ))
                .await
                .unwrap_or_default();
            for row in rows {
                let Ok(old) = row.try_get::<String>("", "datname") else {
                    continue;
                };
                if left_by_ended_run(old["mc_t_".len()..].split_once('_').map(|(pid, _)| pid)) {
                    let _ = admin
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {old} WITH (FORCE)"))
                        .await;
                }
            }
        })
        .await;
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create test database");
    let (prefix, _) = base.rsplit_once('/').expect("database URL has a path");
    format!("{prefix}/{name}")
}

/// The `n` column of a one-row query (e.g. `SELECT COUNT(*) AS n …`).
pub async fn count(database_url: &str, sql: &str) -> i64 {
    let db = Database::connect(database_url).await.unwrap();
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

/// SQLite's plan for `query` (the `detail` of each step of `EXPLAIN QUERY
/// PLAN`).
pub async fn sqlite_plan(database_url: &str, query: &str) -> Vec<String> {
    let db = Database::connect(database_url).await.unwrap();
    db.query_all_raw(Statement::from_string(
        sea_orm::DatabaseBackend::Sqlite,
        format!("EXPLAIN QUERY PLAN {query}"),
    ))
    .await
    .unwrap()
    .iter()
    .map(|row| row.try_get::<String>("", "detail").unwrap())
    .collect()
}

/// A fresh directory under `$TMPDIR/mesh-catalog-tests/<this process's
/// id>/`. The first call removes the directories of test runs that have
/// ended (servers restarted on a data directory need it to outlive them, so
/// a run's own directories stay until the next run).
pub fn temp_dir() -> PathBuf {
    static SWEPT: std::sync::Once = std::sync::Once::new();
    let root = std::env::temp_dir().join("mesh-catalog-tests");
    SWEPT.call_once(|| {
        for entry in std::fs::read_dir(&root).into_iter().flatten().flatten() {
            if left_by_ended_run(entry.file_name().to_str()) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    });
    let dir = root
        .join(std::process::id().to_string())
        .join(uuid::Uuid::new_v4().simple().to_string());
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// A free port for another process to listen on, and to listen on again
/// after a restart. It lies below the kernel's ephemeral range, so no
/// `bind(:0)` of a concurrent test, nor any outgoing connection, can take it
/// while its process is down (the cause of a Kafka restart that once found
/// a test's HTTP server on its port). Ports are handed out once per test
/// process, starting at an offset drawn from the process id.
pub fn port_for_a_child() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u32>().ok())
        .unwrap_or(32768);
    let low = ephemeral_low.saturating_sub(12_000).max(1024);
    let span = ephemeral_low.saturating_sub(low).clamp(1, 10_000);
    let start = std::process::id() * 97;
    loop {
        let port = (low + (start + NEXT.fetch_add(1, Ordering::Relaxed)) % span) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Whether a test artefact named after process `pid` is a leftover: its
/// process has ended, or the name carries no process id (Linux; elsewhere
/// nothing counts as left over).
fn left_by_ended_run(pid: Option<&str>) -> bool {
    cfg!(target_os = "linux")
        && pid
            .and_then(|pid| pid.parse::<u32>().ok())
            .is_none_or(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists())
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_with(backend, false).await
}

/// Starts the server; `demo` seeds the demo mesh.
pub async fn spawn_with(backend: Backend, demo: bool) -> TestApp {
    spawn_configured(backend, |config| config.demo = demo).await
}

/// Starts the server with the test configuration changed by `change`.
pub async fn spawn_configured(backend: Backend, change: impl FnOnce(&mut Config)) -> TestApp {
    let data_dir = temp_dir();
    let database_url = match backend {
        Backend::Sqlite => format!("sqlite://{}", data_dir.join("catalog.db").display()),
        Backend::Postgres => fresh_postgres_url().await,
    };
    let mut config = test_config(data_dir, database_url, false);
    change(&mut config);
    start(config).await
}

/// The tests' configuration: anonymous reads on (as in the demo), no rate
/// limit (tests that need them turn them on).
pub fn test_config(data_dir: PathBuf, database_url: String, demo: bool) -> Config {
    Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: data_dir.clone(),
        database_url,
        index_dir: Some(data_dir.join("index")),
        demo,
        auth: auth(),
        security: SecurityConfig {
            anonymous_read: true,
            cors_origins: None,
            rate_limit: RateLimit {
                per_minute: 0,
                burst: 1,
            },
        },
        limits: GraphqlLimits::default(),
        kafka: KafkaConfig::embedded(),
        portal_dir: concat!(env!("CARGO_MANIFEST_DIR"), "/../frontend/dist").into(),
    }
}

/// Starts a server on an existing data directory and database.
pub async fn spawn_on(data_dir: PathBuf, database_url: String, demo: bool) -> TestApp {
    start(test_config(data_dir, database_url, demo)).await
}

/// Starts a server on `backend` talking to `kafka`.
pub async fn spawn_live(backend: Backend, kafka: KafkaConfig) -> TestApp {
    let data_dir = temp_dir();
    let database_url = match backend {
        Backend::Sqlite => format!("sqlite://{}", data_dir.join("catalog.db").display()),
        Backend::Postgres => fresh_postgres_url().await,
    };
    spawn_live_on(data_dir, database_url, false, kafka).await
}

/// Starts a server on an existing data directory and database, talking to
/// `kafka`.
pub async fn spawn_live_on(data_dir: PathBuf, database_url: String, demo: bool, kafka: KafkaConfig) -> TestApp {
    start(Config {
        kafka,
        ..test_config(data_dir, database_url, demo)
    })
    .await
}

/// Starts a server with exactly this configuration.
pub async fn start(config: Config) -> TestApp {
    let data_dir = config.data_dir.clone();
    let database_url = config.database_url.clone();
    let tokens = TokenService::new(&config.auth);
    // A server dropped just before may still be releasing the index lock.
    let mut attempts = 0;
    let app = loop {
        match Application::build(config.clone()).await {
            Ok(app) => break app,
            Err(e) if e.to_string().contains("Lock") && attempts < 100 => {
                attempts += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("server does not start: {e}"),
        }
    };
    let address = format!("http://{}", app.local_addr());
    let bootstrap = app.live().kafka().bootstrap.clone();
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = rx.await;
    }));
    TestApp {
        tokens,
        _shutdown: tx,
        server: Some(server),
        ..TestApp::remote(address, data_dir, database_url, bootstrap)
    }
}

impl TestApp {
    /// A client of a server running elsewhere (e.g. a `mesh-catalog serve`
    /// process) with the tests' token secret.
    pub fn remote(address: String, data_dir: PathBuf, database_url: String, bootstrap: String) -> Self {
        let (tx, _) = oneshot::channel();
        TestApp {
            address,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
            tokens: TokenService::new(&auth()),
            data_dir,
            database_url,
            bootstrap,
            _shutdown: tx,
            server: None,
        }
    }

    /// Shuts the in-process server down and waits until it has stopped,
    /// its search index writer and merges included (dropping a `TestApp`
    /// only starts that).
    pub async fn stop(mut self) {
        let server = self.server.take();
        drop(self);
        if let Some(server) = server {
            server
                .await
                .expect("the server task")
                .expect("the server stops cleanly");
        }
    }

    /// A token for `user`: [`ADMIN`] has the `admin` role; everyone else's
    /// teams come from the catalog's team members.
    pub fn token(&self, user: &str) -> String {
        let roles = if user == ADMIN { vec!["admin".into()] } else { vec![] };
        self.token_with(user, &[], &roles)
    }

    /// A token with explicit teams and roles claims.
    pub fn token_with(&self, user: &str, teams: &[&str], roles: &[String]) -> String {
        let identity = Identity {
            subject: user.into(),
            teams: teams.iter().map(|t| t.to_string()).collect(),
            roles: roles.to_vec(),
        };
        self.tokens
            .mint(&identity, Duration::from_secs(3600))
            .expect("the test secret mints")
    }

    /// A token whose `teams` claim lists `teams`.
    pub fn team_token(&self, user: &str, teams: &[&str]) -> String {
        self.token_with(user, teams, &[])
    }

    /// Posts a GraphQL request, optionally with a bearer token; returns the
    /// JSON body (data and errors).
    pub async fn post(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut request = self
            .client
            .post(format!("{}/graphql", self.address))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request
            .send()
            .await
            .expect("request sent")
            .json()
            .await
            .expect("JSON body")
    }

    /// Runs an operation as `user` and returns `data`, failing on errors.
    pub async fn ok(&self, user: &str, query: &str, variables: Value) -> Value {
        let body = self.post(Some(&self.token(user)), query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body:#}");
        body["data"].clone()
    }

    /// Runs an operation as `user` expecting an error; returns its code
    /// (which prints the whole response when an assertion on it fails).
    pub async fn error_code(&self, user: &str, query: &str, variables: Value) -> Code {
        let body = self.post(Some(&self.token(user)), query, variables).await;
        Code {
            code: code_of(&body),
            body,
        }
    }

    /// Anonymous query; returns `data`, failing on errors.
    pub async fn anon(&self, query: &str, variables: Value) -> Value {
        let body = self.post(None, query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body:#}");
        body["data"].clone()
    }

    /// The standard fixture: team `orders-team` (alice), domain `orders`,
    /// created by the admin.
    pub async fn orders_domain(&self) {
        self.ok(
            ADMIN,
            "mutation { createTeam(input: {name: \"orders-team\", members: [\"alice\"]}) { id } }",
            json!({}),
        )
        .await;
        self.ok(
            ADMIN,
            "mutation { createDomain(input: {name: \"orders\", description: \"Orders\", ownerTeam: \"orders-team\"}) { id } }",
            json!({}),
        )
        .await;
    }

    /// Publishes `orders.<name>` with an Avro schema; returns the product JSON.
    pub async fn publish(&self, name: &str, schema: &str) -> Value {
        self.ok(
            "alice",
            PUBLISH,
            json!({ "input": {
                "domain": "orders", "name": name, "description": format!("The {name} stream"),
                "tags": ["orders"],
                "schema": { "format": "AVRO", "definition": schema },
            }}),
        )
        .await["publishDataProduct"]
            .clone()
    }

    /// Creates application `name` owned by a new team `<name>-team` (bob).
    pub async fn application(&self, name: &str) {
        self.ok(
            ADMIN,
            "mutation($n: String!) { createTeam(input: {name: $n, members: [\"bob\"]}) { id } }",
            json!({ "n": format!("{name}-team") }),
        )
        .await;
        self.ok(
            "bob",
            "mutation($n: String!, $t: String!) { createApplication(input: {name: $n, ownerTeam: $t}) { id } }",
            json!({ "n": name, "t": format!("{name}-team") }),
        )
        .await;
    }
}

/// An error code, compared with `&str`, debug-printed with its response.
pub struct Code {
    pub code: String,
    pub body: Value,
}

impl PartialEq<&str> for Code {
    fn eq(&self, other: &&str) -> bool {
        self.code == *other
    }
}

impl std::fmt::Debug for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} in {:#}", self.code, self.body)
    }
}

/// A figure of the `/metrics` of the server at `address`: the value on
/// the line `name value` (`name` with its labels, if any).
pub async fn metric(address: &str, name: &str) -> Option<f64> {
    let text = reqwest::get(format!("{address}/metrics"))
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
        .and_then(|v| v.trim().parse().ok())
}

/// The `extensions.code` of the first error of a response.
pub fn code_of(body: &Value) -> String {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("expected an error with a code, got {body:#}"))
        .to_owned()
}

pub const PUBLISH: &str = "mutation($input: PublishDataProductInput!) {
  publishDataProduct(input: $input) { id qualifiedName status version schema { version } }
}";

/// An Avro record schema `Order` with the given extra fields (JSON snippets).
pub fn order_schema(extra: &[&str]) -> String {
    let mut fields = vec![
        r#"{"name": "order_id", "type": "string", "doc": "Unique order id"}"#.to_owned(),
        r#"{"name": "amount", "type": "long"}"#.to_owned(),
    ];
    fields.extend(extra.iter().map(|f| f.to_string()));
    format!(
        r#"{{"type": "record", "name": "Order", "namespace": "com.example", "fields": [{}]}}"#,
        fields.join(",")
    )
}

/// Declares a test that runs once on SQLite and once on PostgreSQL:
/// `on_both!(name)` calls `async fn name(app: TestApp)` from two tests.
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn sqlite() {
                    let app = $crate::helpers::spawn_app($crate::helpers::Backend::Sqlite).await;
                    super::$name(app).await
                }

                #[tokio::test]
                async fn postgres() {
                    let app = $crate::helpers::spawn_app($crate::helpers::Backend::Postgres).await;
                    super::$name(app).await
                }
            }
        )*
    };
}
pub(crate) use on_both;
