//! Freshness flags: when a product's topic goes longer than its SLA's
//! maximum freshness without a new record, the live monitor
//! (`stream::freshness`) records it as a catalog change, and again when
//! records flow once more. Being changes, the flags reach the audit log, the
//! outbox and so `catalogEvents`, like any other.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::store::entities::{audit_entry, data_product};

use super::{Catalog, ChangeKind, EntityKind, Event, Op, Result};

/// The actor of changes the server makes by itself.
pub const SYSTEM_ACTOR: &str = "mesh-catalog";

impl Catalog {
    /// The latest flag of every flagged product (`true`: stale), read from
    /// the audit log so that a restarted monitor does not flag again.
    pub async fn freshness_flags(&self) -> Result<HashMap<String, bool>> {
        let kinds = [ChangeKind::ProductStale.as_str(), ChangeKind::ProductFresh.as_str()];
        let rows = audit_entry::Entity::find()
            .filter(audit_entry::Column::Action.is_in(kinds))
            .order_by_asc(audit_entry::Column::Id)
            .all(self.db())
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| (row.entity_id, row.action == ChangeKind::ProductStale.as_str()))
            .collect())
    }

    /// Records that `product` went stale (`stale`) or is fresh again, with
    /// a human `detail`.
    pub async fn flag_freshness(&self, product: &data_product::Model, stale: bool, detail: String) -> Result<()> {
        let mut unit = self
            .begin_system(Op::new("flagFreshness", EntityKind::Product, &product.qualified_name))
            .await?;
        let kind = if stale {
            ChangeKind::ProductStale
        } else {
            ChangeKind::ProductFresh
        };
        unit.record(Event {
            kind,
            entity_kind: EntityKind::Product,
            entity_id: &product.id,
            entity_name: &product.qualified_name,
            summary: detail,
            products: vec![product.id.clone()],
        })
        .await?;
        self.commit(unit).await
    }
}
