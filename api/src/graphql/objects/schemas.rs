//! Schema versions, their fields, diffs and compatibility reports.

use async_graphql::{Context, Enum, Object, Result, SimpleObject, ID};
use chrono::{DateTime, Utc};

use crate::catalog::schema::{self, CompatibilityMode as Mode};
use crate::catalog::{self as domain_layer};
use crate::store::entities::schema_version;

use super::super::catalog;
use super::super::error::GqlResult;
use super::*;

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
