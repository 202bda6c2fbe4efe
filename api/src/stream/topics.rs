//! The cluster's topics that are no data product yet ("unadopted"), so a
//! domain team can publish one as a product: names and partitions from the
//! cluster metadata, retention and cleanup policy from the topic configs,
//! size and rate from the partitions' offsets, and a sample of recent
//! records. Reserved topics (the catalog's `topic_rules`) are never
//! offered.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Message, Offset, TopicPartitionList};

use crate::catalog::CleanupPolicy;

use super::admin::Admin;
use super::{Kafka, StreamError};

const TIMEOUT: Duration = Duration::from_secs(10);
/// How long a sample waits for the records it expects.
const SAMPLE_WAIT: Duration = Duration::from_secs(5);
/// The window of the measured message rate.
const RATE_WINDOW_SECONDS: i64 = 60;

/// A topic as the cluster metadata lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicOverview {
    pub name: String,
    pub partitions: i32,
}

/// A topic's settings and size.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicDetails {
    pub name: String,
    pub partitions: i32,
    /// `retention.ms` (-1: forever), when the broker reports it.
    pub retention_ms: Option<i64>,
    /// `cleanup.policy`, when the broker reports it.
    pub cleanup_policy: Option<CleanupPolicy>,
    /// Records held: the sum over partitions of high minus low watermark
    /// (approximate on compacted topics and with transactions).
    pub records: i64,
    /// Records per second appended over the last minute; `None` when the
    /// broker cannot look offsets up by time.
    pub records_per_second: Option<f64>,
}

/// One record read from a topic.
#[derive(Debug, Clone, PartialEq)]
pub struct SampledRecord {
    pub partition: i32,
    pub offset: i64,
    pub timestamp: Option<DateTime<Utc>>,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
}

/// Reads the cluster's topics (shared; cheap to clone).
#[derive(Clone)]
pub struct Topics {
    kafka: Kafka,
    admin: Admin,
    /// For metadata, watermarks and offsets by time (never assigned).
    consumer: Arc<BaseConsumer>,
}

fn consumer(kafka: &Kafka) -> Result<BaseConsumer, StreamError> {
    Ok(kafka
        .client(&[
            // Assigned partitions only; the group id is never joined.
            ("group.id", "mesh-catalog-topics"),
            ("enable.auto.commit", "false"),
            ("enable.auto.offset.store", "false"),
            ("enable.partition.eof", "false"),
            ("fetch.wait.max.ms", "10"),
        ])
        .create()?)
}

fn cleanup_policy(kafka: &str) -> Option<CleanupPolicy> {
    let mut parts: Vec<&str> = kafka.split(',').map(str::trim).collect();
    parts.sort_unstable();
    match parts.as_slice() {
        ["delete"] => Some(CleanupPolicy::Delete),
        ["compact"] => Some(CleanupPolicy::Compact),
        ["compact", "delete"] => Some(CleanupPolicy::CompactDelete),
        _ => None,
    }
}

/// Runs blocking librdkafka calls off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StreamError> + Send + 'static,
) -> Result<T, StreamError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StreamError::Broker(format!("Kafka task failed: {e}")))?
}

/// Partition ids of a topic, `None` when it does not exist.
fn partitions(consumer: &BaseConsumer, topic: &str) -> Result<Option<Vec<i32>>, StreamError> {
    let metadata = consumer.fetch_metadata(Some(topic), TIMEOUT)?;
    Ok(metadata
        .topics()
        .iter()
        .find(|t| t.name() == topic && t.error().is_none())
        .map(|t| t.partitions().iter().map(|p| p.id()).collect::<Vec<_>>())
        .filter(|p| !p.is_empty()))
}

/// (partition, low, high) of each partition.
fn watermarks(consumer: &BaseConsumer, topic: &str, ids: &[i32]) -> Result<Vec<(i32, i64, i64)>, StreamError> {
    ids.iter()
        .map(|&p| {
            let (low, high) = consumer.fetch_watermarks(topic, p, TIMEOUT)?;
            Ok((p, low, high))
        })
        .collect()
}

impl Topics {
    pub fn new(kafka: &Kafka, admin: Admin) -> Result<Self, StreamError> {
        Ok(Self {
            kafka: kafka.clone(),
            admin,
            consumer: Arc::new(consumer(kafka)?),
        })
    }

    /// Every topic of the cluster, by name (the caller leaves out reserved
    /// ones: `Catalog::reserved_topics`).
    pub async fn list(&self) -> Result<Vec<TopicOverview>, StreamError> {
        let consumer = self.consumer.clone();
        let mut topics = blocking(move || {
            let metadata = consumer.fetch_metadata(None, TIMEOUT)?;
            Ok(metadata
                .topics()
                .iter()
                .filter(|t| t.error().is_none())
                .map(|t| TopicOverview {
                    name: t.name().to_owned(),
                    partitions: t.partitions().len() as i32,
                })
                .collect::<Vec<_>>())
        })
        .await?;
        topics.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(topics)
    }

    /// A topic's settings, size and rate; `None` when it does not exist.
    pub async fn details(&self, topic: &str) -> Result<Option<TopicDetails>, StreamError> {
        let consumer = self.consumer.clone();
        let name = topic.to_owned();
        let measured = blocking(move || {
            let Some(ids) = partitions(&consumer, &name)? else {
                return Ok(None);
            };
            let marks = watermarks(&consumer, &name, &ids)?;
            let records = marks.iter().map(|(_, low, high)| high - low).sum::<i64>();
            let since = Utc::now().timestamp_millis() - RATE_WINDOW_SECONDS * 1000;
            let mut query = TopicPartitionList::new();
            for (p, _, _) in &marks {
                query.add_partition_offset(&name, *p, Offset::Offset(since))?;
            }
            // Brokers that cannot look offsets up by time give no rate.
            let rate = consumer.offsets_for_times(query, TIMEOUT).ok().map(|found| {
                let recent: i64 = marks
                    .iter()
                    .map(
                        |(p, _, high)| match found.find_partition(&name, *p).map(|e| e.offset()) {
                            Some(Offset::Offset(from)) => (high - from).max(0),
                            _ => 0,
                        },
                    )
                    .sum();
                recent as f64 / RATE_WINDOW_SECONDS as f64
            });
            Ok(Some((ids.len() as i32, records, rate)))
        })
        .await?;
        let Some((partitions, records, records_per_second)) = measured else {
            return Ok(None);
        };
        let config = self.admin.topic_config(topic).await?;
        Ok(Some(TopicDetails {
            name: topic.to_owned(),
            partitions,
            retention_ms: config.get("retention.ms").and_then(|v| v.parse().ok()),
            cleanup_policy: config.get("cleanup.policy").and_then(|v| cleanup_policy(v)),
            records,
            records_per_second,
        }))
    }

    /// Up to `limit` of the newest records of a topic (spread over its
    /// partitions), newest first; empty when the topic has none or does not
    /// exist.
    pub async fn sample(&self, topic: &str, limit: usize) -> Result<Vec<SampledRecord>, StreamError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let kafka = self.kafka.clone();
        let topic = topic.to_owned();
        blocking(move || {
            let consumer = consumer(&kafka)?;
            let Some(ids) = partitions(&consumer, &topic)? else {
                return Ok(Vec::new());
            };
            let marks: Vec<_> = watermarks(&consumer, &topic, &ids)?
                .into_iter()
                .filter(|(_, low, high)| high > low)
                .collect();
            if marks.is_empty() {
                return Ok(Vec::new());
            }
            let per_partition = limit.div_ceil(marks.len()) as i64;
            let mut assignment = TopicPartitionList::new();
            let mut expected = 0;
            for (p, low, high) in &marks {
                let start = (*high - per_partition).max(*low);
                expected += high - start;
                assignment.add_partition_offset(&topic, *p, Offset::Offset(start))?;
            }
            consumer.assign(&assignment)?;
            let mut records = Vec::new();
            let deadline = Instant::now() + SAMPLE_WAIT;
            while (records.len() as i64) < expected && Instant::now() < deadline {
                let Some(message) = consumer.poll(Duration::from_millis(100)) else {
                    continue;
                };
                let message = message?;
                let high = marks
                    .iter()
                    .find(|(p, _, _)| *p == message.partition())
                    .map_or(0, |(_, _, high)| *high);
                if message.offset() >= high {
                    continue;
                }
                records.push(SampledRecord {
                    partition: message.partition(),
                    offset: message.offset(),
                    timestamp: message
                        .timestamp()
                        .to_millis()
                        .and_then(DateTime::<Utc>::from_timestamp_millis),
                    key: message.key().map(<[u8]>::to_vec),
                    value: message.payload().map(<[u8]>::to_vec),
                });
            }
            records.sort_by(|a, b| {
                b.timestamp
                    .cmp(&a.timestamp)
                    .then_with(|| a.partition.cmp(&b.partition))
                    .then_with(|| b.offset.cmp(&a.offset))
            });
            records.truncate(limit);
            Ok(records)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleanup_policies_map_to_the_catalog() {
        assert_eq!(cleanup_policy("delete"), Some(CleanupPolicy::Delete));
        assert_eq!(cleanup_policy("compact"), Some(CleanupPolicy::Compact));
        assert_eq!(cleanup_policy("delete, compact"), Some(CleanupPolicy::CompactDelete));
        assert_eq!(cleanup_policy("compact,delete"), Some(CleanupPolicy::CompactDelete));
        assert_eq!(cleanup_policy("nope"), None);
    }
}
