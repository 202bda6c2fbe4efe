//! Applications and their access subscriptions to data products.
//!
//! An approved subscription is also lineage: approving adds the
//! product → application CONSUMES edge, revoking removes it.

use chrono::Utc;
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use crate::auth::Caller;
use crate::store::entities::{access_subscription, application, data_product, lineage_edge};

use super::lineage::{find_edge, insert_edge, Endpoint};
use super::policy::{self, Action, Principal};
use super::rows::{find_application, find_product, find_team};
use super::{
    new_id, required_text, text, Catalog, CatalogError, ChangeKind, EntityKind, Event, Name, NodeKind, Op,
    ProductStatus, Result, SubscriptionStatus, Unit,
};

/// Input of `createApplication`.
#[derive(Debug, Clone)]
pub struct NewApplication {
    pub name: String,
    pub description: String,
    /// Team id or name.
    pub owner_team: String,
}

/// Input of `requestAccess`.
#[derive(Debug, Clone)]
pub struct RequestAccess {
    /// Application id or name.
    pub application: String,
    /// Product id or qualified name.
    pub product: String,
    pub purpose: String,
}

/// The owner's decision on a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessDecision {
    /// Approve, with or without access to the PII fields of records.
    Approve {
        pii_access: bool,
    },
    Reject,
    Revoke,
}

impl AccessDecision {
    fn transition(self) -> (SubscriptionStatus, SubscriptionStatus, ChangeKind) {
        match self {
            AccessDecision::Approve { .. } => (
                SubscriptionStatus::Pending,
                SubscriptionStatus::Approved,
                ChangeKind::AccessApproved,
            ),
            AccessDecision::Reject => (
                SubscriptionStatus::Pending,
                SubscriptionStatus::Rejected,
                ChangeKind::AccessRejected,
            ),
            AccessDecision::Revoke => (
                SubscriptionStatus::Approved,
                SubscriptionStatus::Revoked,
                ChangeKind::AccessRevoked,
            ),
        }
    }
}

async fn find_subscription(db: &impl ConnectionTrait, id: &str) -> Result<access_subscription::Model> {
    access_subscription::Entity::find_by_id(id.to_owned())
        .one(db)
        .await?
        .ok_or_else(|| CatalogError::not_found("subscription", id))
}

impl Catalog {
    pub async fn create_application(&self, caller: &Caller, input: NewApplication) -> Result<application::Model> {
        let name = Name::parse("application name", &input.name)?;
        let description = text("description", &input.description, 10_000)?;
        let unit = self
            .begin(
                caller,
                Op::new("createApplication", EntityKind::Application, name.as_str()),
            )
            .await?;
        let team = find_team(unit.conn(), &input.owner_team).await?;
        let mut unit = self
            .allow(
                policy::authorize(&unit.principal, Action::CreateApplication { owner: &team }),
                unit,
            )
            .await?;
        if find_application(unit.conn(), name.as_str()).await.is_ok() {
            return Err(CatalogError::Conflict(format!(
                "application `{}` already exists",
                name.as_str()
            )));
        }
        let now = Utc::now();
        let model = application::ActiveModel {
            id: Set(new_id()),
            name: Set(name.as_str().to_owned()),
            description: Set(description),
            owner_team_id: Set(team.id.clone()),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(unit.conn())
        .await?;
        unit.record(Event {
            kind: ChangeKind::ApplicationCreated,
            entity_kind: EntityKind::Application,
            entity_id: &model.id,
            entity_name: &model.name,
            summary: format!("created application {} owned by {}", model.name, team.name),
            products: vec![],
        })
        .await?;
        self.commit(unit).await?;
        Ok(model)
    }

    pub async fn request_access(&self, caller: &Caller, input: RequestAccess) -> Result<access_subscription::Model> {
        let purpose = required_text("purpose", &input.purpose, 4_000)?;
        let unit = self
            .begin(caller, Op::new("requestAccess", EntityKind::Product, &input.product))
            .await?;
        let app = find_application(unit.conn(), &input.application).await?;
        let product = find_product(unit.conn(), &input.product).await?;
        let mut unit = self
            .allow_on_product(
                unit,
                &product,
                &input.product,
                Action::RequestAccess { application: &app },
            )
            .await?;
        let model = insert_request(&mut unit, &app, &product, purpose).await?;
        self.commit(unit).await?;
        Ok(model)
    }

    /// Approves, rejects or revokes a subscription. A rejection needs a reason.
    pub async fn decide_access(
        &self,
        caller: &Caller,
        subscription: &str,
        decision: AccessDecision,
        reason: Option<String>,
    ) -> Result<access_subscription::Model> {
        let reason = reason
            .as_deref()
            .map(|r| text("reason", r, 4_000))
            .transpose()?
            .filter(|r| !r.is_empty());
        if decision == AccessDecision::Reject && reason.is_none() {
            return Err(CatalogError::Validation("a rejection needs a reason".into()));
        }
        let (from, to, kind) = decision.transition();
        let name = match decision {
            AccessDecision::Approve { .. } => "approveAccess",
            AccessDecision::Reject => "rejectAccess",
            AccessDecision::Revoke => "revokeAccess",
        };
        let unit = self
            .begin(caller, Op::new(name, EntityKind::Subscription, subscription))
            .await?;
        let current = find_subscription(unit.conn(), subscription).await?;
        let product = data_product::Entity::find_by_id(current.product_id.clone())
            .one(unit.conn())
            .await?
            .ok_or_else(|| CatalogError::Internal("subscription without product".into()))?;
        // A subscription to a hidden product is itself hidden.
        let unit = self
            .allow(
                policy::ensure_visible(&unit.principal, &product, subscription)
                    .map_err(|_| CatalogError::not_found("subscription", subscription)),
                unit,
            )
            .await?;
        let mut unit = self
            .allow(
                policy::authorize(&unit.principal, Action::DecideAccess { product: &product }),
                unit,
            )
            .await?;
        if current.status != from {
            return Err(CatalogError::Conflict(format!(
                "subscription {} is {}; only a {from} subscription can become {to}",
                current.id, current.status
            )));
        }
        let pii_access = matches!(decision, AccessDecision::Approve { pii_access: true });
        let updated = access_subscription::Entity::update_many()
            .col_expr(access_subscription::Column::Status, Expr::value(to.as_str()))
            .col_expr(
                access_subscription::Column::PiiAccess,
                Expr::value(pii_access && to == SubscriptionStatus::Approved),
            )
            .col_expr(access_subscription::Column::DecidedBy, Expr::value(unit.actor.clone()))
            .col_expr(access_subscription::Column::DecidedAt, Expr::value(Utc::now()))
            .col_expr(access_subscription::Column::DecisionReason, Expr::value(reason.clone()))
            .filter(access_subscription::Column::Id.eq(&current.id))
            .filter(access_subscription::Column::Status.eq(from))
            .exec(unit.conn())
            .await?;
        if updated.rows_affected != 1 {
            return Err(CatalogError::Conflict(format!(
                "subscription {} was decided concurrently",
                current.id
            )));
        }
        let app = find_application(unit.conn(), &current.application_id).await?;
        self.sync_consumes_edge(&unit, &product, &app, to).await?;
        unit.record(Event {
            kind,
            entity_kind: EntityKind::Subscription,
            entity_id: &current.id,
            entity_name: &format!("{} → {}", product.qualified_name, app.name),
            summary: format!(
                "{to} access of {} to {}{}",
                app.name,
                product.qualified_name,
                reason.map(|r| format!(": {r}")).unwrap_or_default()
            ),
            products: vec![product.id.clone()],
        })
        .await?;
        self.commit(unit).await?;
        find_subscription(self.db(), &current.id).await
    }

    async fn sync_consumes_edge(
        &self,
        unit: &Unit,
        product: &data_product::Model,
        app: &application::Model,
        status: SubscriptionStatus,
    ) -> Result<()> {
        let existing = find_edge(unit, &product.id, &app.id).await?;
        match (status, existing) {
            (SubscriptionStatus::Approved, None) => {
                let from = Endpoint {
                    kind: NodeKind::Product,
                    id: product.id.clone(),
                };
                let to = Endpoint {
                    kind: NodeKind::Application,
                    id: app.id.clone(),
                };
                insert_edge(unit, &from, &to, &[]).await?;
            }
            (SubscriptionStatus::Revoked, Some(edge)) => {
                lineage_edge::Entity::delete_by_id(edge.id).exec(unit.conn()).await?;
            }
            _ => {}
        }
        Ok(())
    }

    pub async fn application(&self, principal: &Principal, key: &str) -> Result<Option<application::Model>> {
        policy::ensure_reader(principal)?;
        super::optional(find_application(self.db(), key).await)
    }

    pub async fn applications(&self, principal: &Principal) -> Result<Vec<application::Model>> {
        policy::ensure_reader(principal)?;
        Ok(application::Entity::find()
            .order_by_asc(application::Column::Name)
            .all(self.db())
            .await?)
    }

    /// A subscription, if its product is visible to the caller.
    pub async fn subscription(&self, principal: &Principal, id: &str) -> Result<Option<access_subscription::Model>> {
        policy::ensure_reader(principal)?;
        let Some(subscription) = access_subscription::Entity::find_by_id(id.to_owned())
            .one(self.db())
            .await?
        else {
            return Ok(None);
        };
        let product = data_product::Entity::find_by_id(subscription.product_id.clone())
            .one(self.db())
            .await?;
        Ok(product.filter(|p| policy::can_see(principal, p)).map(|_| subscription))
    }

    /// Subscriptions to products the caller can see, newest first,
    /// optionally narrowed.
    pub async fn subscriptions(
        &self,
        principal: &Principal,
        product: Option<&str>,
        application: Option<&str>,
        status: Option<SubscriptionStatus>,
    ) -> Result<Vec<access_subscription::Model>> {
        policy::ensure_reader(principal)?;
        let mut query = access_subscription::Entity::find();
        if let Some(product) = product {
            let product = self.visible_product(principal, product).await?;
            query = query.filter(access_subscription::Column::ProductId.eq(product.id));
        }
        if let Some(visible) = policy::product_condition(principal) {
            query = query.filter(
                access_subscription::Column::ProductId.in_subquery(
                    Query::select()
                        .column(data_product::Column::Id)
                        .from(data_product::Entity)
                        .cond_where(visible)
                        .to_owned(),
                ),
            );
        }
        if let Some(app) = application {
            query =
                query.filter(access_subscription::Column::ApplicationId.eq(find_application(self.db(), app).await?.id));
        }
        if let Some(status) = status {
            query = query.filter(access_subscription::Column::Status.eq(status));
        }
        Ok(query
            .order_by_desc(access_subscription::Column::RequestedAt)
            .all(self.db())
            .await?)
    }
}

/// Records a PENDING access request of `app` to `product` in the unit,
/// refused unless the product is PUBLISHED and the application holds no
/// open request or approval for it. Authorization is the caller's job.
pub(crate) async fn insert_request(
    unit: &mut Unit,
    app: &application::Model,
    product: &data_product::Model,
    purpose: String,
) -> Result<access_subscription::Model> {
    match product.status {
        ProductStatus::Published => {}
        status => {
            return Err(CatalogError::Conflict(format!(
                "access can only be requested to a PUBLISHED product; `{}` is {status}",
                product.qualified_name
            )))
        }
    }
    let open = access_subscription::Entity::find()
        .filter(access_subscription::Column::ApplicationId.eq(&app.id))
        .filter(access_subscription::Column::ProductId.eq(&product.id))
        .filter(access_subscription::Column::Status.is_in([
            SubscriptionStatus::Pending.as_str(),
            SubscriptionStatus::Approved.as_str(),
        ]))
        .one(unit.conn())
        .await?;
    if let Some(open) = open {
        return Err(CatalogError::Conflict(format!(
            "application `{}` already has a {} subscription to `{}` ({})",
            app.name, open.status, product.qualified_name, open.id
        )));
    }
    let model = access_subscription::ActiveModel {
        id: Set(new_id()),
        application_id: Set(app.id.clone()),
        product_id: Set(product.id.clone()),
        purpose: Set(purpose),
        status: Set(SubscriptionStatus::Pending),
        requested_by: Set(unit.actor.clone()),
        requested_at: Set(Utc::now()),
        decided_by: Set(None),
        decided_at: Set(None),
        decision_reason: Set(None),
        pii_access: Set(false),
    }
    .insert(unit.conn())
    .await?;
    unit.record(Event {
        kind: ChangeKind::AccessRequested,
        entity_kind: EntityKind::Subscription,
        entity_id: &model.id,
        entity_name: &format!("{} → {}", product.qualified_name, app.name),
        summary: format!(
            "{} requested access to {} for {}",
            model.requested_by, product.qualified_name, app.name
        ),
        products: vec![product.id.clone()],
    })
    .await?;
    Ok(model)
}
