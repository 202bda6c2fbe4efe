//! The subscription root, served over WebSocket on `/graphql`
//! (graphql-transport-ws and the legacy graphql-ws). Resolvers check their
//! arguments and authorization up front — a refused subscription ends with
//! one error carrying `extensions.code` — and then return a stream from the
//! Kafka bridge.

use std::time::Duration;

use async_graphql::{Context, ErrorExtensions, Result, Subscription};
use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt};

use crate::auth::Caller;
use crate::catalog::policy::{self, Principal, RecordAccess};
use crate::catalog::{Catalog, CatalogError, ChangeKind};
use crate::store::entities::data_product;
use crate::stream::{Delivery, Live, StartAt};

use super::error::GqlResult;
use super::live::{
    kafka_unavailable, CatalogEvent, CatalogStreamItem, EventsFrom, Lagged, ProductEvent, ProductEventsFilter,
    ProductHealth,
};
use super::quota::{CallerKey, Permit, SubscriptionQuota};
use super::{caller, catalog, principal};

pub(crate) fn live<'a>(ctx: &Context<'a>) -> &'a Live {
    ctx.data_unchecked::<Live>()
}

pub struct SubscriptionRoot;

#[Subscription]
impl SubscriptionRoot {
    /// Live catalog changes (from `mesh.catalog.events`) about what the
    /// caller can see, optionally only of some kinds and touching some
    /// domains.
    async fn catalog_events(
        &self,
        ctx: &Context<'_>,
        kinds: Option<Vec<ChangeKind>>,
        domains: Option<Vec<String>>,
    ) -> Result<impl Stream<Item = CatalogStreamItem>> {
        policy::ensure_reader(principal(ctx)).gql()?;
        let permit = permit(ctx)?;
        let feed = live(ctx).catalog_events().await.map_err(kafka_unavailable)?;
        let (catalog, principal) = (catalog(ctx).clone(), principal(ctx).clone());
        Ok(feed.subscribe().filter_map(move |delivery| {
            let (catalog, principal, kinds, domains) =
                (catalog.clone(), principal.clone(), kinds.clone(), domains.clone());
            // The stream holds the caller's slot until it ends.
            let _held = &permit;
            // Boxed: the combinator keeps its pending future inline, and this
            // one (catalog lookups) is large; boxing keeps idle subscribers small.
            Box::pin(async move {
                let event = match delivery {
                    Delivery::Lagged(n) => return Some(CatalogStreamItem::Lagged(Lagged { skipped: n as i64 })),
                    Delivery::Record(record) => CatalogEvent::parse(&record)?,
                };
                let wanted = kinds.as_ref().is_none_or(|k| k.contains(&event.kind))
                    && domains
                        .as_ref()
                        .is_none_or(|d| event.domains.iter().any(|x| d.contains(x)));
                if !wanted {
                    return None;
                }
                // An event about a product the caller cannot see is not sent.
                for product in &event.products {
                    if !matches!(catalog.product(&principal, product).await, Ok(Some(_))) {
                        return None;
                    }
                }
                Some(CatalogStreamItem::Event(Box::new(event)))
            })
        }))
    }

    /// Live records of a product's topic, decoded to JSON. Needs membership
    /// of the owner team or of a team with an approved subscription; PII
    /// fields are masked unless that subscription was approved with PII
    /// access. `from` defaults to the live end (`{position: LATEST}`),
    /// served by the topic's shared consumer; other starts get a consumer of
    /// their own. If access is revoked (or the product retired), the stream
    /// ends with a FORBIDDEN (or NOT_FOUND) error.
    async fn product_events(
        &self,
        ctx: &Context<'_>,
        product: String,
        from: Option<EventsFrom>,
        filter: Option<ProductEventsFilter>,
    ) -> Result<impl Stream<Item = Result<ProductEvent>>> {
        // async-graphql keeps this resolver's future in the same allocation
        // as the stream it returns, for the subscription's lifetime: the
        // set-up is boxed so that allocation stays small.
        let filter = filter.unwrap_or_default();
        filter.validate()?;
        let key = caller_key(ctx);
        let who = Subscriber {
            caller: caller(ctx),
            principal: principal(ctx),
            key: &key,
        };
        let quota = ctx.data_unchecked::<SubscriptionQuota>();
        let EventsSetup {
            product,
            access,
            permit,
            lost,
        } = Box::pin(EventsSetup::open(catalog(ctx), live(ctx), quota, who, &product)).await?;
        let start = from.map_or(StartAt::Latest, |f| f.start_at());
        let hub = live(ctx).hub();
        let records = if start == StartAt::Latest {
            Box::pin(hub.feed(&product.topic_name, Some(&product.id)))
                .await
                .map_err(kafka_unavailable)?
                .subscribe()
                .boxed()
        } else {
            Box::pin(hub.replay(&product.topic_name, Some(&product.id), start))
                .await
                .map_err(kafka_unavailable)?
                .boxed()
        };
        let records = records
            .filter(move |d| std::future::ready(filter.accepts(d, access.pii)))
            .map(move |d| Ok(ProductEvent::of(d, access.pii)));
        let lost = lost.map(Err);
        // Whichever comes first; the stream ends after an error.
        Ok(
            futures_util::stream::select(records, lost).scan(false, move |ended, item| {
                let _held = &permit;
                let emit = !*ended;
                *ended |= item.is_err();
                std::future::ready(emit.then_some(item))
            }),
        )
    }

    /// A product's live figures every `intervalSeconds` (1–300, default 5):
    /// events/s, last event time, freshness against the SLA, schema
    /// conformance.
    async fn product_health(
        &self,
        ctx: &Context<'_>,
        product: String,
        #[graphql(default = 5)] interval_seconds: i32,
    ) -> Result<impl Stream<Item = ProductHealth>> {
        if !(1..=300).contains(&interval_seconds) {
            return Err(CatalogError::Validation("intervalSeconds must be between 1 and 300".into()).extend());
        }
        let product = catalog(ctx)
            .product(principal(ctx), &product)
            .await
            .gql()?
            .ok_or_else(|| CatalogError::NotFound(format!("no data product `{product}`")).extend())?;
        let permit = permit(ctx)?;
        let feed = live(ctx)
            .hub()
            .feed(&product.topic_name, Some(&product.id))
            .await
            .map_err(kafka_unavailable)?;
        let mut interval = tokio::time::interval(Duration::from_secs(interval_seconds as u64));
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Ok(futures_util::stream::unfold(
            (feed, interval, product, permit),
            |(feed, mut interval, product, permit)| async move {
                interval.tick().await;
                // The first tick waits for a fresh feed's figures.
                let health = ProductHealth::of(&product, &feed.warm_health(super::live::WARM_UP).await);
                Some((health, (feed, interval, product, permit)))
            },
        ))
    }
}

/// Yields one error when `caller` may no longer read the records of
/// `product_id`: checked again whenever a catalog event revokes access to
/// it or retires it (events from every replica arrive through
/// `mesh.catalog.events`).
async fn access_lost(
    catalog: &Catalog,
    caller: &Caller,
    live: &Live,
    product_id: String,
) -> Result<impl Stream<Item = async_graphql::Error> + Send + 'static> {
    let (catalog, caller) = (catalog.clone(), caller.clone());
    let events = live.catalog_events().await.map_err(kafka_unavailable)?;
    let watched = product_id.clone();
    let concerns = move |delivery: &Delivery| {
        let Delivery::Record(record) = delivery else {
            return false;
        };
        CatalogEvent::parse(record).is_some_and(|e| {
            matches!(e.kind, ChangeKind::AccessRevoked | ChangeKind::ProductRetired)
                && (e.entity_id == watched || e.entity.0.get("product_id").and_then(|v| v.as_str()) == Some(&watched))
        })
    };
    Ok(events
        .tap()
        .filter(move |d| std::future::ready(concerns(d)))
        .then(move |_| {
            let (catalog, caller, product_id) = (catalog.clone(), caller.clone(), product_id.clone());
            // Boxed, as in `catalog_events`: held by every idle subscriber.
            Box::pin(async move {
                let principal = catalog.principal(&caller).await?;
                catalog.product_for_records(&principal, &product_id).await
            })
        })
        .filter_map(|checked| std::future::ready(checked.err()))
        .take(1)
        .map(|e| e.extend()))
}

/// The key of the caller's live-subscription slots (see `quota`).
fn caller_key(ctx: &Context<'_>) -> CallerKey {
    ctx.data_opt::<CallerKey>()
        .cloned()
        .unwrap_or_else(|| CallerKey(format!("user:{}", principal(ctx).actor())))
}

/// Takes one of the caller's live-subscription slots.
fn permit(ctx: &Context<'_>) -> Result<Permit> {
    ctx.data_unchecked::<SubscriptionQuota>().acquire(&caller_key(ctx))
}

/// Who opens a subscription, resolved once for the operation (by the
/// WebSocket, as each operation starts).
pub struct Subscriber<'a> {
    pub caller: &'a Caller,
    pub principal: &'a Principal,
    pub key: &'a CallerKey,
}

/// What a `productEvents` subscription holds before its first record. The
/// one set-up of both paths that serve it: the executor (this module) and
/// the shared renditions (`shared`).
pub(super) struct EventsSetup {
    pub product: data_product::Model,
    pub access: RecordAccess,
    /// The caller's slot, held as long as the stream.
    pub permit: Permit,
    /// Yields one error if the caller loses access (or the product is
    /// retired) while subscribed.
    pub lost: BoxStream<'static, async_graphql::Error>,
}

impl EventsSetup {
    /// Checks that `who` may read the records of `product` (NOT_FOUND when
    /// hidden, FORBIDDEN when visible but not readable), takes a slot
    /// (RATE_LIMITED when none is left) and starts watching for lost access
    /// (UNAVAILABLE without Kafka).
    pub(super) async fn open(
        catalog: &Catalog,
        live: &Live,
        quota: &SubscriptionQuota,
        who: Subscriber<'_>,
        product: &str,
    ) -> Result<Self> {
        let (product, access) = catalog.product_for_records(who.principal, product).await.gql()?;
        let permit = quota.acquire(who.key)?;
        let lost = access_lost(catalog, who.caller, live, product.id.clone())
            .await?
            .boxed();
        Ok(Self {
            product,
            access,
            permit,
            lost,
        })
    }
}
