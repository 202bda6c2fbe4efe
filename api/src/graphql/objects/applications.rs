//! Applications, their access subscriptions and use cases.

use async_graphql::{Context, Enum, ErrorExtensions, Object, Result, ID};
use chrono::{DateTime, Utc};

use crate::catalog::{
    self as domain_layer, policy, CatalogError, Direction, SubscriptionStatus, UseCaseKind, UseCaseRole,
};
use crate::store::entities::{access_subscription, application, use_case};

use super::super::error::GqlResult;
use super::super::loaders::*;
use super::super::{catalog, loader, principal};
use super::*;

/// A consuming (and possibly producing) application of a team.
pub struct Application(pub application::Model);

#[Object]
impl Application {
    async fn id(&self) -> ID {
        id(&self.0.id)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    async fn owner_team(&self, ctx: &Context<'_>) -> Result<Team> {
        team_of(ctx, &self.0.owner_team_id).await
    }
    /// Its access subscriptions to products the caller can see, newest
    /// first.
    async fn subscriptions(
        &self,
        ctx: &Context<'_>,
        status: Option<SubscriptionStatus>,
    ) -> Result<Vec<AccessSubscription>> {
        let loader = loader(ctx);
        let rows: Vec<_> = loader
            .load_one(SubscriptionsOfApplication(self.0.id.clone()))
            .await?
            .unwrap_or_default()
            .into_iter()
            .filter(|s| status.is_none_or(|st| s.status == st))
            .collect();
        let products = loader
            .load_many(rows.iter().map(|s| ProductById(s.product_id.clone())))
            .await?;
        let principal = principal(ctx);
        Ok(rows
            .into_iter()
            .filter(|s| {
                products
                    .get(&ProductById(s.product_id.clone()))
                    .is_some_and(|p| policy::can_see(principal, p))
            })
            .map(AccessSubscription)
            .collect())
    }
    /// How it derives products from products, by name.
    async fn use_cases(&self, ctx: &Context<'_>) -> Result<Vec<UseCase>> {
        let rows = loader(ctx)
            .load_one(UseCasesOfApplication(self.0.id.clone()))
            .await?
            .unwrap_or_default();
        visible_use_cases(ctx, rows).await
    }
    /// Lineage around this application.
    async fn lineage(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Direction::Both")] direction: Direction,
        #[graphql(default = 1)] depth: i32,
    ) -> Result<LineageGraph> {
        LineageGraph::around(
            ctx,
            domain_layer::NodeRef::Application(self.0.id.clone()),
            direction,
            depth,
        )
        .await
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// An application's access request to a data product, and its decision.
pub struct AccessSubscription(pub access_subscription::Model);

#[Object]
impl AccessSubscription {
    async fn id(&self) -> ID {
        id(&self.0.id)
    }
    /// Whether the application may read PII fields of records unmasked.
    async fn pii_access(&self) -> bool {
        self.0.pii_access
    }
    async fn application(&self, ctx: &Context<'_>) -> Result<Application> {
        loader(ctx)
            .load_one(ApplicationById(self.0.application_id.clone()))
            .await?
            .map(Application)
            .ok_or_else(|| CatalogError::Internal("application missing".into()).extend())
    }
    async fn product(&self, ctx: &Context<'_>) -> Result<DataProduct> {
        loader(ctx)
            .load_one(ProductById(self.0.product_id.clone()))
            .await?
            .map(DataProduct::from)
            .ok_or_else(|| CatalogError::Internal("product missing".into()).extend())
    }
    async fn purpose(&self) -> &str {
        &self.0.purpose
    }
    async fn status(&self) -> Result<SubscriptionStatus> {
        Ok(self.0.status)
    }
    async fn requested_by(&self) -> &str {
        &self.0.requested_by
    }
    async fn requested_at(&self) -> DateTime<Utc> {
        self.0.requested_at
    }
    async fn decided_by(&self) -> Option<&str> {
        self.0.decided_by.as_deref()
    }
    async fn decided_at(&self) -> Option<DateTime<Utc>> {
        self.0.decided_at
    }
    async fn decision_reason(&self) -> Option<&str> {
        self.0.decision_reason.as_deref()
    }
}

/// Whether a use case reads or writes a product.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "UseCaseRole")]
pub enum UseCaseRoleValue {
    Input,
    Output,
}

impl From<UseCaseRoleValue> for UseCaseRole {
    fn from(r: UseCaseRoleValue) -> Self {
        match r {
            UseCaseRoleValue::Input => UseCaseRole::Input,
            UseCaseRoleValue::Output => UseCaseRole::Output,
        }
    }
}

/// The use cases whose every product the caller can see (see
/// `Catalog::visible_use_cases`).
pub(super) async fn visible_use_cases(ctx: &Context<'_>, rows: Vec<use_case::Model>) -> Result<Vec<UseCase>> {
    let rows = catalog(ctx).visible_use_cases(principal(ctx), rows).await.gql()?;
    Ok(rows.into_iter().map(UseCase).collect())
}

/// How an application derives output products from input products.
pub struct UseCase(pub use_case::Model);

impl UseCase {
    /// The visible products of one role, by qualified name.
    async fn products(&self, ctx: &Context<'_>, role: UseCaseRole) -> Result<Vec<DataProduct>> {
        let loader = loader(ctx);
        let links = loader
            .load_one(ProductsOfUseCase(self.0.id.clone()))
            .await?
            .unwrap_or_default();
        let products = loader
            .load_many(
                links
                    .iter()
                    .filter(|l| l.role == role.as_str())
                    .map(|l| ProductById(l.product_id.clone())),
            )
            .await?;
        let mut rows: Vec<_> = products.into_values().collect();
        rows.sort_by(|a, b| a.qualified_name.cmp(&b.qualified_name));
        Ok(visible_products(ctx, rows))
    }
}

#[Object]
impl UseCase {
    async fn id(&self) -> ID {
        id(&self.0.id)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn kind(&self) -> Result<UseCaseKind> {
        Ok(self.0.kind)
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    /// The transformation as text (e.g. streaming SQL).
    async fn transformation(&self) -> &str {
        &self.0.transformation
    }
    async fn application(&self, ctx: &Context<'_>) -> Result<Application> {
        loader(ctx)
            .load_one(ApplicationById(self.0.application_id.clone()))
            .await?
            .map(Application)
            .ok_or_else(|| CatalogError::Internal("use case without application".into()).extend())
    }
    /// The products it reads that the caller can see.
    async fn inputs(&self, ctx: &Context<'_>) -> Result<Vec<DataProduct>> {
        self.products(ctx, UseCaseRole::Input).await
    }
    /// The products it writes that the caller can see.
    async fn outputs(&self, ctx: &Context<'_>) -> Result<Vec<DataProduct>> {
        self.products(ctx, UseCaseRole::Output).await
    }
    async fn created_by(&self) -> &str {
        &self.0.created_by
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// What `registerUseCase` did.
pub struct UseCaseRegistration(pub domain_layer::UseCaseRegistration);

#[Object]
impl UseCaseRegistration {
    async fn use_case(&self) -> UseCase {
        UseCase(self.0.use_case.clone())
    }
    /// Lineage edges added (input → application → output); edges that
    /// already existed are not repeated.
    async fn lineage_edges(&self) -> Vec<LineageEdge> {
        self.0.lineage.iter().cloned().map(LineageEdge).collect()
    }
    /// Access requested (PENDING) for the inputs the application did not
    /// hold yet.
    async fn access_requests(&self) -> Vec<AccessSubscription> {
        self.0.access_requests.iter().cloned().map(AccessSubscription).collect()
    }
}
