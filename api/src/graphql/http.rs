//! HTTP endpoints: GraphQL over HTTP and over WebSocket (see `ws`) at
//! `/graphql`, the health probes, the demo sign-in and the portal.
//!
//! GraphQL over HTTP follows the GraphQL-over-HTTP specification:
//! - POST takes `application/json` (a missing or other content type is 415:
//!   a `text/plain` body would let any web page post cross-site without a
//!   CORS preflight); GET runs queries only (a mutation or subscription is
//!   405 with `Allow: POST`); a body is at most [`MAX_BODY_BYTES`].
//! - The response is `application/graphql-response+json` when the client
//!   prefers it (`Accept`), `application/json` for `application/json`,
//!   `*/*` or no `Accept`, and 406 otherwise. A request that fails before
//!   execution (syntax, validation, variable coercion) is 400 without
//!   `data` in the first, 200 in the second (the spec's legacy rule).
//! - Every error, transport-level ones included, is a GraphQL error
//!   response with an `extensions.code`.
//!
//! A request is authenticated (a bad token is a 401), rate limited per
//! caller (429 with `Retry-After`), its caller resolved into a `Principal`
//! once, then executed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::parser::types::OperationType;
use axum::body::Body;
use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::auth::{Caller, Identity};
use crate::catalog::CatalogError;

use super::app::{authenticate, request_error, AppState, ErrorCodes};
use super::error::ensure_codes;
use super::metrics::{Metrics, ReplicaFigures};
use super::{request_loader, ws, RequestContext};

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;
/// Longest a GraphQL request over HTTP may run.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Lifetime of a demo sign-in token.
const DEMO_TOKEN_TTL: Duration = Duration::from_secs(12 * 3600);

/// The routes of the server. Their state is shared behind one `Arc`: the
/// router clones its state for each request, and cloning and dropping the
/// state itself (some twenty shared handles, each a contended atomic
/// count) took about 6 % of the server's CPU under load.
pub fn router(state: AppState) -> Router {
    let portal = state.portal.service();
    Router::new()
        .route(
            "/graphql",
            get(graphql_get)
                .post(graphql_post)
                .fallback(|| async { method_not_allowed("GET, POST", "/graphql takes GET and POST") }),
        )
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .route("/auth/demo-users", get(demo_users))
        .route("/auth/demo-token", post(demo_token))
        .fallback_service(portal)
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            count_errors,
        ))
        .with_state(Arc::new(state))
}

/// Counts every error answered, by code: one place for transport errors
/// and GraphQL responses alike.
async fn count_errors(State(metrics): State<Metrics>, request: Request, next: axum::middleware::Next) -> Response {
    let response = next.run(request).await;
    if let Some(ErrorCodes(codes)) = response.extensions().get::<ErrorCodes>() {
        for code in codes {
            metrics.error(code);
        }
    }
    response
}

/// `GET /metrics`: Prometheus text format.
async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let live = state.live.hub().active().await;
    let mut renditions: Vec<(String, usize)> = state.shared.per_topic().into_iter().collect();
    renditions.sort();
    let outbox = match state.catalog.outbox_depth().await {
        Ok(depth) => Some(depth),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the outbox depth");
            None
        }
    };
    let replica = ReplicaFigures {
        index_lag: state.replica.indexer.progress().lag(),
        events_behind: state.replica.follower.behind(),
    };
    let text = state.metrics.render(&live, &renditions, outbox, &replica);
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

fn bad_request(status: StatusCode, message: &str) -> Response {
    request_error(status, "BAD_REQUEST", message)
}

/// 405 with the methods `allow`ed.
fn method_not_allowed(allow: &'static str, message: &str) -> Response {
    let mut response = bad_request(StatusCode::METHOD_NOT_ALLOWED, message);
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}

/// 429 with `Retry-After` (whole seconds, at least 1) when the caller's
/// bucket is empty.
fn rate_limited(state: &AppState, key: &str) -> Option<Response> {
    let limiter = state.limiter.as_ref()?;
    limiter.check(key).err().map(|wait| {
        state.metrics.rate_limited();
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

/// The media type of a GraphQL response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MediaType {
    /// `application/graphql-response+json`: request errors are 4xx.
    GraphqlResponse,
    /// `application/json`: every well-formed GraphQL response is 200.
    Json,
}

impl MediaType {
    const GRAPHQL_RESPONSE: &'static str = "application/graphql-response+json";

    /// From the `Accept` header: the acceptable type of highest quality
    /// (the first on a tie); `None` when neither is acceptable.
    fn negotiate(headers: &HeaderMap) -> Option<Self> {
        let Some(accept) = headers.get(header::ACCEPT) else {
            return Some(MediaType::Json);
        };
        let accept = accept.to_str().ok()?;
        if accept.trim().is_empty() {
            return Some(MediaType::Json);
        }
        let mut best: Option<(f32, MediaType)> = None;
        for range in accept.split(',') {
            let mut parts = range.split(';');
            let essence = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let quality = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let media = match essence.as_str() {
                Self::GRAPHQL_RESPONSE => MediaType::GraphqlResponse,
                "application/json" | "application/*" | "*/*" => MediaType::Json,
                _ => continue,
            };
            if quality > 0.0 && best.is_none_or(|(q, _)| quality > q) {
                best = Some((quality, media));
            }
        }
        best.map(|(_, media)| media)
    }

    fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            MediaType::GraphqlResponse => Self::GRAPHQL_RESPONSE,
            MediaType::Json => "application/json",
        })
    }
}

/// The parameters of a GraphQL request (POST body).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Params {
    query: String,
    operation_name: Option<String>,
    variables: Option<Map<String, Value>>,
    /// Accepted and ignored (no extension reads it).
    #[allow(dead_code)]
    extensions: Option<Map<String, Value>>,
}

impl Params {
    /// Parses a POST body; a JSON array is a batch, which is not supported.
    fn from_body(body: &[u8]) -> Result<Self, BadRequest> {
        let value: Value =
            serde_json::from_slice(body).map_err(|e| BadRequest(format!("the body is not JSON: {e}")))?;
        if value.is_array() {
            return Err(BadRequest("batched requests are not supported".into()));
        }
        serde_json::from_value(value).map_err(|e| {
            BadRequest(format!(
                "invalid GraphQL request parameters: {e} (expected a string `query`, optional string \
                 `operationName` and objects `variables` and `extensions`)"
            ))
        })
    }

    /// Parses the URL parameters of a GET (`variables` and `extensions` as
    /// JSON text).
    fn from_query(query: &GetParams) -> Result<Self, BadRequest> {
        let object = |name: &str, text: &Option<String>| match text.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(text) => match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(map)) => Ok(Some(map)),
                Ok(Value::Null) => Ok(None),
                _ => Err(BadRequest(format!("the `{name}` parameter must be a JSON object"))),
            },
        };
        let Some(text) = query.query.clone() else {
            return Err(BadRequest("missing the `query` parameter".into()));
        };
        Ok(Params {
            query: text,
            operation_name: query.operation_name.clone().filter(|n| !n.is_empty()),
            variables: object("variables", &query.variables)?,
            extensions: object("extensions", &query.extensions)?,
        })
    }

    fn into_request(self) -> async_graphql::Request {
        let mut request = async_graphql::Request::new(self.query);
        if let Some(name) = self.operation_name {
            request = request.operation_name(name);
        }
        if let Some(variables) = self.variables {
            request = request.variables(async_graphql::Variables::from_json(Value::Object(variables)));
        }
        request
    }
}

/// The type and name of the operation `request` would run; `None` when
/// its document does not parse or holds no such operation (execution
/// reports that). The parse is kept in the request, and execution reuses
/// it.
fn operation(request: &mut async_graphql::Request) -> Option<(OperationType, Option<String>)> {
    let wanted = request.operation_name.clone();
    let document = request.parsed_query().ok()?;
    let (name, operation) = match &wanted {
        Some(wanted) => document
            .operations
            .iter()
            .find(|(n, _)| n.is_some_and(|n| n.as_str() == wanted))?,
        None => document.operations.iter().next()?,
    };
    Some((operation.node.ty, name.map(|n| n.to_string())))
}

/// An operation type as the request metrics name it.
fn operation_kind(ty: OperationType) -> &'static str {
    match ty {
        OperationType::Query => "query",
        OperationType::Mutation => "mutation",
        OperationType::Subscription => "subscription",
    }
}

/// Request parameters that are not GraphQL over HTTP: 400 `BAD_REQUEST`.
struct BadRequest(String);

impl IntoResponse for BadRequest {
    fn into_response(self) -> Response {
        bad_request(StatusCode::BAD_REQUEST, &self.0)
    }
}

/// The URL parameters of a GraphQL GET.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetParams {
    query: Option<String>,
    operation_name: Option<String>,
    variables: Option<String>,
    extensions: Option<String>,
}

async fn execute(
    state: &AppState,
    client: SocketAddr,
    headers: &HeaderMap,
    media: MediaType,
    mut request: async_graphql::Request,
) -> Response {
    let caller = authenticate(state, headers).await;
    let key = match &caller {
        Ok(Caller::User(identity)) => format!("user:{}", identity.subject),
        _ => format!("ip:{}", client.ip()),
    };
    if let Some(response) = rate_limited(state, &key) {
        return response;
    }
    let caller = match caller {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    state.documents.parse(&mut request);
    let (kind, operation) = operation(&mut request).map_or(("invalid", None), |(ty, name)| (operation_kind(ty), name));
    // Before the principal's database reads: a refused document costs none.
    if let Err(refusal) = state.aliases.check(&mut request) {
        state
            .metrics
            .request(kind, operation.as_deref(), std::time::Duration::ZERO);
        return graphql_response(media, *refusal);
    }
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
    let started = std::time::Instant::now();
    let request = request
        .data(RequestContext { principal })
        .data(request_loader(&state.catalog, &state.metrics));
    let executed = tokio::time::timeout(REQUEST_TIMEOUT, state.schema.execute(request)).await;
    state.metrics.request(kind, operation.as_deref(), started.elapsed());
    let Ok(mut response) = executed else {
        return request_error(
            StatusCode::REQUEST_TIMEOUT,
            "TIMEOUT",
            &format!("the request ran longer than {} s", REQUEST_TIMEOUT.as_secs()),
        );
    };
    ensure_codes(&mut response);
    graphql_response(media, response)
}

/// Serialises a response in the negotiated media type. A request error
/// (no data, and errors without a path: syntax, validation, variables) is
/// 400 without `data` in `application/graphql-response+json`.
fn graphql_response(media: MediaType, response: async_graphql::Response) -> Response {
    let failed_before_execution = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    let refused = media == MediaType::GraphqlResponse && failed_before_execution;
    let body = match response_body(&response, !refused) {
        Ok(body) => body,
        Err(e) => {
            tracing::error!(error = %e, "cannot serialise a response");
            return request_error(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL", "internal error");
        }
    };
    let status = if refused {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let codes = response
        .errors
        .iter()
        .filter_map(|e| match e.extensions.as_ref().and_then(|x| x.get("code")) {
            Some(async_graphql::Value::String(code)) => Some(code.clone()),
            _ => None,
        })
        .collect();
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, media.content_type());
    response.extensions_mut().insert(ErrorCodes(codes));
    response
}

/// A response as JSON bytes, `data` left out unless `with_data`: the bytes
/// `serde_json::to_value` then `to_vec` gave (every object's members in
/// key order, as a `serde_json` map keeps them), written straight from
/// the executor's values. Building that intermediate tree (a copy of every
/// key and string of the answer) cost about a tenth of a large answer.
pub fn response_body(response: &async_graphql::Response, with_data: bool) -> serde_json::Result<Vec<u8>> {
    use serde::ser::{SerializeMap, Serializer};
    let mut out = Vec::with_capacity(256);
    let mut json = serde_json::Serializer::new(&mut out);
    let mut map = json.serialize_map(None)?;
    if with_data {
        map.serialize_entry("data", &KeyOrder(&response.data))?;
    }
    // Errors and extensions are small: the tree is cheap there.
    if !response.errors.is_empty() {
        map.serialize_entry("errors", &serde_json::to_value(&response.errors)?)?;
    }
    if !response.extensions.is_empty() {
        map.serialize_entry("extensions", &serde_json::to_value(&response.extensions)?)?;
    }
    map.end()?;
    Ok(out)
}

/// A value serialised with each object's members in key order.
struct KeyOrder<'a>(&'a async_graphql::Value);

impl serde::Serialize for KeyOrder<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self.0 {
            async_graphql::Value::Object(members) => {
                let mut members: Vec<_> = members.iter().collect();
                members.sort_unstable_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
                let mut map = serializer.serialize_map(Some(members.len()))?;
                for (key, value) in members {
                    map.serialize_entry(key.as_str(), &KeyOrder(value))?;
                }
                map.end()
            }
            async_graphql::Value::List(items) => serializer.collect_seq(items.iter().map(KeyOrder)),
            other => other.serialize(serializer),
        }
    }
}

fn not_acceptable() -> Response {
    bad_request(
        StatusCode::NOT_ACCEPTABLE,
        "the response is application/graphql-response+json or application/json: accept one of them",
    )
}

/// Whether the request's content type is JSON (`application/json`, with
/// any parameters).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

async fn graphql_post(
    State(state): State<Arc<AppState>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    if !is_json(&parts.headers) {
        return bad_request(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "a GraphQL POST needs `Content-Type: application/json`",
        );
    }
    let Some(media) = MediaType::negotiate(&parts.headers) else {
        return not_acceptable();
    };
    let body = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(body) => body,
        Err(_) => {
            return bad_request(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("the request body exceeds {} bytes", MAX_BODY_BYTES),
            );
        }
    };
    match Params::from_body(&body) {
        Ok(params) => execute(&state, client, &parts.headers, media, params.into_request()).await,
        Err(refusal) => refusal.into_response(),
    }
}

/// WebSocket upgrade for subscriptions; the portal's GraphiQL for
/// browsers; a query in the URL is executed (queries only: a state change
/// over GET would be a cross-site request risk).
async fn graphql_get(
    State(state): State<Arc<AppState>>,
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
    let query = match Query::<GetParams>::try_from_uri(request.uri()) {
        Ok(Query(query)) => query,
        Err(e) => return bad_request(StatusCode::BAD_REQUEST, &format!("invalid URL parameters: {e}")),
    };
    if query.query.is_none() && wants_html(request.headers()) {
        return state.portal.index().await;
    }
    let Some(media) = MediaType::negotiate(request.headers()) else {
        return not_acceptable();
    };
    let mut graphql = match Params::from_query(&query) {
        Ok(params) => params.into_request(),
        Err(refusal) => return refusal.into_response(),
    };
    match operation(&mut graphql).map(|(ty, _)| ty) {
        Some(OperationType::Mutation) => {
            return method_not_allowed(
                "POST",
                "mutations run over POST only (GraphQL over HTTP: GET is for queries)",
            );
        }
        Some(OperationType::Subscription) => {
            return method_not_allowed(
                "POST",
                "subscriptions run over the WebSocket at /graphql (graphql-transport-ws)",
            );
        }
        _ => {}
    }
    execute(&state, client, request.headers(), media, graphql).await
}

/// A browser navigating (it prefers HTML).
fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

async fn ready(State(state): State<Arc<AppState>>) -> Response {
    if *state.draining.borrow() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down").into_response();
    }
    if !state.replica.follower.caught_up() {
        return (StatusCode::SERVICE_UNAVAILABLE, "catching up with mesh.catalog.events").into_response();
    }
    match state.catalog.store().ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

fn no_demo() -> Response {
    request_error(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "demo sign-in is only offered by `serve --demo`",
    )
}

/// The demo's users, for the portal's sign-in (`serve --demo` only).
async fn demo_users(State(state): State<Arc<AppState>>) -> Response {
    match &state.demo_users {
        Some(users) => Json(json!({ "users": users.as_ref() })).into_response(),
        None => no_demo(),
    }
}

#[derive(Deserialize)]
struct DemoTokenRequest {
    subject: String,
}

/// A token for one of the demo's users (`serve --demo` only: the demo's
/// signing secret is public anyway).
async fn demo_token(State(state): State<Arc<AppState>>, body: Body) -> Response {
    let Some(users) = &state.demo_users else {
        return no_demo();
    };
    let Ok(body) = axum::body::to_bytes(body, 4096).await else {
        return bad_request(StatusCode::PAYLOAD_TOO_LARGE, "the request body is too large");
    };
    let Ok(DemoTokenRequest { subject }) = serde_json::from_slice(&body) else {
        return bad_request(StatusCode::BAD_REQUEST, "expected {\"subject\": \"<demo user>\"}");
    };
    let Some(user) = users.iter().find(|u| u.subject == subject) else {
        return request_error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            &format!("`{subject}` is not a demo user"),
        );
    };
    let identity = Identity {
        subject: user.subject.clone(),
        teams: Vec::new(),
        roles: if user.admin {
            vec!["admin".to_owned()]
        } else {
            Vec::new()
        },
    };
    match state.tokens.mint(&identity, DEMO_TOKEN_TTL) {
        Ok(token) => {
            let expires = chrono::Utc::now() + DEMO_TOKEN_TTL;
            Json(json!({ "token": token, "expiresAt": expires.to_rfc3339() })).into_response()
        }
        Err(e) => request_error(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL", &e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes of the tree `serde_json::to_value` made, without the tree.
    #[test]
    fn response_bodies_are_the_bytes_of_a_json_value() {
        let data: async_graphql::Value = serde_json::from_str(
            r#"{"zeta": 1, "alpha": {"b": [true, null, 2.5, "x\"y\u00e9"], "a": {"z": [], "y": {}}},
                "Mid": -7, "émoji": "🦀", "list": [{"k": 1, "j": 2}, {"b": "B", "a": "A"}]}"#,
        )
        .unwrap();
        let mut with_errors = async_graphql::Response::new(data.clone());
        with_errors.errors.push(async_graphql::ServerError::new(
            "bad",
            Some(async_graphql::Pos { line: 1, column: 2 }),
        ));
        with_errors
            .extensions
            .insert("zz".into(), async_graphql::Value::from(3));
        with_errors
            .extensions
            .insert("aa".into(), async_graphql::Value::from("x"));
        for response in [
            async_graphql::Response::new(data),
            with_errors,
            async_graphql::Response::default(),
        ] {
            let tree = serde_json::to_value(&response).unwrap();
            assert_eq!(
                String::from_utf8(response_body(&response, true).unwrap()).unwrap(),
                serde_json::to_string(&tree).unwrap()
            );
            let mut without = tree.clone();
            without.as_object_mut().unwrap().remove("data");
            assert_eq!(
                String::from_utf8(response_body(&response, false).unwrap()).unwrap(),
                serde_json::to_string(&without).unwrap()
            );
        }
    }

    fn accept(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn media_types_are_negotiated() {
        use MediaType::*;
        assert_eq!(MediaType::negotiate(&HeaderMap::new()), Some(Json));
        assert_eq!(MediaType::negotiate(&accept("*/*")), Some(Json));
        assert_eq!(MediaType::negotiate(&accept("application/json")), Some(Json));
        assert_eq!(
            MediaType::negotiate(&accept("application/graphql-response+json")),
            Some(GraphqlResponse)
        );
        assert_eq!(
            MediaType::negotiate(&accept("application/graphql-response+json, application/json;q=0.9")),
            Some(GraphqlResponse)
        );
        assert_eq!(
            MediaType::negotiate(&accept("application/json;q=1, application/graphql-response+json;q=0.5")),
            Some(Json)
        );
        assert_eq!(MediaType::negotiate(&accept("text/html")), None);
        assert_eq!(MediaType::negotiate(&accept("application/json;q=0")), None);
    }

    /// A request's operation type, as `execute` reads it.
    struct Probe(async_graphql::Request);

    impl Probe {
        fn operation_type(mut self) -> Option<OperationType> {
            operation(&mut self.0).map(|(ty, _)| ty)
        }
    }

    #[test]
    fn operation_types_are_read_from_the_document() {
        let params = |query: &str, name: Option<&str>| {
            Probe(
                Params {
                    query: query.into(),
                    operation_name: name.map(Into::into),
                    variables: None,
                    extensions: None,
                }
                .into_request(),
            )
        };
        assert_eq!(
            params("mutation { createTeam }", None).operation_type(),
            Some(OperationType::Mutation)
        );
        assert_eq!(
            params("{ teams { name } }", None).operation_type(),
            Some(OperationType::Query)
        );
        let both = "query A { teams { name } } mutation B { x }";
        assert_eq!(params(both, Some("B")).operation_type(), Some(OperationType::Mutation));
        assert_eq!(params(both, Some("A")).operation_type(), Some(OperationType::Query));
        assert_eq!(params("{", None).operation_type(), None);
    }
}
