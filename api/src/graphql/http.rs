//! HTTP endpoints: GraphiQL, GraphQL over HTTP and over WebSocket (see
//! `ws`) at `/graphql`, and the health probes.
//!
//! A GraphQL request is authenticated (a bad token is a 401), rate limited
//! per caller (429 with `Retry-After`), its caller resolved into a
//! `Principal` once, then executed.

use std::net::SocketAddr;
use std::sync::Arc;

use async_graphql::http::GraphiQLSource;
use async_graphql_axum::rejection::GraphQLRejection;
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::extract::{ConnectInfo, FromRequest, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use tokio::sync::Semaphore;

use crate::auth::{Caller, TokenService};
use crate::catalog::{Catalog, CatalogError};

use super::error::ensure_codes;
use super::ratelimit::RateLimiter;
use super::shared::SharedEvents;
use super::{request_loader, ws, AppSchema, RequestContext};

/// Shared state of the HTTP handlers.
#[derive(Clone)]
pub struct AppState {
    pub schema: AppSchema,
    pub catalog: Catalog,
    pub tokens: Arc<TokenService>,
    /// `None`: no rate limit.
    pub limiter: Option<Arc<RateLimiter>>,
    /// Live `productEvents` subscriptions rendered once per distinct
    /// subscription.
    pub shared: SharedEvents,
    /// Limits concurrent WebSocket set-ups (see `ws::setup_limit`).
    pub ws_setups: Arc<Semaphore>,
}

/// The routes of the server.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .with_state(state)
}

/// A request-level error in the GraphQL response shape.
fn request_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    (status, Json(body)).into_response()
}

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

/// 429 with `Retry-After` (whole seconds, at least 1) when the caller's
/// bucket is empty.
fn rate_limited(state: &AppState, key: &str) -> Option<Response> {
    let limiter = state.limiter.as_ref()?;
    limiter.check(key).err().map(|wait| {
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        let mut response = request_error(
            StatusCode::TOO_MANY_REQUESTS,
            "RATE_LIMITED",
            &format!("too many requests; retry in {} s", seconds.max(1)),
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
        response
    })
}

async fn execute(state: AppState, client: SocketAddr, headers: HeaderMap, request: GraphQLRequest) -> Response {
    let caller = authenticate(&state, &headers).await;
    let key = match &caller {
        Ok(Caller::User(identity)) => format!("user:{}", identity.subject),
        _ => format!("ip:{}", client.ip()),
    };
    if let Some(response) = rate_limited(&state, &key) {
        return response;
    }
    let caller = match caller {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let principal = match state.catalog.principal(&caller).await {
        Ok(principal) => principal,
        Err(CatalogError::Unavailable(message)) => {
            return request_error(StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE", &message);
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot resolve the caller's memberships");
            return request_error(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL", "internal error");
        }
    };
    let request = request
        .into_inner()
        .data(RequestContext { principal })
        .data(request_loader(&state.catalog));
    let mut response = state.schema.execute(request).await;
    ensure_codes(&mut response);
    GraphQLResponse::from(response).into_response()
}

async fn graphql_post(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    request: GraphQLRequest,
) -> Response {
    execute(state, client, headers, request).await
}

/// WebSocket upgrade for subscriptions; GraphiQL for browsers; a query in
/// the URL is executed (GraphQL over HTTP GET), except mutations, which
/// async-graphql refuses on GET.
async fn graphql_get(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    if request
        .headers()
        .get(header::UPGRADE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"))
    {
        return ws::upgrade(state, client, request).await;
    }
    if !request.uri().query().is_some_and(|q| q.contains("query=")) {
        return Html(
            GraphiQLSource::build()
                .endpoint("/graphql")
                .title("Mesh Catalog")
                .finish(),
        )
        .into_response();
    }
    let headers = request.headers().clone();
    match GraphQLRequest::<GraphQLRejection>::from_request(request, &()).await {
        Ok(request) => execute(state, client, headers, request).await,
        Err(rejection) => rejection.into_response(),
    }
}

async fn ready(State(state): State<AppState>) -> Response {
    match state.catalog.store().ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}
