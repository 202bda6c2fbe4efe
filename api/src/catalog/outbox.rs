//! The transactional outbox: every recorded change is also written, in the
//! same transaction, as the catalog event that `stream::relay` publishes to
//! `mesh.catalog.events`.
//!
//! The entity is snapshotted here, inside the transaction, rather than
//! loaded by the relay when it publishes: the relay may run seconds (or a
//! broker outage) later, by which time the entity may have changed again or
//! be gone, and each event must carry the entity *as this change left it*.
//! Reading it back generically by kind and id keeps every mutation free of
//! serialization code; the row is already in the transaction's cache.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, Set};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::store::entities::{
    access_subscription, application, data_product, domain, lineage_edge, outbox, team, use_case, use_case_product,
};

use super::{Change, ChangeKind, EntityKind, Result, UseCaseRole};

/// The topic every catalog event is published to.
pub const CATALOG_EVENTS_TOPIC: &str = "mesh.catalog.events";

/// The entity row after the change, as JSON (`null` when it no longer exists).
async fn snapshot(tx: &DatabaseTransaction, kind: EntityKind, id: &str) -> Result<Value> {
    let id = id.to_owned();
    let value = match kind {
        EntityKind::Team => team::Entity::find_by_id(id).into_json().one(tx).await?,
        EntityKind::Domain => domain::Entity::find_by_id(id).into_json().one(tx).await?,
        EntityKind::Product => data_product::Entity::find_by_id(id).into_json().one(tx).await?,
        EntityKind::Application => application::Entity::find_by_id(id).into_json().one(tx).await?,
        EntityKind::Subscription => access_subscription::Entity::find_by_id(id).into_json().one(tx).await?,
        EntityKind::LineageEdge => lineage_edge::Entity::find_by_id(id).into_json().one(tx).await?,
        EntityKind::UseCase => use_case_snapshot(tx, id).await?,
    };
    Ok(value.unwrap_or(Value::Null))
}

/// A use case with the ids of its input and output products.
async fn use_case_snapshot(tx: &DatabaseTransaction, id: String) -> Result<Option<Value>> {
    let Some(mut value) = use_case::Entity::find_by_id(id.clone()).into_json().one(tx).await? else {
        return Ok(None);
    };
    let links = use_case_product::Entity::find()
        .filter(use_case_product::Column::UseCaseId.eq(id))
        .all(tx)
        .await?;
    for (key, role) in [("inputs", UseCaseRole::Input), ("outputs", UseCaseRole::Output)] {
        let ids: Vec<&str> = links
            .iter()
            .filter(|l| l.role == role.as_str())
            .map(|l| l.product_id.as_str())
            .collect();
        value[key] = json!(ids);
    }
    Ok(Some(value))
}

/// Names of the domains a change touches, so subscribers can filter by
/// domain without looking anything up.
async fn domains_of(tx: &DatabaseTransaction, change: &Change) -> Result<Vec<String>> {
    let mut domain_ids: Vec<String> = Vec::new();
    if change.entity_kind == EntityKind::Domain {
        domain_ids.push(change.entity_id.clone());
    }
    if !change.products.is_empty() {
        let products = data_product::Entity::find()
            .filter(data_product::Column::Id.is_in(change.products.clone()))
            .all(tx)
            .await?;
        domain_ids.extend(products.into_iter().map(|p| p.domain_id));
    }
    domain_ids.sort();
    domain_ids.dedup();
    if domain_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut names: Vec<String> = domain::Entity::find()
        .filter(domain::Column::Id.is_in(domain_ids))
        .all(tx)
        .await?
        .into_iter()
        .map(|d| d.name)
        .collect();
    names.sort();
    Ok(names)
}

/// Writes the catalog event of `change` into the outbox, in `tx`.
pub(super) async fn write(tx: &DatabaseTransaction, change: &Change) -> Result<()> {
    let entity = snapshot(tx, change.entity_kind, &change.entity_id).await?;
    let domains = domains_of(tx, change).await?;
    let payload = json!({
        "eventId": change.id,
        "type": change.kind.as_str(),
        "time": change.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "actor": change.actor,
        "entityKind": change.entity_kind.as_str(),
        "entityId": change.entity_id,
        "entityName": change.entity_name,
        "summary": change.summary,
        "domains": domains,
        "products": change.products,
        "entity": entity,
    });
    outbox::ActiveModel {
        event_id: Set(change.id.clone()),
        event_type: Set(change.kind),
        at: Set(change.at),
        actor: Set(change.actor.clone()),
        entity_kind: Set(change.entity_kind),
        entity_id: Set(change.entity_id.clone()),
        payload: Set(payload.to_string()),
        ..Default::default()
    }
    .insert(tx)
    .await?;
    Ok(())
}

/// The fields of a catalog event that make it a [`Change`] again (the
/// entity snapshot and the domains are for other readers).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    event_id: String,
    #[serde(rename = "type")]
    kind: ChangeKind,
    time: DateTime<Utc>,
    actor: String,
    entity_kind: EntityKind,
    entity_id: String,
    entity_name: String,
    summary: String,
    products: Vec<String>,
}

/// Reads a record value of `mesh.catalog.events` back as the change that
/// [`write`] recorded.
pub fn read(payload: &[u8]) -> serde_json::Result<Change> {
    let e: Envelope = serde_json::from_slice(payload)?;
    Ok(Change {
        id: e.event_id,
        kind: e.kind,
        entity_kind: e.entity_kind,
        entity_id: e.entity_id,
        entity_name: e.entity_name,
        actor: e.actor,
        at: e.time,
        summary: e.summary,
        products: e.products,
    })
}
