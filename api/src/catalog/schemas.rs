//! Schema versions of a product: registration under the product's
//! compatibility mode, dry-run checks and diffs. The rules themselves live in
//! the `schema` module; this file stores and sequences versions.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};

use crate::auth::Caller;
use crate::store::entities::{data_product, schema_registry_id, schema_version};

use super::policy::Principal;
use super::rows::bump_version;
use super::schema::{
    self, CompatibilityMode, FieldChange, Incompatibility, SchemaDefinition, SchemaField, SchemaFormat,
};
use super::{new_id, Catalog, CatalogError, ChangeKind, EntityKind, Event, Op, ProductStatus, Result, Unit};

/// A schema as submitted: its format and raw definition text.
#[derive(Debug, Clone)]
pub struct SchemaInput {
    pub format: SchemaFormat,
    pub definition: String,
}

/// The structural difference between two versions of a product's schema.
#[derive(Debug, Clone)]
pub struct SchemaDiff {
    pub from: schema_version::Model,
    pub to: schema_version::Model,
    pub changes: Vec<FieldChange>,
}

/// Largest accepted definition, in bytes.
const MAX_DEFINITION: usize = 1_000_000;

pub fn mode_str(mode: CompatibilityMode) -> &'static str {
    match mode {
        CompatibilityMode::Backward => "BACKWARD",
        CompatibilityMode::BackwardTransitive => "BACKWARD_TRANSITIVE",
        CompatibilityMode::Forward => "FORWARD",
        CompatibilityMode::ForwardTransitive => "FORWARD_TRANSITIVE",
        CompatibilityMode::Full => "FULL",
        CompatibilityMode::FullTransitive => "FULL_TRANSITIVE",
        CompatibilityMode::None => "NONE",
    }
}

pub fn decode_mode(text: &str) -> Result<CompatibilityMode> {
    CompatibilityMode::ALL
        .into_iter()
        .find(|m| mode_str(*m) == text)
        .ok_or_else(|| CatalogError::Internal(format!("unknown compatibility mode `{text}` in the database")))
}

pub fn format_str(format: SchemaFormat) -> &'static str {
    match format {
        SchemaFormat::Avro => "AVRO",
        SchemaFormat::JsonSchema => "JSON_SCHEMA",
    }
}

pub fn decode_format(text: &str) -> Result<SchemaFormat> {
    match text {
        "AVRO" => Ok(SchemaFormat::Avro),
        "JSON_SCHEMA" => Ok(SchemaFormat::JsonSchema),
        other => Err(CatalogError::Internal(format!(
            "unknown schema format `{other}` in the database"
        ))),
    }
}

/// The parsed field list stored with a version.
pub fn stored_fields(version: &schema_version::Model) -> Result<Vec<SchemaField>> {
    serde_json::from_str(&version.fields)
        .map_err(|e| CatalogError::Internal(format!("corrupt field list of schema {}: {e}", version.id)))
}

fn parse(input: &SchemaInput) -> Result<SchemaDefinition> {
    if input.definition.len() > MAX_DEFINITION {
        return Err(CatalogError::Validation(format!(
            "schema definition is larger than {MAX_DEFINITION} bytes"
        )));
    }
    SchemaDefinition::parse(input.format, &input.definition).map_err(|e| CatalogError::Validation(e.to_string()))
}

/// A stored version's definition, parsed as at its registration: what registration checks
/// against, the stream decoder reads records with and the demo traffic is generated from.
pub fn parse_stored(version: &schema_version::Model) -> Result<SchemaDefinition> {
    SchemaDefinition::parse(decode_format(&version.format)?, &version.definition)
        .map_err(|e| CatalogError::Internal(format!("stored schema {} no longer parses: {e}", version.id)))
}

pub(crate) async fn has_schema(db: &impl ConnectionTrait, product_id: &str) -> Result<bool> {
    Ok(schema_version::Entity::find()
        .filter(schema_version::Column::ProductId.eq(product_id))
        .count(db)
        .await?
        > 0)
}

async fn versions_of(db: &impl ConnectionTrait, product_id: &str) -> Result<Vec<schema_version::Model>> {
    Ok(schema_version::Entity::find()
        .filter(schema_version::Column::ProductId.eq(product_id))
        .order_by_asc(schema_version::Column::Version)
        .all(db)
        .await?)
}

/// Checks `candidate` against the product's registered versions under its
/// compatibility mode.
fn check(
    product: &data_product::Model,
    candidate: &SchemaDefinition,
    versions: &[schema_version::Model],
) -> Result<Vec<Incompatibility>> {
    let previous = versions
        .iter()
        .map(|v| Ok((v.version, parse_stored(v)?)))
        .collect::<Result<Vec<_>>>()?;
    Ok(schema::check_compatibility(
        decode_mode(&product.compatibility)?,
        candidate,
        &previous,
    ))
}

fn incompatible(product: &data_product::Model, problems: Vec<Incompatibility>) -> CatalogError {
    let first = problems.first().map(|p| p.message.clone()).unwrap_or_default();
    CatalogError::IncompatibleSchema {
        message: format!(
            "schema is not {} compatible with data product `{}`: {first}{}",
            product.compatibility,
            product.qualified_name,
            if problems.len() > 1 {
                format!(" (and {} more)", problems.len() - 1)
            } else {
                String::new()
            }
        ),
        incompatibilities: problems,
    }
}

/// Registers `input` as the product's next version inside `unit`, unless it
/// is identical to the latest one (then `None`).
pub(crate) async fn register_in(
    unit: &Unit,
    product: &data_product::Model,
    input: &SchemaInput,
) -> Result<Option<schema_version::Model>> {
    let candidate = parse(input)?;
    let versions = versions_of(unit.conn(), &product.id).await?;
    if versions
        .last()
        .is_some_and(|latest| latest.canonical == candidate.canonical())
    {
        return Ok(None);
    }
    let problems = check(product, &candidate, &versions)?;
    if !problems.is_empty() {
        return Err(incompatible(product, problems));
    }
    let fields = serde_json::to_string(&candidate.fields())
        .map_err(|e| CatalogError::Internal(format!("cannot encode field list: {e}")))?;
    let model = schema_version::ActiveModel {
        id: Set(new_id()),
        product_id: Set(product.id.clone()),
        version: Set(versions.last().map_or(1, |v| v.version + 1)),
        format: Set(format_str(candidate.format()).to_owned()),
        definition: Set(candidate.raw().to_owned()),
        canonical: Set(candidate.canonical()),
        fields: Set(fields),
        created_by: Set(unit.actor.clone()),
        created_at: Set(Utc::now()),
    }
    .insert(unit.conn())
    .await?;
    // Its numeric id for the Confluent wire format (see the migration).
    schema_registry_id::ActiveModel {
        schema_version_id: Set(model.id.clone()),
        ..Default::default()
    }
    .insert(unit.conn())
    .await?;
    Ok(Some(model))
}

impl Catalog {
    /// Registers a new schema version (`registerSchemaVersion`). Registering
    /// the latest schema again is a no-op that returns the latest version.
    pub async fn register_schema_version(
        &self,
        caller: &Caller,
        product: &str,
        input: SchemaInput,
        expected_version: Option<i32>,
    ) -> Result<schema_version::Model> {
        let (mut unit, product) = self
            .product_to_change(caller, Op::new("registerSchemaVersion", EntityKind::Product, product))
            .await?;
        if product.status == ProductStatus::Retired {
            return Err(CatalogError::Conflict(format!(
                "data product `{}` is retired and cannot change",
                product.qualified_name
            )));
        }
        let Some(version) = register_in(&unit, &product, &input).await? else {
            let latest = versions_of(unit.conn(), &product.id).await?.pop();
            return latest.ok_or_else(|| CatalogError::Internal("identical schema without versions".into()));
        };
        bump_version(&unit, &product, expected_version).await?;
        unit.record(Event {
            kind: ChangeKind::SchemaRegistered,
            entity_kind: EntityKind::Product,
            entity_id: &product.id,
            entity_name: &product.qualified_name,
            summary: format!(
                "registered schema version {} of {}",
                version.version, product.qualified_name
            ),
            products: vec![product.id.clone()],
        })
        .await?;
        self.commit(unit).await?;
        Ok(version)
    }

    /// Dry run of a registration: the mode checked and the incompatibilities,
    /// empty when it would be accepted.
    pub async fn check_schema_compatibility(
        &self,
        principal: &Principal,
        product: &str,
        input: SchemaInput,
    ) -> Result<(CompatibilityMode, Vec<Incompatibility>)> {
        let product = self.visible_product(principal, product).await?;
        let candidate = parse(&input)?;
        let versions = versions_of(self.db(), &product.id).await?;
        Ok((
            decode_mode(&product.compatibility)?,
            check(&product, &candidate, &versions)?,
        ))
    }

    pub async fn schema_versions(&self, product_id: &str) -> Result<Vec<schema_version::Model>> {
        versions_of(self.db(), product_id).await
    }

    /// Diff between two versions (numbers) of a product; `to` defaults to the
    /// latest and `from` to the one before it.
    pub async fn schema_diff(
        &self,
        principal: &Principal,
        product: &str,
        from: Option<i32>,
        to: Option<i32>,
    ) -> Result<SchemaDiff> {
        let product = self.visible_product(principal, product).await?;
        let versions = versions_of(self.db(), &product.id).await?;
        let latest = versions.last().map(|v| v.version).ok_or_else(|| {
            CatalogError::NotFound(format!("data product `{}` has no schema", product.qualified_name))
        })?;
        let to = to.unwrap_or(latest);
        let from = from.unwrap_or((to - 1).max(1));
        let pick = |n: i32| {
            versions.iter().find(|v| v.version == n).cloned().ok_or_else(|| {
                CatalogError::NotFound(format!("schema version {n} of `{}` not found", product.qualified_name))
            })
        };
        let (from, to) = (pick(from)?, pick(to)?);
        let changes = schema::diff(&parse_stored(&from)?, &parse_stored(&to)?);
        Ok(SchemaDiff { from, to, changes })
    }
}
