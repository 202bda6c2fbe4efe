//! Live feeds: one shared consumer per topic per server, fanned out to every
//! subscriber through a bounded broadcast channel.
//!
//! - Records are decoded once, in the consumer task, and shared (`Arc`).
//! - A subscriber that falls more than the channel's capacity behind gets a
//!   [`Delivery::Lagged`] with the number it skipped and continues from the
//!   newest record: a slow client never slows the consumer or the others,
//!   and memory stays bounded by the capacity.
//! - The consumer has no consumer group: partitions are assigned at their
//!   current end, so a feed starts instantly and never rebalances.
//! - A [`Feed`] lives as long as something holds it (a subscription, a
//!   health stream); when the last holder drops it, the consumer stops.
//! - Subscriptions that start elsewhere than the live end (`EARLIEST`, a
//!   timestamp, offsets) get a consumer of their own ([`Hub::replay`]),
//!   with backpressure instead of skipping, since nobody else shares it.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{BorrowedMessage, Headers, Message};
use rdkafka::{Offset, TopicPartitionList};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::store::Store;

use super::decode::{DecodeFailure, Decoded, Decoder};
use super::{Kafka, StreamError};

/// How long a feed's start waits for the topic's metadata and watermarks.
const METADATA_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause between two metadata attempts.
const RETRY_PAUSE: Duration = Duration::from_millis(200);
/// Window of the events/s and conformance figures.
const WINDOW: Duration = Duration::from_secs(60);
/// Bound on the records remembered for the window.
const WINDOW_MAX: usize = 20_000;

/// Where a subscription starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartAt {
    Latest,
    Earliest,
    /// Milliseconds since the epoch.
    Timestamp(i64),
    /// (partition, offset); unlisted partitions start at their end.
    Offsets(Vec<(i32, i64)>),
}

/// One record of a topic, decoded.
#[derive(Debug, Clone)]
pub struct LiveRecord {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<String>,
    pub timestamp: Option<DateTime<Utc>>,
    pub headers: Vec<(String, Option<String>)>,
    pub value: Result<Decoded, DecodeFailure>,
}

/// A shared, decoded record.
pub type LiveItem = Arc<LiveRecord>;

/// What a subscriber receives.
#[derive(Debug, Clone)]
pub enum Delivery {
    Record(LiveItem),
    /// This many records were skipped because the subscriber fell behind.
    Lagged(u64),
}

/// Live figures of a topic, from its shared consumer.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductHealth {
    pub last_event_at: Option<DateTime<Utc>>,
    pub events_per_second: f64,
    /// Records in the window.
    pub recent_records: u64,
    /// Share of the window's records that conform to a registered schema
    /// version; `None` without records.
    pub conformance: Option<f64>,
    /// Since when the consumer has been watching.
    pub watching_since: DateTime<Utc>,
    /// The topic holds records but the newest has not been read yet: the
    /// last event time is not known (a fresh feed, for a moment).
    pub warming_up: bool,
}

#[derive(Debug)]
struct Stats {
    started: Instant,
    watching_since: DateTime<Utc>,
    last_event_at: Option<DateTime<Utc>>,
    recent: VecDeque<(Instant, bool)>,
    /// Records per second appended in the [`WINDOW`] before the feed
    /// started (from the broker's offsets by time): the rate until the feed
    /// has watched a whole window itself.
    before: f64,
    /// Set once the newest record at start has been read (at once for an
    /// empty topic).
    primed: tokio::sync::watch::Sender<bool>,
    /// Next offset to read, per partition.
    positions: HashMap<i32, i64>,
    /// Records on the topic not read yet, as last measured.
    lag: Option<u64>,
}

impl Stats {
    fn new(before: f64, primed: bool) -> Self {
        Self {
            started: Instant::now(),
            watching_since: Utc::now(),
            last_event_at: None,
            recent: VecDeque::new(),
            before,
            primed: tokio::sync::watch::Sender::new(primed),
            positions: HashMap::new(),
            lag: None,
        }
    }

    fn prune(&mut self, now: Instant) {
        while self
            .recent
            .front()
            .is_some_and(|(t, _)| now.duration_since(*t) > WINDOW)
            || self.recent.len() > WINDOW_MAX
        {
            self.recent.pop_front();
        }
    }

    fn health(&mut self) -> ProductHealth {
        let now = Instant::now();
        self.prune(now);
        let n = self.recent.len();
        let watched = now.duration_since(self.started).min(WINDOW).as_secs_f64();
        // Until a whole window is watched, the part before the feed started
        // is counted at the broker's measured rate.
        let events_per_second = (self.before * (WINDOW.as_secs_f64() - watched) + n as f64) / WINDOW.as_secs_f64();
        let conforming = self.recent.iter().filter(|(_, ok)| *ok).count();
        ProductHealth {
            last_event_at: self.last_event_at,
            events_per_second,
            recent_records: n as u64,
            conformance: (n > 0).then(|| conforming as f64 / n as f64),
            watching_since: self.watching_since,
            warming_up: !*self.primed.borrow(),
        }
    }
}

/// A topic's shared consumer and its subscribers.
/// A running shared consumer, for operators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveFeed {
    pub topic: String,
    pub subscribers: usize,
    /// Records on the topic the consumer has not read yet (measured every
    /// [`LAG_EVERY`]; `None` until first measured).
    pub lag: Option<u64>,
}

/// How often a shared consumer measures how far behind the topic's end it is.
const LAG_EVERY: Duration = Duration::from_secs(5);

pub struct Feed {
    topic: String,
    product_id: Option<String>,
    tx: broadcast::Sender<LiveItem>,
    /// Subscribers attached, directly or through a shared tap.
    attached: Arc<AtomicUsize>,
    stats: Arc<Mutex<Stats>>,
    decoder: Arc<RwLock<Arc<Decoder>>>,
    /// Dropping it stops the consumer task.
    _stop: oneshot::Sender<()>,
}

impl Feed {
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// A live stream from now on, counted as one subscriber. The receiver
    /// is taken here, eagerly, so nothing published after this call is
    /// missed.
    pub fn subscribe(self: &Arc<Self>) -> impl Stream<Item = Delivery> + Send + 'static {
        let attached = self.attach();
        self.tap().map(move |delivery| {
            let _held = &attached;
            delivery
        })
    }

    /// A live stream that counts as no subscriber: for a reader that serves
    /// several subscribers, each of which holds an [`Attached`].
    pub fn tap(self: &Arc<Self>) -> impl Stream<Item = Delivery> + Send + 'static {
        let feed = self.clone();
        newest_first(self.tx.subscribe()).map(move |item| {
            let _held = &feed;
            match item {
                Ok(record) => Delivery::Record(record),
                Err(skipped) => Delivery::Lagged(skipped),
            }
        })
    }

    pub fn health(&self) -> ProductHealth {
        self.stats.lock().unwrap_or_else(|e| e.into_inner()).health()
    }

    /// The figures once the feed has read the newest record it started
    /// from (so the last event time is known), or after `at_most`
    /// (`warming_up` then says so).
    pub async fn warm_health(&self, at_most: Duration) -> ProductHealth {
        let mut primed = self.stats.lock().unwrap_or_else(|e| e.into_inner()).primed.subscribe();
        let _ = tokio::time::timeout(at_most, primed.wait_for(|primed| *primed)).await;
        self.health()
    }

    /// Counts one subscriber until the returned guard is dropped.
    pub fn attach(&self) -> Attached {
        self.attached.fetch_add(1, Ordering::Relaxed);
        Attached(self.attached.clone())
    }

    /// Live subscribers of this feed.
    pub fn subscribers(&self) -> usize {
        self.attached.load(Ordering::Relaxed)
    }
}

/// A broadcast receiver as a stream, for readers that must not hold the
/// sender up: one that falls behind jumps to the newest item, also skipping
/// what is still queued, and yields `Err(skipped)` once in place of what it
/// missed. Ends when the sender is gone.
pub fn newest_first<T: Clone + Send + 'static>(
    rx: broadcast::Receiver<T>,
) -> impl Stream<Item = Result<T, u64>> + Send + 'static {
    futures_util::stream::unfold(rx, |mut rx| async move {
        match rx.recv().await {
            Ok(item) => Some((Ok(item), rx)),
            Err(broadcast::error::RecvError::Lagged(skipped)) => {
                let skipped = skipped + rx.len() as u64;
                Some((Err(skipped), rx.resubscribe()))
            }
            Err(broadcast::error::RecvError::Closed) => None,
        }
    })
}

/// One subscriber of a [`Feed`], counted while held.
pub struct Attached(Arc<AtomicUsize>);

impl Drop for Attached {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The registry of feeds. Cheap to clone.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<HubInner>,
}

struct HubInner {
    kafka: Kafka,
    store: Store,
    queue: usize,
    feeds: tokio::sync::Mutex<HashMap<String, Weak<Feed>>>,
}

impl Hub {
    pub fn new(kafka: Kafka, store: Store, queue: usize) -> Self {
        Self {
            inner: Arc::new(HubInner {
                kafka,
                store,
                queue,
                feeds: Default::default(),
            }),
        }
    }

    /// The shared feed of `topic` (started if needed). `product_id` selects
    /// the schema versions used to decode; `None` decodes JSON only.
    pub async fn feed(&self, topic: &str, product_id: Option<&str>) -> Result<Arc<Feed>, StreamError> {
        let mut feeds = self.inner.feeds.lock().await;
        if let Some(feed) = feeds.get(topic).and_then(Weak::upgrade) {
            return Ok(feed);
        }
        feeds.retain(|_, weak| weak.strong_count() > 0);
        let decoder = self.decoder(product_id).await?;
        let feed = Arc::new(self.start_feed(topic, product_id, decoder).await?);
        feeds.insert(topic.to_owned(), Arc::downgrade(&feed));
        Ok(feed)
    }

    /// Capacity of a feed's queue: how far a subscriber may fall behind
    /// before it skips ahead.
    pub fn queue(&self) -> usize {
        self.inner.queue
    }

    /// The feed of `topic` if one is running.
    pub async fn running(&self, topic: &str) -> Option<Arc<Feed>> {
        self.inner.feeds.lock().await.get(topic).and_then(Weak::upgrade)
    }

    /// Running feeds and their subscriber counts, sorted by topic.
    pub async fn active(&self) -> Vec<ActiveFeed> {
        let feeds = self.inner.feeds.lock().await;
        let mut list: Vec<ActiveFeed> = feeds
            .iter()
            .filter_map(|(t, w)| {
                w.upgrade().map(|f| ActiveFeed {
                    topic: t.clone(),
                    subscribers: f.subscribers(),
                    lag: f.stats.lock().unwrap_or_else(|e| e.into_inner()).lag,
                })
            })
            .collect();
        list.sort_by(|a, b| a.topic.cmp(&b.topic));
        list
    }

    /// Reloads the decoders of a product's running feeds (a schema version
    /// was registered).
    pub fn schemas_changed(&self, product_id: &str) {
        let hub = self.clone();
        let product_id = product_id.to_owned();
        tokio::spawn(async move {
            let feeds: Vec<Arc<Feed>> = hub
                .inner
                .feeds
                .lock()
                .await
                .values()
                .filter_map(Weak::upgrade)
                .collect();
            for feed in feeds
                .iter()
                .filter(|f| f.product_id.as_deref() == Some(product_id.as_str()))
            {
                match Decoder::load(&hub.inner.store, &product_id).await {
                    Ok(decoder) => *feed.decoder.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(decoder),
                    Err(e) => tracing::warn!(error = %e, "cannot reload schemas"),
                }
            }
        });
    }

    /// The decoder of a product's records (`None`: JSON only).
    async fn decoder(&self, product_id: Option<&str>) -> Result<Decoder, StreamError> {
        match product_id {
            Some(id) => Decoder::load(&self.inner.store, id).await,
            None => Ok(Decoder::json_only()),
        }
    }

    fn consumer(&self) -> Result<StreamConsumer, StreamError> {
        Ok(self
            .inner
            .kafka
            .client(&[
                // Assigned partitions only; the group id is never joined.
                ("group.id", "mesh-catalog-live"),
                ("enable.auto.commit", "false"),
                ("enable.auto.offset.store", "false"),
                // A broker may hold a fetch this long even with data waiting
                // (tansu does): keep it short for live latency.
                ("fetch.wait.max.ms", "10"),
                ("enable.partition.eof", "false"),
            ])
            .create()?)
    }

    /// Partitions of `topic` with their (low, high) watermarks.
    async fn watermarks(
        &self,
        consumer: Arc<StreamConsumer>,
        topic: &str,
    ) -> Result<Vec<(i32, i64, i64)>, StreamError> {
        let topic = topic.to_owned();
        tokio::task::spawn_blocking(move || {
            // A topic created a moment ago may not be in the metadata yet,
            // or its partitions may have no leader yet: ask again briefly,
            // within one overall deadline (a blocking thread that outlives
            // the broker would hold up the server's shutdown).
            let deadline = Instant::now() + METADATA_TIMEOUT;
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                match Self::read_watermarks(&consumer, &topic, left) {
                    Err(e) if left > RETRY_PAUSE => {
                        tracing::debug!(topic = %topic, error = %e, "watermarks not available yet");
                        std::thread::sleep(RETRY_PAUSE);
                    }
                    done => return done,
                }
            }
        })
        .await
        .map_err(|e| StreamError::Broker(format!("metadata task failed: {e}")))?
    }

    /// Records per second appended to `topic` in the [`WINDOW`] before now,
    /// from the offsets by time; 0 when the broker cannot tell.
    async fn rate_before(&self, consumer: Arc<StreamConsumer>, topic: &str, marks: &[(i32, i64, i64)]) -> f64 {
        let topic = topic.to_owned();
        let marks = marks.to_vec();
        let since = (Utc::now() - chrono::Duration::from_std(WINDOW).unwrap_or_default()).timestamp_millis();
        let counted = tokio::task::spawn_blocking(move || {
            let mut query = TopicPartitionList::new();
            for (partition, _, _) in &marks {
                query.add_partition_offset(&topic, *partition, Offset::Offset(since))?;
            }
            let found = consumer.offsets_for_times(query, Duration::from_secs(5))?;
            let mut records = 0;
            for (partition, low, high) in &marks {
                let from = match found.find_partition(&topic, *partition).map(|p| p.offset()) {
                    Some(Offset::Offset(o)) => o.max(*low),
                    _ => *high,
                };
                records += (high - from).max(0);
            }
            Ok::<i64, StreamError>(records)
        })
        .await;
        match counted {
            Ok(Ok(records)) => records as f64 / WINDOW.as_secs_f64(),
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "no offsets by time; the rate starts from zero");
                0.0
            }
            Err(_) => 0.0,
        }
    }

    /// Partitions of `topic` with their (low, high) watermarks, once.
    fn read_watermarks(
        consumer: &StreamConsumer,
        topic: &str,
        timeout: Duration,
    ) -> Result<Vec<(i32, i64, i64)>, StreamError> {
        {
            let metadata = consumer.fetch_metadata(Some(topic), timeout)?;
            let Some(t) = metadata
                .topics()
                .iter()
                .find(|t| t.name() == topic && t.error().is_none())
            else {
                return Err(StreamError::Broker(format!("topic {topic} does not exist")));
            };
            let mut out = Vec::new();
            for p in t.partitions() {
                let (low, high) = consumer.fetch_watermarks(topic, p.id(), timeout)?;
                out.push((p.id(), low, high));
            }
            if out.is_empty() {
                return Err(StreamError::Broker(format!("topic {topic} has no partitions")));
            }
            out.sort();
            Ok(out)
        }
    }

    async fn start_feed(&self, topic: &str, product_id: Option<&str>, decoder: Decoder) -> Result<Feed, StreamError> {
        let consumer = Arc::new(self.consumer()?);
        let marks = self.watermarks(consumer.clone(), topic).await?;
        let before = self.rate_before(consumer.clone(), topic, &marks).await;
        // Start one record before the end of each partition: that record only
        // sets "last event time", it is not delivered as live.
        let mut assignment = TopicPartitionList::new();
        let mut live_from = HashMap::new();
        let mut positions = HashMap::new();
        for (partition, low, high) in &marks {
            let start = if high > low { high - 1 } else { *high };
            assignment.add_partition_offset(topic, *partition, Offset::Offset(start))?;
            live_from.insert(*partition, *high);
            positions.insert(*partition, start);
        }
        consumer.assign(&assignment)?;
        let (tx, _) = broadcast::channel(self.inner.queue);
        let (stop, mut stopped) = oneshot::channel();
        let holds_records = marks.iter().any(|(_, low, high)| high > low);
        let stats = Arc::new(Mutex::new(Stats::new(before, !holds_records)));
        stats.lock().unwrap_or_else(|e| e.into_inner()).positions = positions;
        let decoder = Arc::new(RwLock::new(Arc::new(decoder)));
        let feed = Feed {
            topic: topic.to_owned(),
            product_id: product_id.map(str::to_owned),
            tx: tx.clone(),
            attached: Arc::default(),
            stats: stats.clone(),
            decoder: decoder.clone(),
            _stop: stop,
        };
        let topic_name = topic.to_owned();
        let reload = product_id.map(|id| (id.to_owned(), self.inner.store.clone()));
        tokio::spawn(async move {
            tracing::debug!(topic = %topic_name, "live consumer started");
            // Schema ids met that the store did not know either.
            let mut unknown = HashSet::new();
            let mut measure = tokio::time::interval(LAG_EVERY);
            measure.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    _ = measure.tick() => {
                        // Off this task: a broker round trip per partition.
                        let (consumer, stats, topic) = (consumer.clone(), stats.clone(), topic_name.clone());
                        tokio::task::spawn_blocking(move || measure_lag(&consumer, &topic, &stats));
                    }
                    message = consumer.recv() => match message {
                        Ok(message) => {
                            let mut current = decoder.read().unwrap_or_else(|e| e.into_inner()).clone();
                            // A schema registered a moment ago (perhaps through another
                            // replica, whose event has not arrived yet): read the
                            // product's versions again, once per unknown id.
                            if let (Some((product_id, store)), Some(id)) = (&reload, current.unknown_schema_id(message.payload())) {
                                if unknown.insert(id) {
                                    if let Ok(fresh) = Decoder::load(store, product_id).await {
                                        current = Arc::new(fresh);
                                        *decoder.write().unwrap_or_else(|e| e.into_inner()) = current.clone();
                                        if current.unknown_schema_id(message.payload()).is_none() {
                                            unknown.remove(&id);
                                        }
                                    }
                                }
                            }
                            let record = to_record(&message, &current);
                            let live = live_from.get(&record.partition).is_none_or(|from| record.offset >= *from);
                            {
                                let mut stats = stats.lock().unwrap_or_else(|e| e.into_inner());
                                stats.positions.insert(record.partition, record.offset + 1);
                                stats.last_event_at = stats.last_event_at.max(record.timestamp);
                                stats.primed.send_if_modified(|primed| !std::mem::replace(primed, true));
                                if live {
                                    let now = Instant::now();
                                    stats.recent.push_back((now, record.value.as_ref().is_ok_and(|d| d.conforms)));
                                    stats.prune(now);
                                }
                            }
                            if live {
                                // No receivers is fine: health holders only.
                                let _ = tx.send(Arc::new(record));
                            }
                        }
                        Err(e) => {
                            tracing::warn!(topic = %topic_name, error = %e, "live consumer error");
                            tokio::time::sleep(Duration::from_millis(200)).await;
                        }
                    }
                }
            }
            tracing::debug!(topic = %topic_name, "live consumer stopped");
        });
        Ok(feed)
    }

    /// A subscription with its own consumer, starting at `start`; records
    /// flow with backpressure. Ends when the returned stream is dropped.
    pub async fn replay(
        &self,
        topic: &str,
        product_id: Option<&str>,
        start: StartAt,
    ) -> Result<impl Stream<Item = Delivery> + Send + 'static, StreamError> {
        let decoder = self.decoder(product_id).await?;
        let consumer = Arc::new(self.consumer()?);
        let marks = self.watermarks(consumer.clone(), topic).await?;
        let mut assignment = TopicPartitionList::new();
        for (partition, _, _) in &marks {
            let offset = match &start {
                StartAt::Latest => Offset::End,
                StartAt::Earliest => Offset::Beginning,
                StartAt::Timestamp(ms) => Offset::Offset(*ms),
                StartAt::Offsets(list) => list
                    .iter()
                    .find(|(p, _)| p == partition)
                    .map_or(Offset::End, |(_, o)| Offset::Offset(*o)),
            };
            assignment.add_partition_offset(topic, *partition, offset)?;
        }
        if let StartAt::Timestamp(_) = start {
            let lookup = consumer.clone();
            assignment = tokio::task::spawn_blocking(move || lookup.offsets_for_times(assignment, METADATA_TIMEOUT))
                .await
                .map_err(|e| StreamError::Broker(format!("offset lookup failed: {e}")))??;
            // A partition with nothing at or after the time starts at its end.
            let mut fixed = TopicPartitionList::new();
            for element in assignment.elements() {
                let offset = match element.offset() {
                    Offset::Offset(o) if o >= 0 => Offset::Offset(o),
                    _ => Offset::End,
                };
                fixed.add_partition_offset(element.topic(), element.partition(), offset)?;
            }
            assignment = fixed;
        }
        consumer.assign(&assignment)?;
        let (tx, rx) = mpsc::channel::<Delivery>(self.inner.queue.min(1024));
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tx.closed() => break,
                    message = consumer.recv() => match message {
                        Ok(message) => {
                            let record = to_record(&message, &decoder);
                            if tx.send(Delivery::Record(Arc::new(record))).await.is_err() {
                                break;
                            }
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "replay consumer error");
                            tokio::time::sleep(Duration::from_millis(200)).await;
                        }
                    }
                }
            }
        });
        Ok(tokio_stream::wrappers::ReceiverStream::new(rx))
    }
}

/// Measures how many records of `topic` the shared consumer has not read.
fn measure_lag(consumer: &StreamConsumer, topic: &str, stats: &Mutex<Stats>) {
    let positions = stats.lock().unwrap_or_else(|e| e.into_inner()).positions.clone();
    let mut lag = 0;
    for (partition, at) in positions {
        match consumer.fetch_watermarks(topic, partition, METADATA_TIMEOUT) {
            Ok((_, high)) => lag += (high - at).max(0) as u64,
            Err(e) => {
                tracing::debug!(topic, error = %e, "cannot measure the consumer lag");
                return;
            }
        }
    }
    stats.lock().unwrap_or_else(|e| e.into_inner()).lag = Some(lag);
}

fn to_record(message: &BorrowedMessage<'_>, decoder: &Decoder) -> LiveRecord {
    let headers = message
        .headers()
        .map(|h| {
            h.iter()
                .map(|h| {
                    (
                        h.key.to_owned(),
                        h.value.map(|v| String::from_utf8_lossy(v).into_owned()),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    LiveRecord {
        topic: message.topic().to_owned(),
        partition: message.partition(),
        offset: message.offset(),
        key: message.key().map(|k| String::from_utf8_lossy(k).into_owned()),
        timestamp: message
            .timestamp()
            .to_millis()
            .and_then(DateTime::from_timestamp_millis),
        headers,
        value: decoder.decode(message.payload()),
    }
}
