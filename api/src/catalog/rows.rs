//! Lookups and row rules shared by several areas of the catalog (so the
//! areas depend on this module, not on each other): finding teams,
//! domains, products and applications by id or name, and the product's
//! optimistic version bump.

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, ExprTrait, QueryFilter};

use crate::store::entities::{application, data_product, domain, team};

use super::{CatalogError, Result, Unit};

/// Finds a team by id or name.
pub(crate) async fn find_team(db: &impl ConnectionTrait, key: &str) -> Result<team::Model> {
    team::Entity::find()
        .filter(team::Column::Id.eq(key).or(team::Column::Name.eq(key)))
        .one(db)
        .await?
        .ok_or_else(|| CatalogError::not_found("team", key))
}

/// Finds a domain by id or name.
pub(crate) async fn find_domain(db: &impl ConnectionTrait, key: &str) -> Result<domain::Model> {
    domain::Entity::find()
        .filter(domain::Column::Id.eq(key).or(domain::Column::Name.eq(key)))
        .one(db)
        .await?
        .ok_or_else(|| CatalogError::not_found("domain", key))
}

/// Finds an application by id or name.
pub(crate) async fn find_application(db: &impl ConnectionTrait, key: &str) -> Result<application::Model> {
    application::Entity::find()
        .filter(application::Column::Id.eq(key).or(application::Column::Name.eq(key)))
        .one(db)
        .await?
        .ok_or_else(|| CatalogError::not_found("application", key))
}

/// Finds a product by id or qualified name.
pub(crate) async fn find_product(db: &impl ConnectionTrait, key: &str) -> Result<data_product::Model> {
    data_product::Entity::find()
        .filter(
            data_product::Column::Id
                .eq(key)
                .or(data_product::Column::QualifiedName.eq(key)),
        )
        .one(db)
        .await?
        .ok_or_else(|| CatalogError::not_found("data product", key))
}

/// Increments the product's version if it still equals `expected` (or the
/// version just read when the caller gave none): optimistic concurrency.
pub(crate) async fn bump_version(unit: &Unit, product: &data_product::Model, expected: Option<i32>) -> Result<i32> {
    let expected = expected.unwrap_or(product.version);
    if expected != product.version {
        return Err(stale(product, expected));
    }
    let updated = data_product::Entity::update_many()
        .col_expr(
            data_product::Column::Version,
            Expr::col(data_product::Column::Version).add(1),
        )
        .col_expr(data_product::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(data_product::Column::Id.eq(&product.id))
        .filter(data_product::Column::Version.eq(expected))
        .exec(unit.conn())
        .await?;
    if updated.rows_affected != 1 {
        return Err(stale(product, expected));
    }
    Ok(expected + 1)
}

pub(crate) fn stale(product: &data_product::Model, expected: i32) -> CatalogError {
    CatalogError::Conflict(format!(
        "data product `{}` was changed concurrently: expected version {expected}, current version {}",
        product.qualified_name, product.version
    ))
}
