//! Follows `mesh.catalog.events`, so that every replica sees the changes
//! committed through the others: each event is read back as the catalog's
//! [`Change`](crate::catalog::Change) and handed to the catalog's hooks
//! (the search index, the live decoders) through
//! [`Catalog::observe_peer_change`], once per event id — this replica's own
//! changes were handed over at commit, and a redelivered event is skipped.
//!
//! No consumer group: every replica reads every partition (assigned, never
//! joined), starting from the search index's watermark less a margin
//! (`search::Indexer::follow_from`); what
//! is older was caught up from the database when the index reconciled at
//! start-up, so a replica that starts late or was down misses nothing.
//! [`FollowStatus`] says when the first pass has reached the end of the
//! topic (`/readyz`) and how many events it is behind (`/metrics`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::{Message, Offset, TopicPartitionList};

use crate::catalog::{outbox, Catalog};

use super::admin::Admin;
use super::relay::events_topic;
use super::{Kafka, StreamError, Tasks, CATALOG_EVENTS_TOPIC};

/// Broker calls (metadata, offsets by time, watermarks).
const BROKER_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause before trying again when the broker does not answer.
const RETRY: Duration = Duration::from_secs(2);
/// How often the distance to the end of the topic is measured.
const MEASURE: Duration = Duration::from_secs(2);

/// How far this replica has read the catalog's change stream. Cheap to
/// clone.
#[derive(Clone, Default)]
pub struct FollowStatus {
    inner: Arc<StatusInner>,
}

#[derive(Default)]
struct StatusInner {
    caught_up: AtomicBool,
    /// Events on the topic not read yet (-1: not measured yet).
    behind: AtomicI64,
}

impl FollowStatus {
    /// Whether the first pass has reached the end the topic had when the
    /// follower started.
    pub fn caught_up(&self) -> bool {
        self.inner.caught_up.load(Ordering::Relaxed)
    }

    /// Events on the topic not read yet, when measured.
    pub fn behind(&self) -> Option<u64> {
        u64::try_from(self.inner.behind.load(Ordering::Relaxed)).ok()
    }
}

/// Starts the follower task; it runs as long as the server.
pub fn start(
    kafka: &Kafka,
    admin: Admin,
    catalog: Catalog,
    from: DateTime<Utc>,
    tasks: &Tasks,
) -> Result<FollowStatus, StreamError> {
    let consumer: StreamConsumer = kafka
        .client(&[
            // Assigned partitions only; the group id is never joined.
            ("group.id", "mesh-catalog-follower"),
            ("enable.auto.commit", "false"),
            ("enable.auto.offset.store", "false"),
            ("fetch.wait.max.ms", "10"),
            ("enable.partition.eof", "false"),
        ])
        .create()?;
    let consumer = Arc::new(consumer);
    let status = FollowStatus::default();
    status.inner.behind.store(-1, Ordering::Relaxed);
    let follower = Follower {
        consumer,
        catalog,
        status: status.clone(),
        positions: Arc::default(),
    };
    tasks.spawn(async move {
        let ends = loop {
            match follower.assign(&admin, from).await {
                Ok(ends) => break ends,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot follow {CATALOG_EVENTS_TOPIC} yet; retrying");
                    tokio::time::sleep(RETRY).await;
                }
            }
        };
        follower.run(ends).await;
    });
    Ok(status)
}

struct Follower {
    consumer: Arc<StreamConsumer>,
    catalog: Catalog,
    status: FollowStatus,
    /// Next offset to read, per partition.
    positions: Arc<Mutex<HashMap<i32, i64>>>,
}

impl Follower {
    /// Assigns every partition at the first offset at or after `from`;
    /// returns the high watermarks at that moment (the end of the first
    /// pass).
    async fn assign(&self, admin: &Admin, from: DateTime<Utc>) -> Result<HashMap<i32, i64>, StreamError> {
        admin.ensure_topic(&events_topic()).await?;
        let consumer = self.consumer.clone();
        let (assignment, ends) = tokio::task::spawn_blocking(move || {
            let metadata = consumer.fetch_metadata(Some(CATALOG_EVENTS_TOPIC), BROKER_TIMEOUT)?;
            let partitions: Vec<i32> = metadata
                .topics()
                .iter()
                .filter(|t| t.name() == CATALOG_EVENTS_TOPIC && t.error().is_none())
                .flat_map(|t| t.partitions().iter().map(|p| p.id()))
                .collect();
            if partitions.is_empty() {
                return Err(StreamError::Broker(format!(
                    "{CATALOG_EVENTS_TOPIC} has no partitions yet"
                )));
            }
            let mut query = TopicPartitionList::new();
            let mut ends = HashMap::new();
            for &partition in &partitions {
                query.add_partition_offset(CATALOG_EVENTS_TOPIC, partition, Offset::Offset(from.timestamp_millis()))?;
                let (_, high) = consumer.fetch_watermarks(CATALOG_EVENTS_TOPIC, partition, BROKER_TIMEOUT)?;
                ends.insert(partition, high);
            }
            let found = consumer.offsets_for_times(query, BROKER_TIMEOUT)?;
            let mut assignment = HashMap::new();
            for &partition in &partitions {
                // No record at or after `from`: start at the end.
                let start = match found
                    .find_partition(CATALOG_EVENTS_TOPIC, partition)
                    .map(|p| p.offset())
                {
                    Some(Offset::Offset(offset)) if offset >= 0 => offset,
                    _ => ends[&partition],
                };
                assignment.insert(partition, start);
            }
            Ok::<_, StreamError>((assignment, ends))
        })
        .await
        .map_err(|e| StreamError::Broker(format!("metadata task failed: {e}")))??;
        let mut list = TopicPartitionList::new();
        for (&partition, &start) in &assignment {
            list.add_partition_offset(CATALOG_EVENTS_TOPIC, partition, Offset::Offset(start))?;
        }
        self.consumer.assign(&list)?;
        let behind: i64 = ends.iter().map(|(p, high)| (high - assignment[p]).max(0)).sum();
        tracing::info!(from = %from, events = behind, "following {CATALOG_EVENTS_TOPIC}");
        *self.positions.lock().unwrap_or_else(|e| e.into_inner()) = assignment;
        Ok(ends)
    }

    async fn run(self, ends: HashMap<i32, i64>) {
        let measure = self.measure_behind();
        let mut ends = Some(ends);
        self.check_caught_up(&mut ends);
        let received = async {
            loop {
                match self.consumer.recv().await {
                    Ok(message) => {
                        let (partition, offset) = (message.partition(), message.offset());
                        match message.payload().map(outbox::read) {
                            Some(Ok(change)) => {
                                self.catalog.observe_peer_change(&change);
                            }
                            Some(Err(e)) => {
                                tracing::warn!(partition, offset, error = %e, "skipping a record of {CATALOG_EVENTS_TOPIC} that is not a catalog event")
                            }
                            None => {}
                        }
                        self.positions
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .insert(partition, offset + 1);
                        self.check_caught_up(&mut ends);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "reading {CATALOG_EVENTS_TOPIC}; retrying");
                        tokio::time::sleep(RETRY).await;
                    }
                }
            }
        };
        tokio::join!(received, measure);
    }

    /// Marks the first pass done once every partition has reached the end
    /// it had at the start.
    fn check_caught_up(&self, ends: &mut Option<HashMap<i32, i64>>) {
        let Some(targets) = ends else { return };
        let positions = self.positions.lock().unwrap_or_else(|e| e.into_inner());
        if targets
            .iter()
            .all(|(p, end)| positions.get(p).is_some_and(|at| at >= end))
        {
            drop(positions);
            *ends = None;
            self.status.inner.caught_up.store(true, Ordering::Relaxed);
            tracing::info!("caught up with {CATALOG_EVENTS_TOPIC}");
        }
    }

    /// Measures, every [`MEASURE`], how many events the topic holds beyond
    /// what has been read.
    async fn measure_behind(&self) {
        loop {
            let consumer = self.consumer.clone();
            let positions = self.positions.lock().unwrap_or_else(|e| e.into_inner()).clone();
            let measured = tokio::task::spawn_blocking(move || {
                let mut behind = 0;
                for (partition, at) in positions {
                    let (_, high) = consumer.fetch_watermarks(CATALOG_EVENTS_TOPIC, partition, BROKER_TIMEOUT)?;
                    behind += (high - at).max(0);
                }
                Ok::<i64, StreamError>(behind)
            })
            .await;
            match measured {
                Ok(Ok(behind)) => self.status.inner.behind.store(behind, Ordering::Relaxed),
                Ok(Err(e)) => {
                    tracing::debug!(error = %e, "cannot measure the distance to the end of {CATALOG_EVENTS_TOPIC}")
                }
                Err(_) => {}
            }
            tokio::time::sleep(MEASURE).await;
        }
    }
}
