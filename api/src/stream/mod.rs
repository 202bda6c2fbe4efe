//! The Kafka bridge: brokers, topics, the outbox relay and the live feeds
//! behind the GraphQL subscriptions.
//!
//! - [`embedded`]: the in-process tansu broker used when no cluster is
//!   configured (feature `embedded-broker`).
//! - [`admin`]: creates a product's topic on publish and reports drift.
//! - [`topics`]: the cluster's unadopted topics; [`adopt`] publishes one as
//!   a data product.
//! - [`relay`]: drains the outbox table into `mesh.catalog.events`;
//!   [`follow`] reads it back, so each replica sees the others' changes.
//! - [`freshness`]: flags products whose topic is stale against the SLA.
//! - [`hub`]: one shared consumer per topic, fanned out to subscribers
//!   through a bounded broadcast channel; [`decode`] turns records into JSON.
//!
//! [`Live`] owns all of it; it is cheap to clone and lives as long as the
//! server.

pub mod admin;
pub mod adopt;
pub mod decode;
#[cfg(feature = "embedded-broker")]
pub mod embedded;
pub mod follow;
pub mod freshness;
pub mod hub;
pub mod mask;
pub mod relay;
pub mod topics;

use std::sync::Arc;

use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use rdkafka::ClientConfig;

use crate::catalog::{Catalog, Change, ChangeHook, ChangeKind};
use crate::config::{KafkaBrokers, KafkaConfig};
use crate::store::Store;

pub use hub::{newest_first, ActiveFeed, Delivery, Feed, Hub, LiveItem, LiveRecord, ProductHealth, StartAt};

/// The topic every catalog event is published to.
pub use crate::catalog::outbox::CATALOG_EVENTS_TOPIC;

/// A failure of the Kafka bridge.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error("{0}")]
    Broker(String),
    #[error("Kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error("database: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Catalog(#[from] crate::catalog::CatalogError),
}

impl From<sea_orm::DbErr> for StreamError {
    fn from(e: sea_orm::DbErr) -> Self {
        StreamError::Store(e.into())
    }
}

/// How to reach the cluster: the bootstrap servers and the user's
/// librdkafka properties, applied after our defaults so they can override
/// any of them (SASL, TLS, timeouts…).
#[derive(Debug, Clone)]
pub struct Kafka {
    pub bootstrap: String,
    properties: Vec<(String, String)>,
}

impl Kafka {
    pub fn new(bootstrap: impl Into<String>, properties: Vec<(String, String)>) -> Self {
        Self {
            bootstrap: bootstrap.into(),
            properties,
        }
    }

    /// A client configuration with `defaults`, then the user's properties.
    pub fn client(&self, defaults: &[(&str, &str)]) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.bootstrap);
        for (k, v) in defaults {
            config.set(*k, *v);
        }
        for (k, v) in &self.properties {
            config.set(k, v);
        }
        config
    }
}

/// Runs the server's background tasks until it stops: a task spawned here
/// is dropped (with everything it holds) when [`Live::shutdown`] is called.
#[derive(Clone)]
pub struct Tasks(tokio::sync::watch::Receiver<bool>);

impl Tasks {
    pub fn spawn(&self, task: impl std::future::Future<Output = ()> + Send + 'static) {
        let mut stopped = self.0.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = stopped.wait_for(|stopped| *stopped) => {}
                _ = task => {}
            }
        });
    }
}

/// The live side of the server: Kafka clients, relay and feeds.
#[derive(Clone)]
pub struct Live {
    inner: Arc<LiveInner>,
}

struct LiveInner {
    kafka: Kafka,
    admin: admin::Admin,
    topic_queue: admin::TopicQueue,
    topics: topics::Topics,
    hub: Hub,
    relay: relay::RelayHandle,
    relay_latency: Histogram,
    stop: tokio::sync::watch::Sender<bool>,
    freshness_interval: std::time::Duration,
    history: freshness::History,
    #[cfg(feature = "embedded-broker")]
    _embedded: Option<embedded::EmbeddedBroker>,
}

impl Live {
    /// Connects to the configured cluster (or starts the embedded broker) and
    /// starts the outbox relay.
    pub async fn start(config: &KafkaConfig, store: Store) -> Result<Self, StreamError> {
        #[cfg(feature = "embedded-broker")]
        let mut embedded_broker = None;
        let bootstrap = match &config.brokers {
            KafkaBrokers::External(servers) => servers.clone(),
            #[cfg(feature = "embedded-broker")]
            KafkaBrokers::Embedded { port } => {
                let broker = embedded::start(*port).await?;
                let bootstrap = broker.bootstrap.clone();
                embedded_broker = Some(broker);
                bootstrap
            }
            #[cfg(not(feature = "embedded-broker"))]
            KafkaBrokers::Embedded { .. } => {
                return Err(StreamError::Broker(
                    "KAFKA_BOOTSTRAP_SERVERS is required: this build has no embedded broker".into(),
                ));
            }
        };
        let kafka = Kafka::new(bootstrap, config.properties.clone());
        let admin = admin::Admin::new(&kafka)?;
        let topics = topics::Topics::new(&kafka, admin.clone())?;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let tasks = Tasks(stopped);
        // 1 ms … about 16 s.
        let relay_latency = Histogram::new(exponential_buckets(0.001, 2.0, 15));
        let relay = relay::start(
            kafka.clone(),
            store.clone(),
            admin.clone(),
            relay_latency.clone(),
            &tasks,
        )?;
        let topic_queue = admin::TopicQueue::start(admin.clone(), store.clone(), &tasks);
        let hub = Hub::new(kafka.clone(), store.clone(), config.live_queue);
        Ok(Self {
            inner: Arc::new(LiveInner {
                kafka,
                admin,
                topic_queue,
                topics,
                hub,
                relay,
                relay_latency,
                stop,
                freshness_interval: config.freshness_interval,
                history: freshness::History::default(),
                #[cfg(feature = "embedded-broker")]
                _embedded: embedded_broker,
            }),
        })
    }

    /// Commit → acknowledged latency of the relayed events, for `/metrics`.
    pub fn relay_latency(&self) -> Histogram {
        self.inner.relay_latency.clone()
    }

    pub fn kafka(&self) -> &Kafka {
        &self.inner.kafka
    }

    pub fn admin(&self) -> &admin::Admin {
        &self.inner.admin
    }

    pub fn topics(&self) -> &topics::Topics {
        &self.inner.topics
    }

    pub fn hub(&self) -> &Hub {
        &self.inner.hub
    }

    /// The shared feed of `mesh.catalog.events`, creating the topic first if
    /// the relay has not yet (a subscriber may come first).
    pub async fn catalog_events(&self) -> Result<Arc<Feed>, StreamError> {
        if self.inner.hub.running(CATALOG_EVENTS_TOPIC).await.is_none() {
            self.inner.admin.ensure_topic(&relay::events_topic()).await?;
        }
        self.inner.hub.feed(CATALOG_EVENTS_TOPIC, None).await
    }

    /// Starts the freshness monitor, which records stale products as
    /// changes of `catalog` (started once the catalog exists, since the
    /// catalog holds this bridge's hook).
    pub fn watch_freshness(&self, catalog: Catalog) -> Result<(), StreamError> {
        freshness::start(
            &self.inner.kafka,
            catalog,
            self.inner.freshness_interval,
            self.inner.history.clone(),
            &self.tasks(),
        )
    }

    /// A monitored product's figures over the last `span`, one interval
    /// per pass of the freshness monitor (see [`freshness::History`]).
    pub fn history(&self, product_id: &str, span: std::time::Duration) -> Vec<freshness::Interval> {
        self.inner.history.intervals(product_id, span)
    }

    /// Starts following `mesh.catalog.events` from `from`, handing the
    /// other replicas' changes to `catalog`'s hooks (see [`follow`]).
    pub fn follow_changes(
        &self,
        catalog: Catalog,
        from: chrono::DateTime<chrono::Utc>,
    ) -> Result<follow::FollowStatus, StreamError> {
        follow::start(
            &self.inner.kafka,
            self.inner.admin.clone(),
            catalog,
            from,
            &self.tasks(),
        )
    }

    /// Where to spawn background work that must end with the server.
    pub fn tasks(&self) -> Tasks {
        Tasks(self.inner.stop.subscribe())
    }

    /// Stops the background tasks (the relay, the freshness monitor, demo
    /// traffic); called when the server stops serving.
    pub fn shutdown(&self) {
        self.inner.stop.send_replace(true);
    }

    /// The after-commit hook: wakes the relay, creates topics of published
    /// products and refreshes decoders when a schema is registered.
    pub fn hook(&self) -> Arc<dyn ChangeHook> {
        Arc::new(LiveHook { live: self.clone() })
    }
}

struct LiveHook {
    live: Live,
}

impl ChangeHook for LiveHook {
    fn after_commit(&self, change: &Change) {
        self.live.inner.relay.wake();
        match change.kind {
            ChangeKind::ProductPublished | ChangeKind::ProductUpdated => {
                self.live.inner.topic_queue.push(change.entity_id.clone())
            }
            ChangeKind::SchemaRegistered => self.live.inner.hub.schemas_changed(&change.entity_id),
            _ => {}
        }
    }

    /// Another replica registered a schema: this one's decoders of that
    /// product's records must know it too. (Topics are created, and the
    /// relay woken, by the replica that committed.)
    fn after_peer_commit(&self, change: &Change) {
        if change.kind == ChangeKind::SchemaRegistered {
            self.live.inner.hub.schemas_changed(&change.entity_id);
        }
    }
}
