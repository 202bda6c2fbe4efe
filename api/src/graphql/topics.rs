//! Adopting existing topics: `unadoptedTopics` lists the cluster's topics
//! that are no data product yet (settings, size, rate, sample records and
//! an inferred schema, each fetched only when asked for), and `adoptTopic`
//! publishes one.

use async_graphql::connection::{Connection, Edge, OpaqueCursor};
use async_graphql::{Context, InputObject, Object, Result, SimpleObject};
use base64::Engine;
use chrono::{DateTime, Utc};
use tokio::sync::OnceCell;

use crate::catalog::CleanupPolicy;
use crate::stream::adopt::{self, InferredSchema as Inferred};
use crate::stream::topics::{SampledRecord, TopicDetails};
use crate::stream::Live;

use super::error::GqlResult;
use super::query::{decode_cursor, page_size, Cursor};
use super::{caller, catalog};

/// Narrows `unadoptedTopics`.
#[derive(InputObject, Default)]
pub struct UnadoptedTopicFilter {
    /// Topics whose name contains this text (case-insensitive).
    pub name_contains: Option<String>,
}

/// Extra fields of the `unadoptedTopics` connection.
#[derive(SimpleObject)]
pub struct TopicCountFields {
    /// Matching topics across all pages.
    pub total_count: u64,
}

/// Records whose mean size estimates a topic's bytes.
const SIZE_SAMPLE: usize = 20;

fn live<'a>(ctx: &Context<'a>) -> &'a Live {
    ctx.data_unchecked::<Live>()
}

/// Records each topic of a listing reads once, for its sample, size
/// estimate and inferred schema alike.
const SHARED_SAMPLE: usize = 100;

/// A topic of the connected cluster that is not a data product yet.
pub struct UnadoptedTopic {
    name: String,
    partitions: i32,
    details: OnceCell<Option<TopicDetails>>,
    newest: OnceCell<Vec<SampledRecord>>,
}

impl UnadoptedTopic {
    /// The `n` newest records: from one shared read of the newest
    /// [`SHARED_SAMPLE`], or a read of their own when more are wanted.
    async fn newest(&self, ctx: &Context<'_>, n: usize) -> Result<Vec<SampledRecord>> {
        if n > SHARED_SAMPLE {
            return live(ctx).topics().sample(&self.name, n).await.gql();
        }
        let newest = self
            .newest
            .get_or_try_init(|| live(ctx).topics().sample(&self.name, SHARED_SAMPLE))
            .await
            .gql()?;
        Ok(newest.iter().take(n).cloned().collect())
    }

    async fn details(&self, ctx: &Context<'_>) -> Result<Option<&TopicDetails>> {
        let details = self
            .details
            .get_or_try_init(|| live(ctx).topics().details(&self.name))
            .await
            .gql()?;
        Ok(details.as_ref())
    }
}

#[Object]
impl UnadoptedTopic {
    async fn name(&self) -> &str {
        &self.name
    }
    async fn partitions(&self) -> i32 {
        self.partitions
    }
    /// `retention.ms` (-1: forever), when the broker reports it.
    async fn retention_ms(&self, ctx: &Context<'_>) -> Result<Option<i64>> {
        Ok(self.details(ctx).await?.and_then(|d| d.retention_ms))
    }
    /// `cleanup.policy`, when the broker reports it.
    async fn cleanup_policy(&self, ctx: &Context<'_>) -> Result<Option<CleanupPolicy>> {
        Ok(self.details(ctx).await?.and_then(|d| d.cleanup_policy))
    }
    /// Records held (the sum of each partition's high minus low offset;
    /// approximate on compacted and transactional topics).
    async fn approximate_records(&self, ctx: &Context<'_>) -> Result<Option<i64>> {
        Ok(self.details(ctx).await?.map(|d| d.records))
    }
    /// Bytes held, estimated as the record count times the mean size (key
    /// and value) of the 20 newest records (Kafka's exact log size needs
    /// DescribeLogDirs, which librdkafka does not offer).
    async fn estimated_bytes(&self, ctx: &Context<'_>) -> Result<Option<i64>> {
        let Some(records) = self.details(ctx).await?.map(|d| d.records) else {
            return Ok(None);
        };
        let sample = self.newest(ctx, SIZE_SAMPLE).await?;
        if sample.is_empty() {
            return Ok(Some(0));
        }
        let bytes: usize = sample
            .iter()
            .map(|r| r.key.as_ref().map_or(0, Vec::len) + r.value.as_ref().map_or(0, Vec::len))
            .sum();
        Ok(Some(
            (bytes as f64 / sample.len() as f64 * records as f64).round() as i64
        ))
    }
    /// Records per second appended over the last minute; null when the
    /// broker cannot look offsets up by time.
    async fn records_per_second(&self, ctx: &Context<'_>) -> Result<Option<f64>> {
        Ok(self.details(ctx).await?.and_then(|d| d.records_per_second))
    }
    /// The newest records, newest first (at most 100).
    async fn sample(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 5, validator(minimum = 1, maximum = 100))] limit: usize,
    ) -> Result<Vec<TopicRecord>> {
        Ok(self.newest(ctx, limit).await?.into_iter().map(TopicRecord).collect())
    }
    /// A JSON Schema inferred from the newest records, to review and pass
    /// to `adoptTopic`; null when none of them is JSON.
    async fn inferred_schema(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 100)] sample_size: usize,
    ) -> Result<Option<InferredSchema>> {
        adopt::check_sample_size(sample_size).gql()?;
        let records = self.newest(ctx, sample_size).await?;
        Ok(adopt::infer_from(&records).map(InferredSchema))
    }
}

/// A record read from a topic, raw.
pub struct TopicRecord(SampledRecord);

#[Object]
impl TopicRecord {
    async fn partition(&self) -> i32 {
        self.0.partition
    }
    async fn offset(&self) -> i64 {
        self.0.offset
    }
    async fn timestamp(&self) -> Option<DateTime<Utc>> {
        self.0.timestamp
    }
    /// The key as UTF-8 (lossy).
    async fn key(&self) -> Option<String> {
        self.0.key.as_deref().map(|k| String::from_utf8_lossy(k).into_owned())
    }
    /// The value, when it is JSON.
    async fn json(&self) -> Option<async_graphql::Json<serde_json::Value>> {
        let value = self.0.value.as_deref()?;
        serde_json::from_slice(value).ok().map(async_graphql::Json)
    }
    /// The value's bytes, base64.
    async fn raw_base64(&self) -> Option<String> {
        self.0
            .value
            .as_deref()
            .map(|v| base64::engine::general_purpose::STANDARD.encode(v))
    }
}

/// A JSON Schema inferred from sampled records.
pub struct InferredSchema(Inferred);

#[Object]
impl InferredSchema {
    /// The schema (JSON Schema, draft 2020-12), pretty-printed.
    async fn definition(&self) -> &str {
        &self.0.definition
    }
    /// How many JSON records it describes.
    async fn records(&self) -> usize {
        self.0.records
    }
    /// Sampled records skipped because they were not JSON.
    async fn skipped(&self) -> usize {
        self.0.skipped
    }
}

#[derive(Default)]
pub struct TopicsQuery;

#[Object]
impl TopicsQuery {
    /// Topics of the connected cluster that are no data product yet, by
    /// name; internal topics are never listed. Members of a team owning a
    /// domain (and admins) only.
    async fn unadopted_topics(
        &self,
        ctx: &Context<'_>,
        filter: Option<UnadoptedTopicFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<Cursor, UnadoptedTopic, TopicCountFields>> {
        let first = page_size(first)? as usize;
        let after = decode_cursor(after)?;
        catalog(ctx)
            .inspect_cluster(caller(ctx), "unadoptedTopics", "cluster")
            .await
            .gql()?;
        let claimed = catalog(ctx).claimed_topics().await.gql()?;
        let needle = filter
            .and_then(|f| f.name_contains)
            .map(|n| n.to_lowercase())
            .unwrap_or_default();
        let matching: Vec<_> = live(ctx)
            .topics()
            .list()
            .await
            .gql()?
            .into_iter()
            .filter(|t| {
                !claimed.contains(&t.name)
                    && !catalog(ctx).reserved_topics().contains(&t.name)
                    && t.name.to_lowercase().contains(&needle)
            })
            .collect();
        let total_count = matching.len() as u64;
        let mut page: Vec<_> = matching
            .into_iter()
            .filter(|t| after.as_ref().is_none_or(|a| t.name > *a))
            .take(first + 1)
            .collect();
        let has_next = page.len() > first;
        page.truncate(first);
        let mut connection =
            Connection::with_additional_fields(after.is_some(), has_next, TopicCountFields { total_count });
        connection.edges.extend(page.into_iter().map(|t| {
            Edge::new(
                OpaqueCursor(t.name.clone()),
                UnadoptedTopic {
                    name: t.name,
                    partitions: t.partitions,
                    details: OnceCell::new(),
                    newest: OnceCell::new(),
                },
            )
        }));
        Ok(connection)
    }
}
