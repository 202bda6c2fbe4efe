//! Topics through the Kafka admin API: a published product's topic is
//! created with the product's partitions, retention and cleanup policy, and
//! an existing topic that differs is reported as drift (never altered: a
//! topic's owner may have changed it on purpose, and shrinking partitions is
//! impossible anyway).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::types::RDKafkaErrorCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::catalog::ProductStatus;

use crate::store::entities::data_product;
use crate::store::Store;

use super::{Kafka, StreamError};

const ADMIN_TIMEOUT: Duration = Duration::from_secs(10);

/// What a topic should look like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSpec {
    pub name: String,
    pub partitions: i32,
    pub retention_ms: i64,
    /// Kafka spelling: `delete`, `compact` or `compact,delete`.
    pub cleanup_policy: String,
}

impl TopicSpec {
    /// The spec a product declares.
    pub fn of_product(product: &data_product::Model) -> Self {
        let cleanup_policy = match product.topic_cleanup_policy.as_str() {
            "COMPACT" => "compact",
            "COMPACT_DELETE" => "compact,delete",
            _ => "delete",
        };
        Self {
            name: product.topic_name.clone(),
            partitions: product.topic_partitions,
            retention_ms: product.topic_retention_ms,
            cleanup_policy: cleanup_policy.to_owned(),
        }
    }
}

/// One setting where the topic in Kafka differs from the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    pub setting: String,
    pub expected: String,
    pub actual: String,
}

/// The topic as Kafka has it, compared with the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicState {
    pub exists: bool,
    pub partitions: Option<i32>,
    pub drift: Vec<Drift>,
}

/// The admin client (shared; its calls are thread-safe).
#[derive(Clone)]
pub struct Admin {
    client: Arc<AdminClient<DefaultClientContext>>,
}

impl Admin {
    pub fn new(kafka: &Kafka) -> Result<Self, StreamError> {
        let client = kafka.client(&[]).create()?;
        Ok(Self {
            client: Arc::new(client),
        })
    }

    /// Creates the topic when missing; returns whether it was created.
    pub async fn ensure_topic(&self, spec: &TopicSpec) -> Result<bool, StreamError> {
        let retention = spec.retention_ms.to_string();
        // Replication -1 is the broker's default.replication.factor, so a
        // single-node cluster and a production one both get what they expect.
        let topic = NewTopic::new(&spec.name, spec.partitions, TopicReplication::Fixed(-1))
            .set("retention.ms", &retention)
            .set("cleanup.policy", &spec.cleanup_policy);
        let options = AdminOptions::new()
            .operation_timeout(Some(ADMIN_TIMEOUT))
            .request_timeout(Some(ADMIN_TIMEOUT));
        let results = self.client.create_topics([&topic], &options).await?;
        match results.into_iter().next() {
            Some(Ok(_)) => {
                tracing::info!(topic = %spec.name, partitions = spec.partitions, "topic created");
                Ok(true)
            }
            Some(Err((_, RDKafkaErrorCode::TopicAlreadyExists))) => Ok(false),
            Some(Err((name, code))) => Err(StreamError::Broker(format!("cannot create topic {name}: {code}"))),
            None => Err(StreamError::Broker(format!("no answer creating topic {}", spec.name))),
        }
    }

    /// Creates the topic of a product (by id) when missing, and logs drift.
    pub async fn ensure_product_topic(&self, store: &Store, product_id: &str) -> Result<(), StreamError> {
        match data_product::Entity::find_by_id(product_id.to_owned())
            .one(store.db())
            .await?
        {
            Some(product) => self.ensure_topic_of(&product).await,
            None => Ok(()),
        }
    }

    /// Creates the topic of `product` when missing, and logs drift.
    async fn ensure_topic_of(&self, product: &data_product::Model) -> Result<(), StreamError> {
        let spec = TopicSpec::of_product(product);
        if !self.ensure_topic(&spec).await? {
            let state = self.inspect(&spec).await?;
            for d in &state.drift {
                tracing::warn!(topic = %spec.name, setting = %d.setting, expected = %d.expected, actual = %d.actual, "topic drift");
            }
        }
        Ok(())
    }

    /// Creates the missing topics of every PUBLISHED or DEPRECATED product
    /// (run at start: a product published while Kafka was unreachable, or an
    /// embedded broker that starts empty); logs drift of the others.
    pub async fn ensure_all_product_topics(&self, store: &Store) -> Result<(), StreamError> {
        let statuses = [ProductStatus::Published.as_str(), ProductStatus::Deprecated.as_str()];
        let products = data_product::Entity::find()
            .filter(data_product::Column::Status.is_in(statuses))
            .all(store.db())
            .await?;
        for product in products {
            self.ensure_topic_of(&product).await?;
        }
        Ok(())
    }

    /// Partition count of a topic, `None` when it does not exist.
    pub async fn partitions(&self, topic: &str) -> Result<Option<i32>, StreamError> {
        let client = self.client.clone();
        let topic = topic.to_owned();
        // librdkafka's metadata call blocks; keep it off the async workers.
        tokio::task::spawn_blocking(move || {
            let metadata = client.inner().fetch_metadata(Some(&topic), ADMIN_TIMEOUT)?;
            Ok(metadata
                .topics()
                .iter()
                .find(|t| t.name() == topic && t.error().is_none())
                .map(|t| t.partitions().len() as i32)
                .filter(|n| *n > 0))
        })
        .await
        .map_err(|e| StreamError::Broker(format!("metadata task failed: {e}")))?
    }

    /// The configuration entries of a topic that have a value (empty when
    /// the broker reports none).
    pub async fn topic_config(&self, topic: &str) -> Result<HashMap<String, String>, StreamError> {
        let options = AdminOptions::new().request_timeout(Some(ADMIN_TIMEOUT));
        let configs = self
            .client
            .describe_configs([&ResourceSpecifier::Topic(topic)], &options)
            .await?;
        Ok(match configs.into_iter().next() {
            Some(Ok(resource)) => resource
                .entries
                .into_iter()
                .filter_map(|e| e.value.map(|v| (e.name, v)))
                .collect(),
            _ => HashMap::new(),
        })
    }

    /// Compares the topic in Kafka with `spec`. Settings the broker does not
    /// report are not compared (no false drift).
    pub async fn inspect(&self, spec: &TopicSpec) -> Result<TopicState, StreamError> {
        let Some(partitions) = self.partitions(&spec.name).await? else {
            return Ok(TopicState {
                exists: false,
                partitions: None,
                drift: Vec::new(),
            });
        };
        let mut drift = Vec::new();
        if partitions != spec.partitions {
            drift.push(Drift {
                setting: "partitions".into(),
                expected: spec.partitions.to_string(),
                actual: partitions.to_string(),
            });
        }
        let config = self.topic_config(&spec.name).await?;
        let actual = |name: &str| config.get(name).cloned();
        if let Some(retention) = actual("retention.ms") {
            if retention != spec.retention_ms.to_string() {
                drift.push(Drift {
                    setting: "retention.ms".into(),
                    expected: spec.retention_ms.to_string(),
                    actual: retention,
                });
            }
        }
        if let Some(policy) = actual("cleanup.policy") {
            let normalise = |p: &str| {
                let mut parts: Vec<&str> = p.split(',').map(str::trim).collect();
                parts.sort_unstable();
                parts.join(",")
            };
            if normalise(&policy) != normalise(&spec.cleanup_policy) {
                drift.push(Drift {
                    setting: "cleanup.policy".into(),
                    expected: spec.cleanup_policy.clone(),
                    actual: policy,
                });
            }
        }
        Ok(TopicState {
            exists: true,
            partitions: Some(partitions),
            drift,
        })
    }
}
