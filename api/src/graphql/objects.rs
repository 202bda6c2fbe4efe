//! GraphQL output types. Each wraps a stored row and resolves its nested
//! fields through the request's DataLoader.

use async_graphql::{ComplexObject, Context, Enum, ErrorExtensions, Object, Result, SimpleObject, Union, ID};
use chrono::{DateTime, Utc};

use crate::catalog::schema::{self, CompatibilityMode as Mode};
use crate::catalog::{
    self as domain_layer, policy, CatalogError, ChangeKind as CatalogChangeKind, CheckKind, CleanupPolicy, Contact,
    Direction, EdgeKind, EntityKind, FieldMapping, NodeKind, ProductStatus, QualityClass, QualityStatus, SlaTier,
    SubscriptionStatus, UseCaseKind, UseCaseRole, Visibility,
};
use crate::store::entities::{
    access_subscription, application, audit_entry, data_product, domain, lineage_edge, quality_check, quality_result,
    schema_version, team, use_case,
};

use super::error::GqlResult;
use super::loaders::*;
use super::{catalog, loader, principal};

/// Format of a schema definition.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "SchemaFormat", remote = "crate::catalog::schema::SchemaFormat")]
pub enum SchemaFormat {
    Avro,
    JsonSchema,
}

/// Rule a new schema version must satisfy against earlier ones (Confluent
/// Schema Registry semantics).
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "CompatibilityMode", remote = "crate::catalog::schema::CompatibilityMode")]
pub enum CompatibilityMode {
    Backward,
    BackwardTransitive,
    Forward,
    ForwardTransitive,
    Full,
    FullTransitive,
    None,
}

/// How a field changed between two schema versions.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "FieldChangeKind", remote = "crate::catalog::schema::ChangeKind")]
pub enum FieldChangeKind {
    Added,
    Removed,
    Changed,
}

fn id(s: &str) -> ID {
    ID(s.to_owned())
}

/// The products of a nested list the caller may see (the policy's
/// `can_see`; hidden ones are simply absent).
fn visible_products(ctx: &Context<'_>, rows: Vec<data_product::Model>) -> Vec<DataProduct> {
    let principal = principal(ctx);
    rows.into_iter()
        .filter(|p| policy::can_see(principal, p))
        .map(DataProduct)
        .collect()
}

async fn team_of(ctx: &Context<'_>, team_id: &str) -> Result<Team> {
    loader(ctx)
        .load_one(TeamById(team_id.to_owned()))
        .await?
        .map(Team)
        .ok_or_else(|| CatalogError::Internal(format!("team {team_id} missing")).extend())
}

/// A team: people (JWT subjects) who own domains, products and applications.
pub struct Team(pub team::Model);

#[Object]
impl Team {
    async fn id(&self) -> ID {
        id(&self.0.id)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    /// User ids of the members.
    async fn members(&self, ctx: &Context<'_>) -> Result<Vec<String>> {
        let rows = loader(ctx)
            .load_one(MembersOfTeam(self.0.id.clone()))
            .await?
            .unwrap_or_default();
        Ok(rows.into_iter().map(|m| m.user_id).collect())
    }
    async fn domains(&self, ctx: &Context<'_>) -> Result<Vec<Domain>> {
        let rows = loader(ctx)
            .load_one(DomainsOfTeam(self.0.id.clone()))
            .await?
            .unwrap_or_default();
        Ok(rows.into_iter().map(Domain).collect())
    }
    /// The products it owns that the caller can see.
    async fn data_products(&self, ctx: &Context<'_>) -> Result<Vec<DataProduct>> {
        let rows = loader(ctx)
            .load_one(ProductsOfTeam(self.0.id.clone()))
            .await?
            .unwrap_or_default();
        Ok(visible_products(ctx, rows))
    }
    async fn applications(&self, ctx: &Context<'_>) -> Result<Vec<Application>> {
        let rows = loader(ctx)
            .load_one(ApplicationsOfTeam(self.0.id.clone()))
            .await?
            .unwrap_or_default();
        Ok(rows.into_iter().map(Application).collect())
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A business domain, owned by one team, grouping data products.
pub struct Domain(pub domain::Model);

#[Object]
impl Domain {
    async fn id(&self) -> ID {
        id(&self.0.id)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    async fn owner_team(&self, ctx: &Context<'_>) -> Result<Team> {
        team_of(ctx, &self.0.owner_team_id).await
    }
    /// Its products the caller can see.
    async fn data_products(&self, ctx: &Context<'_>) -> Result<Vec<DataProduct>> {
        let rows = loader(ctx)
            .load_one(ProductsOfDomain(self.0.id.clone()))
            .await?
            .unwrap_or_default();
        Ok(visible_products(ctx, rows))
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

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

/// A product loaded by id as any nested product is: only if the caller may
/// see it now.
pub(super) async fn visible_product(ctx: &Context<'_>, id: &str) -> Result<Option<DataProduct>> {
    Ok(loader(ctx)
        .load_one(ProductById(id.to_owned()))
        .await?
        .filter(|p| policy::can_see(principal(ctx), p))
        .map(DataProduct))
}

/// A data product: a Kafka topic published by a domain team, with its
/// schema, SLA, quality and lineage.
pub struct DataProduct(pub data_product::Model);

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
        ProductStatus::decode(&self.0.status).gql()
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
        QualityClass::decode(&self.0.quality_class).gql()
    }
    async fn visibility(&self) -> Result<Visibility> {
        Visibility::decode(&self.0.visibility).gql()
    }
    async fn compatibility(&self) -> Result<CompatibilityMode> {
        Ok(domain_layer::decode_mode(&self.0.compatibility).gql()?.into())
    }
    async fn topic(&self) -> Result<Topic> {
        Ok(Topic {
            name: self.0.topic_name.clone(),
            partitions: self.0.topic_partitions,
            retention_ms: self.0.topic_retention_ms,
            cleanup_policy: CleanupPolicy::decode(&self.0.topic_cleanup_policy).gql()?,
        })
    }
    /// The topic as Kafka has it now, and any drift from the catalog.
    async fn topic_status(&self, ctx: &Context<'_>) -> Result<super::live::TopicStatus> {
        super::live::topic_status(ctx.data_unchecked(), &self.0).await
    }
    /// Measured SLA and quality from the topic's live consumer: last event
    /// time, events/s, freshness (OK/STALE), schema conformance.
    async fn live(&self, ctx: &Context<'_>) -> Result<super::live::ProductHealth> {
        super::live::live_figures(ctx.data_unchecked(), &self.0).await
    }
    async fn sla(&self) -> Result<Option<Sla>> {
        let Some(tier) = &self.0.sla_tier else { return Ok(None) };
        Ok(Some(Sla {
            tier: SlaTier::decode(tier).gql()?,
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
        Ok(self.schemas(ctx).await?.pop().map(SchemaVersion))
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
        let results = loader
            .load_many(checks.iter().map(|c| ResultsOfCheck(c.id.clone())))
            .await?;
        let latest = results
            .values()
            .filter_map(|r| r.first())
            .map(|r| QualityStatus::decode(&r.status))
            .collect::<Result<Vec<_>, _>>()
            .gql()?;
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
            .filter(|s| status.is_none_or(|st| s.status == st.as_str()))
            .map(AccessSubscription)
            .collect())
    }
    /// Number of APPROVED subscriptions.
    async fn subscriber_count(&self, ctx: &Context<'_>) -> Result<i32> {
        let approved = SubscriptionStatus::Approved.as_str();
        Ok(self
            .subscription_rows(ctx)
            .await?
            .iter()
            .filter(|s| s.status == approved)
            .count() as i32)
    }
    /// Lineage around this product.
    async fn lineage(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Direction::Both")] direction: Direction,
        #[graphql(default = 1)] depth: i32,
    ) -> Result<LineageGraph> {
        let graph = catalog(ctx)
            .lineage(
                principal(ctx),
                &domain_layer::NodeRef::Product(self.0.id.clone()),
                direction,
                depth,
            )
            .await
            .gql()?;
        Ok(LineageGraph(graph))
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

/// One registered version of a product's schema.
pub struct SchemaVersion(pub schema_version::Model);

#[Object]
impl SchemaVersion {
    async fn id(&self) -> ID {
        id(&self.0.id)
    }
    /// 1, 2, 3… per product.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// Global numeric id, stable once given: the schema id of the Confluent
    /// wire format (magic byte 0, then this id as 4 big-endian bytes).
    async fn schema_id(&self, ctx: &Context<'_>) -> Result<Option<i64>> {
        catalog(ctx).schema_registry_id(&self.0.id).await.gql()
    }
    async fn format(&self) -> Result<SchemaFormat> {
        Ok(domain_layer::decode_format(&self.0.format).gql()?.into())
    }
    /// The definition as registered.
    async fn definition(&self) -> &str {
        &self.0.definition
    }
    /// Fields flattened to dotted paths, in declaration order.
    async fn fields(&self) -> Result<Vec<SchemaField>> {
        Ok(domain_layer::stored_fields(&self.0)
            .gql()?
            .into_iter()
            .map(SchemaField)
            .collect())
    }
    async fn created_by(&self) -> &str {
        &self.0.created_by
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A field of a schema, at any nesting depth.
pub struct SchemaField(pub schema::SchemaField);

#[Object]
impl SchemaField {
    /// Dotted path from the root, e.g. `customer.address.city`, `lines[].sku`.
    async fn path(&self) -> &str {
        &self.0.path
    }
    /// The last segment of the path.
    async fn name(&self) -> &str {
        self.0.path.rsplit('.').next().unwrap_or(&self.0.path)
    }
    #[graphql(name = "type")]
    async fn type_name(&self) -> &str {
        &self.0.type_name
    }
    async fn doc(&self) -> Option<&str> {
        self.0.doc.as_deref()
    }
    async fn nullable(&self) -> bool {
        self.0.nullable
    }
    async fn required(&self) -> bool {
        self.0.required
    }
    /// The default value as JSON text.
    async fn default(&self) -> Option<String> {
        self.0.default.as_ref().map(|d| d.to_string())
    }
    /// Tags such as `PII`.
    async fn tags(&self) -> &[String] {
        &self.0.tags
    }
}

/// A field added, removed or changed between two versions.
pub struct FieldChange(pub schema::FieldChange);

#[Object]
impl FieldChange {
    async fn path(&self) -> &str {
        &self.0.path
    }
    async fn kind(&self) -> FieldChangeKind {
        self.0.kind.into()
    }
    async fn before(&self) -> Option<SchemaField> {
        self.0.before.clone().map(SchemaField)
    }
    async fn after(&self) -> Option<SchemaField> {
        self.0.after.clone().map(SchemaField)
    }
    /// Human descriptions, e.g. `type long -> string`.
    async fn details(&self) -> &[String] {
        &self.0.details
    }
}

/// The structural difference between two schema versions.
pub struct SchemaDiff(pub domain_layer::SchemaDiff);

#[Object]
impl SchemaDiff {
    async fn from(&self) -> SchemaVersion {
        SchemaVersion(self.0.from.clone())
    }
    async fn to(&self) -> SchemaVersion {
        SchemaVersion(self.0.to.clone())
    }
    async fn changes(&self) -> Vec<FieldChange> {
        self.0.changes.iter().cloned().map(FieldChange).collect()
    }
}

/// Why a schema is not compatible.
#[derive(SimpleObject)]
pub struct Incompatibility {
    /// Field path, empty for the whole schema.
    pub path: String,
    pub message: String,
    /// The registered version it conflicts with.
    pub against_version: Option<i32>,
}

/// Result of `checkSchemaCompatibility`.
#[derive(SimpleObject)]
pub struct CompatibilityReport {
    pub compatible: bool,
    pub mode: CompatibilityMode,
    pub incompatibilities: Vec<Incompatibility>,
}

impl CompatibilityReport {
    pub fn new(mode: Mode, problems: Vec<schema::Incompatibility>) -> Self {
        Self {
            compatible: problems.is_empty(),
            mode: mode.into(),
            incompatibilities: problems
                .into_iter()
                .map(|p| Incompatibility {
                    path: p.path,
                    message: p.message,
                    against_version: p.against_version,
                })
                .collect(),
        }
    }
}

/// A named data quality check of a product.
pub struct QualityCheck(pub quality_check::Model);

#[Object]
impl QualityCheck {
    async fn id(&self) -> ID {
        id(&self.0.id)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn kind(&self) -> Result<CheckKind> {
        CheckKind::decode(&self.0.kind).gql()
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    async fn threshold(&self) -> Option<f64> {
        self.0.threshold
    }
    async fn latest_result(&self, ctx: &Context<'_>) -> Result<Option<QualityResult>> {
        let rows = loader(ctx)
            .load_one(ResultsOfCheck(self.0.id.clone()))
            .await?
            .unwrap_or_default();
        Ok(rows.into_iter().next().map(QualityResult))
    }
    /// Results, newest first.
    async fn results(&self, ctx: &Context<'_>, #[graphql(default = 20)] limit: usize) -> Result<Vec<QualityResult>> {
        let rows = loader(ctx)
            .load_one(ResultsOfCheck(self.0.id.clone()))
            .await?
            .unwrap_or_default();
        Ok(rows.into_iter().take(limit).map(QualityResult).collect())
    }
}

/// One measurement of a quality check.
pub struct QualityResult(pub quality_result::Model);

#[Object]
impl QualityResult {
    async fn id(&self) -> ID {
        id(&self.0.id)
    }
    async fn status(&self) -> Result<QualityStatus> {
        QualityStatus::decode(&self.0.status).gql()
    }
    async fn observed_value(&self) -> Option<f64> {
        self.0.observed_value
    }
    async fn message(&self) -> Option<&str> {
        self.0.message.as_deref()
    }
    async fn observed_at(&self) -> DateTime<Utc> {
        self.0.observed_at
    }
}

/// A consuming (and possibly producing) application of a team.
pub struct Application(pub application::Model);

#[Object]
impl Application {
    async fn id(&self) -> ID {
        id(&self.0.id)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    async fn owner_team(&self, ctx: &Context<'_>) -> Result<Team> {
        team_of(ctx, &self.0.owner_team_id).await
    }
    /// Its access subscriptions to products the caller can see, newest
    /// first.
    async fn subscriptions(
        &self,
        ctx: &Context<'_>,
        status: Option<SubscriptionStatus>,
    ) -> Result<Vec<AccessSubscription>> {
        let loader = loader(ctx);
        let rows: Vec<_> = loader
            .load_one(SubscriptionsOfApplication(self.0.id.clone()))
            .await?
            .unwrap_or_default()
            .into_iter()
            .filter(|s| status.is_none_or(|st| s.status == st.as_str()))
            .collect();
        let products = loader
            .load_many(rows.iter().map(|s| ProductById(s.product_id.clone())))
            .await?;
        let principal = principal(ctx);
        Ok(rows
            .into_iter()
            .filter(|s| {
                products
                    .get(&ProductById(s.product_id.clone()))
                    .is_some_and(|p| policy::can_see(principal, p))
            })
            .map(AccessSubscription)
            .collect())
    }
    /// How it derives products from products, by name.
    async fn use_cases(&self, ctx: &Context<'_>) -> Result<Vec<UseCase>> {
        let rows = loader(ctx)
            .load_one(UseCasesOfApplication(self.0.id.clone()))
            .await?
            .unwrap_or_default();
        visible_use_cases(ctx, rows).await
    }
    /// Lineage around this application.
    async fn lineage(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Direction::Both")] direction: Direction,
        #[graphql(default = 1)] depth: i32,
    ) -> Result<LineageGraph> {
        let graph = catalog(ctx)
            .lineage(
                principal(ctx),
                &domain_layer::NodeRef::Application(self.0.id.clone()),
                direction,
                depth,
            )
            .await
            .gql()?;
        Ok(LineageGraph(graph))
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// An application's access request to a data product, and its decision.
pub struct AccessSubscription(pub access_subscription::Model);

#[Object]
impl AccessSubscription {
    async fn id(&self) -> ID {
        id(&self.0.id)
    }
    /// Whether the application may read PII fields of records unmasked.
    async fn pii_access(&self) -> bool {
        self.0.pii_access
    }
    async fn application(&self, ctx: &Context<'_>) -> Result<Application> {
        loader(ctx)
            .load_one(ApplicationById(self.0.application_id.clone()))
            .await?
            .map(Application)
            .ok_or_else(|| CatalogError::Internal("application missing".into()).extend())
    }
    async fn product(&self, ctx: &Context<'_>) -> Result<DataProduct> {
        loader(ctx)
            .load_one(ProductById(self.0.product_id.clone()))
            .await?
            .map(DataProduct)
            .ok_or_else(|| CatalogError::Internal("product missing".into()).extend())
    }
    async fn purpose(&self) -> &str {
        &self.0.purpose
    }
    async fn status(&self) -> Result<SubscriptionStatus> {
        SubscriptionStatus::decode(&self.0.status).gql()
    }
    async fn requested_by(&self) -> &str {
        &self.0.requested_by
    }
    async fn requested_at(&self) -> DateTime<Utc> {
        self.0.requested_at
    }
    async fn decided_by(&self) -> Option<&str> {
        self.0.decided_by.as_deref()
    }
    async fn decided_at(&self) -> Option<DateTime<Utc>> {
        self.0.decided_at
    }
    async fn decision_reason(&self) -> Option<&str> {
        self.0.decision_reason.as_deref()
    }
}

/// A lineage endpoint.
#[derive(Union)]
pub enum LineageEntity {
    DataProduct(Box<DataProduct>),
    Application(Application),
}

async fn entity(ctx: &Context<'_>, kind: &str, entity_id: &str) -> Result<Option<LineageEntity>> {
    let loader = loader(ctx);
    Ok(if kind == NodeKind::Product.as_str() {
        loader
            .load_one(ProductById(entity_id.to_owned()))
            .await?
            .map(|p| LineageEntity::DataProduct(Box::new(DataProduct(p))))
    } else {
        loader
            .load_one(ApplicationById(entity_id.to_owned()))
            .await?
            .map(|a| LineageEntity::Application(Application(a)))
    })
}

/// A directed lineage edge, from upstream to downstream.
pub struct LineageEdge(pub lineage_edge::Model);

#[Object]
impl LineageEdge {
    async fn id(&self) -> ID {
        id(&self.0.id)
    }
    async fn kind(&self) -> Result<EdgeKind> {
        EdgeKind::decode(&self.0.kind).gql()
    }
    async fn from_id(&self) -> ID {
        id(&self.0.from_id)
    }
    async fn to_id(&self) -> ID {
        id(&self.0.to_id)
    }
    async fn from(&self, ctx: &Context<'_>) -> Result<Option<LineageEntity>> {
        entity(ctx, &self.0.from_kind, &self.0.from_id).await
    }
    async fn to(&self, ctx: &Context<'_>) -> Result<Option<LineageEntity>> {
        entity(ctx, &self.0.to_kind, &self.0.to_id).await
    }
    /// Field-level mappings, for product → product edges.
    async fn field_mappings(&self) -> Vec<FieldMapping> {
        serde_json::from_str(&self.0.field_mappings).unwrap_or_default()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

// Borrowed from the walk's answer: its row was read with the walk, so
// `entity` reads nothing more.
pub struct LineageNode<'a>(&'a domain_layer::LineageNode);

/// A node reached by a lineage walk.
#[Object]
impl LineageNode<'_> {
    async fn kind(&self) -> NodeKind {
        self.0.kind
    }
    /// For a restricted node, an opaque placeholder (`restricted-<n>`).
    async fn id(&self) -> ID {
        id(&self.0.id)
    }
    /// `restricted` for a restricted node.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Hops from the root: negative upstream, positive downstream.
    async fn depth(&self) -> i32 {
        self.0.depth
    }
    /// A product hidden from the caller: it exists in the graph, but who
    /// and what it is stays hidden.
    async fn restricted(&self) -> bool {
        self.0.restricted
    }
    async fn entity(&self, ctx: &Context<'_>) -> Result<Option<LineageEntity>> {
        Ok(match &self.0.entity {
            Some(domain_layer::NodeEntity::Product(p)) => {
                Some(LineageEntity::DataProduct(Box::new(DataProduct((**p).clone()))))
            }
            Some(domain_layer::NodeEntity::Application(a)) => {
                Some(LineageEntity::Application(Application((**a).clone())))
            }
            None if self.0.restricted => None,
            None => entity(ctx, self.0.kind.as_str(), &self.0.id).await?,
        })
    }
}

/// The part of the lineage graph reached from a root node.
pub struct LineageGraph(pub domain_layer::LineageGraph);

#[Object]
impl LineageGraph {
    async fn root(&self) -> LineageNode<'_> {
        LineageNode(&self.0.root)
    }
    /// Reached nodes (the root excluded), nearest first.
    async fn nodes(&self) -> Vec<LineageNode<'_>> {
        self.0.nodes.iter().map(LineageNode).collect()
    }
    async fn edges(&self) -> Vec<LineageEdge> {
        self.0.edges.iter().cloned().map(LineageEdge).collect()
    }
}

/// A downstream product affected by a change.
pub struct ImpactedProduct(pub domain_layer::ImpactedProduct);

#[Object]
impl ImpactedProduct {
    async fn product(&self) -> DataProduct {
        DataProduct(self.0.product.clone())
    }
    async fn depth(&self) -> i32 {
        self.0.depth
    }
    async fn owner_team(&self, ctx: &Context<'_>) -> Result<Team> {
        team_of(ctx, &self.0.product.owner_team_id).await
    }
}

/// A downstream application affected by a change.
pub struct ImpactedApplication(pub domain_layer::ImpactedApplication);

#[Object]
impl ImpactedApplication {
    async fn application(&self) -> Application {
        Application(self.0.application.clone())
    }
    async fn depth(&self) -> i32 {
        self.0.depth
    }
    async fn owner_team(&self, ctx: &Context<'_>) -> Result<Team> {
        team_of(ctx, &self.0.application.owner_team_id).await
    }
}

/// Everything downstream of a product, and the teams to notify.
pub struct ImpactReport(pub domain_layer::ImpactReport);

#[Object]
impl ImpactReport {
    async fn product(&self) -> DataProduct {
        DataProduct(self.0.product.clone())
    }
    async fn products(&self) -> Vec<ImpactedProduct> {
        self.0.products.iter().cloned().map(ImpactedProduct).collect()
    }
    async fn applications(&self) -> Vec<ImpactedApplication> {
        self.0.applications.iter().cloned().map(ImpactedApplication).collect()
    }
    /// Impacted products hidden from the caller (counted, not listed).
    async fn restricted_products(&self) -> u64 {
        self.0.restricted_products
    }
    /// Owner teams of every impacted product and application, by name.
    async fn teams(&self, ctx: &Context<'_>) -> Result<Vec<Team>> {
        let ids = self
            .0
            .products
            .iter()
            .map(|p| p.product.owner_team_id.clone())
            .chain(self.0.applications.iter().map(|a| a.application.owner_team_id.clone()))
            .map(TeamById);
        let mut teams: Vec<Team> = loader(ctx).load_many(ids).await?.into_values().map(Team).collect();
        teams.sort_by(|a, b| a.0.name.cmp(&b.0.name));
        Ok(teams)
    }
}

/// One recorded change.
pub struct AuditEntry(pub audit_entry::Model);

#[Object]
impl AuditEntry {
    async fn id(&self) -> ID {
        id(&self.0.id)
    }
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
    /// User id of who made the change.
    async fn actor(&self) -> &str {
        &self.0.actor
    }
    async fn action(&self) -> Result<CatalogChangeKind> {
        CatalogChangeKind::decode(&self.0.action).gql()
    }
    async fn entity_kind(&self) -> Result<EntityKind> {
        EntityKind::decode(&self.0.entity_kind).gql()
    }
    async fn entity_id(&self) -> ID {
        id(&self.0.entity_id)
    }
    async fn entity_name(&self) -> &str {
        &self.0.entity_name
    }
    async fn summary(&self) -> &str {
        &self.0.summary
    }
}

/// The authenticated caller.
#[derive(SimpleObject)]
pub struct Viewer {
    pub subject: String,
    pub teams: Vec<String>,
    pub roles: Vec<String>,
}

/// Whether a use case reads or writes a product.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "UseCaseRole")]
pub enum UseCaseRoleValue {
    Input,
    Output,
}

impl From<UseCaseRoleValue> for UseCaseRole {
    fn from(r: UseCaseRoleValue) -> Self {
        match r {
            UseCaseRoleValue::Input => UseCaseRole::Input,
            UseCaseRoleValue::Output => UseCaseRole::Output,
        }
    }
}

/// The use cases whose every product the caller can see (see
/// `Catalog::visible_use_cases`).
async fn visible_use_cases(ctx: &Context<'_>, rows: Vec<use_case::Model>) -> Result<Vec<UseCase>> {
    let rows = catalog(ctx).visible_use_cases(principal(ctx), rows).await.gql()?;
    Ok(rows.into_iter().map(UseCase).collect())
}

/// How an application derives output products from input products.
pub struct UseCase(pub use_case::Model);

impl UseCase {
    /// The visible products of one role, by qualified name.
    async fn products(&self, ctx: &Context<'_>, role: UseCaseRole) -> Result<Vec<DataProduct>> {
        let loader = loader(ctx);
        let links = loader
            .load_one(ProductsOfUseCase(self.0.id.clone()))
            .await?
            .unwrap_or_default();
        let products = loader
            .load_many(
                links
                    .iter()
                    .filter(|l| l.role == role.as_str())
                    .map(|l| ProductById(l.product_id.clone())),
            )
            .await?;
        let mut rows: Vec<_> = products.into_values().collect();
        rows.sort_by(|a, b| a.qualified_name.cmp(&b.qualified_name));
        Ok(visible_products(ctx, rows))
    }
}

#[Object]
impl UseCase {
    async fn id(&self) -> ID {
        id(&self.0.id)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn kind(&self) -> Result<UseCaseKind> {
        UseCaseKind::decode(&self.0.kind).gql()
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    /// The transformation as text (e.g. streaming SQL).
    async fn transformation(&self) -> &str {
        &self.0.transformation
    }
    async fn application(&self, ctx: &Context<'_>) -> Result<Application> {
        loader(ctx)
            .load_one(ApplicationById(self.0.application_id.clone()))
            .await?
            .map(Application)
            .ok_or_else(|| CatalogError::Internal("use case without application".into()).extend())
    }
    /// The products it reads that the caller can see.
    async fn inputs(&self, ctx: &Context<'_>) -> Result<Vec<DataProduct>> {
        self.products(ctx, UseCaseRole::Input).await
    }
    /// The products it writes that the caller can see.
    async fn outputs(&self, ctx: &Context<'_>) -> Result<Vec<DataProduct>> {
        self.products(ctx, UseCaseRole::Output).await
    }
    async fn created_by(&self) -> &str {
        &self.0.created_by
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// What `registerUseCase` did.
pub struct UseCaseRegistration(pub domain_layer::UseCaseRegistration);

#[Object]
impl UseCaseRegistration {
    async fn use_case(&self) -> UseCase {
        UseCase(self.0.use_case.clone())
    }
    /// Lineage edges added (input → application → output); edges that
    /// already existed are not repeated.
    async fn lineage_edges(&self) -> Vec<LineageEdge> {
        self.0.lineage.iter().cloned().map(LineageEdge).collect()
    }
    /// Access requested (PENDING) for the inputs the application did not
    /// hold yet.
    async fn access_requests(&self) -> Vec<AccessSubscription> {
        self.0.access_requests.iter().cloned().map(AccessSubscription).collect()
    }
}
