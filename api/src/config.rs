//! All configuration in one place: the command line, with an environment
//! variable for every flag, resolved into typed [`Config`] values.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

pub use crate::auth::{AuthConfig, JwksSource};
use crate::catalog::ReservedTopics;

/// The signing secret used by `--demo` and by `mesh-catalog token` when no
/// secret is configured. Never accepted outside demo mode.
pub const DEMO_JWT_SECRET: &str = "mesh-catalog-demo-secret-do-not-use-in-production";

#[derive(Debug, Parser)]
#[command(
    name = "mesh-catalog",
    version,
    about = "GraphQL catalog and discovery API for an event-stream data mesh"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once per process: the size of `serve`'s settings does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the GraphQL server.
    Serve(ServeArgs),
    /// Mint a development token (HS256 with the configured secret).
    Token(TokenArgs),
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Apply pending database migrations and exit.
    Migrate(DatabaseArgs),
    /// Rebuild the search index from the database (stop the server first).
    Reindex(DatabaseArgs),
    /// Write the whole catalog as one JSON document (a backup; safe while
    /// the server runs).
    Export(ExportArgs),
    /// Load an export into an empty database, in one transaction (a
    /// restore; start the server afterwards).
    Import(ImportArgs),
}

#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// Directory for the SQLite database (and, later, the search index).
    #[arg(long, env = "MESH_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; defaults to `<data-dir>/catalog.db`.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    /// Directory of the search index; defaults to `<data-dir>/index`.
    #[arg(long, env = "MESH_INDEX_DIR")]
    pub index_dir: Option<PathBuf>,
}

impl DatabaseArgs {
    /// The database URL, creating the data directory for the SQLite default.
    pub fn resolve(&self) -> Result<String, ConfigError> {
        if let Some(url) = &self.database_url {
            if !(url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                return Err(ConfigError(format!(
                    "DATABASE_URL `{url}` is not supported: use sqlite://… or postgres://…"
                )));
            }
            return Ok(url.clone());
        }
        std::fs::create_dir_all(&self.data_dir)
            .map_err(|e| ConfigError(format!("cannot create data directory {}: {e}", self.data_dir.display())))?;
        Ok(format!("sqlite://{}", self.data_dir.join("catalog.db").display()))
    }

    /// The search index directory.
    pub fn index_dir(&self) -> PathBuf {
        self.index_dir.clone().unwrap_or_else(|| self.data_dir.join("index"))
    }
}

#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Write the document to this file (default: standard output).
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Read the document from this file (default: standard input).
    #[arg(long, short)]
    pub input: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct AuthArgs {
    /// HS256 secret that signs and verifies tokens (required unless --demo
    /// or a JWKS is configured).
    #[arg(long, env = "MESH_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// Expected `iss` claim (not checked when unset).
    #[arg(long, env = "MESH_JWT_ISSUER")]
    pub jwt_issuer: Option<String>,
    /// Expected `aud` claim (not checked when unset).
    #[arg(long, env = "MESH_JWT_AUDIENCE")]
    pub jwt_audience: Option<String>,
    /// JWKS file with the RS256/ES256 verification keys (re-read when a
    /// token names an unknown `kid`).
    #[arg(long, env = "MESH_JWKS_FILE", conflicts_with = "jwks_url")]
    pub jwks_file: Option<PathBuf>,
    /// JWKS URL (http or https) with the RS256/ES256 verification keys.
    #[arg(long, env = "MESH_JWKS_URL")]
    pub jwks_url: Option<String>,
    /// Shortest interval between two JWKS refreshes (an unknown `kid`
    /// triggers one at most this often).
    #[arg(long, env = "MESH_JWKS_MIN_REFRESH", default_value = AuthConfig::DEFAULT_JWKS_MIN_REFRESH, value_parser = parse_duration)]
    pub jwks_min_refresh: Duration,
    /// Cached JWKS keys are re-fetched after this long.
    #[arg(long, env = "MESH_JWKS_MAX_AGE", default_value = AuthConfig::DEFAULT_JWKS_MAX_AGE, value_parser = parse_duration)]
    pub jwks_max_age: Duration,
    /// Clock skew tolerated on `exp` and `nbf`.
    #[arg(long, env = "MESH_JWT_LEEWAY", default_value = AuthConfig::DEFAULT_LEEWAY, value_parser = parse_duration)]
    pub jwt_leeway: Duration,
    /// Claim holding the caller's roles (a dotted path such as
    /// `realm_access.roles` reaches into nested objects).
    #[arg(long, env = "MESH_JWT_ROLES_CLAIM", default_value = AuthConfig::DEFAULT_ROLES_CLAIM)]
    pub jwt_roles_claim: String,
    /// Claim holding the caller's team names (dotted paths allowed).
    #[arg(long, env = "MESH_JWT_TEAMS_CLAIM", default_value = AuthConfig::DEFAULT_TEAMS_CLAIM)]
    pub jwt_teams_claim: String,
}

/// Hardening settings of the server.
#[derive(Debug, Clone, Args)]
pub struct SecurityArgs {
    /// Let callers without a token read PUBLIC products (default: on with
    /// --demo, off otherwise).
    #[arg(long, env = "MESH_ANONYMOUS_READ")]
    pub anonymous_read: Option<bool>,
    /// Answer GraphQL introspection queries (GraphiQL needs them).
    #[arg(long, env = "MESH_INTROSPECTION", default_value_t = GraphqlLimits::DEFAULT.introspection, action = clap::ArgAction::Set)]
    pub introspection: bool,
    /// An origin allowed to call the API from a browser (repeatable, or
    /// comma-separated in the environment). None: same-origin only, except
    /// --demo, which allows any origin.
    #[arg(long = "cors-origin", env = "MESH_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
    /// Requests per minute per caller (token subject, or client IP when
    /// anonymous); 0 turns rate limiting off.
    #[arg(long, env = "MESH_RATE_LIMIT", default_value_t = 600)]
    pub rate_limit: u32,
    /// Requests a caller may send in a burst above the steady rate.
    #[arg(long, env = "MESH_RATE_LIMIT_BURST", default_value_t = 60)]
    pub rate_limit_burst: u32,
    /// Maximum number of aliased fields in one GraphQL document.
    #[arg(long, env = "MESH_GRAPHQL_MAX_ALIASES", default_value_t = GraphqlLimits::DEFAULT.max_aliases)]
    pub max_aliases: usize,
    /// Live subscriptions one caller (token subject, or client IP when
    /// anonymous) may hold at once, over all its WebSocket connections.
    #[arg(long, env = "MESH_MAX_SUBSCRIPTIONS", default_value_t = GraphqlLimits::DEFAULT.max_subscriptions)]
    pub max_subscriptions: usize,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "MESH_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Seed the demo mesh (idempotent) and accept the demo token secret.
    #[arg(long, env = "MESH_DEMO")]
    pub demo: bool,
    #[command(flatten)]
    pub auth: AuthArgs,
    #[command(flatten)]
    pub security: SecurityArgs,
    /// Maximum depth of a GraphQL query.
    #[arg(long, env = "MESH_GRAPHQL_MAX_DEPTH", default_value_t = GraphqlLimits::DEFAULT.max_depth)]
    pub max_depth: usize,
    /// Maximum complexity (roughly, fields resolved) of a GraphQL query.
    #[arg(long, env = "MESH_GRAPHQL_MAX_COMPLEXITY", default_value_t = GraphqlLimits::DEFAULT.max_complexity)]
    pub max_complexity: usize,
    /// Log lines as human-readable `text` or as `json` (one object per
    /// line, with the request's span: id, method, path).
    #[arg(long, env = "MESH_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(flatten)]
    pub otlp: OtlpArgs,
    /// The built portal (`frontend/dist` from `npm run build` in
    /// `frontend/`), served at `/`.
    #[arg(long, env = "MESH_PORTAL_DIR", default_value = "frontend/dist")]
    pub portal_dir: PathBuf,
    #[command(flatten)]
    pub kafka: KafkaArgs,
}

/// Trace export (off unless an endpoint is given).
#[derive(Debug, Clone, Args)]
pub struct OtlpArgs {
    /// Export traces (each HTTP request's span and what runs inside it) over
    /// OTLP/HTTP (protobuf) to this collector, e.g. `http://collector:4318`:
    /// spans are POSTed to `<URL>/v1/traces` (a URL ending in `/v1/traces`
    /// is used as it is). Unset: no export.
    #[arg(long, env = "MESH_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
    /// The exported traces' `service.name`.
    #[arg(long, env = "MESH_OTLP_SERVICE_NAME", default_value = "mesh-catalog")]
    pub otlp_service_name: String,
}

/// Where the server's traces go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceExport {
    /// The full URL spans are POSTed to (`…/v1/traces`).
    pub endpoint: String,
    pub service_name: String,
}

impl OtlpArgs {
    /// The export, if an endpoint is set.
    pub fn resolve(&self) -> Result<Option<TraceExport>, ConfigError> {
        let Some(endpoint) = self.otlp_endpoint.as_deref().map(str::trim).filter(|e| !e.is_empty()) else {
            return Ok(None);
        };
        let mut url = url::Url::parse(endpoint)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https") && url.has_host())
            .ok_or_else(|| ConfigError(format!("MESH_OTLP_ENDPOINT `{endpoint}` is not an http(s) URL")))?;
        if !url.path().ends_with("/v1/traces") {
            let path = format!("{}/v1/traces", url.path().trim_end_matches('/'));
            url.set_path(&path);
        }
        let service_name = self.otlp_service_name.trim();
        if service_name.is_empty() {
            return Err(ConfigError("MESH_OTLP_SERVICE_NAME must not be empty".into()));
        }
        Ok(Some(TraceExport {
            endpoint: url.to_string(),
            service_name: service_name.to_owned(),
        }))
    }
}

#[derive(Debug, Clone, Args)]
pub struct KafkaArgs {
    /// Kafka cluster (`host:port,…`). When unset, an embedded Kafka-compatible
    /// broker (tansu, in memory) is started for the demo.
    #[arg(long, env = "KAFKA_BOOTSTRAP_SERVERS")]
    pub kafka_bootstrap_servers: Option<String>,
    /// librdkafka properties passed through to every client, e.g.
    /// `security.protocol=SASL_SSL,sasl.mechanism=PLAIN` (comma-separated,
    /// or the flag repeated).
    #[arg(long = "kafka-property", env = "MESH_KAFKA_PROPERTIES", value_delimiter = ',')]
    pub kafka_properties: Vec<String>,
    /// Port of the embedded broker on 127.0.0.1 (0 picks a free port).
    #[arg(long, env = "MESH_EMBEDDED_KAFKA_PORT", default_value_t = 9092)]
    pub embedded_kafka_port: u16,
    /// Topics no data product may be bound to, adopt or stream, besides
    /// Kafka's internal `_…` topics and `mesh.catalog.events`: exact names,
    /// or prefixes ending with `*` (comma-separated, or the flag repeated).
    #[arg(long = "reserved-topic", env = "MESH_RESERVED_TOPICS", value_delimiter = ',')]
    pub reserved_topics: Vec<String>,
    /// Capacity of each subscriber's queue of live records; a subscriber
    /// further behind gets a `lagged` notice and skips to the newest.
    #[arg(long, env = "MESH_LIVE_QUEUE", default_value_t = KafkaConfig::DEFAULT_LIVE_QUEUE)]
    pub live_queue: usize,
    /// How often topics are checked against their SLA's maximum freshness
    /// (e.g. `10s`).
    #[arg(long, env = "MESH_FRESHNESS_CHECK", default_value = KafkaConfig::DEFAULT_FRESHNESS_CHECK, value_parser = parse_duration)]
    pub freshness_check: Duration,
}

/// Where Kafka is, and how to talk to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KafkaBrokers {
    /// An external cluster.
    External(String),
    /// Start the embedded broker on this 127.0.0.1 port (0: any free port).
    Embedded { port: u16 },
}

/// Kafka settings of the server.
#[derive(Debug, Clone)]
pub struct KafkaConfig {
    pub brokers: KafkaBrokers,
    /// librdkafka properties applied to every client after our defaults.
    pub properties: Vec<(String, String)>,
    /// Per-subscriber queue capacity (records).
    pub live_queue: usize,
    /// How often the freshness monitor checks the topics.
    pub freshness_interval: Duration,
    /// Topics never bound to a product, adopted or streamed.
    pub reserved_topics: ReservedTopics,
}

impl KafkaConfig {
    /// `--live-queue`'s default.
    pub const DEFAULT_LIVE_QUEUE: usize = 1024;
    /// `--freshness-check`'s default.
    pub const DEFAULT_FRESHNESS_CHECK: &'static str = "10s";

    /// An external cluster with no extra properties.
    pub fn external(bootstrap: impl Into<String>) -> Self {
        Self::with_brokers(KafkaBrokers::External(bootstrap.into()))
    }

    /// The embedded broker on a free port.
    pub fn embedded() -> Self {
        Self::with_brokers(KafkaBrokers::Embedded { port: 0 })
    }

    /// `brokers` with every other setting at its default.
    fn with_brokers(brokers: KafkaBrokers) -> Self {
        Self {
            brokers,
            properties: Vec::new(),
            live_queue: Self::DEFAULT_LIVE_QUEUE,
            freshness_interval: parse_duration(Self::DEFAULT_FRESHNESS_CHECK).expect("the default parses"),
            reserved_topics: ReservedTopics::default(),
        }
    }
}

impl KafkaArgs {
    pub fn resolve(&self) -> Result<KafkaConfig, ConfigError> {
        let brokers = match self.kafka_bootstrap_servers.as_deref().map(str::trim) {
            Some("") | None => KafkaBrokers::Embedded {
                port: self.embedded_kafka_port,
            },
            Some(servers) => KafkaBrokers::External(servers.to_owned()),
        };
        let properties = self
            .kafka_properties
            .iter()
            .filter(|p| !p.trim().is_empty())
            .map(|p| match p.split_once('=') {
                Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.trim().to_owned())),
                _ => Err(ConfigError(format!(
                    "MESH_KAFKA_PROPERTIES entry `{p}` is not `name=value`"
                ))),
            })
            .collect::<Result<Vec<_>, _>>()?;
        if self.live_queue == 0 || self.live_queue > 1_000_000 {
            return Err(ConfigError(format!(
                "MESH_LIVE_QUEUE `{}` must be between 1 and 1000000",
                self.live_queue
            )));
        }
        if self.freshness_check < Duration::from_millis(100) {
            return Err(ConfigError(format!(
                "MESH_FRESHNESS_CHECK `{:?}` must be at least 100ms",
                self.freshness_check
            )));
        }
        Ok(KafkaConfig {
            brokers,
            properties,
            live_queue: self.live_queue,
            freshness_interval: self.freshness_check,
            reserved_topics: ReservedTopics::new(self.reserved_topics.iter().map(|t| t.trim().to_owned())),
        })
    }
}

#[derive(Debug, Clone, Args)]
pub struct TokenArgs {
    /// The user id (`sub` claim).
    #[arg(long)]
    pub sub: String,
    /// A team the user belongs to (repeatable).
    #[arg(long = "team")]
    pub teams: Vec<String>,
    /// A role, e.g. `admin` (repeatable).
    #[arg(long = "role")]
    pub roles: Vec<String>,
    /// Lifetime, e.g. `3600`, `90s`, `30m`, `12h`, `7d`.
    #[arg(long, default_value = "24h", value_parser = parse_duration)]
    pub ttl: Duration,
    #[command(flatten)]
    pub auth: AuthArgs,
}

/// A configuration value that cannot be used; the message names it.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(pub String);

impl AuthArgs {
    /// Resolves the settings: the secret is the configured one, or the demo
    /// secret when allowed; it may be absent when a JWKS is configured.
    pub fn resolve(&self, allow_demo_secret: bool) -> Result<AuthConfig, ConfigError> {
        let jwks = match (&self.jwks_file, &self.jwks_url) {
            (Some(file), _) => Some(JwksSource::File(file.clone())),
            (None, Some(url)) if url.starts_with("http://") || url.starts_with("https://") => {
                Some(JwksSource::Url(url.clone()))
            }
            (None, Some(url)) => return Err(ConfigError(format!("MESH_JWKS_URL `{url}` is not an http(s) URL"))),
            (None, None) => None,
        };
        let jwt_secret = match &self.jwt_secret {
            Some(secret) if secret.len() < 16 => {
                return Err(ConfigError("MESH_JWT_SECRET must be at least 16 characters".into()))
            }
            Some(secret) => Some(secret.clone()),
            None if allow_demo_secret => Some(DEMO_JWT_SECRET.to_owned()),
            None if jwks.is_some() => None,
            None => return Err(ConfigError(
                "MESH_JWT_SECRET (or --jwt-secret), MESH_JWKS_FILE or MESH_JWKS_URL is required unless --demo is given"
                    .into(),
            )),
        };
        for (what, claim) in [("roles", &self.jwt_roles_claim), ("teams", &self.jwt_teams_claim)] {
            if claim.trim().is_empty() || claim.split('.').any(str::is_empty) {
                return Err(ConfigError(format!("invalid {what} claim name `{claim}`")));
            }
        }
        Ok(AuthConfig {
            jwt_secret,
            issuer: self.jwt_issuer.clone(),
            audience: self.jwt_audience.clone(),
            jwks,
            jwks_min_refresh: self.jwks_min_refresh,
            jwks_max_age: self.jwks_max_age.max(self.jwks_min_refresh),
            leeway: self.jwt_leeway,
            roles_claim: self.jwt_roles_claim.clone(),
            teams_claim: self.jwt_teams_claim.clone(),
        })
    }
}

/// Per-caller request rate: a token bucket of `burst` requests refilled at
/// `per_minute`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// 0: no limit.
    pub per_minute: u32,
    pub burst: u32,
}

/// Hardening settings: who may read anonymously, browsers, rate limits.
#[derive(Debug, Clone)]
pub struct SecurityConfig {
    /// Callers without a token may read PUBLIC products.
    pub anonymous_read: bool,
    /// Allowed browser origins; `None`: any origin (the demo).
    pub cors_origins: Option<Vec<String>>,
    pub rate_limit: RateLimit,
}

impl Default for SecurityConfig {
    /// The production defaults.
    fn default() -> Self {
        Self {
            anonymous_read: false,
            cors_origins: Some(Vec::new()),
            rate_limit: RateLimit {
                per_minute: 600,
                burst: 60,
            },
        }
    }
}

impl SecurityArgs {
    pub fn resolve(&self, demo: bool) -> Result<SecurityConfig, ConfigError> {
        for origin in &self.cors_origins {
            if !(origin.starts_with("http://") || origin.starts_with("https://")) || origin.ends_with('/') {
                return Err(ConfigError(format!(
                    "CORS origin `{origin}` must look like https://host[:port] (no path, no trailing slash)"
                )));
            }
        }
        Ok(SecurityConfig {
            anonymous_read: self.anonymous_read.unwrap_or(demo),
            cors_origins: if demo && self.cors_origins.is_empty() {
                None
            } else {
                Some(self.cors_origins.clone())
            },
            rate_limit: RateLimit {
                per_minute: self.rate_limit,
                burst: self.rate_limit_burst.max(1),
            },
        })
    }
}

/// Limits applied to every GraphQL request.
#[derive(Debug, Clone)]
pub struct GraphqlLimits {
    pub max_depth: usize,
    pub max_complexity: usize,
    /// Aliased fields per document (a cheap amplification otherwise).
    pub max_aliases: usize,
    /// Answer introspection queries.
    pub introspection: bool,
    /// Live subscriptions per caller at once.
    pub max_subscriptions: usize,
}

impl GraphqlLimits {
    /// The defaults, also those of the command line.
    pub const DEFAULT: Self = Self {
        max_depth: 16,
        max_complexity: 5000,
        max_aliases: 64,
        introspection: true,
        max_subscriptions: 100,
    };
}

impl Default for GraphqlLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Everything the server needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: String,
    /// Search index directory (`None`: in memory).
    pub index_dir: Option<PathBuf>,
    pub demo: bool,
    pub auth: AuthConfig,
    pub security: SecurityConfig,
    pub limits: GraphqlLimits,
    pub kafka: KafkaConfig,
    /// The built portal's directory.
    pub portal_dir: PathBuf,
}

impl Config {
    pub fn from_args(args: &ServeArgs) -> Result<Self, ConfigError> {
        Ok(Self {
            listen: args.listen,
            data_dir: args.database.data_dir.clone(),
            database_url: args.database.resolve()?,
            index_dir: Some(args.database.index_dir()),
            demo: args.demo,
            auth: args.auth.resolve(args.demo)?,
            security: args.security.resolve(args.demo)?,
            limits: GraphqlLimits {
                max_depth: args.max_depth,
                max_complexity: args.max_complexity,
                max_aliases: args.security.max_aliases,
                max_subscriptions: args.security.max_subscriptions,
                introspection: args.security.introspection,
            },
            kafka: args.kafka.resolve()?,
            portal_dir: args.portal_dir.clone(),
        })
    }
}

impl AuthConfig {
    /// HS256 with `secret` and every other setting at its default (tests,
    /// benchmarks).
    pub fn with_secret(secret: &str) -> Self {
        let duration = |text| parse_duration(text).expect("the default parses");
        Self {
            jwt_secret: Some(secret.to_owned()),
            issuer: None,
            audience: None,
            jwks: None,
            jwks_min_refresh: duration(Self::DEFAULT_JWKS_MIN_REFRESH),
            jwks_max_age: duration(Self::DEFAULT_JWKS_MAX_AGE),
            leeway: duration(Self::DEFAULT_LEEWAY),
            roles_claim: Self::DEFAULT_ROLES_CLAIM.into(),
            teams_claim: Self::DEFAULT_TEAMS_CLAIM.into(),
        }
    }
}

/// Parses `250ms`, `3600` (seconds), `90s`, `30m`, `12h` or `7d`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (digits, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let value: u64 = digits.parse().map_err(|_| format!("invalid duration `{text}`"))?;
    let unit_ms: u64 = match unit {
        "ms" => 1,
        "" | "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(format!("invalid duration unit in `{text}` (use ms, s, m, h or d)")),
    };
    value
        .checked_mul(unit_ms)
        .map(Duration::from_millis)
        .ok_or_else(|| format!("duration `{text}` is too long"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("30m").unwrap(), Duration::from_secs(1800));
        assert_eq!(parse_duration("2d").unwrap(), Duration::from_secs(172_800));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert!(parse_duration("1w").is_err());
        assert!(parse_duration("99999999999999999d").is_err());
        assert!(parse_duration("h").is_err());
    }

    #[test]
    fn kafka_properties_pass_through() {
        let args = KafkaArgs {
            kafka_bootstrap_servers: Some("k1:9092".into()),
            kafka_properties: vec!["security.protocol=SASL_SSL".into(), "sasl.mechanism = PLAIN".into()],
            embedded_kafka_port: 9092,
            reserved_topics: vec!["audit-*".into()],
            live_queue: 16,
            freshness_check: Duration::from_secs(10),
        };
        let config = args.resolve().unwrap();
        assert_eq!(config.brokers, KafkaBrokers::External("k1:9092".into()));
        assert_eq!(config.properties[1], ("sasl.mechanism".into(), "PLAIN".into()));
        assert!(config.reserved_topics.contains("audit-log"));
        let bad = KafkaArgs {
            kafka_properties: vec!["nonsense".into()],
            ..args
        };
        assert!(bad.resolve().is_err());
    }

    #[test]
    fn the_trace_endpoint_gets_the_traces_path() {
        let otlp = |endpoint: &str| {
            OtlpArgs {
                otlp_endpoint: Some(endpoint.into()),
                otlp_service_name: "mesh-catalog".into(),
            }
            .resolve()
        };
        let endpoint = |url: &str| otlp(url).unwrap().map(|export| export.endpoint);
        assert_eq!(endpoint(""), None, "off");
        assert_eq!(
            endpoint("http://collector:4318").as_deref(),
            Some("http://collector:4318/v1/traces")
        );
        assert_eq!(
            endpoint("https://otel.example/base/").as_deref(),
            Some("https://otel.example/base/v1/traces")
        );
        assert_eq!(
            endpoint("http://collector:4318/v1/traces").as_deref(),
            Some("http://collector:4318/v1/traces")
        );
        assert!(otlp("collector:4318").is_err());
        assert!(otlp("grpc://collector:4317").is_err());
        let unnamed = OtlpArgs {
            otlp_endpoint: Some("http://collector:4318".into()),
            otlp_service_name: " ".into(),
        };
        assert!(unnamed.resolve().is_err());
    }

    #[test]
    fn production_requires_a_secret() {
        let args = Cli::parse_from(["mesh-catalog", "token", "--sub", "x"]);
        let Command::Token(TokenArgs { auth: args, .. }) = args.command else {
            unreachable!()
        };
        assert!(args.resolve(false).is_err());
        assert_eq!(args.resolve(true).unwrap().jwt_secret.as_deref(), Some(DEMO_JWT_SECRET));
        let jwks_only = AuthArgs {
            jwks_file: Some("keys.json".into()),
            ..args.clone()
        };
        assert!(jwks_only.resolve(false).unwrap().jwt_secret.is_none());
        let short = AuthArgs {
            jwt_secret: Some("short".into()),
            ..args
        };
        assert!(short.resolve(true).is_err());
    }

    #[test]
    fn the_demo_relaxes_anonymous_reads_and_cors_only() {
        let Command::Serve(args) = Cli::parse_from(["mesh-catalog", "serve"]).command else {
            unreachable!()
        };
        let production = args.security.resolve(false).unwrap();
        assert!(!production.anonymous_read);
        assert_eq!(production.cors_origins, Some(vec![]));
        assert_eq!(production.rate_limit.per_minute, 600);
        let demo = args.security.resolve(true).unwrap();
        assert!(demo.anonymous_read);
        assert!(demo.cors_origins.is_none());
        let bad = SecurityArgs {
            cors_origins: vec!["ok.example/".into()],
            ..args.security.clone()
        };
        assert!(bad.resolve(false).is_err());
    }
}
