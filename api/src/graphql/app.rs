//! What the HTTP and WebSocket transports share: the server's state, who
//! is calling (the bearer token of a request or of a WebSocket upgrade),
//! and request-level errors in the GraphQL response shape.

use std::sync::Arc;

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use tokio::sync::Semaphore;

use crate::auth::{Caller, TokenService};
use crate::catalog::Catalog;
use crate::demo::DemoUser;
use crate::search::Indexer;
use crate::stream::follow::FollowStatus;
use crate::stream::Live;

use super::metrics::Metrics;
use super::portal::Portal;
use super::ratelimit::RateLimiter;
use super::shared::SharedEvents;
use super::{AliasLimit, AppSchema, Documents};

/// Shared state of the HTTP handlers.
#[derive(Clone)]
pub struct AppState {
    pub schema: AppSchema,
    /// Checked by the transports before a document executes.
    pub aliases: AliasLimit,
    /// The documents parsed last, by text (GraphQL over HTTP).
    pub documents: Documents,
    pub catalog: Catalog,
    pub tokens: Arc<TokenService>,
    /// `None`: no rate limit.
    pub limiter: Option<Arc<RateLimiter>>,
    /// Live `productEvents` subscriptions rendered once per distinct
    /// subscription.
    pub shared: SharedEvents,
    /// Limits concurrent WebSocket set-ups (see `ws::setup_limit`).
    pub ws_setups: Arc<Semaphore>,
    /// The demo's users (`serve --demo` only): the portal's sign-in.
    pub demo_users: Option<Arc<[DemoUser]>>,
    /// The built portal.
    pub portal: Portal,
    pub metrics: Metrics,
    /// The live side (read by `/metrics`).
    pub live: Live,
    /// How far this replica has followed the catalog's changes.
    pub replica: Replica,
    /// Set when the server starts shutting down: `/readyz` answers 503 and
    /// WebSockets close with 1001.
    pub draining: tokio::sync::watch::Receiver<bool>,
}

/// How far this replica has followed the catalog's changes (read by
/// `/readyz` and `/metrics`).
#[derive(Clone)]
pub struct Replica {
    pub indexer: Indexer,
    pub follower: FollowStatus,
}

/// The codes of the GraphQL errors a response carries (set by the
/// handlers, counted by `http::count_errors`).
#[derive(Clone, Debug, Default)]
pub(super) struct ErrorCodes(pub Vec<String>);

/// A request-level error in the GraphQL response shape.
pub(super) fn request_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    let mut response = (status, Json(body)).into_response();
    response.extensions_mut().insert(ErrorCodes(vec![code.to_owned()]));
    response
}

/// The caller of a request (or of a WebSocket upgrade), from its bearer
/// token; 401 with the reason when the token is refused.
pub(super) async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Caller, Response> {
    let unauthenticated = |message: &str| request_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", message);
    let header = match headers.get(header::AUTHORIZATION).map(|v| v.to_str()) {
        None => None,
        Some(Ok(value)) => Some(value),
        Some(Err(_)) => return Err(unauthenticated("invalid Authorization header")),
    };
    state
        .tokens
        .authenticate(header)
        .await
        .map_err(|e| unauthenticated(&e.to_string()))
}
