//! GraphQL output types, one file per area. Each wraps a stored row (or a
//! catalog result) and resolves its nested fields through the request's
//! DataLoader; nested product lists keep only what the caller may see.

mod applications;
mod audit;
mod lineage;
mod products;
mod quality;
mod schemas;
mod teams;

pub use applications::*;
pub use audit::*;
pub use lineage::*;
pub use products::*;
pub use quality::*;
pub use schemas::*;
pub use teams::*;

use async_graphql::{Context, ErrorExtensions, Result, ID};

use crate::catalog::{policy, CatalogError};
use crate::store::entities::data_product;

use super::loaders::*;
use super::{loader, principal};

fn id(s: &str) -> ID {
    ID(s.to_owned())
}

/// The products of a nested list the caller may see (the policy's
/// `can_see`; hidden ones are simply absent).
fn visible_products(ctx: &Context<'_>, rows: Vec<data_product::Model>) -> Vec<DataProduct> {
    let principal = principal(ctx);
    rows.into_iter()
        .filter(|p| policy::can_see(principal, p))
        .map(DataProduct::from)
        .collect()
}

async fn team_of(ctx: &Context<'_>, team_id: &str) -> Result<Team> {
    loader(ctx)
        .load_one(TeamById(team_id.to_owned()))
        .await?
        .map(Team)
        .ok_or_else(|| CatalogError::Internal(format!("team {team_id} missing")).extend())
}

/// A product loaded by id as any nested product is: only if the caller may
/// see it now.
pub(super) async fn visible_product(ctx: &Context<'_>, id: &str) -> Result<Option<DataProduct>> {
    Ok(loader(ctx)
        .load_one(ProductById(id.to_owned()))
        .await?
        .filter(|p| policy::can_see(principal(ctx), p))
        .map(DataProduct::from))
}
