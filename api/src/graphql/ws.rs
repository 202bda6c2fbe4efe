//! GraphQL over WebSocket on `/graphql`: graphql-transport-ws, and the
//! legacy graphql-ws (subscriptions-transport-ws), picked from
//! `Sec-WebSocket-Protocol`.
//!
//! - The token comes in the `connection_init` payload
//!   (`{"Authorization": "Bearer …"}` or `{"token": "…"}`), since browsers
//!   cannot set headers on a WebSocket; an `Authorization` header on the
//!   upgrade request is accepted too. A bad token closes the connection
//!   (4403 in graphql-transport-ws, `connection_error` in the legacy
//!   protocol); when the token expires the server closes it with 4401.
//! - Each operation runs as a stream of its own. A live `productEvents`
//!   subscription is served by a shared rendition (see `shared`); anything
//!   else by the schema's executor. A stream ends with `complete`; an
//!   error is sent as a `next` whose payload carries `errors`, then
//!   `complete`.
//! - One task per connection reads the client's messages, polls the
//!   operations' streams and writes to the socket: a slow client only slows
//!   its own connection.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_graphql::http::{ClientMessage, WebSocketProtocols};
use async_graphql::{Data, ErrorExtensions};
use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, Request};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{BoxStream, StreamExt};
use serde_json::json;
use tokio::sync::Semaphore;
use tokio_stream::StreamMap;

use crate::auth::{self, Caller};
use crate::catalog::policy::Principal;
use crate::catalog::Catalog;

use super::app::{authenticate, AppState};
use super::error::ensure_codes;
use super::metrics::Metrics;
use super::quota::CallerKey;
use super::shared::Payload;
use super::subscription::Subscriber;
use super::{request_loader, RequestContext};

/// Close code when the token expires, or an operation starts before
/// `connection_init` (graphql-transport-ws's "unauthorized").
const UNAUTHORIZED: u16 = 4401;
/// Close code when the server shuts down (RFC 6455 "going away").
const GOING_AWAY: u16 = 1001;
/// Close code for a refused `connection_init`.
const FORBIDDEN: u16 = 4403;
/// Close code for a message that is not a protocol message.
const BAD_MESSAGE: u16 = 4400;
/// Close code for a second `connection_init`.
const TOO_MANY_INITS: u16 = 4429;
/// Close code for an operation id already in use.
const DUPLICATE_ID: u16 = 4409;

/// Read buffer of a connection: clients send small messages (subscribe,
/// ping, complete); a larger one is read in several chunks.
const READ_BUFFER: usize = 1024;
/// Largest message a client may send (a subscribe message with its query).
const MAX_MESSAGE: usize = 1024 * 1024;

/// How many connections may authenticate or start an operation at once.
/// Each such step waits on the database; in a reconnection storm of
/// thousands of clients, the others wait here with nothing allocated yet,
/// instead of each holding a pending query.
const CONCURRENT_SETUPS: usize = 64;

/// The server-wide limit on concurrent connection set-ups.
pub fn setup_limit() -> Arc<Semaphore> {
    Arc::new(Semaphore::new(CONCURRENT_SETUPS))
}

/// Upgrades `request` to a GraphQL WebSocket connection.
pub async fn upgrade(state: Arc<AppState>, client: SocketAddr, request: Request) -> Response {
    let (mut parts, _body) = request.into_parts();
    let Some(protocol) = protocol(&parts.headers) else {
        return (
            StatusCode::BAD_REQUEST,
            "Sec-WebSocket-Protocol must be graphql-transport-ws or graphql-ws",
        )
            .into_response();
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
        .protocols([protocol.sec_websocket_protocol()])
        // A small read buffer (128 KiB by default, per connection) keeps
        // thousands of idle subscribers cheap; writes go out message by
        // message.
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .max_message_size(MAX_MESSAGE)
        .on_upgrade(move |socket| {
            Connection {
                state,
                client,
                protocol,
                header_caller,
                header_token,
            }
            .serve(socket)
        })
}

/// The first protocol the client offers that the server speaks.
fn protocol(headers: &axum::http::HeaderMap) -> Option<WebSocketProtocols> {
    headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|p| p.trim().parse().ok())
}

/// One WebSocket connection before its `connection_init`.
struct Connection {
    state: Arc<AppState>,
    client: SocketAddr,
    protocol: WebSocketProtocols,
    header_caller: Caller,
    header_token: Option<String>,
}

/// The caller of an initialised connection.
struct Session {
    caller: Caller,
    key: CallerKey,
    expires: Option<tokio::time::Instant>,
}

/// Data of one operation run by the executor: the caller, and a loader
/// whose cache lives as long as the operation.
fn operation_data(key: CallerKey, principal: Principal, catalog: &Catalog, metrics: &Metrics) -> Data {
    let mut data = Data::default();
    data.insert(key);
    data.insert(RequestContext { principal });
    data.insert(request_loader(catalog, metrics));
    data
}

/// What the connection loop waits for.
enum Event {
    Incoming(Option<Result<Message, axum::Error>>),
    /// An operation's next payload, or its end.
    Outgoing(String, Option<Payload>),
}

/// What ends a connection.
enum Close {
    /// The client left, or the socket failed.
    Gone,
    /// Close with this code and reason.
    Code(u16, String),
    /// Legacy protocol: a `connection_error` message, then close.
    ConnectionError(String),
}

impl Connection {
    async fn serve(self, mut socket: WebSocket) {
        let _open = self.state.metrics.websocket();
        let mut session: Option<Session> = None;
        // Each operation's stream, ending with `None` (then `complete`).
        let mut operations: StreamMap<String, BoxStream<'static, Option<Payload>>> = StreamMap::new();
        // Set once the session exists and its token has an expiry.
        let expiry = tokio::time::sleep(Duration::MAX);
        tokio::pin!(expiry);
        let mut expires = false;
        let mut draining = self.state.draining.clone();
        let close = loop {
            // The socket is borrowed by one branch at a time, and free again
            // for the reply once an event is picked.
            let event = tokio::select! {
                message = socket.recv() => Event::Incoming(message),
                Some((id, payload)) = operations.next(), if !operations.is_empty() => Event::Outgoing(id, payload),
                () = &mut expiry, if expires => break Close::Code(UNAUTHORIZED, "token expired".into()),
                _ = draining.wait_for(|draining| *draining) => break Close::Code(GOING_AWAY, "server shutting down".into()),
            };
            let text = match event {
                Event::Incoming(message) => {
                    let bytes = match message {
                        Some(Ok(Message::Text(text))) => Bytes::from(text),
                        Some(Ok(Message::Binary(bytes))) => bytes,
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                        Some(Ok(Message::Close(_)) | Err(_)) | None => break Close::Gone,
                    };
                    let message = match ClientMessage::from_bytes(&bytes) {
                        Ok(message) => message,
                        Err(e) => break Close::Code(BAD_MESSAGE, format!("invalid message: {e}")),
                    };
                    let had_session = session.is_some();
                    // Boxed: authenticating (`connection_init`) is a large
                    // future, and kept inline it would size every idle
                    // connection's task.
                    let reply = match Box::pin(self.handle(message, &mut session, &mut operations)).await {
                        Ok(reply) => reply,
                        Err(close) => break close,
                    };
                    if let (false, Some(at)) = (had_session, session.as_ref().and_then(|s| s.expires)) {
                        expiry.as_mut().reset(at);
                        expires = true;
                    }
                    match reply {
                        Some(text) => text,
                        None => continue,
                    }
                }
                Event::Outgoing(id, Some(payload)) => self.next_message(&id, payload),
                Event::Outgoing(id, None) => complete_message(&id),
            };
            if socket.send(Message::Text(text.into())).await.is_err() {
                break Close::Gone;
            }
        };
        let last = match close {
            Close::Gone => return,
            Close::Code(code, reason) => Message::Close(Some(CloseFrame {
                code,
                reason: close_reason(reason).into(),
            })),
            Close::ConnectionError(message) => {
                let error = json!({ "type": "connection_error", "payload": { "message": message } });
                if socket.send(Message::Text(error.to_string().into())).await.is_err() {
                    return;
                }
                Message::Close(None)
            }
        };
        let _ = socket.send(last).await;
    }

    /// Handles one client message; `Ok(Some(text))` is the reply to send.
    async fn handle(
        &self,
        message: ClientMessage,
        session: &mut Option<Session>,
        operations: &mut StreamMap<String, BoxStream<'static, Option<Payload>>>,
    ) -> Result<Option<String>, Close> {
        match message {
            ClientMessage::ConnectionInit { payload } => {
                if session.is_some() {
                    return Err(self.refuse(TOO_MANY_INITS, "too many initialisation requests".into()));
                }
                match self.init(payload.unwrap_or_default()).await {
                    Ok(started) => {
                        *session = Some(started);
                        Ok(Some(json!({ "type": "connection_ack" }).to_string()))
                    }
                    Err(e) => Err(self.refuse(FORBIDDEN, e.message)),
                }
            }
            ClientMessage::Start { id, payload } => {
                let Some(session) = session.as_ref() else {
                    return Err(Close::Code(UNAUTHORIZED, "unauthorized".into()));
                };
                if operations.contains_key(&id) {
                    return Err(Close::Code(DUPLICATE_ID, format!("subscriber for {id} already exists")));
                }
                operations.insert(id, self.start(session, payload));
                Ok(None)
            }
            ClientMessage::Stop { id } => Ok(operations.remove(&id).map(|_| complete_message(&id))),
            ClientMessage::ConnectionTerminate => Err(Close::Gone),
            ClientMessage::Ping { payload } => {
                let mut pong = json!({ "type": "pong" });
                if let Some(payload) = payload {
                    pong["payload"] = payload;
                }
                Ok(Some(pong.to_string()))
            }
            ClientMessage::Pong { .. } => Ok(None),
        }
    }

    /// How a refused `connection_init` ends the connection.
    fn refuse(&self, code: u16, message: String) -> Close {
        match self.protocol {
            WebSocketProtocols::GraphQLWS => Close::Code(code, message),
            WebSocketProtocols::SubscriptionsTransportWS => Close::ConnectionError(message),
        }
    }

    /// Authenticates the connection from its `connection_init` payload.
    async fn init(&self, payload: serde_json::Value) -> async_graphql::Result<Session> {
        let _turn = self.state.ws_setups.acquire().await;
        let token = token_of(&payload)
            .map_err(async_graphql::Error::new)?
            .or_else(|| self.header_token.clone());
        let caller = match &token {
            Some(token) => self
                .state
                .tokens
                .authenticate(Some(token))
                .await
                .map_err(|e| async_graphql::Error::new(e.to_string()))?,
            None => self.header_caller.clone(),
        };
        let key = CallerKey(match &caller {
            Caller::User(identity) => format!("user:{}", identity.subject),
            Caller::Anonymous => format!("ip:{}", self.client.ip()),
        });
        let expires = token.as_deref().and_then(auth::expiry).map(|at| {
            let left = at.duration_since(SystemTime::now()).unwrap_or_default();
            tokio::time::Instant::now() + left
        });
        Ok(Session { caller, key, expires })
    }

    /// The stream of one operation. It is set up inside the stream, so a
    /// slow start (a topic's first consumer) does not hold up the others.
    /// The caller's principal is resolved for each operation, once, so
    /// access granted or revoked since `connection_init` counts.
    fn start(&self, session: &Session, mut request: async_graphql::Request) -> BoxStream<'static, Option<Payload>> {
        if let Err(refusal) = self.state.aliases.check(&mut request) {
            return futures_util::stream::iter([Some(Payload::Own(refusal)), None]).boxed();
        }
        let (shared, schema, setups, catalog, metrics) = (
            self.state.shared.clone(),
            self.state.schema.clone(),
            self.state.ws_setups.clone(),
            self.state.catalog.clone(),
            self.state.metrics.clone(),
        );
        let (caller, key) = (session.caller.clone(), session.key.clone());
        // Boxed so that the finished set-up is freed, not kept inline.
        let setup = Box::pin(async move {
            let _turn = setups.acquire().await;
            // INTERNAL, or UNAVAILABLE when a connection storm exhausts the
            // database pool (the client may retry).
            let principal = match catalog.principal(&caller).await {
                Ok(principal) => principal,
                Err(e) => {
                    let e = e.extend();
                    let mut error = async_graphql::ServerError::new(e.message, None);
                    error.extensions = e.extensions;
                    let refusal = Payload::Own(Box::new(async_graphql::Response::from_errors(vec![error])));
                    return futures_util::stream::iter([refusal]).boxed();
                }
            };
            let who = Subscriber {
                caller: &caller,
                principal: &principal,
                key: &key,
            };
            if let Some(stream) = shared.subscribe(who, &request).await {
                return stream;
            }
            let data = operation_data(key, principal, &catalog, &metrics);
            schema
                .execute_stream_with_session_data(request, Arc::new(data))
                .map(|mut response| {
                    ensure_codes(&mut response);
                    Payload::Own(Box::new(response))
                })
                .boxed()
        });
        futures_util::stream::once(setup)
            .flatten()
            .map(Some)
            .chain(futures_util::stream::once(std::future::ready(None)))
            .boxed()
    }

    /// A `next` (or legacy `data`) message carrying `payload`.
    fn next_message(&self, id: &str, payload: Payload) -> String {
        let kind = match self.protocol {
            WebSocketProtocols::GraphQLWS => "next",
            WebSocketProtocols::SubscriptionsTransportWS => "data",
        };
        let id = serde_json::to_string(id).unwrap_or_default();
        let own;
        let payload = match &payload {
            Payload::Shared(text) => text,
            Payload::Own(response) => {
                own = serde_json::to_string(response).unwrap_or_default();
                own.as_str()
            }
        };
        format!(r#"{{"type":"{kind}","id":{id},"payload":{payload}}}"#)
    }
}

fn complete_message(id: &str) -> String {
    json!({ "type": "complete", "id": id }).to_string()
}

/// The bearer header value from a `connection_init` payload (`None`: no
/// token); a payload that is not an object, or a token that is not a
/// string, is refused like a bad token.
fn token_of(payload: &serde_json::Value) -> Result<Option<String>, String> {
    let object = match payload {
        serde_json::Value::Null => return Ok(None),
        serde_json::Value::Object(object) => object,
        _ => return Err("the connection_init payload must be an object".into()),
    };
    let field = |name: &str| match object.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)) {
        None | Some((_, serde_json::Value::Null)) => Ok(None),
        Some((_, serde_json::Value::String(value))) => Ok(Some(value.as_str())),
        Some((key, _)) => Err(format!("the connection_init `{key}` must be a string")),
    };
    if let Some(header) = field("authorization")? {
        return Ok(Some(header.to_owned()));
    }
    Ok(field("token")?.map(|t| {
        if t.starts_with("Bearer ") {
            t.to_owned()
        } else {
            format!("Bearer {t}")
        }
    }))
}

/// A close frame's reason must fit in 123 bytes (RFC 6455 §5.5: control
/// frames carry at most 125, two of them the code); longer reasons are cut
/// at a character boundary.
fn close_reason(mut reason: String) -> String {
    const MAX: usize = 123;
    if reason.len() > MAX {
        let mut end = MAX - '…'.len_utf8();
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        reason.truncate(end);
        reason.push('…');
    }
    reason
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn tokens_of_connection_init() {
        assert_eq!(token_of(&json!(null)), Ok(None));
        assert_eq!(token_of(&json!({})), Ok(None));
        assert_eq!(token_of(&json!({ "token": null })), Ok(None));
        assert_eq!(token_of(&json!({ "token": "abc" })), Ok(Some("Bearer abc".into())));
        assert_eq!(
            token_of(&json!({ "Authorization": "Bearer x" })),
            Ok(Some("Bearer x".into()))
        );
        assert!(token_of(&json!({ "token": 12345 })).is_err());
        assert!(token_of(&json!({ "authorization": ["Bearer x"] })).is_err());
        assert!(token_of(&json!("Bearer x")).is_err());
    }

    #[test]
    fn close_reasons_fit_a_control_frame() {
        let long = "é".repeat(200);
        let cut = close_reason(long);
        assert!(cut.len() <= 123, "{}", cut.len());
        assert!(cut.ends_with('…'));
        assert_eq!(close_reason("short".into()), "short");
    }
}
