//! The domain layer: the rules of the data mesh catalog.
//!
//! Every mutation follows one shape: parse the input into domain types,
//! open one write transaction ([`Unit`], which resolves the caller's
//! [`policy::Principal`]), load the target and ask `policy` whether the
//! caller may act on it ([`Catalog::allow`]: a refusal rolls the unit back
//! and is audited in a transaction of its own), apply, record what changed
//! (audit), commit, then tell the after-commit hooks ([`ChangeHook`]) —
//! search indexing and event publishing hang off that seam. Changes
//! committed by other replicas come back from `mesh.catalog.events` and
//! reach the same hooks through [`Catalog::observe_peer_change`], once per
//! change id. Reads go straight to the store, filtered by the request's
//! principal.

mod applications;
mod audit;
mod error;
mod freshness;
mod lineage;
pub mod outbox;
pub mod policy;
mod products;
mod quality;
mod rows;
pub mod schema;
mod schemas;
mod teams;
mod topic_rules;
mod types;
mod use_cases;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, DatabaseConnection, DatabaseTransaction, Set};

use crate::auth::Caller;
use crate::store::entities::{audit_entry, data_product};
use crate::store::{Store, WriteTx};

pub use applications::{AccessDecision, NewApplication, RequestAccess};
pub use audit::AuditFilter;
pub use error::{CatalogError, Result};
pub use freshness::{MonitoredProduct, SYSTEM_ACTOR};
pub use lineage::{
    ImpactReport, ImpactedApplication, ImpactedProduct, LineageGraph, LineageNode, NewLineageEdge, NodeEntity, NodeRef,
};
pub use products::{Deprecate, ProductFilter, ProductPage, PublishProduct, QualityCheckInput, SlaInput, TopicInput};
pub use quality::{quality_score, RecordQualityResult};
pub use schemas::{
    decode_format, decode_mode, format_str, mode_str, parse_stored, stored_fields, SchemaDiff, SchemaInput,
};
pub use teams::{NewDomain, NewTeam};
pub use topic_rules::ReservedTopics;
pub use types::*;
pub use use_cases::{NewUseCase, UseCaseRegistration, UseCaseRole};

/// A committed change to the catalog, handed to every [`ChangeHook`].
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// Unique and time-ordered (UUIDv7); also the audit entry's id.
    pub id: String,
    pub kind: ChangeKind,
    pub entity_kind: EntityKind,
    pub entity_id: String,
    pub entity_name: String,
    pub actor: String,
    pub at: DateTime<Utc>,
    pub summary: String,
    /// Products whose derived data (search document, counts, score) may
    /// have changed.
    pub products: Vec<String>,
}

/// Called after every committed change, in commit order. Implementations
/// must not block: hand the change to a task of your own.
pub trait ChangeHook: Send + Sync {
    /// A change committed by this process.
    fn after_commit(&self, change: &Change);

    /// A change committed by another replica (read back from
    /// `mesh.catalog.events`, in order per entity); ignored unless the hook
    /// keeps state that every replica must update.
    fn after_peer_commit(&self, _change: &Change) {}
}

/// How many recent change ids a catalog remembers to hand each change to
/// the hooks once (far more than can be in flight on the events topic).
const REMEMBERED_CHANGES: usize = 100_000;

/// The ids of the changes already handed to the hooks, oldest first out.
#[derive(Default)]
struct Seen {
    ids: std::collections::HashSet<String>,
    order: std::collections::VecDeque<String>,
}

impl Seen {
    /// Remembers `id`; false if it was already known.
    fn insert(&mut self, id: &str) -> bool {
        if self.ids.contains(id) {
            return false;
        }
        if self.order.len() == REMEMBERED_CHANGES {
            if let Some(oldest) = self.order.pop_front() {
                self.ids.remove(&oldest);
            }
        }
        self.ids.insert(id.to_owned());
        self.order.push_back(id.to_owned());
        true
    }
}

/// The catalog service. Cheap to clone.
#[derive(Clone)]
pub struct Catalog {
    store: Store,
    hooks: Arc<Vec<Arc<dyn ChangeHook>>>,
    settings: policy::Settings,
    seen: Arc<std::sync::Mutex<Seen>>,
}

/// What a mutation is about, for the audit entry of a refusal.
#[derive(Debug, Clone)]
pub(crate) struct Op {
    /// The GraphQL mutation's name.
    pub name: &'static str,
    pub entity_kind: EntityKind,
    /// The target as the caller named it.
    pub key: String,
}

impl Op {
    pub(crate) fn new(name: &'static str, entity_kind: EntityKind, key: &str) -> Self {
        Self {
            name,
            entity_kind,
            key: key.to_owned(),
        }
    }
}

impl Catalog {
    pub fn new(store: Store) -> Self {
        Self {
            store,
            hooks: Arc::new(Vec::new()),
            settings: policy::Settings::default(),
            seen: Arc::default(),
        }
    }

    /// Sets the policy switches; call before the catalog is shared.
    pub fn with_settings(mut self, settings: policy::Settings) -> Self {
        self.settings = settings;
        self
    }

    /// The caller with its memberships resolved, for the reads of one
    /// request.
    pub async fn principal(&self, caller: &Caller) -> Result<policy::Principal> {
        policy::Principal::resolve(self.db(), caller, &self.settings).await
    }

    /// Topics no product may be bound to or stream.
    pub fn reserved_topics(&self) -> &ReservedTopics {
        &self.settings.reserved_topics
    }

    /// Adds a hook; call before the catalog is shared.
    pub fn with_hook(mut self, hook: Arc<dyn ChangeHook>) -> Self {
        Arc::make_mut(&mut self.hooks).push(hook);
        self
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    fn db(&self) -> &DatabaseConnection {
        self.store.db()
    }

    /// Opens the unit of work of one mutation on behalf of `caller`; an
    /// anonymous caller is refused (and the refusal audited).
    async fn begin(&self, caller: &Caller, op: Op) -> Result<Unit> {
        let Some(identity) = caller.identity() else {
            let refusal = CatalogError::Unauthenticated(format!(
                "{} needs a bearer token (mesh-catalog token --sub <user>)",
                op.name
            ));
            self.record_refusal("anonymous", &op, &refusal).await;
            return Err(refusal);
        };
        let tx = self.store.begin_write().await?;
        let principal = policy::Principal::resolve(&tx.tx, caller, &self.settings).await?;
        Ok(Unit {
            tx,
            actor: identity.subject.clone(),
            principal,
            op,
            changes: Vec::new(),
        })
    }

    /// Opens a unit of work for a change the server makes by itself (no
    /// caller, so no policy check); never reachable from a request.
    async fn begin_system(&self, op: Op) -> Result<Unit> {
        let tx = self.store.begin_write().await?;
        Ok(Unit {
            tx,
            actor: freshness::SYSTEM_ACTOR.to_owned(),
            principal: policy::Principal::default(),
            op,
            changes: Vec::new(),
        })
    }

    /// The product whose live records `principal` wants to read, if it
    /// exists and the policy allows it (`productEvents`).
    pub async fn product_for_records(
        &self,
        principal: &policy::Principal,
        key: &str,
    ) -> Result<(data_product::Model, policy::RecordAccess)> {
        let product = rows::find_product(self.db(), key).await?;
        let access = policy::record_access(self.db(), principal, &product, key).await?;
        if self.settings.reserved_topics.contains(&product.topic_name) {
            return Err(CatalogError::Forbidden(format!(
                "the records of {} are not available: its topic `{}` is reserved for the platform",
                product.qualified_name, product.topic_name
            )));
        }
        Ok((product, access))
    }

    /// What `principal` may find with `search` and `suggest`: refused when
    /// it may not read the catalog at all. The index applies the audience
    /// inside its query (so totals and facets count only what it may see);
    /// the hits' rows pass `policy::can_see` again as they are loaded.
    pub fn search_audience(&self, principal: &policy::Principal) -> Result<policy::Audience> {
        policy::ensure_reader(principal)?;
        Ok(policy::search_audience(principal))
    }

    /// Whether `caller` may see the cluster's unadopted topics and sample
    /// their records (and so adopt one); a refusal is audited.
    pub async fn inspect_cluster(&self, caller: &Caller, operation: &'static str, topic: &str) -> Result<()> {
        let principal = self.principal(caller).await?;
        let decision = policy::authorize(&principal, policy::Action::InspectCluster);
        if let Err(refusal) = &decision {
            let op = Op::new(operation, EntityKind::Product, topic);
            self.record_refusal(principal.actor(), &op, refusal).await;
        }
        decision
    }

    /// Committed changes not yet published by the relay (the outbox's
    /// rows).
    pub async fn outbox_depth(&self) -> Result<u64> {
        use sea_orm::{EntityTrait, PaginatorTrait};
        Ok(crate::store::entities::outbox::Entity::find().count(self.db()).await?)
    }

    /// Names of the topics that belong to a data product (in any status).
    pub async fn claimed_topics(&self) -> Result<std::collections::HashSet<String>> {
        use sea_orm::{EntityTrait, QuerySelect};
        let names: Vec<String> = data_product::Entity::find()
            .select_only()
            .column(data_product::Column::TopicName)
            .into_tuple()
            .all(self.db())
            .await?;
        Ok(names.into_iter().collect())
    }

    /// The global numeric id of a schema version (the Confluent wire
    /// format's schema id).
    pub async fn schema_registry_id(&self, schema_version_id: &str) -> Result<Option<i64>> {
        use crate::store::entities::schema_registry_id as ids;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        Ok(ids::Entity::find()
            .filter(ids::Column::SchemaVersionId.eq(schema_version_id))
            .one(self.db())
            .await?
            .map(|row| row.id))
    }

    /// Applies a policy decision to a unit: on refusal the unit is rolled
    /// back and the refusal is audited in a transaction of its own. Pass
    /// the decision first (`self.allow(policy::authorize(&unit.principal,
    /// …), unit)`) so it is made before the unit moves.
    async fn allow(&self, decision: Result<()>, unit: Unit) -> Result<Unit> {
        match decision {
            Ok(()) => Ok(unit),
            Err(refusal) => {
                let Unit { tx, actor, op, .. } = unit;
                drop(tx);
                self.record_refusal(&actor, &op, &refusal).await;
                Err(refusal)
            }
        }
    }

    /// [`Catalog::allow`] for an action on a product: the product must be
    /// visible to the caller (else NOT_FOUND, as if it did not exist), then
    /// the action allowed (else FORBIDDEN).
    async fn allow_on_product(
        &self,
        unit: Unit,
        product: &data_product::Model,
        key: &str,
        action: policy::Action<'_>,
    ) -> Result<Unit> {
        let decision = policy::ensure_visible(&unit.principal, product, key)
            .and_then(|()| policy::authorize(&unit.principal, action));
        self.allow(decision, unit).await
    }

    /// Writes a `DENIED` audit entry. Failing to audit is logged, never
    /// turned into another error: the caller gets the refusal either way.
    async fn record_refusal(&self, actor: &str, op: &Op, refusal: &CatalogError) {
        let entry = audit_entry::ActiveModel {
            id: Set(new_id()),
            at: Set(Utc::now()),
            actor: Set(actor.to_owned()),
            action: Set(ChangeKind::Denied),
            entity_kind: Set(op.entity_kind),
            entity_id: Set(op.key.chars().take(500).collect()),
            entity_name: Set(op.key.chars().take(500).collect()),
            summary: Set(format!("{} refused ({}): {refusal}", op.name, refusal.code())),
        };
        let written = async {
            let tx = self.store.begin_write().await?;
            entry.insert(&tx.tx).await?;
            tx.commit().await?;
            Ok::<_, CatalogError>(())
        };
        if let Err(e) = written.await {
            tracing::error!(error = %e, "cannot audit a refusal");
        }
    }

    /// Commits the unit, then notifies the hooks of its changes in order.
    async fn commit(&self, unit: Unit) -> Result<()> {
        let Unit { tx, changes, .. } = unit;
        tx.commit().await?;
        for change in &changes {
            self.remember(&change.id);
            for hook in self.hooks.iter() {
                hook.after_commit(change);
            }
        }
        Ok(())
    }

    /// Hands a change read from `mesh.catalog.events` to the hooks, unless
    /// it was already handed over (this process committed it, or the topic
    /// delivered it before: delivery is at-least-once). True if handed.
    pub fn observe_peer_change(&self, change: &Change) -> bool {
        if !self.remember(&change.id) {
            return false;
        }
        for hook in self.hooks.iter() {
            hook.after_peer_commit(change);
        }
        true
    }

    fn remember(&self, id: &str) -> bool {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).insert(id)
    }
}

/// One mutation's transaction, its caller and the changes it has recorded
/// so far.
struct Unit {
    tx: WriteTx,
    actor: String,
    principal: policy::Principal,
    op: Op,
    changes: Vec<Change>,
}

/// What [`Unit::record`] needs to know about a change.
struct Event<'a> {
    kind: ChangeKind,
    entity_kind: EntityKind,
    entity_id: &'a str,
    entity_name: &'a str,
    summary: String,
    products: Vec<String>,
}

impl Unit {
    fn conn(&self) -> &DatabaseTransaction {
        &self.tx.tx
    }

    /// Writes the audit entry and the outbox event in this transaction and
    /// queues the change for the after-commit hooks.
    async fn record(&mut self, event: Event<'_>) -> Result<()> {
        let change = Change {
            id: new_id(),
            kind: event.kind,
            entity_kind: event.entity_kind,
            entity_id: event.entity_id.to_owned(),
            entity_name: event.entity_name.to_owned(),
            actor: self.actor.clone(),
            at: Utc::now(),
            summary: event.summary,
            products: event.products,
        };
        audit_entry::ActiveModel {
            id: Set(change.id.clone()),
            at: Set(change.at),
            actor: Set(change.actor.clone()),
            action: Set(change.kind),
            entity_kind: Set(change.entity_kind),
            entity_id: Set(change.entity_id.clone()),
            entity_name: Set(change.entity_name.clone()),
            summary: Set(change.summary.clone()),
        }
        .insert(self.conn())
        .await?;
        outbox::write(self.conn(), &change).await?;
        self.changes.push(change);
        Ok(())
    }
}

/// Turns a lookup's NOT_FOUND into `None` (for queries, where absence is
/// an answer, not an error).
pub(crate) fn optional<T>(found: Result<T>) -> Result<Option<T>> {
    match found {
        Ok(v) => Ok(Some(v)),
        Err(CatalogError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A new time-ordered identifier.
pub(crate) fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Trims and bounds a free-text input.
pub(crate) fn text(what: &str, value: &str, max: usize) -> Result<String> {
    let value = value.trim();
    if value.chars().count() > max {
        return Err(CatalogError::Validation(format!(
            "{what} is longer than {max} characters"
        )));
    }
    Ok(value.to_owned())
}

/// Like [`text`] but refuses an empty value.
pub(crate) fn required_text(what: &str, value: &str, max: usize) -> Result<String> {
    let value = text(what, value, max)?;
    if value.is_empty() {
        return Err(CatalogError::Validation(format!("{what} must not be empty")));
    }
    Ok(value)
}
