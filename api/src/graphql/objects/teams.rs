//! Teams, domains and the viewer.

use async_graphql::{Context, Object, Result, SimpleObject, ID};
use chrono::{DateTime, Utc};

use crate::store::entities::{domain, team};

use super::super::loader;
use super::super::loaders::*;
use super::*;

/// A team: people (JWT subjects) who own domains, products and applications.
pub struct Team(pub team::Model);

#[Object]
impl Team {
    async fn id(&self) -> ID {
        id(&self.0.id)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    /// User ids of the members.
    async fn members(&self, ctx: &Context<'_>) -> Result<Vec<String>> {
        let rows = loader(ctx)
            .load_one(MembersOfTeam(self.0.id.clone()))
            .await?
            .unwrap_or_default();
        Ok(rows.into_iter().map(|m| m.user_id).collect())
    }
    async fn domains(&self, ctx: &Context<'_>) -> Result<Vec<Domain>> {
        let rows = loader(ctx)
            .load_one(DomainsOfTeam(self.0.id.clone()))
            .await?
            .unwrap_or_default();
        Ok(rows.into_iter().map(Domain).collect())
    }
    /// The products it owns that the caller can see.
    async fn data_products(&self, ctx: &Context<'_>) -> Result<Vec<DataProduct>> {
        let rows = loader(ctx)
            .load_one(ProductsOfTeam(self.0.id.clone()))
            .await?
            .unwrap_or_default();
        Ok(visible_products(ctx, rows))
    }
    async fn applications(&self, ctx: &Context<'_>) -> Result<Vec<Application>> {
        let rows = loader(ctx)
            .load_one(ApplicationsOfTeam(self.0.id.clone()))
            .await?
            .unwrap_or_default();
        Ok(rows.into_iter().map(Application).collect())
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A business domain, owned by one team, grouping data products.
pub struct Domain(pub domain::Model);

#[Object]
impl Domain {
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
    /// Its products the caller can see.
    async fn data_products(&self, ctx: &Context<'_>) -> Result<Vec<DataProduct>> {
        let rows = loader(ctx)
            .load_one(ProductsOfDomain(self.0.id.clone()))
            .await?
            .unwrap_or_default();
        Ok(visible_products(ctx, rows))
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// The authenticated caller.
#[derive(SimpleObject)]
pub struct Viewer {
    pub subject: String,
    pub teams: Vec<String>,
    pub roles: Vec<String>,
}
