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

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};

use crate::catalog::Catalog;

use super::{Kafka, StreamError, Tasks};

const METADATA_TIMEOUT: Duration = Duration::from_secs(10);

/// What the monitor remembers of one topic.
struct Watch {
    /// Sum of the partitions' high watermarks.
    high: i64,
    /// When `high` last moved (or the topic was first seen).
    moved_at: Instant,
}

/// Starts the monitor task; it runs as long as the server.
pub fn start(kafka: &Kafka, catalog: Catalog, interval: Duration, tasks: &Tasks) -> Result<(), StreamError> {
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
            if let Err(e) = check(&catalog, &consumer, &mut watches, &mut flags).await {
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
) -> Result<(), StreamError> {
    let products = catalog.monitored_products().await?;
    let topics: HashSet<String> = products.iter().map(|p| p.topic_name.clone()).collect();
    let highs = high_watermarks(consumer.clone(), topics).await?;
    let now = Instant::now();
    let ids: HashSet<&str> = products.iter().map(|p| p.id.as_str()).collect();
    watches.retain(|id, _| ids.contains(id.as_str()));
    for product in &products {
        // A topic that does not exist (yet) is not judged.
        let Some(&high) = highs.get(&product.topic_name) else {
            continue;
        };
        let watch = watches
            .entry(product.id.clone())
            .or_insert(Watch { high, moved_at: now });
        if high != watch.high {
            watch.high = high;
            watch.moved_at = now;
        }
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
