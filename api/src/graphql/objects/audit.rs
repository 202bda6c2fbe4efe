//! The audit log's entries.

use async_graphql::{Object, Result, ID};
use chrono::{DateTime, Utc};

use crate::catalog::{ChangeKind as CatalogChangeKind, EntityKind};
use crate::store::entities::audit_entry;

use super::*;

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
        Ok(self.0.action)
    }
    async fn entity_kind(&self) -> Result<EntityKind> {
        Ok(self.0.entity_kind)
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
