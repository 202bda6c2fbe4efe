//! Logging: human-readable lines on stderr, filtered by `RUST_LOG`
//! (default: the server's own lines from INFO, its dependencies' — the
//! embedded broker, librdkafka, sqlx, hyper — from WARN).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// The filter when `RUST_LOG` is unset.
pub const DEFAULT_FILTER: &str = "warn,mesh_catalog=info";

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}
