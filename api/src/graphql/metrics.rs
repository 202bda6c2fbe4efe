//! Prometheus metrics at `GET /metrics` (prometheus-client, text format).
//! Counted as requests are served: GraphQL requests over HTTP by operation
//! type and name (latency histogram), errors by `extensions.code`,
//! rate-limit refusals, search latency and open WebSocket connections.
//! Read when scraped: live consumers' subscribers and renditions per topic,
//! the outbox's depth (changes not yet on `mesh.catalog.events`), and how
//! far this replica has followed the catalog's changes (index lag, events
//! not read yet). The relay observes its own latency (`stream::relay`).
//! See docs/OPERATIONS.md for what each means.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::stream::ActiveFeed;

/// Distinct operation names kept as labels; later names count as `other`
/// (clients choose names: the label set must stay bounded).
const MAX_OPERATION_NAMES: usize = 200;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    /// `query`, `mutation`, `subscription`, or `invalid`.
    kind: String,
    /// The operation's name (`anonymous` without one).
    operation: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabels {
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LookupLabels {
    lookup: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TopicLabels {
    topic: String,
}

/// A latency histogram: 0.25 ms … about 8 s.
fn latency() -> Histogram {
    Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
}

/// The server's metrics. Cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    requests: Family<OperationLabels, Histogram, fn() -> Histogram>,
    errors: Family<CodeLabels, Counter>,
    rate_limited: Counter,
    search: Histogram,
    lookups: Family<LookupLabels, Histogram, fn() -> Histogram>,
    websockets: Gauge,
    subscribers: Family<TopicLabels, Gauge>,
    renditions: Family<TopicLabels, Gauge>,
    consumer_lag: Family<TopicLabels, Gauge>,
    outbox: Gauge,
    index_lag: Gauge<f64, std::sync::atomic::AtomicU64>,
    events_behind: Gauge,
    names: Mutex<HashSet<String>>,
}

/// This replica's progress through the catalog's changes, read at scrape.
pub struct ReplicaFigures {
    /// How much older the searchable state is than the newest change received.
    pub index_lag: Duration,
    /// Events on `mesh.catalog.events` not read yet (`None`: not measured yet).
    pub events_behind: Option<u64>,
}

/// Metrics nobody scrapes (benchmarks and fuzz targets running the schema).
impl Default for Metrics {
    fn default() -> Self {
        Self::new(latency())
    }
}

impl Metrics {
    /// The registry, with the outbox relay's latency histogram (observed
    /// by the relay itself).
    pub fn new(relay_latency: Histogram) -> Self {
        let mut registry = Registry::with_prefix("mesh");
        let requests = Family::<OperationLabels, Histogram, fn() -> Histogram>::new_with_constructor(latency);
        registry.register(
            "graphql_request_seconds",
            "GraphQL requests over HTTP by operation type and name: time to answer",
            requests.clone(),
        );
        let errors = Family::<CodeLabels, Counter>::default();
        registry.register(
            "graphql_errors",
            "GraphQL errors answered, by extensions.code (transport errors included)",
            errors.clone(),
        );
        let rate_limited = Counter::default();
        registry.register(
            "rate_limited",
            "Requests refused by the per-caller rate limit",
            rate_limited.clone(),
        );
        let search = latency();
        let lookups = Family::<LookupLabels, Histogram, fn() -> Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(1.0, 2.0, 8))
        });
        registry.register(
            "store_lookup_keys",
            "Keys per batched store lookup of one GraphQL operation, by lookup (one batch per list, not one query per item)",
            lookups.clone(),
        );
        registry.register("search_seconds", "Time of one search in the index", search.clone());
        let websockets = Gauge::default();
        registry.register(
            "websocket_connections",
            "Open WebSocket connections",
            websockets.clone(),
        );
        let subscribers = Family::<TopicLabels, Gauge>::default();
        registry.register(
            "live_subscribers",
            "Live subscribers of each topic's shared consumer",
            subscribers.clone(),
        );
        let renditions = Family::<TopicLabels, Gauge>::default();
        registry.register(
            "live_renditions",
            "Distinct live productEvents subscriptions (rendered once each) per topic",
            renditions.clone(),
        );
        let consumer_lag = Family::<TopicLabels, Gauge>::default();
        registry.register(
            "live_consumer_lag",
            "Records on each live topic its shared consumer has not read yet (measured every 5 s)",
            consumer_lag.clone(),
        );
        let outbox = Gauge::default();
        registry.register(
            "outbox_depth",
            "Committed changes not yet published on mesh.catalog.events",
            outbox.clone(),
        );
        registry.register(
            "outbox_relay_seconds",
            "Time from a change's commit to the broker's acknowledgement of its event on mesh.catalog.events",
            relay_latency,
        );
        let index_lag = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        registry.register(
            "index_lag_seconds",
            "How much older this replica's searchable state is than the newest change it has received",
            index_lag.clone(),
        );
        let events_behind = Gauge::default();
        registry.register(
            "catalog_events_behind",
            "Events on mesh.catalog.events this replica has not read yet",
            events_behind.clone(),
        );
        Self {
            inner: Arc::new(Inner {
                registry,
                requests,
                errors,
                rate_limited,
                search,
                lookups,
                websockets,
                subscribers,
                renditions,
                consumer_lag,
                outbox,
                index_lag,
                events_behind,
                names: Mutex::default(),
            }),
        }
    }

    /// One GraphQL request answered.
    pub fn request(&self, kind: &str, operation: Option<&str>, took: Duration) {
        let operation = self.operation_label(operation);
        self.inner
            .requests
            .get_or_create(&OperationLabels {
                kind: kind.to_owned(),
                operation,
            })
            .observe(took.as_secs_f64());
    }

    fn operation_label(&self, name: Option<&str>) -> String {
        let Some(name) = name.filter(|n| !n.is_empty()) else {
            return "anonymous".into();
        };
        let valid = name.len() <= 64 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        let mut names = self.inner.names.lock().unwrap_or_else(|e| e.into_inner());
        if valid && (names.contains(name) || names.len() < MAX_OPERATION_NAMES) {
            names.insert(name.to_owned());
            name.to_owned()
        } else {
            "other".into()
        }
    }

    /// One error answered with this code.
    pub fn error(&self, code: &str) {
        self.inner
            .errors
            .get_or_create(&CodeLabels { code: code.to_owned() })
            .inc();
    }

    pub fn rate_limited(&self) {
        self.inner.rate_limited.inc();
    }

    pub fn search(&self, took: Duration) {
        self.inner.search.observe(took.as_secs_f64());
    }

    /// One batched store lookup of `keys` keys.
    pub fn lookup(&self, lookup: &'static str, keys: usize) {
        self.inner
            .lookups
            .get_or_create(&LookupLabels { lookup })
            .observe(keys as f64);
    }

    /// Counts an open WebSocket connection until the guard drops.
    pub fn websocket(&self) -> WebSocketGuard {
        self.inner.websockets.inc();
        WebSocketGuard(self.clone())
    }

    /// The text exposition, after setting the figures read at scrape time.
    pub fn render(
        &self,
        live: &[ActiveFeed],
        renditions: &[(String, usize)],
        outbox: Option<u64>,
        replica: &ReplicaFigures,
    ) -> String {
        self.inner.subscribers.clear();
        self.inner.consumer_lag.clear();
        for feed in live {
            let labels = TopicLabels {
                topic: feed.topic.clone(),
            };
            self.inner
                .subscribers
                .get_or_create(&labels)
                .set(feed.subscribers as i64);
            if let Some(lag) = feed.lag {
                self.inner.consumer_lag.get_or_create(&labels).set(lag as i64);
            }
        }
        self.inner.renditions.clear();
        for (topic, n) in renditions {
            self.inner
                .renditions
                .get_or_create(&TopicLabels { topic: topic.clone() })
                .set(*n as i64);
        }
        if let Some(depth) = outbox {
            self.inner.outbox.set(depth as i64);
        }
        self.inner.index_lag.set(replica.index_lag.as_secs_f64());
        if let Some(behind) = replica.events_behind {
            self.inner.events_behind.set(behind as i64);
        }
        let mut text = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut text, &self.inner.registry) {
            tracing::error!(error = %e, "cannot encode the metrics");
        }
        text
    }
}

/// An open WebSocket connection, counted while held.
pub struct WebSocketGuard(Metrics);

impl Drop for WebSocketGuard {
    fn drop(&mut self) {
        self.0.inner.websockets.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_names_stay_bounded() {
        let metrics = Metrics::new(latency());
        assert_eq!(metrics.operation_label(None), "anonymous");
        assert_eq!(metrics.operation_label(Some("Search")), "Search");
        assert_eq!(metrics.operation_label(Some("no spaces")), "other");
        for i in 0..MAX_OPERATION_NAMES {
            metrics.operation_label(Some(&format!("Op{i}")));
        }
        assert_eq!(metrics.operation_label(Some("OneTooMany")), "other");
        assert_eq!(metrics.operation_label(Some("Search")), "Search", "known names stay");
    }
}
