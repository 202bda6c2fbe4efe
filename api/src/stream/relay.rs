//! The outbox relay: publishes committed catalog events, oldest first, to
//! `mesh.catalog.events` (keyed by entity id), and deletes each row only once
//! the broker has acknowledged it.
//!
//! Delivery is at-least-once: a crash between the broker's acknowledgement
//! and the delete publishes the batch again (consumers dedupe on `eventId`);
//! nothing is lost because the row is written in the change's own
//! transaction. If the broker is down the outbox simply grows, and the next
//! attempt (woken by a commit, or by the periodic poll) drains it in order.
//!
//! Replicas: on PostgreSQL a batch is taken under a transaction-scoped
//! advisory lock (`pg_try_advisory_xact_lock`), a single-writer lease that
//! the database releases if the holder dies. `FOR UPDATE SKIP LOCKED` alone
//! would let two replicas publish interleaved batches and break the order
//! per entity. On SQLite there is one process, hence one relay.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::metrics::histogram::Histogram;
use rdkafka::producer::{FutureProducer, FutureRecord};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Statement,
    TransactionTrait,
};
use tokio::sync::Notify;

use crate::store::entities::outbox;
use crate::store::Store;

use super::admin::{Admin, TopicSpec};
use super::{Kafka, StreamError, Tasks, CATALOG_EVENTS_TOPIC};

/// Events per batch.
const BATCH: u64 = 256;
/// The safety-net poll, for changes committed by other replicas or missed
/// wake-ups.
const POLL: Duration = Duration::from_secs(1);
/// Pause after a failed attempt (broker down), before trying again.
const BACKOFF: Duration = Duration::from_millis(500);
/// Advisory lock key of the relay lease ("mesh" in ASCII).
const LEASE_KEY: i64 = 0x6d65_7368;

/// Wakes the relay; cheap to clone.
#[derive(Clone)]
pub struct RelayHandle {
    wake: Arc<Notify>,
}

impl RelayHandle {
    /// Asks the relay to drain now (called after every commit).
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

/// The catalog events topic: 3 partitions (order is per key), a week.
pub(super) fn events_topic() -> TopicSpec {
    TopicSpec {
        name: CATALOG_EVENTS_TOPIC.into(),
        partitions: 3,
        retention_ms: 7 * 24 * 3600 * 1000,
        cleanup_policy: "delete".into(),
    }
}

/// The producer, and the latency it observes (commit → acknowledged).
struct Relay {
    producer: FutureProducer,
    latency: Histogram,
}

/// Starts the relay task; it observes each event's latency in `latency`.
pub fn start(
    kafka: Kafka,
    store: Store,
    admin: Admin,
    latency: Histogram,
    tasks: &Tasks,
) -> Result<RelayHandle, StreamError> {
    let producer: FutureProducer = kafka
        .client(&[
            // Idempotence keeps the order of a partition across retries.
            ("enable.idempotence", "true"),
            ("acks", "all"),
            ("linger.ms", "5"),
            ("message.timeout.ms", "10000"),
        ])
        .create()?;
    let relay = Relay { producer, latency };
    let wake = Arc::new(Notify::new());
    let handle = RelayHandle { wake: wake.clone() };
    let check_topics = tasks.clone();
    tasks.spawn(async move {
        while let Err(e) = admin.ensure_topic(&events_topic()).await {
            tracing::warn!(error = %e, "cannot create {CATALOG_EVENTS_TOPIC} yet; retrying");
            tokio::time::sleep(BACKOFF * 4).await;
        }
        // The broker answers: check the products' topics beside the relay
        // (in a large catalog that takes a while; the outbox must not wait).
        let products = (admin, store.clone());
        check_topics.spawn(async move {
            if let Err(e) = products.0.ensure_all_product_topics(&products.1).await {
                tracing::warn!(error = %e, "cannot check the products' topics");
            }
        });
        loop {
            match drain(&store, &relay).await {
                Ok(()) => {
                    tokio::select! {
                        _ = wake.notified() => {}
                        _ = tokio::time::sleep(POLL) => {}
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "outbox relay: will retry");
                    tokio::time::sleep(BACKOFF).await;
                }
            }
        }
    });
    Ok(handle)
}

/// Publishes batches until the outbox is empty (or another replica holds
/// the lease).
async fn drain(store: &Store, relay: &Relay) -> Result<(), StreamError> {
    loop {
        let published = match store.db().get_database_backend() {
            DatabaseBackend::Postgres => drain_batch_postgres(store, relay).await?,
            _ => drain_batch_single(store, relay).await?,
        };
        if published < BATCH as usize {
            return Ok(());
        }
    }
}

async fn oldest<C: ConnectionTrait>(conn: &C) -> Result<Vec<outbox::Model>, StreamError> {
    Ok(outbox::Entity::find()
        .order_by_asc(outbox::Column::Seq)
        .limit(BATCH)
        .all(conn)
        .await?)
}

/// PostgreSQL: the whole batch under the advisory lease.
async fn drain_batch_postgres(store: &Store, relay: &Relay) -> Result<usize, StreamError> {
    let tx = store.db().begin().await?;
    let lease = Statement::from_string(
        DatabaseBackend::Postgres,
        format!("SELECT pg_try_advisory_xact_lock({LEASE_KEY}) AS held"),
    );
    let held = tx
        .query_one_raw(lease)
        .await?
        .map(|row| row.try_get::<bool>("", "held"))
        .transpose()?
        .unwrap_or(false);
    if !held {
        return Ok(0);
    }
    let rows = oldest(&tx).await?;
    publish(relay, &rows).await?;
    let seqs: Vec<i64> = rows.iter().map(|r| r.seq).collect();
    outbox::Entity::delete_many()
        .filter(outbox::Column::Seq.is_in(seqs))
        .exec(&tx)
        .await?;
    tx.commit().await?;
    Ok(rows.len())
}

/// SQLite: read, publish, then delete in a short write transaction (the
/// writer lock is not held while waiting for the broker).
async fn drain_batch_single(store: &Store, relay: &Relay) -> Result<usize, StreamError> {
    let rows = oldest(store.db()).await?;
    if rows.is_empty() {
        return Ok(0);
    }
    publish(relay, &rows).await?;
    let seqs: Vec<i64> = rows.iter().map(|r| r.seq).collect();
    let tx = store.begin_write().await?;
    outbox::Entity::delete_many()
        .filter(outbox::Column::Seq.is_in(seqs))
        .exec(&tx.tx)
        .await?;
    tx.commit().await?;
    Ok(rows.len())
}

/// Sends every row (pipelined, in order) and waits for every
/// acknowledgement; the first failure fails the batch.
async fn publish(relay: &Relay, rows: &[outbox::Model]) -> Result<(), StreamError> {
    let mut pending = Vec::with_capacity(rows.len());
    for row in rows {
        let record = FutureRecord::to(CATALOG_EVENTS_TOPIC)
            .key(&row.entity_id)
            .payload(&row.payload);
        let delivery = relay
            .producer
            .send_result(record)
            .map_err(|(e, _)| StreamError::Broker(format!("cannot queue event {}: {e}", row.event_id)))?;
        pending.push(delivery);
    }
    for (row, delivery) in rows.iter().zip(pending) {
        match delivery.await {
            Ok(Ok(_)) => {
                let took = (chrono::Utc::now() - row.at).to_std().unwrap_or_default();
                relay.latency.observe(took.as_secs_f64());
            }
            Ok(Err((e, _))) => return Err(e.into()),
            Err(_) => return Err(StreamError::Broker("producer dropped a delivery".into())),
        }
    }
    Ok(())
}
