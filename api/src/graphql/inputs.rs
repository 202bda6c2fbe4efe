//! GraphQL input types, converted into the domain layer's inputs.

use async_graphql::{InputObject, OneofObject};
use chrono::{DateTime, Utc};

use crate::catalog::{
    self as domain_layer, ChangeKind, CheckKind, CleanupPolicy, Contact, EntityKind, FieldMapping, ProductStatus,
    QualityClass, QualityStatus, SlaTier, UseCaseKind, Visibility,
};

use super::objects::{CompatibilityMode, SchemaFormat};

/// A schema definition as text.
#[derive(InputObject)]
pub struct SchemaInput {
    pub format: SchemaFormat,
    /// The Avro schema (JSON) or JSON Schema document, as text.
    pub definition: String,
}

impl From<SchemaInput> for domain_layer::SchemaInput {
    fn from(i: SchemaInput) -> Self {
        Self {
            format: i.format.into(),
            definition: i.definition,
        }
    }
}

#[derive(InputObject)]
pub struct CreateTeamInput {
    pub name: String,
    #[graphql(default)]
    pub description: String,
    /// User ids (JWT subjects).
    #[graphql(default)]
    pub members: Vec<String>,
}

#[derive(InputObject)]
pub struct CreateDomainInput {
    pub name: String,
    #[graphql(default)]
    pub description: String,
    /// Team id or name.
    pub owner_team: String,
}

/// Topic settings; omitted values keep the current ones (defaults for a new
/// product: the qualified name, 3 partitions, 7 days, DELETE).
#[derive(InputObject)]
pub struct TopicInput {
    pub name: Option<String>,
    pub partitions: Option<i32>,
    pub retention_ms: Option<i64>,
    pub cleanup_policy: Option<CleanupPolicy>,
}

#[derive(InputObject)]
pub struct QualityCheckInput {
    pub name: String,
    pub kind: CheckKind,
    #[graphql(default)]
    pub description: String,
    pub threshold: Option<f64>,
}

impl From<QualityCheckInput> for domain_layer::QualityCheckInput {
    fn from(c: QualityCheckInput) -> Self {
        Self {
            name: c.name,
            kind: c.kind,
            description: c.description,
            threshold: c.threshold,
        }
    }
}

/// Creates a product or updates it (then `expectedVersion` is required).
/// Omitted fields keep their current values.
#[derive(InputObject)]
pub struct PublishDataProductInput {
    /// Domain name.
    pub domain: String,
    /// Product name within the domain.
    pub name: String,
    pub display_name: Option<String>,
    pub description: Option<String>,
    /// Team id or name; defaults to the domain's owner team.
    pub owner_team: Option<String>,
    pub tags: Option<Vec<String>>,
    pub contacts: Option<Vec<Contact>>,
    pub visibility: Option<Visibility>,
    /// What the product claims to be; RAW when a new product gives none.
    pub quality_class: Option<QualityClass>,
    pub compatibility: Option<CompatibilityMode>,
    pub topic: Option<TopicInput>,
    pub sla: Option<domain_layer::SlaInput>,
    /// Registered as the next schema version when it differs from the latest.
    pub schema: Option<SchemaInput>,
    /// Declared (or updated) quality checks, by name.
    #[graphql(default)]
    pub quality_checks: Vec<QualityCheckInput>,
    /// Keep the product in DRAFT.
    #[graphql(default)]
    pub draft: bool,
    pub expected_version: Option<i32>,
}

impl From<PublishDataProductInput> for domain_layer::PublishProduct {
    fn from(i: PublishDataProductInput) -> Self {
        Self {
            domain: i.domain,
            name: i.name,
            display_name: i.display_name,
            description: i.description,
            owner_team: i.owner_team,
            tags: i.tags,
            contacts: i.contacts,
            visibility: i.visibility,
            quality_class: i.quality_class,
            compatibility: i.compatibility.map(Into::into),
            topic: i.topic.map(|t| domain_layer::TopicInput {
                name: t.name,
                partitions: t.partitions,
                retention_ms: t.retention_ms,
                cleanup_policy: t.cleanup_policy,
            }),
            sla: i.sla,
            schema: i.schema.map(Into::into),
            quality_checks: i.quality_checks.into_iter().map(Into::into).collect(),
            draft: i.draft,
            expected_version: i.expected_version,
            adopted: false,
        }
    }
}

/// Publishes an existing topic of the cluster as a new data product: the
/// product takes the topic's partitions, retention and cleanup policy.
#[derive(InputObject)]
pub struct AdoptTopicInput {
    /// The topic's name (see `unadoptedTopics`).
    pub topic: String,
    /// Domain name.
    pub domain: String,
    /// Product name within the domain.
    pub name: String,
    pub display_name: Option<String>,
    pub description: Option<String>,
    /// Team id or name; defaults to the domain's owner team.
    pub owner_team: Option<String>,
    pub tags: Option<Vec<String>>,
    pub contacts: Option<Vec<Contact>>,
    pub visibility: Option<Visibility>,
    /// RAW when omitted.
    pub quality_class: Option<QualityClass>,
    pub compatibility: Option<CompatibilityMode>,
    pub sla: Option<domain_layer::SlaInput>,
    /// The schema; when omitted, a JSON Schema is inferred from the topic's
    /// newest records (`UnadoptedTopic.inferredSchema` shows it beforehand).
    pub schema: Option<SchemaInput>,
    /// Records sampled to infer the schema.
    #[graphql(default = 100)]
    pub sample_size: usize,
    #[graphql(default)]
    pub quality_checks: Vec<QualityCheckInput>,
    /// Adopt it as a DRAFT, to publish after review.
    #[graphql(default)]
    pub draft: bool,
}

impl From<AdoptTopicInput> for domain_layer::PublishProduct {
    fn from(i: AdoptTopicInput) -> Self {
        Self {
            domain: i.domain,
            name: i.name,
            display_name: i.display_name,
            description: i.description,
            owner_team: i.owner_team,
            tags: i.tags,
            contacts: i.contacts,
            visibility: i.visibility,
            quality_class: i.quality_class,
            compatibility: i.compatibility.map(Into::into),
            topic: None,
            sla: i.sla,
            schema: i.schema.map(Into::into),
            quality_checks: i.quality_checks.into_iter().map(Into::into).collect(),
            draft: i.draft,
            expected_version: None,
            adopted: true,
        }
    }
}

/// Registers how an application derives output products from input
/// products.
#[derive(InputObject)]
pub struct RegisterUseCaseInput {
    /// Application id or name.
    pub application: String,
    /// Unique within the application (lowercase letters, digits, `-`).
    pub name: String,
    pub kind: UseCaseKind,
    pub description: String,
    /// Products read (ids or qualified names).
    pub inputs: Vec<String>,
    /// Products written (ids or qualified names).
    pub outputs: Vec<String>,
    /// The transformation as text, e.g. a streaming SQL statement.
    #[graphql(default)]
    pub transformation: String,
}

impl From<RegisterUseCaseInput> for domain_layer::NewUseCase {
    fn from(i: RegisterUseCaseInput) -> Self {
        Self {
            application: i.application,
            name: i.name,
            kind: i.kind,
            description: i.description,
            inputs: i.inputs,
            outputs: i.outputs,
            transformation: i.transformation,
        }
    }
}

#[derive(InputObject)]
pub struct RegisterSchemaVersionInput {
    /// Product id or qualified name.
    pub product: String,
    pub schema: SchemaInput,
    pub expected_version: Option<i32>,
}

#[derive(InputObject)]
pub struct DeprecateDataProductInput {
    /// Product id or qualified name.
    pub product: String,
    pub reason: String,
    /// `YYYY-MM-DD`.
    pub sunset_date: Option<String>,
    /// The product consumers should move to (id or qualified name): a
    /// PUBLISHED product you can see.
    pub successor: Option<String>,
    pub expected_version: Option<i32>,
}

#[derive(InputObject)]
pub struct CreateApplicationInput {
    pub name: String,
    #[graphql(default)]
    pub description: String,
    /// Team id or name.
    pub owner_team: String,
}

#[derive(InputObject)]
pub struct RequestAccessInput {
    /// Application id or name.
    pub application: String,
    /// Product id or qualified name.
    pub product: String,
    pub purpose: String,
}

#[derive(InputObject)]
pub struct RecordQualityResultInput {
    /// Product id or qualified name.
    pub product: String,
    /// Name of a check declared on the product.
    pub check: String,
    pub status: QualityStatus,
    pub observed_value: Option<f64>,
    pub message: Option<String>,
    /// Defaults to now.
    pub observed_at: Option<DateTime<Utc>>,
}

/// A lineage endpoint: exactly one of a product or an application.
#[derive(OneofObject)]
pub enum LineageNodeInput {
    /// Product id or qualified name.
    Product(String),
    /// Application id or name.
    Application(String),
}

impl From<LineageNodeInput> for domain_layer::NodeRef {
    fn from(n: LineageNodeInput) -> Self {
        match n {
            LineageNodeInput::Product(p) => Self::Product(p),
            LineageNodeInput::Application(a) => Self::Application(a),
        }
    }
}

#[derive(InputObject)]
pub struct AddLineageEdgeInput {
    /// Upstream end.
    pub from: LineageNodeInput,
    /// Downstream end.
    pub to: LineageNodeInput,
    pub field_mappings: Option<Vec<FieldMapping>>,
}

/// Filters of `dataProducts`; all given filters must match.
#[derive(InputObject, Default)]
pub struct DataProductFilter {
    /// Domain id or name.
    pub domain: Option<String>,
    /// Team id or name.
    pub owner_team: Option<String>,
    #[graphql(default)]
    pub statuses: Vec<ProductStatus>,
    /// Products carrying every one of these tags.
    #[graphql(default)]
    pub tags: Vec<String>,
    #[graphql(default)]
    pub tiers: Vec<SlaTier>,
    #[graphql(default)]
    pub quality_classes: Vec<QualityClass>,
    pub visibility: Option<Visibility>,
}

impl From<DataProductFilter> for domain_layer::ProductFilter {
    fn from(f: DataProductFilter) -> Self {
        Self {
            domain: f.domain,
            owner_team: f.owner_team,
            statuses: f.statuses,
            tags: f.tags,
            tiers: f.tiers,
            quality_classes: f.quality_classes,
            visibility: f.visibility,
        }
    }
}

/// Filters of `auditLog`; all given filters must match.
#[derive(InputObject, Default)]
pub struct AuditFilter {
    /// User id.
    pub actor: Option<String>,
    pub entity_id: Option<String>,
    pub entity_kind: Option<EntityKind>,
    /// Any of these kinds of change (empty: every kind).
    #[graphql(default)]
    pub actions: Vec<ChangeKind>,
    /// Entries about this domain (id or name), its products and the
    /// subscriptions to them.
    pub domain: Option<String>,
    /// Inclusive.
    pub since: Option<DateTime<Utc>>,
    /// Exclusive.
    pub until: Option<DateTime<Utc>>,
}

impl From<AuditFilter> for domain_layer::AuditFilter {
    fn from(f: AuditFilter) -> Self {
        Self {
            actor: f.actor,
            entity_id: f.entity_id,
            entity_kind: f.entity_kind,
            actions: f.actions,
            domain: f.domain,
            since: f.since,
            until: f.until,
        }
    }
}
