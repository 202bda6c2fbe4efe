//! The freshness monitor: flags products whose topic has gone longer than
//! the SLA's maximum freshness without a new record, and flags them fresh
//! again when records flow.
//!
//! It needs no consumer: every `interval` it reads the high watermarks of
//! the topics of PUBLISHED and DEPRECATED products that declare a maximum
//! freshness. A watermark that moved means a new record. The time of the
//! last record before the server started is not known, so a topic counts
//! from the moment the monitor first sees it. Flags are catalog changes
//! (`PRODUCT_STALE` / `PRODUCT_FRESH`), so they reach the audit log and
//! `catalogEvents`; the latest flag of each product is read back on start,
//! so a restart does not flag twice. Every replica runs a monitor (each
//! reads the same watermarks); a flag is recorded only if the product's
//! latest flag differs, under a lock of the product's row, so replicas
//! never record the same flag twice.
//!
//! Each pass also keeps a sample per product (time, watermark sum, when it
//! last moved) for the last [`HISTORY`]: the recent figures of
//! `DataProduct.liveHistory`, so the portal's charts show the last minutes
//! as soon as a page opens.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rdkafka::consumer::{BaseConsumer, Consumer};

use crate::catalog::Catalog;

use super::{Kafka, StreamError, Tasks};

const METADATA_TIMEOUT: Duration = Duration::from_secs(10);

/// How far back [`History`] keeps samples.
pub const HISTORY: Duration = Duration::from_secs(30 * 60);

/// What the monitor remembers of one topic.
struct Watch {
    /// Sum of the partitions' high watermarks.
    high: i64,
    /// When `high` last moved (or the topic was first seen).
    moved_at: Instant,
    /// When `high` last moved on the wall clock (`None`: not since the
    /// topic was first seen).
    moved_at_utc: Option<DateTime<Utc>>,
}

/// One pass's reading of a product's topic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub at: DateTime<Utc>,
    /// Sum of the partitions' high watermarks.
    pub high: i64,
    /// When the monitor last saw `high` move (at most one pass late;
    /// `None`: not since it first saw the topic).
    pub moved_at: Option<DateTime<Utc>>,
}

/// A product's figures over one interval between two passes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// The interval's end.
    pub at: DateTime<Utc>,
    pub events_per_second: f64,
    /// When a record last arrived, as of `at` (`None` if none since the
    /// monitor first saw the topic).
    pub last_event_at: Option<DateTime<Utc>>,
}

/// The monitor's recent samples per product id, kept for [`HISTORY`]; on
/// every replica (each runs a monitor), empty after a restart.
#[derive(Clone, Default)]
pub struct History(Arc<Mutex<HashMap<String, VecDeque<Sample>>>>);

impl History {
    fn record(&self, product_id: &str, sample: Sample) {
        let mut all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let samples = all.entry(product_id.to_owned()).or_default();
        samples.push_back(sample);
        let oldest = sample.at - HISTORY;
        while samples.front().is_some_and(|s| s.at < oldest) {
            samples.pop_front();
        }
    }

    /// Forgets the products no longer monitored.
    fn retain(&self, ids: &HashSet<&str>) {
        let mut all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        all.retain(|id, _| ids.contains(id.as_str()));
    }

    /// The intervals of the last `span`, oldest first: events/s from the
    /// watermark's growth, the last record's time from when it moved.
    pub fn intervals(&self, product_id: &str, span: Duration) -> Vec<Interval> {
        let all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let Some(samples) = all.get(product_id) else {
            return Vec::new();
        };
        let since = Utc::now() - span;
        samples
            .iter()
            .zip(samples.iter().skip(1))
            .filter(|(_, b)| b.at >= since)
            .map(|(a, b)| {
                let seconds = (b.at - a.at).as_seconds_f64().max(f64::EPSILON);
                Interval {
                    at: b.at,
                    events_per_second: (b.high - a.high).max(0) as f64 / seconds,
                    last_event_at: b.moved_at,
                }
            })
            .collect()
    }
}

/// Starts the monitor task; it runs as long as the server.
pub fn start(
    kafka: &Kafka,
    catalog: Catalog,
    interval: Duration,
    history: History,
    tasks: &Tasks,
) -> Result<(), StreamError> {
    let consumer: Arc<BaseConsumer> = Arc::new(kafka.client(&[("group.id", "mesh-catalog-freshness")]).create()?);
    tasks.spawn(async move {
        let mut flags = loop {
            match catalog.freshness_flags().await {
                Ok(flags) => break flags,
                Err(e) => {
                    tracing::warn!(error = %e, "freshness monitor: cannot read flags; retrying");
                    tokio::time::sleep(interval).await;
                }
            }
        };
        let mut watches: HashMap<String, Watch> = HashMap::new();
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if let Err(e) = check(&catalog, &consumer, &mut watches, &mut flags, &history).await {
                tracing::warn!(error = %e, "freshness check failed");
            }
        }
    });
    Ok(())
}

/// One pass over the monitored products.
async fn check(
    catalog: &Catalog,
    consumer: &Arc<BaseConsumer>,
    watches: &mut HashMap<String, Watch>,
    flags: &mut HashMap<String, bool>,
    history: &History,
) -> Result<(), StreamError> {
    let products = catalog.monitored_products().await?;
    let topics: HashSet<String> = products.iter().map(|p| p.topic_name.clone()).collect();
    let highs = high_watermarks(consumer.clone(), topics).await?;
    let (now, now_utc) = (Instant::now(), Utc::now());
    let ids: HashSet<&str> = products.iter().map(|p| p.id.as_str()).collect();
    watches.retain(|id, _| ids.contains(id.as_str()));
    history.retain(&ids);
    for product in &products {
        // A topic that does not exist (yet) is not judged.
        let Some(&high) = highs.get(&product.topic_name) else {
            continue;
        };
        let watch = watches.entry(product.id.clone()).or_insert(Watch {
            high,
            moved_at: now,
            moved_at_utc: None,
        });
        if high != watch.high {
            watch.high = high;
            watch.moved_at = now;
            watch.moved_at_utc = Some(now_utc);
        }
        history.record(
            &product.id,
            Sample {
                at: now_utc,
                high,
                moved_at: watch.moved_at_utc,
            },
        );
        let max = Duration::from_secs(product.sla_max_freshness_seconds.unwrap_or_default().max(0) as u64);
        let quiet = now.duration_since(watch.moved_at);
        let stale = quiet > max;
        let flagged_stale = flags.get(&product.id).copied().unwrap_or(false);
        if stale == flagged_stale {
            continue;
        }
        let detail = if stale {
            format!(
                "no new record for {}s (SLA: at most {}s)",
                quiet.as_secs(),
                max.as_secs()
            )
        } else {
            "records flow again within the SLA's freshness".to_owned()
        };
        // Another replica's monitor may have flagged it first: either way
        // the latest flag is now `stale`.
        catalog.flag_freshness(product, stale, detail).await?;
        flags.insert(product.id.clone(), stale);
    }
    Ok(())
}

/// The sum of the high watermarks of each existing topic.
async fn high_watermarks(
    consumer: Arc<BaseConsumer>,
    topics: HashSet<String>,
) -> Result<HashMap<String, i64>, StreamError> {
    tokio::task::spawn_blocking(move || {
        let metadata = consumer.fetch_metadata(None, METADATA_TIMEOUT)?;
        let mut highs = HashMap::new();
        for topic in metadata
            .topics()
            .iter()
            .filter(|t| t.error().is_none() && topics.contains(t.name()))
        {
            let mut sum = 0;
            for partition in topic.partitions() {
                let (_, high) = consumer.fetch_watermarks(topic.name(), partition.id(), METADATA_TIMEOUT)?;
                sum += high;
            }
            highs.insert(topic.name().to_owned(), sum);
        }
        Ok(highs)
    })
    .await
    .map_err(|e| StreamError::Broker(format!("watermark task failed: {e}")))?
}
