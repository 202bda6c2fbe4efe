//! HTTP endpoints: GraphiQL and GraphQL over HTTP at `/graphql`, and the
//! health probes.
//!
//! A GraphQL request is authenticated (a bad token is a 401), rate limited
//! per caller (429 with `Retry-After`), its caller resolved into a
//! `Principal` once, then executed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use async_graphql::http::GraphiQLSource;
use async_graphql::{Data, ErrorExtensions};
use async_graphql_axum::rejection::GraphQLRejection;
use async_graphql_axum::{GraphQLProtocol, GraphQLRequest, GraphQLResponse, GraphQLWebSocket};
use axum::extract::ws::{CloseFrame, Message, WebSocketUpgrade};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;

use crate::auth::{self, Caller, TokenService};
use crate::catalog::{Catalog, CatalogError};

use super::error::ensure_codes;
use super::quota::CallerKey;
use super::ratelimit::RateLimiter;
use super::{request_loader, AppSchema, RequestContext};

/// Shared state of the HTTP handlers.
#[derive(Clone)]
pub struct AppState {
    pub schema: AppSchema,
    pub catalog: Catalog,
    pub tokens: Arc<TokenService>,
    /// `None`: no rate limit.
    pub limiter: Option<Arc<RateLimiter>>,
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

async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Caller, Response> {
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
        return websocket(state, client, request).await;
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

/// WebSocket close code sent when the connection's token expires (as
/// graphql-transport-ws uses 4401 for "unauthorized").
const TOKEN_EXPIRED: u16 = 4401;

/// Read buffer of a WebSocket connection: clients send small messages
/// (subscribe, ping, complete); a larger one is read in several chunks.
const WS_READ_BUFFER: usize = 1024;
/// Largest message a client may send (a subscribe message with its query).
const WS_MAX_MESSAGE: usize = 1024 * 1024;

/// Subscriptions over WebSocket: graphql-transport-ws or the legacy
/// graphql-ws, picked from `Sec-WebSocket-Protocol`. The token comes in the
/// `connection_init` payload (`{"Authorization": "Bearer …"}` or
/// `{"token": "…"}`), since browsers cannot set headers on a WebSocket; an
/// `Authorization` header on the upgrade request is accepted too. A bad
/// token closes the connection (4403 in graphql-transport-ws); when the
/// token expires, the server closes it with [`TOKEN_EXPIRED`].
async fn websocket(state: AppState, client: SocketAddr, request: Request) -> Response {
    let (mut parts, _body) = request.into_parts();
    let protocol = match GraphQLProtocol::from_request_parts(&mut parts, &()).await {
        Ok(protocol) => protocol,
        Err(rejection) => return rejection.into_response(),
    };
    let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    let header_caller = match authenticate(&state, &parts.headers).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let header_token = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    upgrade
        .protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
        // A small read buffer (128 KiB by default, per connection) keeps
        // thousands of idle subscribers cheap; writes go out message by
        // message.
        .read_buffer_size(WS_READ_BUFFER)
        .write_buffer_size(0)
        .max_message_size(WS_MAX_MESSAGE)
        .on_upgrade(move |socket| async move {
            let (tokens, catalog) = (state.tokens.clone(), state.catalog.clone());
            let (mut socket_sink, socket_stream) = socket.split();
            // The GraphQL side writes into a channel; the loop below forwards it
            // to the socket, and closes the socket when the token expires.
            let (to_client, mut outgoing) = tokio::sync::mpsc::channel::<Message>(16);
            let to_client = futures_util::sink::unfold(to_client, |to_client, message: Message| async move {
                to_client.send(message).await.map(|()| to_client)
            });
            let (expiry_tx, mut expiry_rx) = tokio::sync::oneshot::channel::<Option<SystemTime>>();
            let graphql = GraphQLWebSocket::new_with_pair(to_client, socket_stream, state.schema.clone(), protocol)
                .on_connection_init(move |payload| async move {
                    let token = token_of(&payload).or(header_token);
                    let caller = match &token {
                        Some(token) => tokens.authenticate(Some(token)).await.map_err(|e| {
                            async_graphql::Error::new(e.to_string())
                                .extend_with(|_, x| x.set("code", "UNAUTHENTICATED"))
                        })?,
                        None => header_caller,
                    };
                    // INTERNAL, or UNAVAILABLE when a connection storm
                    // exhausts the database pool (the client may retry).
                    let principal = catalog.principal(&caller).await.map_err(|e| e.extend())?;
                    let _ = expiry_tx.send(token.as_deref().and_then(auth::expiry));
                    let key = match &caller {
                        Caller::User(identity) => format!("user:{}", identity.subject),
                        Caller::Anonymous => format!("ip:{}", client.ip()),
                    };
                    let mut data = Data::default();
                    data.insert(CallerKey(key));
                    data.insert(RequestContext { principal });
                    data.insert(request_loader(&catalog));
                    Ok(data)
                })
                .serve();
            let forward = async move {
                let mut deadline: Option<tokio::time::Instant> = None;
                let mut waiting_for_init = true;
                loop {
                    let expires = async {
                        match deadline {
                            Some(at) => tokio::time::sleep_until(at).await,
                            None => std::future::pending().await,
                        }
                    };
                    tokio::select! {
                        message = outgoing.recv() => {
                            let Some(message) = message else { break };
                            if socket_sink.send(message).await.is_err() {
                                break;
                            }
                        }
                        expiry = &mut expiry_rx, if waiting_for_init => {
                            waiting_for_init = false;
                            deadline = expiry.ok().flatten().map(|at| {
                                let left = at.duration_since(SystemTime::now()).unwrap_or_default();
                                tokio::time::Instant::now() + left
                            });
                        }
                        () = expires => {
                            let frame = CloseFrame { code: TOKEN_EXPIRED, reason: "token expired".into() };
                            let _ = socket_sink.send(Message::Close(Some(frame))).await;
                            break;
                        }
                    }
                }
            };
            tokio::select! {
                () = graphql => {}
                () = forward => {}
            }
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
