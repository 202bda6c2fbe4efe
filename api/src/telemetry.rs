//! Logging: human-readable (or JSON, `MESH_LOG_FORMAT`) lines on stderr,
//! each inside its HTTP request's span (`request{id=…}`, the id also in
//! the `x-request-id` response header), filtered by `RUST_LOG`
//! (default: the server's own lines from INFO, its dependencies' — the
//! embedded broker, librdkafka, sqlx, hyper — from WARN).
//!
//! Traces, when `MESH_OTLP_ENDPOINT` is set: the same spans (each request's
//! `request{id, method, path}` and whatever runs inside it, its log lines
//! as span events) exported over OTLP/HTTP (protobuf) in batches from a
//! thread of the SDK's own. A request only queues its span (a full queue
//! drops it): a slow or unreachable collector never slows or fails a
//! request; failures are logged as warnings, at most one a minute.
//! Without the setting nothing of OpenTelemetry is set up.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use opentelemetry::trace::TracerProvider as _;
use opentelemetry::KeyValue;
use opentelemetry_otlp::{Protocol, WithExportConfig as _};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use opentelemetry_sdk::Resource;
use tracing::Level;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _};

use crate::config::{LogFormat, TraceExport};

/// The filter when `RUST_LOG` is unset. tantivy's segment manager warns
/// when a background merge ends after one of its segments was dropped for
/// having had all its documents deleted meanwhile (a product re-indexed
/// while its old segment was being merged): the merge's result is thrown
/// away and the segments merge again later, nothing is lost, so it is
/// kept to errors.
pub const DEFAULT_FILTER: &str = "warn,mesh_catalog=info,tantivy::indexer::segment_manager=error";

/// Time allowed to one export request to the collector.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the shutdown waits for the last spans to be sent: an export
/// in flight and the last batch.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(11);

/// At most one warning per this interval while exports keep failing.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// What [`init`] set up; [`Telemetry::shutdown`] sends the spans still
/// queued before the process exits.
#[must_use = "call shutdown() before exiting, or the last spans are lost"]
pub struct Telemetry {
    traces: Option<SdkTracerProvider>,
}

/// The trace exporter could not be set up (a bad `OTEL_EXPORTER_OTLP_*`
/// variable, for instance).
#[derive(Debug, thiserror::Error)]
#[error("cannot set up the trace export to {endpoint}: {message}")]
pub struct TelemetryError {
    endpoint: String,
    message: String,
}

/// Installs the subscriber once (later calls install nothing and export
/// nothing), with the trace export when `traces` is given.
pub fn init(format: LogFormat, traces: Option<&TraceExport>) -> Result<Telemetry, TelemetryError> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let lines = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let lines = match format {
        LogFormat::Text => lines.with_ansi(std::io::stderr().is_terminal()).boxed(),
        LogFormat::Json => lines.json().with_current_span(true).boxed(),
    };
    let provider = traces.map(tracer_provider).transpose()?;
    // Its own filter, not RUST_LOG: turning the logs up or down changes
    // nothing of what the collector receives.
    let spans = provider.as_ref().map(|provider| {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("mesh-catalog"))
            .with_filter(
                Targets::new()
                    .with_default(Level::WARN)
                    .with_target("mesh_catalog", Level::INFO),
            )
    });
    let installed = tracing_subscriber::registry()
        .with(lines.with_filter(filter))
        .with(spans)
        .try_init()
        .is_ok();
    if let (true, Some(traces)) = (installed, traces) {
        tracing::info!(endpoint = %traces.endpoint, "exporting traces over OTLP");
    }
    Ok(Telemetry {
        traces: if installed { provider } else { None },
    })
}

impl Telemetry {
    /// Sends the spans still queued (waiting at most 11 s for an
    /// unresponsive collector) and stops the export. Blocks: call it from
    /// a thread that may block (`spawn_blocking`).
    pub fn shutdown(self) {
        if let Some(provider) = self.traces {
            if let Err(e) = provider.shutdown_with_timeout(SHUTDOWN_TIMEOUT) {
                tracing::warn!(error = %e, "the last traces may not have been exported");
            }
        }
    }
}

fn tracer_provider(traces: &TraceExport) -> Result<SdkTracerProvider, TelemetryError> {
    // The process's TLS provider, chosen before the exporter's client is
    // built (it takes the installed one).
    crate::startup::install_tls_provider();
    let otlp = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(&traces.endpoint)
        .with_timeout(EXPORT_TIMEOUT)
        .build()
        .map_err(|e| TelemetryError {
            endpoint: traces.endpoint.clone(),
            message: e.to_string(),
        })?;
    let exporter = WarningExporter {
        inner: otlp,
        endpoint: traces.endpoint.clone(),
        failures: Mutex::new(Failures::default()),
    };
    // OTEL_RESOURCE_ATTRIBUTES adds attributes (service.instance.id,
    // deployment.environment…); the service name is ours.
    let resource = Resource::builder()
        .with_service_name(traces.service_name.clone())
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .build();
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build())
}

/// The OTLP exporter, its failures logged by us as warnings (the SDK logs
/// every failed batch as an ERROR): the first one, then at most one per
/// [`WARN_EVERY`] with the spans lost meanwhile, and one line when the
/// collector takes spans again.
#[derive(Debug)]
struct WarningExporter {
    inner: opentelemetry_otlp::SpanExporter,
    endpoint: String,
    failures: Mutex<Failures>,
}

#[derive(Debug, Default)]
struct Failures {
    /// When the current run of failures was last reported.
    warned: Option<Instant>,
    /// Spans not exported since then.
    lost: usize,
    /// Spans not exported in the whole run of failures.
    lost_in_all: usize,
}

impl Failures {
    /// Records a failed batch of `spans`; true when it is time to warn.
    fn failed(&mut self, spans: usize, now: Instant) -> bool {
        self.lost += spans;
        self.lost_in_all += spans;
        match self.warned {
            Some(at) if now.duration_since(at) < WARN_EVERY => false,
            _ => {
                self.warned = Some(now);
                true
            }
        }
    }

    /// Records a batch sent; the spans lost in the run of failures it
    /// ends, if any.
    fn succeeded(&mut self) -> Option<usize> {
        let lost = self.warned.take().map(|_| self.lost_in_all);
        *self = Failures::default();
        lost
    }
}

impl SpanExporter for WarningExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let spans = batch.len();
        let result = self.inner.export(batch).await;
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        match result {
            Ok(()) => {
                if let Some(lost) = failures.succeeded() {
                    tracing::info!(endpoint = %self.endpoint, lost, "exporting traces again");
                }
            }
            Err(e) => {
                if failures.failed(spans, Instant::now()) {
                    let lost = std::mem::take(&mut failures.lost);
                    tracing::warn!(endpoint = %self.endpoint, error = %e, lost, "cannot export traces");
                }
            }
        }
        // The failure is reported: the SDK would log it once more.
        Ok(())
    }

    fn shutdown_with_timeout(&mut self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn shutdown(&mut self) -> OTelSdkResult {
        self.inner.shutdown()
    }

    fn force_flush(&mut self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_failures_warn_once_a_minute_and_on_recovery() {
        let start = Instant::now();
        let mut failures = Failures::default();
        assert_eq!(failures.succeeded(), None, "nothing to report");
        assert!(failures.failed(10, start), "the first failure warns");
        failures.lost = 0;
        assert!(!failures.failed(5, start + Duration::from_secs(30)));
        assert!(!failures.failed(5, start + Duration::from_secs(59)));
        assert!(failures.failed(1, start + Duration::from_secs(61)), "a minute later");
        assert_eq!(failures.lost, 11, "lost since the last warning");
        assert_eq!(failures.succeeded(), Some(21), "lost in the whole run");
        assert!(
            failures.failed(1, start + Duration::from_secs(62)),
            "a new run warns at once"
        );
    }
}
