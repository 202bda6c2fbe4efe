//! Query root: thin resolvers over the catalog.

use async_graphql::connection::{Connection, CursorType, Edge, OpaqueCursor};
use async_graphql::{Context, ErrorExtensions, Object, Result, SimpleObject, ID};

use crate::catalog::{CatalogError, Direction, SubscriptionStatus, UseCaseKind};

use super::error::GqlResult;
use super::inputs::{AuditFilter, DataProductFilter, LineageNodeInput, SchemaInput};
use super::objects::*;
use super::{caller, catalog, principal};

/// Extra fields of the `dataProducts` connection.
#[derive(SimpleObject)]
pub struct CountFields {
    /// Matches of the filter across all pages.
    pub total_count: u64,
}

pub(super) type Cursor = OpaqueCursor<String>;

pub(super) fn decode_cursor(after: Option<String>) -> Result<Option<String>> {
    after
        .map(|c| {
            Cursor::decode_cursor(&c)
                .map(|c| c.0)
                .map_err(|_| CatalogError::Validation(format!("invalid cursor `{c}`")))
        })
        .transpose()
        .gql()
}

/// A page's size: `first`, 20 if absent, 1 to 100.
pub(super) fn page_size(first: Option<i32>) -> Result<u64> {
    bounded("first", first.unwrap_or(20), 100)
}

/// `value` of the argument `name` if it is 1 to `max`, else VALIDATION.
pub(super) fn bounded(name: &str, value: i32, max: i32) -> Result<u64> {
    match value {
        n if (1..=max).contains(&n) => Ok(n as u64),
        n => Err(CatalogError::Validation(format!(
            "{name} must be between 1 and {max}, got {n}"
        )))
        .gql(),
    }
}

/// `text` of the argument `name` if it is at most `max` bytes, else VALIDATION.
pub(super) fn short(name: &str, text: &str, max: usize) -> Result<()> {
    if text.len() > max {
        return Err(CatalogError::Validation(format!(
            "{name} must be at most {max} bytes, got {}",
            text.len()
        )))
        .gql();
    }
    Ok(())
}

#[derive(Default)]
pub struct QueryRoot;

#[Object]
impl QueryRoot {
    /// The authenticated caller, or null when anonymous.
    /// Its teams: those its token claims (by name; a claimed id is shown
    /// as its team's name), then the catalog's teams it is a member of.
    async fn viewer(&self, ctx: &Context<'_>) -> Result<Option<Viewer>> {
        let Some(identity) = caller(ctx).identity() else {
            return Ok(None);
        };
        let catalog_teams = catalog(ctx).teams(principal(ctx)).await.gql()?;
        let mut teams: Vec<String> = identity
            .teams
            .iter()
            .map(|claimed| {
                catalog_teams
                    .iter()
                    .find(|t| &t.id == claimed)
                    .map_or_else(|| claimed.clone(), |t| t.name.clone())
            })
            .collect();
        for team in catalog_teams {
            if principal(ctx).is_member(&team.id) && !teams.contains(&team.name) {
                teams.push(team.name);
            }
        }
        Ok(Some(Viewer {
            subject: identity.subject.clone(),
            teams,
            roles: identity.roles.clone(),
        }))
    }

    async fn teams(&self, ctx: &Context<'_>) -> Result<Vec<Team>> {
        Ok(catalog(ctx)
            .teams(principal(ctx))
            .await
            .gql()?
            .into_iter()
            .map(Team)
            .collect())
    }

    /// A team by id or name.
    async fn team(&self, ctx: &Context<'_>, key: String) -> Result<Option<Team>> {
        Ok(catalog(ctx).team(principal(ctx), &key).await.gql()?.map(Team))
    }

    async fn domains(&self, ctx: &Context<'_>) -> Result<Vec<Domain>> {
        Ok(catalog(ctx)
            .domains(principal(ctx))
            .await
            .gql()?
            .into_iter()
            .map(Domain)
            .collect())
    }

    /// A domain by id or name.
    async fn domain(&self, ctx: &Context<'_>, key: String) -> Result<Option<Domain>> {
        Ok(catalog(ctx).domain(principal(ctx), &key).await.gql()?.map(Domain))
    }

    /// A product by id or by qualified name (`<domain>.<name>`).
    async fn data_product(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        qualified_name: Option<String>,
    ) -> Result<Option<DataProduct>> {
        let key = match (id, qualified_name) {
            (Some(id), None) => id.0,
            (None, Some(name)) => name,
            _ => {
                return Err(CatalogError::Validation(
                    "give exactly one of `id` and `qualifiedName`".into(),
                ))
                .gql()
            }
        };
        Ok(catalog(ctx)
            .product(principal(ctx), &key)
            .await
            .gql()?
            .map(DataProduct::from))
    }

    /// Products in qualified-name order (Relay cursor connection).
    async fn data_products(
        &self,
        ctx: &Context<'_>,
        filter: Option<DataProductFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<Cursor, DataProduct, CountFields>> {
        let first = page_size(first)?;
        let after = decode_cursor(after)?;
        let filter = filter.unwrap_or_default().into();
        let page = catalog(ctx)
            .products(principal(ctx), &filter, first, after.as_deref())
            .await
            .gql()?;
        let mut connection = Connection::with_additional_fields(
            after.is_some(),
            page.has_next_page,
            CountFields {
                total_count: page.total_count,
            },
        );
        connection.edges.extend(
            page.items
                .into_iter()
                .map(|p| Edge::new(OpaqueCursor(p.qualified_name.clone()), DataProduct::from(p))),
        );
        Ok(connection)
    }

    /// Use cases of every application (by application name, then name),
    /// optionally of one kind or touching one product (id or qualified
    /// name).
    async fn use_cases(
        &self,
        ctx: &Context<'_>,
        kind: Option<UseCaseKind>,
        product: Option<String>,
    ) -> Result<Vec<UseCase>> {
        Ok(catalog(ctx)
            .use_cases(principal(ctx), kind, product.as_deref())
            .await
            .gql()?
            .into_iter()
            .map(UseCase)
            .collect())
    }

    async fn use_case(&self, ctx: &Context<'_>, id: ID) -> Result<Option<UseCase>> {
        Ok(catalog(ctx).use_case(principal(ctx), &id).await.gql()?.map(UseCase))
    }

    async fn applications(&self, ctx: &Context<'_>) -> Result<Vec<Application>> {
        Ok(catalog(ctx)
            .applications(principal(ctx))
            .await
            .gql()?
            .into_iter()
            .map(Application)
            .collect())
    }

    /// An application by id or name.
    async fn application(&self, ctx: &Context<'_>, key: String) -> Result<Option<Application>> {
        Ok(catalog(ctx)
            .application(principal(ctx), &key)
            .await
            .gql()?
            .map(Application))
    }

    /// Access subscriptions, newest first.
    async fn subscriptions(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Product id or qualified name")] product: Option<String>,
        #[graphql(desc = "Application id or name")] application: Option<String>,
        status: Option<SubscriptionStatus>,
    ) -> Result<Vec<AccessSubscription>> {
        let rows = catalog(ctx)
            .subscriptions(principal(ctx), product.as_deref(), application.as_deref(), status)
            .await
            .gql()?;
        Ok(rows.into_iter().map(AccessSubscription).collect())
    }

    async fn subscription(&self, ctx: &Context<'_>, id: ID) -> Result<Option<AccessSubscription>> {
        Ok(catalog(ctx)
            .subscription(principal(ctx), &id)
            .await
            .gql()?
            .map(AccessSubscription))
    }

    /// Lineage from a product or application, up to `depth` hops (≤ 100);
    /// cycles are walked once.
    async fn lineage(
        &self,
        ctx: &Context<'_>,
        of: LineageNodeInput,
        #[graphql(default_with = "Direction::Downstream")] direction: Direction,
        #[graphql(default = 3)] depth: i32,
    ) -> Result<LineageGraph> {
        LineageGraph::around(ctx, of.into(), direction, depth).await
    }

    /// Every downstream product and application of a product, with owners.
    async fn impact(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Product id or qualified name")] of: String,
    ) -> Result<ImpactReport> {
        ImpactReport::of(ctx, &of).await
    }

    /// Field-level diff between two schema versions of a product (defaults:
    /// the latest against the one before).
    async fn schema_diff(
        &self,
        ctx: &Context<'_>,
        product: String,
        from: Option<i32>,
        to: Option<i32>,
    ) -> Result<SchemaDiff> {
        Ok(SchemaDiff(
            catalog(ctx)
                .schema_diff(principal(ctx), &product, from, to)
                .await
                .gql()?,
        ))
    }

    /// Dry run: would this schema be accepted as the product's next version?
    async fn check_schema_compatibility(
        &self,
        ctx: &Context<'_>,
        product: String,
        schema: SchemaInput,
    ) -> Result<CompatibilityReport> {
        let (mode, problems) = catalog(ctx)
            .check_schema_compatibility(principal(ctx), &product, schema.into())
            .await
            .gql()?;
        Ok(CompatibilityReport::new(mode, problems))
    }

    /// The shared live consumers running on this server, with their
    /// subscriber counts (operations: who is holding which topic open;
    /// platform admins only).
    async fn live_consumers(&self, ctx: &Context<'_>) -> Result<Vec<super::live::LiveConsumer>> {
        if !principal(ctx).is_admin() {
            return Err(CatalogError::Forbidden("liveConsumers is for platform admins".into()).extend());
        }
        let live = ctx.data_unchecked::<crate::stream::Live>();
        let shared = ctx.data_unchecked::<super::shared::SharedEvents>();
        let renditions = shared.per_topic();
        Ok(live
            .hub()
            .active()
            .await
            .into_iter()
            .map(|feed| super::live::LiveConsumer {
                renditions: renditions.get(&feed.topic).copied().unwrap_or_default() as i32,
                topic: feed.topic,
                subscribers: feed.subscribers as i32,
            })
            .collect())
    }

    /// Recorded changes and refusals, newest first (needs a token). Admins
    /// see everything; others see entries about what they can see, and no
    /// refusals.
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        filter: Option<AuditFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<Cursor, AuditEntry>> {
        let first = page_size(first)?;
        let after = decode_cursor(after)?;
        let filter = filter.unwrap_or_default().into();
        let mut rows = catalog(ctx)
            .audit_log(principal(ctx), &filter, first + 1, after.as_deref())
            .await
            .gql()?;
        let has_next = rows.len() as u64 > first;
        rows.truncate(first as usize);
        let mut connection = Connection::new(after.is_some(), has_next);
        connection.edges.extend(
            rows.into_iter()
                .map(|e| Edge::new(OpaqueCursor(e.id.clone()), AuditEntry(e))),
        );
        Ok(connection)
    }
}
