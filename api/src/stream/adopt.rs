//! Adopting an existing topic as a data product: the product takes the
//! topic's partitions, retention and cleanup policy, and its schema is the
//! one given or, failing that, a JSON Schema inferred from a sample of the
//! topic's JSON records.

use crate::auth::Caller;
use crate::catalog::schema::{infer_json_schema, SchemaFormat};
use crate::catalog::{Catalog, CatalogError, PublishProduct, SchemaInput, TopicInput};
use crate::store::entities::data_product;

use super::topics::{SampledRecord, Topics};
use super::StreamError;

/// Records sampled to infer a schema when the caller gives none.
pub const DEFAULT_SAMPLE: usize = 100;
/// Most records one inference samples.
pub const MAX_SAMPLE: usize = 1_000;

/// A JSON Schema inferred from a topic's sampled records.
#[derive(Debug, Clone, PartialEq)]
pub struct InferredSchema {
    pub definition: String,
    /// JSON records it describes.
    pub records: usize,
    /// Sampled records that were not JSON (skipped).
    pub skipped: usize,
}

/// Refuses reserved topics (never offered, never adoptable; see the
/// catalog's `topic_rules`).
pub fn ensure_adoptable(catalog: &Catalog, topic: &str) -> Result<(), CatalogError> {
    if catalog.reserved_topics().contains(topic) {
        return Err(CatalogError::Validation(format!(
            "`{topic}` is reserved for the platform and cannot be adopted"
        )));
    }
    Ok(())
}

/// Refuses a sample size outside 1..=[`MAX_SAMPLE`].
pub fn check_sample_size(sample: usize) -> Result<(), CatalogError> {
    if (1..=MAX_SAMPLE).contains(&sample) {
        Ok(())
    } else {
        Err(CatalogError::Validation(format!(
            "sample size must be between 1 and {MAX_SAMPLE}"
        )))
    }
}

/// Infers a schema from sampled records; `None` when none of them is JSON.
/// Records without a value count as skipped.
pub fn infer_from(records: &[SampledRecord]) -> Option<InferredSchema> {
    let values: Vec<&[u8]> = records.iter().filter_map(|r| r.value.as_deref()).collect();
    infer_json_schema(&values).map(|inferred| InferredSchema {
        definition: inferred.schema,
        records: inferred.records,
        skipped: inferred.skipped + (records.len() - values.len()),
    })
}

/// Publishes `topic` as the data product described by `product` (whose
/// `topic` settings are replaced by the topic's own). Refused when the topic
/// is internal, missing, already a product, or has no schema given and no
/// JSON records to infer one from.
pub async fn adopt_topic(
    topics: &Topics,
    catalog: &Catalog,
    caller: &Caller,
    topic: &str,
    mut product: PublishProduct,
    sample: usize,
) -> Result<data_product::Model, StreamError> {
    catalog.inspect_cluster(caller, "adoptTopic", topic).await?;
    ensure_adoptable(catalog, topic)?;
    let details = topics
        .details(topic)
        .await?
        .ok_or_else(|| CatalogError::not_found("topic", topic))?;
    if product.schema.is_none() {
        check_sample_size(sample)?;
        let records = topics.sample(topic, sample).await?;
        let inferred = infer_from(&records).ok_or_else(|| {
            CatalogError::Validation(format!(
                "no JSON record found in `{topic}` to infer a schema from: give the schema explicitly"
            ))
        })?;
        product.schema = Some(SchemaInput {
            format: SchemaFormat::JsonSchema,
            definition: inferred.definition,
        });
    }
    product.topic = Some(TopicInput {
        name: Some(details.name),
        partitions: Some(details.partitions),
        retention_ms: details.retention_ms,
        cleanup_policy: details.cleanup_policy,
    });
    product.adopted = true;
    product.expected_version = None;
    Ok(catalog.publish_product(caller, product).await?)
}
