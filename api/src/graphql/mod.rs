//! The GraphQL layer: schema assembly, request context and HTTP handlers.
//! Resolvers are thin: they convert inputs, call the catalog and wrap rows.

pub mod app;
mod documents;
mod error;
pub mod http;
mod inputs;
mod limits;
pub mod live;
mod loaders;
pub mod metrics;
mod mutation;
mod objects;
pub mod portal;
mod query;
pub mod quota;
pub mod ratelimit;
mod search;
pub mod shared;
mod subscription;
mod topics;
pub mod ws;

use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, MergedObject, Schema};

use crate::auth::Caller;
use crate::catalog::policy::Principal;
use crate::catalog::Catalog;
use crate::config::GraphqlLimits;
use crate::search::SearchIndex;
use crate::stream::Live;

pub use documents::Documents;
pub use limits::AliasLimit;
pub use loaders::StoreLoader;
use mutation::MutationRoot;
use query::QueryRoot;
use search::SearchQuery;
use subscription::SubscriptionRoot;
use topics::TopicsQuery;

/// The query root: the catalog and discovery queries.
#[derive(MergedObject, Default)]
pub struct Query(QueryRoot, SearchQuery, TopicsQuery);

/// The executable schema.
pub type AppSchema = Schema<Query, MutationRoot, SubscriptionRoot>;

/// What the resolvers share.
#[derive(Clone)]
pub struct Services {
    pub catalog: Catalog,
    pub search: SearchIndex,
    pub live: Live,
    /// The per-caller cap on live subscriptions.
    pub quota: quota::SubscriptionQuota,
    pub shared: shared::SharedEvents,
    pub metrics: metrics::Metrics,
    /// The product rows search hits read last.
    pub hit_products: search::HitProducts,
}

impl Services {
    /// The services of one server; the subscription quota and the shared
    /// renditions follow `limits`.
    pub fn new(catalog: Catalog, search: SearchIndex, live: Live, limits: &GraphqlLimits) -> Self {
        let quota = quota::SubscriptionQuota::new(limits.max_subscriptions);
        let shared = shared::SharedEvents::new(catalog.clone(), live.clone(), quota.clone(), limits);
        let metrics = metrics::Metrics::new(live.relay_latency());
        Self {
            catalog,
            search,
            live,
            quota,
            shared,
            metrics,
            hit_products: search::HitProducts::default(),
        }
    }
}

/// Per-request data: who is calling, with memberships resolved once.
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    pub principal: Principal,
}

/// Builds the schema with its limits; the services are shared by all
/// requests (`None` only to print the SDL).
pub fn build_schema(services: Option<Services>, limits: &GraphqlLimits) -> AppSchema {
    let mut builder = Schema::build(Query::default(), MutationRoot, SubscriptionRoot)
        .limit_depth(limits.max_depth)
        .limit_complexity(limits.max_complexity);
    if !limits.introspection {
        builder = builder.disable_introspection();
    }
    if let Some(services) = services {
        builder = builder
            .data(services.catalog)
            .data(services.search)
            .data(services.live)
            .data(services.quota)
            .data(services.shared)
            .data(services.metrics)
            .data(services.hit_products);
    }
    builder.finish()
}

/// The SDL printed to `schema.graphql`.
pub fn sdl() -> String {
    build_schema(None, &GraphqlLimits::default()).sdl()
}

/// A fresh per-request loader (its cache must not outlive the request).
///
/// No batching delay (the library's default waits 1 ms on a timer thread):
/// the fields of a list are resolved in one poll, so every key they ask
/// for is queued before the spawned load first runs.
pub fn request_loader(catalog: &Catalog, metrics: &metrics::Metrics) -> DataLoader<StoreLoader> {
    DataLoader::new(
        StoreLoader {
            db: catalog.store().db().clone(),
            metrics: metrics.clone(),
        },
        tokio::spawn,
    )
    .delay(std::time::Duration::ZERO)
}

pub(crate) fn catalog<'a>(ctx: &Context<'a>) -> &'a Catalog {
    ctx.data_unchecked::<Catalog>()
}

pub(crate) fn caller<'a>(ctx: &Context<'a>) -> &'a Caller {
    principal(ctx).caller()
}

/// The request's principal: what every read asks the policy about.
pub(crate) fn principal<'a>(ctx: &Context<'a>) -> &'a Principal {
    &ctx.data_unchecked::<RequestContext>().principal
}

pub(crate) fn loader<'a>(ctx: &Context<'a>) -> &'a DataLoader<StoreLoader> {
    ctx.data_unchecked::<DataLoader<StoreLoader>>()
}
