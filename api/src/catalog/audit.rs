//! The audit log: one entry per recorded change, written in the change's
//! own transaction (see `Unit::record`), and one per refused mutation
//! (`DENIED`, written in a transaction of its own by `Catalog::allow`).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Query, SelectStatement};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::store::entities::{access_subscription, audit_entry, data_product, lineage_edge};

use super::policy::{self, Principal};
use super::rows::find_domain;
use super::{Catalog, CatalogError, ChangeKind, EntityKind, NodeKind, Result};

/// Filters of `auditLog`; all given filters must match.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub entity_id: Option<String>,
    pub entity_kind: Option<EntityKind>,
    /// Any of these kinds of change (empty: all).
    pub actions: Vec<ChangeKind>,
    /// Entries about this domain (id or name), its products and the
    /// subscriptions to them.
    pub domain: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

impl Catalog {
    /// Audit entries, newest first, before the `before` entry id (a cursor).
    /// Admins see every entry; other authenticated callers see entries
    /// about teams, domains, applications and use cases (whose summaries
    /// name no product), and about the products,
    /// subscriptions and (existing) lineage edges they can see — never
    /// refusals.
    pub async fn audit_log(
        &self,
        principal: &Principal,
        filter: &AuditFilter,
        limit: u64,
        before: Option<&str>,
    ) -> Result<Vec<audit_entry::Model>> {
        if principal.caller().identity().is_none() {
            return Err(CatalogError::Unauthenticated(
                "reading the audit log needs a bearer token".into(),
            ));
        }
        let mut query = audit_entry::Entity::find();
        if let Some(visible) = policy::product_condition(principal) {
            query = query.filter(visible_entries(visible));
        }
        if let Some(actor) = &filter.actor {
            query = query.filter(audit_entry::Column::Actor.eq(actor));
        }
        if let Some(id) = &filter.entity_id {
            query = query.filter(audit_entry::Column::EntityId.eq(id));
        }
        if let Some(kind) = filter.entity_kind {
            query = query.filter(audit_entry::Column::EntityKind.eq(kind));
        }
        if !filter.actions.is_empty() {
            query = query.filter(audit_entry::Column::Action.is_in(filter.actions.iter().copied()));
        }
        if let Some(key) = &filter.domain {
            let domain = find_domain(self.db(), key).await?;
            query = query.filter(about_domain(&domain.id));
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

/// Entries about a domain, its products and the subscriptions to them.
fn about_domain(domain_id: &str) -> Condition {
    let products = || -> SelectStatement {
        Query::select()
            .column(data_product::Column::Id)
            .from(data_product::Entity)
            .and_where(data_product::Column::DomainId.eq(domain_id))
            .to_owned()
    };
    let kind = |k: EntityKind| audit_entry::Column::EntityKind.eq(k);
    Condition::any()
        .add(
            Condition::all()
                .add(kind(EntityKind::Domain))
                .add(audit_entry::Column::EntityId.eq(domain_id)),
        )
        .add(about_products(products))
}

/// Entries about the products `products` selects (their ids) and about the
/// subscriptions to them.
fn about_products(products: impl Fn() -> SelectStatement) -> Condition {
    let kind = |k: EntityKind| audit_entry::Column::EntityKind.eq(k);
    Condition::any()
        .add(
            Condition::all()
                .add(kind(EntityKind::Product))
                .add(audit_entry::Column::EntityId.in_subquery(products())),
        )
        .add(
            Condition::all().add(kind(EntityKind::Subscription)).add(
                audit_entry::Column::EntityId.in_subquery(
                    Query::select()
                        .column(access_subscription::Column::Id)
                        .from(access_subscription::Entity)
                        .and_where(access_subscription::Column::ProductId.in_subquery(products()))
                        .to_owned(),
                ),
            ),
        )
}

/// The audit entries a non-admin may read, given the products they see.
fn visible_entries(products: Condition) -> Condition {
    let visible_ids = || -> SelectStatement {
        Query::select()
            .column(data_product::Column::Id)
            .from(data_product::Entity)
            .cond_where(products.clone())
            .to_owned()
    };
    let kind = |k: EntityKind| audit_entry::Column::EntityKind.eq(k);
    let product_end = |kind_col: lineage_edge::Column, id_col: lineage_edge::Column| {
        Condition::any()
            .add(kind_col.ne(NodeKind::Product.as_str()))
            .add(id_col.in_subquery(visible_ids()))
    };
    Condition::all()
        .add(audit_entry::Column::Action.ne(ChangeKind::Denied))
        .add(
            Condition::any()
                .add(audit_entry::Column::EntityKind.is_in([
                    EntityKind::Team.as_str(),
                    EntityKind::Domain.as_str(),
                    EntityKind::Application.as_str(),
                    EntityKind::UseCase.as_str(),
                ]))
                .add(about_products(visible_ids))
                .add(
                    Condition::all().add(kind(EntityKind::LineageEdge)).add(
                        audit_entry::Column::EntityId.in_subquery(
                            Query::select()
                                .column(lineage_edge::Column::Id)
                                .from(lineage_edge::Entity)
                                .cond_where(
                                    Condition::all()
                                        .add(product_end(
                                            lineage_edge::Column::FromKind,
                                            lineage_edge::Column::FromId,
                                        ))
                                        .add(product_end(lineage_edge::Column::ToKind, lineage_edge::Column::ToId)),
                                )
                                .to_owned(),
                        ),
                    ),
                ),
        )
}
