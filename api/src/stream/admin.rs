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
use tokio::sync::mpsc;

use sea_orm::{
    ColumnTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect, Select, SelectModel, Selector,
};

use crate::catalog::{CleanupPolicy, ProductStatus};

use crate::store::entities::data_product;
use crate::store::Store;

use super::{Kafka, StreamError, Tasks};

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
        Self::declared(
            &product.topic_name,
            product.topic_partitions,
            product.topic_retention_ms,
            product.topic_cleanup_policy,
        )
    }

    /// From the catalog's topic settings (`cleanup`: `DELETE`, `COMPACT` or
    /// `COMPACT_DELETE`).
    fn declared(name: &str, partitions: i32, retention_ms: i64, cleanup: CleanupPolicy) -> Self {
        let cleanup_policy = match cleanup {
            CleanupPolicy::Compact => "compact",
            CleanupPolicy::CompactDelete => "compact,delete",
            CleanupPolicy::Delete => "delete",
        };
        Self {
            name: name.to_owned(),
            partitions,
            retention_ms,
            cleanup_policy: cleanup_policy.to_owned(),
        }
    }
}

/// The topic settings of a product, without the rest of its row.
#[derive(FromQueryResult)]
struct ProductTopic {
    id: String,
    topic_name: String,
    topic_partitions: i32,
    topic_retention_ms: i64,
    topic_cleanup_policy: CleanupPolicy,
}

impl ProductTopic {
    /// The products `query` finds, reading only their topic settings.
    fn select(query: Select<data_product::Entity>) -> Selector<SelectModel<ProductTopic>> {
        query
            .select_only()
            .column(data_product::Column::Id)
            .column(data_product::Column::TopicName)
            .column(data_product::Column::TopicPartitions)
            .column(data_product::Column::TopicRetentionMs)
            .column(data_product::Column::TopicCleanupPolicy)
            .into_model::<ProductTopic>()
    }

    fn spec(&self) -> TopicSpec {
        TopicSpec::declared(
            &self.topic_name,
            self.topic_partitions,
            self.topic_retention_ms,
            self.topic_cleanup_policy,
        )
    }
}

/// Products per page of the start-up check.
const PAGE: u64 = 500;
/// Topics per admin request.
const BATCH: usize = 50;

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
        let created = self.create_topics(std::slice::from_ref(spec)).await?;
        Ok(created.first().copied().unwrap_or(false))
    }

    /// Creates the missing topics among `specs`, in one request; returns
    /// whether each was created (false: it already existed).
    async fn create_topics(&self, specs: &[TopicSpec]) -> Result<Vec<bool>, StreamError> {
        if specs.is_empty() {
            return Ok(Vec::new());
        }
        let retentions: Vec<String> = specs.iter().map(|s| s.retention_ms.to_string()).collect();
        // Replication -1 is the broker's default.replication.factor, so a
        // single-node cluster and a production one both get what they expect.
        let topics: Vec<NewTopic> = specs
            .iter()
            .zip(&retentions)
            .map(|(spec, retention)| {
                NewTopic::new(&spec.name, spec.partitions, TopicReplication::Fixed(-1))
                    .set("retention.ms", retention)
                    .set("cleanup.policy", &spec.cleanup_policy)
            })
            .collect();
        let options = AdminOptions::new()
            .operation_timeout(Some(ADMIN_TIMEOUT))
            .request_timeout(Some(ADMIN_TIMEOUT));
        let results = self.client.create_topics(&topics, &options).await?;
        if results.len() != specs.len() {
            return Err(StreamError::Broker(format!(
                "{} answers creating {} topics",
                results.len(),
                specs.len()
            )));
        }
        results
            .into_iter()
            .zip(specs)
            .map(|(result, spec)| match result {
                Ok(_) => {
                    tracing::info!(topic = %spec.name, partitions = spec.partitions, "topic created");
                    Ok(true)
                }
                Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => Ok(false),
                Err((name, code)) => Err(StreamError::Broker(format!("cannot create topic {name}: {code}"))),
            })
            .collect()
    }

    /// Creates the topics of `product_ids` that are missing, in one
    /// request, and logs the drift of those that exist (ids no longer in
    /// the catalog are skipped).
    pub async fn ensure_product_topics(&self, store: &Store, product_ids: &[String]) -> Result<(), StreamError> {
        let products = ProductTopic::select(
            data_product::Entity::find().filter(data_product::Column::Id.is_in(product_ids.iter().map(String::as_str))),
        )
        .all(store.db())
        .await?;
        let specs: Vec<TopicSpec> = products.iter().map(ProductTopic::spec).collect();
        for batch in specs.chunks(BATCH) {
            let created = self.create_topics(batch).await?;
            for (spec, _) in batch.iter().zip(created).filter(|(_, created)| !created) {
                let state = self.inspect(spec).await?;
                log_drift(spec, &state.drift);
            }
        }
        Ok(())
    }

    /// Creates the missing topics of every PUBLISHED or DEPRECATED product
    /// (run at start: a product published while Kafka was unreachable, or an
    /// embedded broker that starts empty); logs drift of the others. Pages
    /// through the catalog and batches the admin requests, so that a large
    /// catalog costs a few requests per page, not several per product.
    pub async fn ensure_all_product_topics(&self, store: &Store) -> Result<(), StreamError> {
        let statuses = [ProductStatus::Published, ProductStatus::Deprecated];
        let existing = self.all_partitions().await?;
        let (mut created, mut checked) = (0, 0);
        let mut after = String::new();
        loop {
            let page = ProductTopic::select(
                data_product::Entity::find()
                    .filter(data_product::Column::Status.is_in(statuses))
                    .filter(data_product::Column::Id.gt(after.as_str()))
                    .order_by_asc(data_product::Column::Id)
                    .limit(PAGE),
            )
            .all(store.db())
            .await?;
            let Some(last) = page.last() else { break };
            after = last.id.clone();
            let (present, missing): (Vec<TopicSpec>, Vec<TopicSpec>) = page
                .iter()
                .map(ProductTopic::spec)
                .partition(|spec| existing.contains_key(&spec.name));
            // A failed batch is reported and the check goes on.
            for batch in missing.chunks(BATCH) {
                match self.create_topics(batch).await {
                    Ok(done) => created += done.into_iter().filter(|c| *c).count(),
                    Err(e) => tracing::warn!(error = %e, topics = batch.len(), "cannot create product topics"),
                }
            }
            for batch in present.chunks(BATCH) {
                match self.topic_configs(batch.iter().map(|spec| spec.name.as_str())).await {
                    Ok(configs) => {
                        for (spec, config) in batch.iter().zip(&configs) {
                            log_drift(spec, &drift(spec, existing[&spec.name], config));
                        }
                        checked += batch.len();
                    }
                    Err(e) => tracing::warn!(error = %e, topics = batch.len(), "cannot read topic configurations"),
                }
            }
        }
        tracing::info!(created, checked, "product topics checked");
        Ok(())
    }

    /// Partition count of every topic of the cluster, in one request.
    async fn all_partitions(&self) -> Result<HashMap<String, i32>, StreamError> {
        let client = self.client.clone();
        tokio::task::spawn_blocking(move || {
            let metadata = client.inner().fetch_metadata(None, ADMIN_TIMEOUT)?;
            Ok(metadata
                .topics()
                .iter()
                .filter(|t| t.error().is_none() && !t.partitions().is_empty())
                .map(|t| (t.name().to_owned(), t.partitions().len() as i32))
                .collect())
        })
        .await
        .map_err(|e| StreamError::Broker(format!("metadata task failed: {e}")))?
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
        let mut configs = self.topic_configs([topic]).await?;
        Ok(configs.pop().unwrap_or_default())
    }

    /// The configuration of each of `topics`, in one request.
    async fn topic_configs<'a>(
        &self,
        topics: impl IntoIterator<Item = &'a str>,
    ) -> Result<Vec<HashMap<String, String>>, StreamError> {
        let resources: Vec<ResourceSpecifier> = topics.into_iter().map(ResourceSpecifier::Topic).collect();
        if resources.is_empty() {
            return Ok(Vec::new());
        }
        let options = AdminOptions::new().request_timeout(Some(ADMIN_TIMEOUT));
        let configs = self.client.describe_configs(&resources, &options).await?;
        let mut out: Vec<HashMap<String, String>> = configs
            .into_iter()
            .map(|result| match result {
                Ok(resource) => resource
                    .entries
                    .into_iter()
                    .filter_map(|e| e.value.map(|v| (e.name, v)))
                    .collect(),
                Err(_) => HashMap::new(),
            })
            .collect();
        out.resize(resources.len(), HashMap::new());
        Ok(out)
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
        let config = self.topic_config(&spec.name).await?;
        Ok(TopicState {
            exists: true,
            partitions: Some(partitions),
            drift: drift(spec, partitions, &config),
        })
    }
}

/// Products whose topic must exist, created by one background task: the
/// products queued while a request runs go into the next one, so a burst
/// of publishes costs a few admin requests rather than one each.
#[derive(Clone)]
pub struct TopicQueue(mpsc::UnboundedSender<String>);

impl TopicQueue {
    pub fn start(admin: Admin, store: Store, tasks: &Tasks) -> Self {
        let (tx, mut rx) = mpsc::unbounded_channel::<String>();
        tasks.spawn(async move {
            let mut ids = Vec::new();
            while rx.recv_many(&mut ids, 4 * BATCH).await > 0 {
                ids.sort_unstable();
                ids.dedup();
                if let Err(e) = admin.ensure_product_topics(&store, &ids).await {
                    tracing::warn!(products = ids.len(), error = %e, "cannot create the products' topics");
                }
                ids.clear();
            }
        });
        Self(tx)
    }

    /// Asks for the topic of `product_id` (created if missing, else checked
    /// for drift).
    pub fn push(&self, product_id: String) {
        // Fails only once the server stops, when no topic is wanted.
        let _ = self.0.send(product_id);
    }
}

/// Where a topic (its partition count and reported configuration) differs
/// from `spec`.
fn drift(spec: &TopicSpec, partitions: i32, config: &HashMap<String, String>) -> Vec<Drift> {
    let mut drift = Vec::new();
    if partitions != spec.partitions {
        drift.push(Drift {
            setting: "partitions".into(),
            expected: spec.partitions.to_string(),
            actual: partitions.to_string(),
        });
    }
    if let Some(retention) = config.get("retention.ms") {
        if *retention != spec.retention_ms.to_string() {
            drift.push(Drift {
                setting: "retention.ms".into(),
                expected: spec.retention_ms.to_string(),
                actual: retention.clone(),
            });
        }
    }
    if let Some(policy) = config.get("cleanup.policy") {
        let normalise = |p: &str| {
            let mut parts: Vec<&str> = p.split(',').map(str::trim).collect();
            parts.sort_unstable();
            parts.join(",")
        };
        if normalise(policy) != normalise(&spec.cleanup_policy) {
            drift.push(Drift {
                setting: "cleanup.policy".into(),
                expected: spec.cleanup_policy.clone(),
                actual: policy.clone(),
            });
        }
    }
    drift
}

fn log_drift(spec: &TopicSpec, drift: &[Drift]) {
    for d in drift {
        tracing::warn!(topic = %spec.name, setting = %d.setting, expected = %d.expected, actual = %d.actual, "topic drift");
    }
}
