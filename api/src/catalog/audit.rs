//! The audit log: one entry per recorded change, written in the change's
//! own transaction (see `Unit::record`).

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::auth::Caller;
use crate::store::entities::audit_entry;

use super::{policy, Catalog, EntityKind, Result};

/// Filters of `auditLog`; all given filters must match.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub entity_id: Option<String>,
    pub entity_kind: Option<EntityKind>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

impl Catalog {
    /// Audit entries, newest first, before the `before` entry id (a cursor).
    pub async fn audit_log(
        &self,
        caller: &Caller,
        filter: &AuditFilter,
        limit: u64,
        before: Option<&str>,
    ) -> Result<Vec<audit_entry::Model>> {
        policy::authorize(caller, policy::Action::ReadAudit)?;
        let mut query = audit_entry::Entity::find();
        if let Some(actor) = &filter.actor {
            query = query.filter(audit_entry::Column::Actor.eq(actor));
        }
        if let Some(id) = &filter.entity_id {
            query = query.filter(audit_entry::Column::EntityId.eq(id));
        }
        if let Some(kind) = filter.entity_kind {
            query = query.filter(audit_entry::Column::EntityKind.eq(kind.as_str()));
        }
        if let Some(since) = filter.since {
            query = query.filter(audit_entry::Column::At.gte(since));
        }
        if let Some(until) = filter.until {
            query = query.filter(audit_entry::Column::At.lt(until));
        }
        if let Some(before) = before {
            query = query.filter(audit_entry::Column::Id.lt(before));
        }
        // UUIDv7 ids sort by creation time.
        Ok(query
            .order_by_desc(audit_entry::Column::Id)
            .limit(limit)
            .all(self.db())
            .await?)
    }
}
