//! Data products: their topic, SLA, deprecation and nested lists.

use async_graphql::{ComplexObject, Context, ErrorExtensions, Object, Result, SimpleObject, ID};
use chrono::{DateTime, Utc};

use crate::catalog::{
    self as domain_layer, CatalogError, CleanupPolicy, Contact, Direction, ProductStatus, QualityClass, SlaTier,
    SubscriptionStatus, UseCaseRole, Visibility,
};
use crate::store::entities::{access_subscription, data_product, schema_version, use_case};

use super::super::error::GqlResult;
use super::super::loader;
use super::super::loaders::*;
use super::*;

/// The Kafka topic that carries a product's records.
#[derive(SimpleObject)]
pub struct Topic {
    pub name: String,
    pub partitions: i32,
    /// Retention in milliseconds; -1 keeps records forever.
    pub retention_ms: i64,
    pub cleanup_policy: CleanupPolicy,
}

/// The product's declared service level.
#[derive(SimpleObject)]
pub struct Sla {
    pub tier: SlaTier,
    /// Target availability, in percent.
    pub availability_percent: Option<f64>,
    /// Seconds without a new record after which the product is stale.
    pub max_freshness_seconds: Option<i64>,
    /// Maximum end-to-end latency, in milliseconds.
    pub max_latency_ms: Option<i64>,
    pub retention_days: Option<i32>,
    pub support_hours: Option<String>,
    pub on_call: Option<String>,
}

/// Why and until when a product is deprecated, and what replaces it.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Deprecation {
    pub reason: String,
    /// `YYYY-MM-DD`.
    pub sunset_date: Option<String>,
    #[graphql(skip)]
    pub successor_id: Option<String>,
}

#[ComplexObject]
impl Deprecation {
    /// The product consumers should move to (null if none was named, or if
    /// you cannot see it).
    async fn successor(&self, ctx: &Context<'_>) -> Result<Option<DataProduct>> {
        match &self.successor_id {
            Some(id) => visible_product(ctx, id).await,
            None => Ok(None),
        }
    }
}

/// A data product: a Kafka topic published by a domain team, with its
/// schema, SLA, quality and lineage.
/// Shared: a search hit's product is the row its cache holds.
pub struct DataProduct(pub std::sync::Arc<data_product::Model>);

impl From<data_product::Model> for DataProduct {
    fn from(row: data_product::Model) -> Self {
        Self(row.into())
    }
}

impl DataProduct {
    async fn schemas(&self, ctx: &Context<'_>) -> Result<Vec<schema_version::Model>> {
        Ok(loader(ctx)
            .load_one(SchemasOfProduct(self.0.id.clone()))
            .await?
            .unwrap_or_default())
    }

    async fn subscription_rows(&self, ctx: &Context<'_>) -> Result<Vec<access_subscription::Model>> {
        Ok(loader(ctx)
            .load_one(SubscriptionsOfProduct(self.0.id.clone()))
            .await?
            .unwrap_or_default())
    }
}

#[Object]
impl DataProduct {
    async fn id(&self) -> ID {
        id(&self.0.id)
    }
    /// `<domain>.<name>`, unique.
    async fn qualified_name(&self) -> &str {
        &self.0.qualified_name
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn display_name(&self) -> &str {
        &self.0.display_name
    }
    /// Markdown.
    async fn description(&self) -> &str {
        &self.0.description
    }
    async fn domain(&self, ctx: &Context<'_>) -> Result<Domain> {
        loader(ctx)
            .load_one(DomainById(self.0.domain_id.clone()))
            .await?
            .map(Domain)
            .ok_or_else(|| CatalogError::Internal("domain missing".into()).extend())
    }
    async fn owner_team(&self, ctx: &Context<'_>) -> Result<Team> {
        team_of(ctx, &self.0.owner_team_id).await
    }
    async fn contacts(&self) -> Vec<Contact> {
        serde_json::from_str(&self.0.contacts).unwrap_or_default()
    }
    async fn tags(&self, ctx: &Context<'_>) -> Result<Vec<String>> {
        let rows = loader(ctx)
            .load_one(TagsOfProduct(self.0.id.clone()))
            .await?
            .unwrap_or_default();
        Ok(rows.into_iter().map(|t| t.tag).collect())
    }
    async fn status(&self) -> Result<ProductStatus> {
        Ok(self.0.status)
    }
    async fn deprecation(&self) -> Option<Deprecation> {
        self.0.deprecation_reason.as_ref().map(|reason| Deprecation {
            reason: reason.clone(),
            sunset_date: self.0.sunset_date.clone(),
            successor_id: self.0.successor_id.clone(),
        })
    }
    /// What the owner says the product is (AUTHORITATIVE, CURATED or RAW);
    /// the measured quality (`qualityScore`, `live`) may disagree.
    async fn quality_class(&self) -> Result<QualityClass> {
        Ok(self.0.quality_class)
    }
    async fn visibility(&self) -> Result<Visibility> {
        Ok(self.0.visibility)
    }
    async fn compatibility(&self) -> Result<CompatibilityMode> {
        Ok(domain_layer::decode_mode(&self.0.compatibility).gql()?.into())
    }
    async fn topic(&self) -> Result<Topic> {
        Ok(Topic {
            name: self.0.topic_name.clone(),
            partitions: self.0.topic_partitions,
            retention_ms: self.0.topic_retention_ms,
            cleanup_policy: self.0.topic_cleanup_policy,
        })
    }
    /// The topic as Kafka has it now, and any drift from the catalog.
    async fn topic_status(&self, ctx: &Context<'_>) -> Result<super::super::live::TopicStatus> {
        super::super::live::topic_status(ctx.data_unchecked(), &self.0).await
    }
    /// Measured SLA and quality from the topic's live consumer: last event
    /// time, events/s, freshness (OK/STALE), schema conformance.
    async fn live(&self, ctx: &Context<'_>) -> Result<super::super::live::ProductHealth> {
        super::super::live::live_figures(ctx.data_unchecked(), &self.0).await
    }
    /// Events/s and the last event time over the last `minutes` (1–30), one
    /// interval per pass of the server's freshness monitor
    /// (`--freshness-check`), for products that declare a maximum
    /// freshness; empty for the others and after a restart until two passes
    /// have run. For charts that show the recent past at once.
    async fn live_history(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 10)] minutes: i32,
    ) -> Result<Vec<super::super::live::LiveInterval>> {
        super::super::live::live_history(ctx.data_unchecked(), &self.0, minutes)
    }
    async fn sla(&self) -> Result<Option<Sla>> {
        let Some(tier) = &self.0.sla_tier else { return Ok(None) };
        Ok(Some(Sla {
            tier: *tier,
            availability_percent: self.0.sla_availability_percent,
            max_freshness_seconds: self.0.sla_max_freshness_seconds,
            max_latency_ms: self.0.sla_max_latency_ms,
            retention_days: self.0.sla_retention_days,
            support_hours: self.0.sla_support_hours.clone(),
            on_call: self.0.sla_on_call.clone(),
        }))
    }
    /// The latest schema version.
    async fn schema(&self, ctx: &Context<'_>) -> Result<Option<SchemaVersion>> {
        let latest = loader(ctx).load_one(LatestSchemaOfProduct(self.0.id.clone())).await?;
        Ok(latest.map(SchemaVersion))
    }
    /// Every schema version, oldest first.
    async fn schema_versions(&self, ctx: &Context<'_>) -> Result<Vec<SchemaVersion>> {
        Ok(self.schemas(ctx).await?.into_iter().map(SchemaVersion).collect())
    }
    async fn schema_version(&self, ctx: &Context<'_>, version: i32) -> Result<Option<SchemaVersion>> {
        Ok(self
            .schemas(ctx)
            .await?
            .into_iter()
            .find(|v| v.version == version)
            .map(SchemaVersion))
    }
    async fn quality_checks(&self, ctx: &Context<'_>) -> Result<Vec<QualityCheck>> {
        let rows = loader(ctx)
            .load_one(ChecksOfProduct(self.0.id.clone()))
            .await?
            .unwrap_or_default();
        Ok(rows.into_iter().map(QualityCheck).collect())
    }
    /// 0–100 from the latest result of each check (PASS 1, WARN ½, FAIL 0);
    /// null until a check has a result.
    async fn quality_score(&self, ctx: &Context<'_>) -> Result<Option<f64>> {
        let loader = loader(ctx);
        let checks = loader
            .load_one(ChecksOfProduct(self.0.id.clone()))
            .await?
            .unwrap_or_default();
        let latest = loader
            .load_many(checks.iter().map(|c| LatestResultOfCheck(c.id.clone())))
            .await?
            .into_values()
            .map(|r| r.status)
            .collect::<Vec<_>>();
        Ok(domain_layer::quality_score(&latest))
    }
    /// Access subscriptions to this product, newest first.
    async fn subscriptions(
        &self,
        ctx: &Context<'_>,
        status: Option<SubscriptionStatus>,
    ) -> Result<Vec<AccessSubscription>> {
        Ok(self
            .subscription_rows(ctx)
            .await?
            .into_iter()
            .filter(|s| status.is_none_or(|st| s.status == st))
            .map(AccessSubscription)
            .collect())
    }
    /// Number of APPROVED subscriptions.
    async fn subscriber_count(&self, ctx: &Context<'_>) -> Result<i32> {
        Ok(self
            .subscription_rows(ctx)
            .await?
            .iter()
            .filter(|s| s.status == SubscriptionStatus::Approved)
            .count() as i32)
    }
    /// Lineage around this product.
    async fn lineage(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Direction::Both")] direction: Direction,
        #[graphql(default = 1)] depth: i32,
    ) -> Result<LineageGraph> {
        LineageGraph::around(ctx, domain_layer::NodeRef::Product(self.0.id.clone()), direction, depth).await
    }
    /// The use cases reading (INPUT) or writing (OUTPUT) this product.
    async fn use_cases(&self, ctx: &Context<'_>, role: Option<UseCaseRoleValue>) -> Result<Vec<UseCase>> {
        let loader = loader(ctx);
        let links = loader
            .load_one(UseCasesOfProduct(self.0.id.clone()))
            .await?
            .unwrap_or_default();
        let ids: Vec<UseCaseById> = links
            .iter()
            .filter(|l| role.is_none_or(|r| l.role == UseCaseRole::from(r).as_str()))
            .map(|l| UseCaseById(l.use_case_id.clone()))
            .collect();
        let found = loader.load_many(ids.iter().cloned()).await?;
        let mut rows: Vec<use_case::Model> = ids.iter().filter_map(|id| found.get(id).cloned()).collect();
        rows.sort_by(|a, b| (&a.application_id, &a.name).cmp(&(&b.application_id, &b.name)));
        rows.dedup_by(|a, b| a.id == b.id);
        visible_use_cases(ctx, rows).await
    }
    /// Optimistic concurrency token: pass it as `expectedVersion` to update.
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}
