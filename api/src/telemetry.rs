//! Logging: human-readable (or JSON, `MESH_LOG_FORMAT`) lines on stderr,
//! each inside its HTTP request's span (`request{id=…}`, the id also in
//! the `x-request-id` response header), filtered by `RUST_LOG`
//! (default: the server's own lines from INFO, its dependencies' — the
//! embedded broker, librdkafka, sqlx, hyper — from WARN).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// The filter when `RUST_LOG` is unset.
pub const DEFAULT_FILTER: &str = "warn,mesh_catalog=info";

/// Installs the subscriber once (later calls do nothing).
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let lines = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => lines.with_ansi(std::io::stderr().is_terminal()).try_init(),
        LogFormat::Json => lines.json().with_current_span(true).try_init(),
    };
}
