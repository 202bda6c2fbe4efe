//! HTTP endpoints: GraphiQL and GraphQL over HTTP at `/graphql`, and the
//! health probes.

use std::sync::Arc;

use async_graphql::http::GraphiQLSource;
use async_graphql::{Data, ErrorExtensions};
use async_graphql_axum::rejection::GraphQLRejection;
use async_graphql_axum::{GraphQLProtocol, GraphQLRequest, GraphQLResponse, GraphQLWebSocket};
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::auth::{Caller, TokenService};
use crate::catalog::Catalog;

use super::error::ensure_codes;
use super::{request_loader, AppSchema, RequestContext};

/// Shared state of the HTTP handlers.
#[derive(Clone)]
pub struct AppState {
    pub schema: AppSchema,
    pub catalog: Catalog,
    pub tokens: Arc<TokenService>,
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

fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Caller, Box<Response>> {
    let header = match headers.get(header::AUTHORIZATION).map(|v| v.to_str()) {
        None => None,
        Some(Ok(value)) => Some(value),
        Some(Err(_)) => {
            return Err(Box::new(request_error(
                StatusCode::UNAUTHORIZED,
                "UNAUTHENTICATED",
                "invalid Authorization header",
            )))
        }
    };
    state.tokens.authenticate(header).map_err(|e| {
        Box::new(request_error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            &e.to_string(),
        ))
    })
}

async fn execute(state: AppState, headers: HeaderMap, request: GraphQLRequest) -> Response {
    let caller = match authenticate(&state, &headers) {
        Ok(caller) => caller,
        Err(response) => return *response,
    };
    let request = request
        .into_inner()
        .data(RequestContext { caller })
        .data(request_loader(&state.catalog));
    let mut response = state.schema.execute(request).await;
    ensure_codes(&mut response);
    GraphQLResponse::from(response).into_response()
}

async fn graphql_post(State(state): State<AppState>, headers: HeaderMap, request: GraphQLRequest) -> Response {
    execute(state, headers, request).await
}

/// WebSocket upgrade for subscriptions; GraphiQL for browsers; a query in
/// the URL is executed (GraphQL over HTTP GET), except mutations, which
/// async-graphql refuses on GET.
async fn graphql_get(State(state): State<AppState>, request: Request) -> Response {
    if request
        .headers()
        .get(header::UPGRADE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"))
    {
        return websocket(state, request).await;
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
        Ok(request) => execute(state, headers, request).await,
        Err(rejection) => rejection.into_response(),
    }
}

/// Subscriptions over WebSocket: graphql-transport-ws or the legacy
/// graphql-ws, picked from `Sec-WebSocket-Protocol`. The token comes in the
/// `connection_init` payload (`{"Authorization": "Bearer …"}` or
/// `{"token": "…"}`), since browsers cannot set headers on a WebSocket; an
/// `Authorization` header on the upgrade request is accepted too. A bad
/// token closes the connection (4403 in graphql-transport-ws).
async fn websocket(state: AppState, request: Request) -> Response {
    let (mut parts, _body) = request.into_parts();
    let protocol = match GraphQLProtocol::from_request_parts(&mut parts, &()).await {
        Ok(protocol) => protocol,
        Err(rejection) => return rejection.into_response(),
    };
    let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    let header_caller = match authenticate(&state, &parts.headers) {
        Ok(caller) => caller,
        Err(response) => return *response,
    };
    upgrade
        .protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| {
            let tokens = state.tokens.clone();
            let catalog = state.catalog.clone();
            GraphQLWebSocket::new(socket, state.schema.clone(), protocol)
                .on_connection_init(move |payload| async move {
                    let caller = match token_of(&payload) {
                        Some(token) => tokens.authenticate(Some(&token)).map_err(|e| {
                            async_graphql::Error::new(e.to_string())
                                .extend_with(|_, x| x.set("code", "UNAUTHENTICATED"))
                        })?,
                        None => header_caller,
                    };
                    let mut data = Data::default();
                    data.insert(RequestContext { caller });
                    data.insert(request_loader(&catalog));
                    Ok(data)
                })
                .serve()
        })
}

/// The bearer header value from a `connection_init` payload.
fn token_of(payload: &serde_json::Value) -> Option<String> {
    let field = |name: &str| {
        payload
            .as_object()?
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.as_str())
    };
    if let Some(header) = field("authorization") {
        return Some(header.to_owned());
    }
    field("token").map(|t| {
        if t.starts_with("Bearer ") {
            t.to_owned()
        } else {
            format!("Bearer {t}")
        }
    })
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
