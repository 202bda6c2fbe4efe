//! Freshness flags: when a product's topic goes longer than its SLA's
//! maximum freshness without a new record, the live monitor
//! (`stream::freshness`) records it as a catalog change, and again when
//! records flow once more. Being changes, the flags reach the audit log, the
//! outbox and so `catalogEvents`, like any other.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect};

use crate::store::entities::{audit_entry, data_product};

use super::{Catalog, ChangeKind, EntityKind, Event, Op, ProductStatus, Result};

/// The actor of changes the server makes by itself.
pub const SYSTEM_ACTOR: &str = "mesh-catalog";

/// What the freshness monitor needs of a product (not the whole row: it
/// reads every monitored product on each pass).
#[derive(Debug, Clone, FromQueryResult)]
pub struct MonitoredProduct {
    pub id: String,
    pub qualified_name: String,
    pub topic_name: String,
    pub sla_max_freshness_seconds: Option<i64>,
}

impl Catalog {
    /// PUBLISHED and DEPRECATED products whose SLA declares a maximum
    /// freshness: the ones the monitor judges.
    pub async fn monitored_products(&self) -> Result<Vec<MonitoredProduct>> {
        let statuses = [ProductStatus::Published, ProductStatus::Deprecated];
        Ok(data_product::Entity::find()
            .filter(data_product::Column::Status.is_in(statuses))
            .filter(data_product::Column::SlaMaxFreshnessSeconds.is_not_null())
            .select_only()
            .column(data_product::Column::Id)
            .column(data_product::Column::QualifiedName)
            .column(data_product::Column::TopicName)
            .column(data_product::Column::SlaMaxFreshnessSeconds)
            .into_model::<MonitoredProduct>()
            .all(self.db())
            .await?)
    }

    /// The latest flag of every flagged product (`true`: stale), read from
    /// the audit log so that a restarted monitor does not flag again.
    pub async fn freshness_flags(&self) -> Result<HashMap<String, bool>> {
        let kinds = [ChangeKind::ProductStale, ChangeKind::ProductFresh];
        let rows = audit_entry::Entity::find()
            .filter(audit_entry::Column::Action.is_in(kinds))
            .order_by_asc(audit_entry::Column::Id)
            .select_only()
            .column(audit_entry::Column::EntityId)
            .column(audit_entry::Column::Action)
            .into_tuple::<(String, ChangeKind)>()
            .all(self.db())
            .await?;
        Ok(rows
            .into_iter()
            .map(|(id, action)| (id, action == ChangeKind::ProductStale))
            .collect())
    }

    /// Records that `product` went stale (`stale`) or is fresh again, with
    /// a human `detail`, unless its latest flag already says so: with
    /// several replicas each runs a monitor, and the first to commit a flag
    /// wins (the product row is locked while the latest flag is read, so
    /// two monitors never both flag). True if this call recorded the flag.
    pub async fn flag_freshness(&self, product: &MonitoredProduct, stale: bool, detail: String) -> Result<bool> {
        let mut unit = self
            .begin_system(Op::new("flagFreshness", EntityKind::Product, &product.qualified_name))
            .await?;
        // FOR UPDATE on PostgreSQL; SQLite's single writer already serializes.
        data_product::Entity::find_by_id(product.id.clone())
            .lock_exclusive()
            .one(unit.conn())
            .await?;
        let kinds = [ChangeKind::ProductStale, ChangeKind::ProductFresh];
        let latest: Option<ChangeKind> = audit_entry::Entity::find()
            .filter(audit_entry::Column::EntityId.eq(product.id.clone()))
            .filter(audit_entry::Column::Action.is_in(kinds))
            .order_by_desc(audit_entry::Column::Id)
            .select_only()
            .column(audit_entry::Column::Action)
            .into_tuple()
            .one(unit.conn())
            .await?;
        if (latest == Some(ChangeKind::ProductStale)) == stale {
            return Ok(false);
        }
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
        self.commit(unit).await?;
        Ok(true)
    }
}
