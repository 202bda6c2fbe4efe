//! Live `productEvents` rendered once per distinct subscription, not once
//! per subscriber.
//!
//! Subscribers that send the same document and variables for the same
//! product, with the same PII access, receive the same bytes. One
//! [`Rendition`] per such group reads the topic's shared consumer, filters,
//! renders each record through the selection set and serialises the
//! response once; every subscriber of the group forwards those bytes. A
//! subscriber that falls behind gets a `Lagged` item rendered for it alone.
//!
//! Rendering goes through async-graphql: a small query schema whose one
//! field, `productEvents`, has the subscription field's arguments and type.
//! The subscription document, turned into a query, is validated and
//! executed against it, so selections, fragments, aliases, variables and
//! limits behave exactly as in the full schema. Whatever this path does not
//! take on (other starts than the live end, another root field, a refused
//! caller, a document the full schema would reject) is left to the full
//! schema's executor, which also gives the canonical errors.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationType, Selection};
use async_graphql::{
    Context, EmptyMutation, EmptySubscription, Object, PathSegment, Pos, Request, Response, Schema, Variables,
};
use futures_util::stream::{BoxStream, StreamExt};
use tokio::sync::{broadcast, oneshot};

use crate::catalog::Catalog;
use crate::config::GraphqlLimits;
use crate::stream::{newest_first, Delivery, Feed, Live};

use super::live::{kafka_unavailable, EventsFrom, ProductEvent, ProductEventsFilter, StartPosition};
use super::quota::SubscriptionQuota;
use super::subscription::{EventsSetup, Subscriber};

/// One message of a subscription: a response serialised once and shared,
/// or one of this subscriber's own.
pub enum Payload {
    Shared(Arc<str>),
    Own(Box<Response>),
}

/// The query root of the rendering schema: `productEvents` with the
/// subscription field's arguments, returning the item being rendered.
struct RenderRoot;

/// What the rendering schema's resolver does in one execution.
enum Job {
    /// Check the arguments and keep them.
    Plan(Arc<Mutex<Option<Planned>>>),
    /// Return this item.
    Render(Mutex<Option<ProductEvent>>),
}

struct Planned {
    product: String,
    latest: bool,
    filter: ProductEventsFilter,
}

#[Object]
impl RenderRoot {
    async fn product_events(
        &self,
        ctx: &Context<'_>,
        product: String,
        from: Option<EventsFrom>,
        filter: Option<ProductEventsFilter>,
    ) -> async_graphql::Result<ProductEvent> {
        match ctx.data::<Job>()? {
            Job::Plan(slot) => {
                let filter = filter.unwrap_or_default();
                filter.validate()?;
                let latest = matches!(from, None | Some(EventsFrom::Position(StartPosition::Latest)));
                *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(Planned {
                    product,
                    latest,
                    filter,
                });
                Ok(ProductEvent::of(Delivery::Lagged(0), false))
            }
            Job::Render(item) => item
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take()
                .ok_or_else(|| "nothing to render".into()),
        }
    }
}

type RenderSchema = Schema<RenderRoot, EmptyMutation, EmptySubscription>;

/// A subscription document as a query against the rendering schema.
#[derive(Clone)]
struct Document {
    query: ExecutableDocument,
    variables: Variables,
    place: Place,
}

/// Where `productEvents` is in a subscription document, for its errors.
#[derive(Clone)]
struct Place {
    /// Its response key (the alias, if any).
    key: String,
    pos: Pos,
}

impl Place {
    /// `error` as this subscriber's response, located like the executor's.
    fn error(&self, error: async_graphql::Error) -> Payload {
        let mut error = error.into_server_error(self.pos);
        error.path = vec![PathSegment::Field(self.key.clone())];
        Payload::Own(Box::new(Response::from_errors(vec![error])))
    }
}

/// The registry of renditions, shared by all connections. Cheap to clone.
#[derive(Clone)]
pub struct SharedEvents {
    inner: Arc<Inner>,
}

struct Inner {
    schema: RenderSchema,
    catalog: Catalog,
    live: Live,
    quota: SubscriptionQuota,
    renditions: Mutex<HashMap<GroupKey, Weak<Rendition>>>,
}

/// What subscribers of one rendition have in common.
#[derive(Clone, PartialEq, Eq, Hash)]
struct GroupKey {
    product_id: String,
    pii: bool,
    /// Document, operation name and variables as sent.
    request: String,
}

/// Renders items through one subscription document.
struct Renderer {
    schema: RenderSchema,
    document: Document,
}

/// One distinct subscription: its task renders each record once.
struct Rendition {
    topic: String,
    renderer: Arc<Renderer>,
    tx: broadcast::Sender<Arc<str>>,
    /// Dropping it stops the task.
    _stop: oneshot::Sender<()>,
}

impl SharedEvents {
    pub fn new(catalog: Catalog, live: Live, quota: SubscriptionQuota, limits: &GraphqlLimits) -> Self {
        let mut builder = Schema::build(RenderRoot, EmptyMutation, EmptySubscription)
            .limit_depth(limits.max_depth)
            .limit_complexity(limits.max_complexity);
        if !limits.introspection {
            builder = builder.disable_introspection();
        }
        Self {
            inner: Arc::new(Inner {
                schema: builder.finish(),
                catalog,
                live,
                quota,
                renditions: Mutex::default(),
            }),
        }
    }

    /// Running renditions per topic.
    pub fn per_topic(&self) -> HashMap<String, usize> {
        let renditions = self.inner.renditions.lock().unwrap_or_else(|e| e.into_inner());
        let mut counts = HashMap::new();
        for rendition in renditions.values().filter_map(Weak::upgrade) {
            *counts.entry(rendition.topic.clone()).or_default() += 1;
        }
        counts
    }

    /// Serves `request` through a shared rendition if it is a live
    /// `productEvents` subscription whose document and arguments the
    /// rendering schema accepts. `None` leaves the request to the full
    /// schema's executor: another field or start, or a document or arguments
    /// refused, for which the executor gives the canonical errors. Once
    /// planned, a refusal (hidden, forbidden, no slot left, Kafka down) is
    /// answered here, from the same set-up the executor uses.
    pub async fn subscribe(&self, who: Subscriber<'_>, request: &Request) -> Option<BoxStream<'static, Payload>> {
        let (document, planned) = self.plan(request).await?;
        if !planned.latest {
            return None;
        }
        let inner = &self.inner;
        let opened = match EventsSetup::open(&inner.catalog, &inner.live, &inner.quota, who, &planned.product).await {
            Ok(opened) => opened,
            Err(error) => return Some(futures_util::stream::iter([document.place.error(error)]).boxed()),
        };
        let EventsSetup {
            product,
            access,
            permit,
            lost,
        } = opened;
        let feed = match inner.live.hub().feed(&product.topic_name, Some(&product.id)).await {
            Ok(feed) => feed,
            Err(e) => {
                let refusal = document.place.error(kafka_unavailable(e));
                return Some(futures_util::stream::iter([refusal]).boxed());
            }
        };
        let group = GroupKey {
            product_id: product.id.clone(),
            pii: access.pii,
            request: request_key(request),
        };
        let place = document.place.clone();
        let (rendition, rx) = self.rendition(group, document, planned.filter, &feed);
        let attached = feed.attach();
        let records = newest_first(rx).filter_map(move |item| {
            let rendition = rendition.clone();
            async move {
                match item {
                    Ok(bytes) => Some(Payload::Shared(bytes)),
                    // Rendered for this subscriber alone.
                    Err(skipped) => rendition
                        .renderer
                        .render(Delivery::Lagged(skipped), false)
                        .await
                        .map(Payload::Shared),
                }
            }
        });
        let lost = lost.map(move |error| place.error(error));
        // Whichever comes first; the stream ends after the error.
        let stream = futures_util::stream::select(records, lost).scan(false, move |ended, payload| {
            let _held = (&permit, &attached);
            let emit = !*ended;
            *ended |= matches!(payload, Payload::Own(_));
            std::future::ready(emit.then_some(payload))
        });
        Some(stream.boxed())
    }

    /// The request as a query of the rendering schema, validated, with its
    /// arguments; `None` if it is not a lone `productEvents` subscription
    /// field or is not valid.
    async fn plan(&self, request: &Request) -> Option<(Document, Planned)> {
        let document = Document::of(request)?;
        let slot = Arc::new(Mutex::new(None));
        let mut plan = Request::new(String::new()).variables(document.variables.clone());
        plan.set_parsed_query(document.query.clone());
        let response = self.inner.schema.execute(plan.data(Job::Plan(slot.clone()))).await;
        if response.is_err() {
            return None;
        }
        let planned = slot.lock().unwrap_or_else(|e| e.into_inner()).take()?;
        Some((document, planned))
    }

    /// The rendition of `group`, started if needed, with a receiver taken
    /// before anything is rendered for it.
    fn rendition(
        &self,
        group: GroupKey,
        document: Document,
        filter: ProductEventsFilter,
        feed: &Arc<Feed>,
    ) -> (Arc<Rendition>, broadcast::Receiver<Arc<str>>) {
        let mut renditions = self.inner.renditions.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(rendition) = renditions.get(&group).and_then(Weak::upgrade) {
            let rx = rendition.tx.subscribe();
            return (rendition, rx);
        }
        renditions.retain(|_, weak| weak.strong_count() > 0);
        let pii = group.pii;
        let (stop, mut stopped) = oneshot::channel();
        let (tx, rx) = broadcast::channel(self.inner.live.hub().queue());
        let renderer = Arc::new(Renderer {
            schema: self.inner.schema.clone(),
            document,
        });
        let rendition = Arc::new(Rendition {
            topic: feed.topic().to_owned(),
            renderer: renderer.clone(),
            tx: tx.clone(),
            _stop: stop,
        });
        renditions.insert(group, Arc::downgrade(&rendition));
        let mut records = Box::pin(feed.tap().filter(move |d| std::future::ready(filter.accepts(d, pii))));
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    delivery = records.next() => {
                        let Some(delivery) = delivery else { break };
                        if let Some(bytes) = renderer.render(delivery, pii).await {
                            // No receivers: the last subscriber is leaving.
                            let _ = tx.send(bytes);
                        }
                    }
                }
            }
        });
        (rendition, rx)
    }
}

impl Renderer {
    /// The serialised response for one delivery.
    async fn render(&self, delivery: Delivery, pii: bool) -> Option<Arc<str>> {
        let job = Job::Render(Mutex::new(Some(ProductEvent::of(delivery, pii))));
        let mut request = Request::new(String::new()).variables(self.document.variables.clone());
        request.set_parsed_query(self.document.query.clone());
        let response = self.schema.execute(request.data(job)).await;
        match serde_json::to_string(&response) {
            Ok(text) => Some(text.into()),
            Err(e) => {
                tracing::error!(error = %e, "cannot serialise a live record");
                None
            }
        }
    }
}

impl Document {
    /// The selected operation of `request` as a query, if it is a
    /// subscription selecting `productEvents` alone, without directives.
    fn of(request: &Request) -> Option<Self> {
        let mut parsed = async_graphql::parser::parse_query(&request.query).ok()?;
        let mut operation = match (parsed.operations, request.operation_name.as_deref()) {
            (DocumentOperations::Single(operation), _) => operation,
            (DocumentOperations::Multiple(mut operations), Some(name)) => operations.remove(name)?,
            (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => {
                operations.into_values().next()?
            }
            (DocumentOperations::Multiple(_), None) => return None,
        };
        let node = &mut operation.node;
        if node.ty != OperationType::Subscription || !node.directives.is_empty() {
            return None;
        }
        let [Selection::Field(field)] = node
            .selection_set
            .node
            .items
            .iter()
            .map(|s| &s.node)
            .collect::<Vec<_>>()[..]
        else {
            return None;
        };
        if field.node.name.node != "productEvents" || !field.node.directives.is_empty() {
            return None;
        }
        let place = Place {
            key: field.node.response_key().node.to_string(),
            pos: field.pos,
        };
        node.ty = OperationType::Query;
        parsed.operations = DocumentOperations::Single(operation);
        Some(Self {
            query: parsed,
            variables: request.variables.clone(),
            place,
        })
    }
}

/// Subscribers share a rendition only when they sent the same request.
fn request_key(request: &Request) -> String {
    let variables = serde_json::to_string(&request.variables).unwrap_or_default();
    format!(
        "{}\u{0}{}\u{0}{variables}",
        request.query,
        request.operation_name.as_deref().unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document(query: &str, operation: Option<&str>) -> Option<Document> {
        let mut request = Request::new(query);
        if let Some(name) = operation {
            request = request.operation_name(name);
        }
        Document::of(&request)
    }

    #[test]
    fn a_lone_product_events_subscription_becomes_a_query() {
        let doc = document(
            "subscription S { feed: productEvents(product: \"a.b\") { __typename } }",
            None,
        )
        .unwrap();
        assert_eq!(doc.place.key, "feed");
        let DocumentOperations::Single(operation) = &doc.query.operations else {
            panic!("one operation");
        };
        assert_eq!(operation.node.ty, OperationType::Query);
        let picked = document(
            "subscription A { productEvents(product: \"a.b\") { __typename } } query B { __typename }",
            Some("A"),
        );
        assert_eq!(picked.unwrap().place.key, "productEvents");
    }

    #[test]
    fn anything_else_is_left_to_the_executor() {
        for (query, operation) in [
            ("query { productEvents(product: \"a.b\") { __typename } }", None),
            ("subscription { catalogEvents { __typename } }", None),
            (
                "subscription { productEvents(product: \"a.b\") { __typename } __typename }",
                None,
            ),
            (
                "subscription { productEvents(product: \"a.b\") @skip(if: false) { __typename } }",
                None,
            ),
            (
                "subscription A { productEvents(product: \"a.b\") { __typename } } subscription B { productEvents(product: \"a.b\") { __typename } }",
                None,
            ),
            ("subscription A { productEvents(product: \"a.b\") { __typename } }", Some("B")),
            ("subscription { ...F } fragment F on Subscription { productEvents(product: \"a.b\") { __typename } }", None),
            ("not graphql", None),
        ] {
            assert!(document(query, operation).is_none(), "{query}");
        }
    }
}
