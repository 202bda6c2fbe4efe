//! DataLoaders: every nested lookup is batched per request (no N+1
//! queries). One loader type, one key type per lookup.

use std::collections::HashMap;
use std::hash::Hash;

use async_graphql::dataloader::Loader;
use async_graphql::ErrorExtensions;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, FromQueryResult, QueryFilter, QueryOrder};

use super::metrics::Metrics;
use crate::catalog::CatalogError;
use crate::store::entities::{
    access_subscription, application, data_product, domain, product_tag, quality_check, quality_result, schema_version,
    team, team_member, use_case, use_case_product,
};

/// Batches lookups against the store.
pub struct StoreLoader {
    pub db: DatabaseConnection,
    /// Counts the batches and their keys.
    pub metrics: Metrics,
}

fn db_error(e: sea_orm::DbErr) -> async_graphql::Error {
    CatalogError::from(e).extend()
}

fn group<K: Hash + Eq, V>(items: Vec<V>, key: impl Fn(&V) -> K) -> HashMap<K, Vec<V>> {
    let mut map: HashMap<K, Vec<V>> = HashMap::new();
    for item in items {
        map.entry(key(&item)).or_default().push(item);
    }
    map
}

/// Declares a key type and its loader: `by id` returns one row per key,
/// `many` returns every row whose column equals the key, `latest` the
/// row its entity's `latest_of` picks for each key (`$table.$col` is one
/// of the keys; the row's `$field` says which).
macro_rules! loader {
    (@single $key:ident, $entity:ident, |$ids:ident| $filter:expr, $field:ident) => {
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $key(pub String);

        impl Loader<$key> for StoreLoader {
            type Value = $entity::Model;
            type Error = async_graphql::Error;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, Self::Value>, Self::Error> {
                self.metrics.lookup(stringify!($key), keys.len());
                let $ids: Vec<String> = keys.iter().map(|k| k.0.clone()).collect();
                let rows = $entity::Entity::find()
                    .filter($filter)
                    .all(&self.db)
                    .await
                    .map_err(db_error)?;
                Ok(rows.into_iter().map(|r| ($key(r.$field.clone()), r)).collect())
            }
        }
    };
    ($key:ident => one $entity:ident by $col:ident) => {
        loader!(@single $key, $entity, |ids| $entity::Column::$col.is_in(ids), id);
    };
    ($key:ident => latest $entity:ident where $table:ident . $col:ident is key $field:ident) => {
        loader!(@single $key, $entity, |ids| $entity::latest_of($table::Column::$col.is_in(ids)), $field);
    };
    ($key:ident => many $entity:ident by $col:ident . $field:ident order $order:ident $dir:ident) => {
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $key(pub String);

        impl Loader<$key> for StoreLoader {
            type Value = Vec<$entity::Model>;
            type Error = async_graphql::Error;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, Self::Value>, Self::Error> {
                self.metrics.lookup(stringify!($key), keys.len());
                let ids: Vec<String> = keys.iter().map(|k| k.0.clone()).collect();
                let rows = $entity::Entity::find()
                    .filter($entity::Column::$col.is_in(ids))
                    .$dir($entity::Column::$order)
                    .all(&self.db)
                    .await
                    .map_err(db_error)?;
                Ok(group(rows, |r| $key(r.$field.clone())))
            }
        }
    };
}

loader!(TeamById => one team by Id);
loader!(DomainById => one domain by Id);
loader!(ProductById => one data_product by Id);
loader!(ApplicationById => one application by Id);
loader!(MembersOfTeam => many team_member by TeamId.team_id order UserId order_by_asc);
loader!(TagsOfProduct => many product_tag by ProductId.product_id order Tag order_by_asc);
loader!(SchemasOfProduct => many schema_version by ProductId.product_id order Version order_by_asc);
loader!(ChecksOfProduct => many quality_check by ProductId.product_id order Name order_by_asc);
loader!(SubscriptionsOfProduct => many access_subscription by ProductId.product_id order RequestedAt order_by_desc);
loader!(SubscriptionsOfApplication => many access_subscription by ApplicationId.application_id order RequestedAt order_by_desc);
loader!(ProductsOfDomain => many data_product by DomainId.domain_id order QualifiedName order_by_asc);
loader!(ProductsOfTeam => many data_product by OwnerTeamId.owner_team_id order QualifiedName order_by_asc);
loader!(ApplicationsOfTeam => many application by OwnerTeamId.owner_team_id order Name order_by_asc);
loader!(DomainsOfTeam => many domain by OwnerTeamId.owner_team_id order Name order_by_asc);
loader!(UseCaseById => one use_case by Id);
loader!(UseCasesOfApplication => many use_case by ApplicationId.application_id order Name order_by_asc);
loader!(ProductsOfUseCase => many use_case_product by UseCaseId.use_case_id order ProductId order_by_asc);
loader!(UseCasesOfProduct => many use_case_product by ProductId.product_id order UseCaseId order_by_asc);
// One row per key, whatever the history behind it (a check's results, a
// product's schema versions).
loader!(LatestResultOfCheck => latest quality_result where quality_check.Id is key check_id);
loader!(LatestSchemaOfProduct => latest schema_version where schema_version.ProductId is key product_id);

/// A check's newest results, at most as many as the key's limit
/// (`quality_result::recent`), newest first: one statement per batch of
/// checks, whatever their histories.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecentResultsOfCheck(pub String, pub u64);

/// Checks per statement of [`RecentResultsOfCheck`] (SQLite allows 500
/// parts in a compound query).
const PAGES_PER_STATEMENT: usize = 200;

impl Loader<RecentResultsOfCheck> for StoreLoader {
    type Value = Vec<quality_result::Model>;
    type Error = async_graphql::Error;

    async fn load(
        &self,
        keys: &[RecentResultsOfCheck],
    ) -> Result<HashMap<RecentResultsOfCheck, Self::Value>, Self::Error> {
        self.metrics.lookup("RecentResultsOfCheck", keys.len());
        let backend = self.db.get_database_backend();
        let mut out: HashMap<RecentResultsOfCheck, Self::Value> = HashMap::new();
        for chunk in keys.chunks(PAGES_PER_STATEMENT) {
            // Two keys may name one check with different limits: its page
            // is read once, as long as the longest.
            let mut pages: HashMap<String, u64> = HashMap::new();
            for key in chunk {
                let limit = pages.entry(key.0.clone()).or_default();
                *limit = (*limit).max(key.1);
            }
            let Some(query) = quality_result::recent(&pages.into_iter().collect::<Vec<_>>()) else {
                continue;
            };
            let rows = quality_result::Model::find_by_statement(backend.build(&query))
                .all(&self.db)
                .await
                .map_err(db_error)?;
            let by_check = group(rows, |r| r.check_id.clone());
            for key in chunk {
                let limit = usize::try_from(key.1).unwrap_or(usize::MAX);
                let rows = by_check
                    .get(&key.0)
                    .map(|rows| rows.iter().take(limit).cloned().collect());
                out.insert(key.clone(), rows.unwrap_or_default());
            }
        }
        Ok(out)
    }
}
