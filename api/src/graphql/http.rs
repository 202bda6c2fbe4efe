//! HTTP endpoints: GraphiQL and GraphQL over HTTP at `/graphql`, and the
//! health probes.

use std::sync::Arc;

use async_graphql::http::GraphiQLSource;
use async_graphql_axum::rejection::GraphQLRejection;
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::extract::{FromRequest, Request, State};
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

/// GraphiQL for browsers; a query in the URL is executed (GraphQL over HTTP
/// GET), except mutations, which async-graphql refuses on GET.
async fn graphql_get(State(state): State<AppState>, request: Request) -> Response {
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

async fn ready(State(state): State<AppState>) -> Response {
    match state.catalog.store().ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}
