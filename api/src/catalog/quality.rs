//! Data quality: results of a product's named checks, and the score derived
//! from the latest result of each.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

use crate::auth::Caller;
use crate::store::entities::{quality_check, quality_result};

use super::policy::Action;
use super::rows::find_product;
use super::{new_id, text, Catalog, CatalogError, ChangeKind, EntityKind, Event, Op, QualityStatus, Result};

/// Input of `recordQualityResult`.
#[derive(Debug, Clone)]
pub struct RecordQualityResult {
    pub product: String,
    /// The check's name, declared when the product was published.
    pub check: String,
    pub status: QualityStatus,
    pub observed_value: Option<f64>,
    pub message: Option<String>,
    /// When it was measured; now when omitted. Not in the future.
    pub observed_at: Option<DateTime<Utc>>,
}

/// The score (0–100) of a product from the latest status of each check:
/// PASS counts 1, WARN ½, FAIL 0. `None` when no check has a result yet.
pub fn quality_score(latest: &[QualityStatus]) -> Option<f64> {
    if latest.is_empty() {
        return None;
    }
    let points: f64 = latest
        .iter()
        .map(|s| match s {
            QualityStatus::Pass => 1.0,
            QualityStatus::Warn => 0.5,
            QualityStatus::Fail => 0.0,
        })
        .sum();
    Some((points / latest.len() as f64 * 1000.0).round() / 10.0)
}

impl Catalog {
    pub async fn record_quality_result(
        &self,
        caller: &Caller,
        input: RecordQualityResult,
    ) -> Result<quality_result::Model> {
        if input.observed_value.is_some_and(|v| !v.is_finite()) {
            return Err(CatalogError::Validation(
                "observed value must be a finite number".into(),
            ));
        }
        let message = input
            .message
            .as_deref()
            .map(|m| text("message", m, 4_000))
            .transpose()?;
        let now = Utc::now();
        let observed_at = input.observed_at.unwrap_or(now);
        if observed_at > now + chrono::Duration::minutes(5) {
            return Err(CatalogError::Validation("observedAt is in the future".into()));
        }
        let unit = self
            .begin(
                caller,
                Op::new("recordQualityResult", EntityKind::Product, &input.product),
            )
            .await?;
        let product = find_product(unit.conn(), &input.product).await?;
        let mut unit = self
            .allow_on_product(
                unit,
                &product,
                &input.product,
                Action::RecordQuality { product: &product },
            )
            .await?;
        let check = quality_check::Entity::find()
            .filter(quality_check::Column::ProductId.eq(&product.id))
            .filter(quality_check::Column::Name.eq(&input.check))
            .one(unit.conn())
            .await?
            .ok_or_else(|| {
                CatalogError::NotFound(format!(
                    "quality check `{}` of data product `{}` not found",
                    input.check, product.qualified_name
                ))
            })?;
        let result = quality_result::ActiveModel {
            id: Set(new_id()),
            check_id: Set(check.id.clone()),
            product_id: Set(product.id.clone()),
            status: Set(input.status),
            observed_value: Set(input.observed_value),
            message: Set(message),
            observed_at: Set(observed_at),
        }
        .insert(unit.conn())
        .await?;
        unit.record(Event {
            kind: ChangeKind::QualityResultRecorded,
            entity_kind: EntityKind::Product,
            entity_id: &product.id,
            entity_name: &product.qualified_name,
            summary: format!("{} {} on {}", check.name, input.status, product.qualified_name),
            products: vec![product.id.clone()],
        })
        .await?;
        self.commit(unit).await?;
        Ok(result)
    }
}
