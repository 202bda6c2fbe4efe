//! All configuration in one place: the command line, with an environment
//! variable for every flag, resolved into typed [`Config`] values.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

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
pub struct AuthArgs {
    /// HS256 secret that signs and verifies tokens (required unless --demo).
    #[arg(long, env = "MESH_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// Expected `iss` claim (not checked when unset).
    #[arg(long, env = "MESH_JWT_ISSUER")]
    pub jwt_issuer: Option<String>,
    /// Expected `aud` claim (not checked when unset).
    #[arg(long, env = "MESH_JWT_AUDIENCE")]
    pub jwt_audience: Option<String>,
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
    /// Maximum depth of a GraphQL query.
    #[arg(long, env = "MESH_GRAPHQL_MAX_DEPTH", default_value_t = 16)]
    pub max_depth: usize,
    /// Maximum complexity (roughly, fields resolved) of a GraphQL query.
    #[arg(long, env = "MESH_GRAPHQL_MAX_COMPLEXITY", default_value_t = 5000)]
    pub max_complexity: usize,
    #[command(flatten)]
    pub kafka: KafkaArgs,
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
    /// Capacity of each subscriber's queue of live records; a subscriber
    /// further behind gets a `lagged` notice and skips to the newest.
    #[arg(long, env = "MESH_LIVE_QUEUE", default_value_t = 1024)]
    pub live_queue: usize,
    /// How often topics are checked against their SLA's maximum freshness
    /// (e.g. `10s`).
    #[arg(long, env = "MESH_FRESHNESS_CHECK", default_value = "10s", value_parser = parse_duration)]
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
}

impl KafkaConfig {
    /// An external cluster with no extra properties.
    pub fn external(bootstrap: impl Into<String>) -> Self {
        Self {
            brokers: KafkaBrokers::External(bootstrap.into()),
            properties: Vec::new(),
            live_queue: 1024,
            freshness_interval: Duration::from_secs(10),
        }
    }

    /// The embedded broker on a free port.
    pub fn embedded() -> Self {
        Self {
            brokers: KafkaBrokers::Embedded { port: 0 },
            properties: Vec::new(),
            live_queue: 1024,
            freshness_interval: Duration::from_secs(10),
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

/// Token verification settings.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    pub jwt_secret: String,
    pub issuer: Option<String>,
    pub audience: Option<String>,
}

impl AuthArgs {
    /// Resolves the secret: configured, or the demo secret when allowed.
    pub fn resolve(&self, allow_demo_secret: bool) -> Result<AuthConfig, ConfigError> {
        let jwt_secret = match &self.jwt_secret {
            Some(secret) if secret.len() < 16 => {
                return Err(ConfigError("MESH_JWT_SECRET must be at least 16 characters".into()))
            }
            Some(secret) => secret.clone(),
            None if allow_demo_secret => DEMO_JWT_SECRET.to_owned(),
            None => {
                return Err(ConfigError(
                    "MESH_JWT_SECRET (or --jwt-secret) is required unless --demo is given".into(),
                ))
            }
        };
        Ok(AuthConfig {
            jwt_secret,
            issuer: self.jwt_issuer.clone(),
            audience: self.jwt_audience.clone(),
        })
    }
}

/// Limits applied to every GraphQL request.
#[derive(Debug, Clone)]
pub struct GraphqlLimits {
    pub max_depth: usize,
    pub max_complexity: usize,
}

impl Default for GraphqlLimits {
    fn default() -> Self {
        Self {
            max_depth: 16,
            max_complexity: 5000,
        }
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
    pub limits: GraphqlLimits,
    pub kafka: KafkaConfig,
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
            limits: GraphqlLimits {
                max_depth: args.max_depth,
                max_complexity: args.max_complexity,
            },
            kafka: args.kafka.resolve()?,
        })
    }
}

/// Parses `3600`, `90s`, `30m`, `12h` or `7d`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (digits, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let value: u64 = digits.parse().map_err(|_| format!("invalid duration `{text}`"))?;
    let seconds = match unit {
        "" | "s" => value,
        "m" => value * 60,
        "h" => value * 3600,
        "d" => value * 86_400,
        _ => return Err(format!("invalid duration unit in `{text}` (use s, m, h or d)")),
    };
    Ok(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("30m").unwrap(), Duration::from_secs(1800));
        assert_eq!(parse_duration("2d").unwrap(), Duration::from_secs(172_800));
        assert!(parse_duration("1w").is_err());
        assert!(parse_duration("h").is_err());
    }

    #[test]
    fn kafka_properties_pass_through() {
        let args = KafkaArgs {
            kafka_bootstrap_servers: Some("k1:9092".into()),
            kafka_properties: vec!["security.protocol=SASL_SSL".into(), "sasl.mechanism = PLAIN".into()],
            embedded_kafka_port: 9092,
            live_queue: 16,
            freshness_check: Duration::from_secs(10),
        };
        let config = args.resolve().unwrap();
        assert_eq!(config.brokers, KafkaBrokers::External("k1:9092".into()));
        assert_eq!(config.properties[1], ("sasl.mechanism".into(), "PLAIN".into()));
        let bad = KafkaArgs {
            kafka_properties: vec!["nonsense".into()],
            ..args
        };
        assert!(bad.resolve().is_err());
    }

    #[test]
    fn production_requires_a_secret() {
        let args = AuthArgs {
            jwt_secret: None,
            jwt_issuer: None,
            jwt_audience: None,
        };
        assert!(args.resolve(false).is_err());
        assert_eq!(args.resolve(true).unwrap().jwt_secret, DEMO_JWT_SECRET);
        let short = AuthArgs {
            jwt_secret: Some("short".into()),
            ..args
        };
        assert!(short.resolve(true).is_err());
    }
}
