//! Quality checks and their results.

use async_graphql::{Context, Object, Result, ID};
use chrono::{DateTime, Utc};

use crate::catalog::{CheckKind, QualityStatus};
use crate::store::entities::{quality_check, quality_result};

use super::super::loader;
use super::super::loaders::*;
use super::super::query::bounded;
use super::*;

/// The most results one page of a check's history holds.
const MAX_RESULTS: i32 = 1000;

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
        Ok(self.0.kind)
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    async fn threshold(&self) -> Option<f64> {
        self.0.threshold
    }
    async fn latest_result(&self, ctx: &Context<'_>) -> Result<Option<QualityResult>> {
        let latest = loader(ctx).load_one(LatestResultOfCheck(self.0.id.clone())).await?;
        Ok(latest.map(QualityResult))
    }
    /// Results, newest first: at most `limit` (1 to 1000).
    async fn results(&self, ctx: &Context<'_>, #[graphql(default = 20)] limit: i32) -> Result<Vec<QualityResult>> {
        let limit = bounded("limit", limit, MAX_RESULTS)?;
        let rows = loader(ctx)
            .load_one(RecentResultsOfCheck(self.0.id.clone(), limit))
            .await?
            .unwrap_or_default();
        Ok(rows.into_iter().map(QualityResult).collect())
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
        Ok(self.0.status)
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
