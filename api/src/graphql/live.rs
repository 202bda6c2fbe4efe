//! GraphQL types of the live mesh: decoded Kafka records, catalog events,
//! product health, topic state. Shared by the subscription root and the live
//! fields of `DataProduct`.

use std::time::Duration;

use async_graphql::{Enum, ErrorExtensions, InputObject, OneofObject, SimpleObject, Union};
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::catalog::{CatalogError, ChangeKind};
use crate::store::entities::data_product;
use crate::stream::admin::{TopicSpec, TopicState};
use crate::stream::decode::Encoding;
use crate::stream::{Delivery, Live, LiveRecord, ProductHealth as Figures, StartAt};

/// How long a `DataProduct.live` query keeps the topic's consumer running
/// afterwards, so repeated queries see a continuous window.
const LIVE_FIELD_LINGER: Duration = Duration::from_secs(300);

/// A Kafka record header.
#[derive(SimpleObject, Clone)]
pub struct RecordHeader {
    pub key: String,
    /// The value as UTF-8 (lossy); null for a null value.
    pub value: Option<String>,
}

/// How a record's value was decoded.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum RecordEncoding {
    /// No value (a tombstone): `value` is null.
    Empty,
    Json,
    /// Confluent wire format: magic byte 0, 4-byte schema id (`SchemaVersion.schemaId`).
    AvroConfluent,
    /// Plain Avro, read with one of the product's versions.
    Avro,
}

impl From<Encoding> for RecordEncoding {
    fn from(e: Encoding) -> Self {
        match e {
            Encoding::Empty => Self::Empty,
            Encoding::Json => Self::Json,
            Encoding::AvroConfluent => Self::AvroConfluent,
            Encoding::Avro => Self::Avro,
        }
    }
}

/// A decoded record of a product's topic.
#[derive(SimpleObject, Clone)]
pub struct KafkaRecord {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<String>,
    pub timestamp: Option<DateTime<Utc>>,
    pub headers: Vec<RecordHeader>,
    /// The value as JSON.
    pub value: async_graphql::Json<Value>,
    pub encoding: RecordEncoding,
    /// The schema version it was read with (Avro) or conforms to (JSON).
    pub schema_version: Option<i32>,
    /// Whether it conforms to a registered schema version.
    pub conforms: bool,
    /// Whether PII fields of `value` were masked for this reader.
    pub masked: bool,
}

/// A record whose value could not be decoded: delivered, never dropped.
#[derive(SimpleObject, Clone)]
pub struct RecordDecodeError {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<String>,
    pub timestamp: Option<DateTime<Utc>>,
    pub headers: Vec<RecordHeader>,
    pub message: String,
    /// The raw value, base64.
    pub raw_base64: String,
}

/// The subscriber fell behind: `skipped` records were dropped for it, and
/// delivery continues from the newest.
#[derive(SimpleObject, Clone)]
pub struct Lagged {
    pub skipped: i64,
}

/// One item of `productEvents`.
#[derive(Union, Clone)]
pub enum ProductEvent {
    Record(KafkaRecord),
    DecodeError(RecordDecodeError),
    Lagged(Lagged),
}

fn headers(record: &LiveRecord) -> Vec<RecordHeader> {
    record
        .headers
        .iter()
        .map(|(k, v)| RecordHeader {
            key: k.clone(),
            value: v.clone(),
        })
        .collect()
}

impl ProductEvent {
    /// The event for one delivery; `pii`: whether the reader sees PII
    /// fields unmasked.
    pub fn of(d: Delivery, pii: bool) -> Self {
        match d {
            Delivery::Lagged(n) => ProductEvent::Lagged(Lagged { skipped: n as i64 }),
            Delivery::Record(r) => match &r.value {
                Ok(decoded) => ProductEvent::Record(KafkaRecord {
                    partition: r.partition,
                    offset: r.offset,
                    key: r.key.clone(),
                    timestamp: r.timestamp,
                    headers: headers(&r),
                    value: async_graphql::Json(match (&decoded.masked, pii) {
                        (Some(masked), false) => masked.clone(),
                        _ => decoded.value.clone(),
                    }),
                    masked: decoded.masked.is_some() && !pii,
                    encoding: decoded.encoding.into(),
                    schema_version: decoded.schema_version,
                    conforms: decoded.conforms,
                }),
                Err(failure) => ProductEvent::DecodeError(RecordDecodeError {
                    partition: r.partition,
                    offset: r.offset,
                    key: r.key.clone(),
                    timestamp: r.timestamp,
                    headers: headers(&r),
                    message: failure.message.clone(),
                    raw_base64: failure.raw_base64.clone(),
                }),
            },
        }
    }
}

/// A partition and the offset to start it at.
#[derive(InputObject, Clone)]
pub struct PartitionOffsetInput {
    pub partition: i32,
    pub offset: i64,
}

/// A named start position.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum StartPosition {
    /// Only records produced from now on (the shared live consumer).
    Latest,
    /// Every record still in the topic, then live.
    Earliest,
}

/// Where `productEvents` starts: exactly one of the fields.
#[derive(OneofObject, Clone)]
pub enum EventsFrom {
    Position(StartPosition),
    /// The first record at or after this time, per partition.
    Timestamp(DateTime<Utc>),
    /// Explicit offsets; unlisted partitions start at their end.
    Offsets(Vec<PartitionOffsetInput>),
}

impl EventsFrom {
    pub fn start_at(&self) -> StartAt {
        match self {
            EventsFrom::Position(StartPosition::Latest) => StartAt::Latest,
            EventsFrom::Position(StartPosition::Earliest) => StartAt::Earliest,
            EventsFrom::Timestamp(t) => StartAt::Timestamp(t.timestamp_millis()),
            EventsFrom::Offsets(list) => StartAt::Offsets(list.iter().map(|p| (p.partition, p.offset)).collect()),
        }
    }
}

/// A JSON value the record must have at a dotted path.
#[derive(InputObject, Clone)]
pub struct FieldEqualsInput {
    /// Dotted path into the decoded value, e.g. `customer.country`.
    pub path: String,
    pub value: async_graphql::Json<Value>,
}

/// Which records of `productEvents` to deliver (all conditions must hold).
/// `lagged` notices and decode errors are always delivered.
#[derive(InputObject, Clone, Default)]
pub struct ProductEventsFilter {
    pub key: Option<String>,
    pub partitions: Option<Vec<i32>>,
    pub field_equals: Option<Vec<FieldEqualsInput>>,
}

impl ProductEventsFilter {
    pub fn validate(&self) -> Result<(), async_graphql::Error> {
        if let Some(fields) = &self.field_equals {
            if fields.len() > 16 || fields.iter().any(|f| f.path.trim().is_empty() || f.path.len() > 256) {
                return Err(CatalogError::Validation(
                    "fieldEquals: at most 16 non-empty paths of up to 256 characters".into(),
                )
                .extend());
            }
        }
        Ok(())
    }

    /// Whether the filter lets `delivery` through. Field conditions see
    /// the value as the caller does: masked unless `pii`, so a filter can
    /// never test guesses of a masked field's value.
    pub fn accepts(&self, delivery: &Delivery, pii: bool) -> bool {
        let Delivery::Record(record) = delivery else {
            return true;
        };
        if self.key.as_ref().is_some_and(|k| record.key.as_ref() != Some(k)) {
            return false;
        }
        if self.partitions.as_ref().is_some_and(|p| !p.contains(&record.partition)) {
            return false;
        }
        match (&self.field_equals, &record.value) {
            (Some(fields), Ok(decoded)) => fields.iter().all(|f| {
                let seen = match (&decoded.masked, pii) {
                    (Some(masked), false) => masked,
                    _ => &decoded.value,
                };
                let mut at = Some(seen);
                for part in f.path.split('.') {
                    at = at.and_then(|v| v.get(part));
                }
                at == Some(&f.value.0)
            }),
            _ => true,
        }
    }
}

/// A committed catalog change, as published on `mesh.catalog.events`.
#[derive(SimpleObject, Clone)]
pub struct CatalogEvent {
    pub event_id: String,
    #[graphql(name = "type")]
    pub kind: ChangeKind,
    pub time: Option<DateTime<Utc>>,
    pub actor: String,
    pub entity_kind: String,
    pub entity_id: String,
    pub entity_name: String,
    pub summary: String,
    /// Domains the change touches.
    pub domains: Vec<String>,
    /// Ids of the products the change touches.
    pub products: Vec<String>,
    /// The entity as the change left it (null once deleted).
    pub entity: async_graphql::Json<Value>,
    pub partition: i32,
    pub offset: i64,
}

/// One item of `catalogEvents`.
#[derive(Union, Clone)]
pub enum CatalogStreamItem {
    Event(Box<CatalogEvent>),
    Lagged(Lagged),
}

impl CatalogEvent {
    /// Reads a catalog event record; `None` for a record that is not one
    /// (logged and skipped: this topic is ours, so it means a foreign writer).
    pub fn parse(record: &LiveRecord) -> Option<Self> {
        let value = record.value.as_ref().ok()?.value.clone();
        let text = |k: &str| value.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
        let kind: ChangeKind = serde_json::from_value(value.get("type")?.clone()).ok()?;
        Some(Self {
            event_id: text("eventId"),
            kind,
            time: value
                .get("time")
                .and_then(Value::as_str)
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc)),
            actor: text("actor"),
            entity_kind: text("entityKind"),
            entity_id: text("entityId"),
            entity_name: text("entityName"),
            summary: text("summary"),
            domains: value
                .get("domains")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|d| d.as_str().map(str::to_owned)).collect())
                .unwrap_or_default(),
            products: value
                .get("products")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|d| d.as_str().map(str::to_owned)).collect())
                .unwrap_or_default(),
            entity: async_graphql::Json(value.get("entity").cloned().unwrap_or(Value::Null)),
            partition: record.partition,
            offset: record.offset,
        })
    }
}

/// Freshness against the product's SLA.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum FreshnessStatus {
    /// The last record is within the SLA's maximum freshness.
    Ok,
    /// Older than allowed, or no record seen.
    Stale,
    /// The product has no freshness SLA, or its live figures are warming
    /// up (a consumer just started and has not read the newest record yet).
    Unknown,
}

/// Live figures of a product, from its topic's shared consumer.
#[derive(SimpleObject, Clone)]
pub struct ProductHealth {
    pub product: String,
    pub at: DateTime<Utc>,
    pub last_event_time: Option<DateTime<Utc>>,
    /// Over the last minute; the part before the consumer started is
    /// counted at the rate the broker's offsets show.
    pub events_per_second: f64,
    pub recent_records: i64,
    pub freshness: FreshnessStatus,
    pub max_freshness_seconds: Option<i64>,
    /// Share (0–1) of recent records conforming to a registered schema
    /// version; null without recent records.
    pub schema_conformance: Option<f64>,
    /// Since when the figures are measured.
    pub watching_since: DateTime<Utc>,
}

impl ProductHealth {
    pub fn of(product: &data_product::Model, figures: &Figures) -> Self {
        let now = Utc::now();
        let freshness = match (product.sla_max_freshness_seconds, figures.last_event_at) {
            (None, _) => FreshnessStatus::Unknown,
            (Some(_), None) if figures.warming_up => FreshnessStatus::Unknown,
            (Some(max), Some(last)) if (now - last).num_seconds() <= max => FreshnessStatus::Ok,
            (Some(_), _) => FreshnessStatus::Stale,
        };
        Self {
            product: product.qualified_name.clone(),
            at: now,
            last_event_time: figures.last_event_at,
            events_per_second: figures.events_per_second,
            recent_records: figures.recent_records as i64,
            freshness,
            max_freshness_seconds: product.sla_max_freshness_seconds,
            schema_conformance: figures.conformance,
            watching_since: figures.watching_since,
        }
    }
}

/// A product's live figures over one interval of the freshness monitor.
#[derive(SimpleObject, Clone)]
pub struct LiveInterval {
    /// The interval's end.
    pub at: DateTime<Utc>,
    /// Records per second over the interval, from the topic's offsets.
    pub events_per_second: f64,
    /// When a record last arrived, as of `at`, to within one interval; null
    /// if none arrived since this server started watching the topic.
    pub last_event_time: Option<DateTime<Utc>>,
}

/// `DataProduct.liveHistory`: the freshness monitor's intervals of the last
/// `minutes` (1–30).
pub fn live_history(
    live: &Live,
    product: &data_product::Model,
    minutes: i32,
) -> async_graphql::Result<Vec<LiveInterval>> {
    if !(1..=30).contains(&minutes) {
        return Err(CatalogError::Validation("minutes must be between 1 and 30".into()).extend());
    }
    let span = Duration::from_secs(minutes as u64 * 60);
    Ok(live
        .history(&product.id, span)
        .into_iter()
        .map(|i| LiveInterval {
            at: i.at,
            events_per_second: i.events_per_second,
            last_event_time: i.last_event_at,
        })
        .collect())
}

/// A setting where the topic in Kafka differs from the catalog.
#[derive(SimpleObject, Clone)]
pub struct TopicDrift {
    pub setting: String,
    pub expected: String,
    pub actual: String,
}

/// The product's topic as Kafka has it.
#[derive(SimpleObject, Clone)]
pub struct TopicStatus {
    pub exists: bool,
    pub partitions: Option<i32>,
    /// Empty when the topic matches the catalog.
    pub drift: Vec<TopicDrift>,
}

impl From<TopicState> for TopicStatus {
    fn from(s: TopicState) -> Self {
        Self {
            exists: s.exists,
            partitions: s.partitions,
            drift: s
                .drift
                .into_iter()
                .map(|d| TopicDrift {
                    setting: d.setting,
                    expected: d.expected,
                    actual: d.actual,
                })
                .collect(),
        }
    }
}

/// A running shared consumer.
#[derive(SimpleObject, Clone)]
pub struct LiveConsumer {
    pub topic: String,
    pub subscribers: i32,
    /// Distinct live `productEvents` subscriptions, each rendered once per
    /// record for all its subscribers (those that sent the same document
    /// and variables with the same PII access).
    pub renditions: i32,
}

pub(crate) fn kafka_unavailable(e: impl std::fmt::Display) -> async_graphql::Error {
    async_graphql::Error::new(format!("Kafka is unavailable: {e}")).extend_with(|_, x| x.set("code", "UNAVAILABLE"))
}

/// `DataProduct.topicStatus`.
pub async fn topic_status(live: &Live, product: &data_product::Model) -> async_graphql::Result<TopicStatus> {
    live.admin()
        .inspect(&TopicSpec::of_product(product))
        .await
        .map(Into::into)
        .map_err(kafka_unavailable)
}

/// How long a first answer waits for a fresh feed to read its topic's
/// newest record (else it says UNKNOWN: warming up).
pub(crate) const WARM_UP: Duration = Duration::from_secs(3);

/// `DataProduct.live`: figures of the shared consumer, started on demand and
/// kept for a while so the next query sees a longer window.
pub async fn live_figures(live: &Live, product: &data_product::Model) -> async_graphql::Result<ProductHealth> {
    let feed = live
        .hub()
        .feed(&product.topic_name, Some(&product.id))
        .await
        .map_err(kafka_unavailable)?;
    let figures = feed.warm_health(WARM_UP).await;
    tokio::spawn(async move {
        tokio::time::sleep(LIVE_FIELD_LINGER).await;
        drop(feed);
    });
    Ok(ProductHealth::of(product, &figures))
}
