//! A real GraphQL-over-WebSocket client, in either protocol.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The two subprotocols the server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// graphql-transport-ws (graphql-ws library).
    TransportWs,
    /// Legacy graphql-ws (subscriptions-transport-ws).
    LegacyWs,
}

impl Protocol {
    fn name(self) -> &'static str {
        match self {
            Protocol::TransportWs => "graphql-transport-ws",
            Protocol::LegacyWs => "graphql-ws",
        }
    }
}

pub struct WsClient {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    protocol: Protocol,
}

/// What arrived for a subscription.
#[derive(Debug, PartialEq)]
pub enum Incoming {
    Data(Value),
    Errors(Value),
    Complete,
}

impl WsClient {
    /// Connects and completes `connection_init` with `payload`.
    pub async fn connect(address: &str, protocol: Protocol, payload: Value) -> Result<Self, String> {
        Self::connect_with_buffer(address, protocol, payload, None).await
    }

    /// Like `connect`, with a small socket receive buffer (a slow client).
    pub async fn connect_with_buffer(
        address: &str,
        protocol: Protocol,
        payload: Value,
        recv_buffer: Option<u32>,
    ) -> Result<Self, String> {
        let url = format!("{}/graphql", address.replace("http://", "ws://"));
        let mut request = url.as_str().into_client_request().unwrap();
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", protocol.name().parse().unwrap());
        let host = address.trim_start_matches("http://");
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        if let Some(size) = recv_buffer {
            socket.set_recv_buffer_size(size).unwrap();
        }
        let tcp = socket.connect(host.parse().unwrap()).await.map_err(|e| e.to_string())?;
        let (socket, _) = tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(tcp))
            .await
            .map_err(|e| e.to_string())?;
        let client = Self { socket, protocol };
        client.init(payload).await
    }

    /// Opens the WebSocket without sending `connection_init`.
    pub async fn open(address: &str, protocol: Protocol) -> Self {
        let url = format!("{}/graphql", address.replace("http://", "ws://"));
        let mut request = url.as_str().into_client_request().unwrap();
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", protocol.name().parse().unwrap());
        let (socket, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("WebSocket upgrade");
        Self { socket, protocol }
    }

    /// Sends `connection_init` with `payload` and waits for the ack.
    pub async fn init(mut self, payload: Value) -> Result<Self, String> {
        let client = &mut self;
        client
            .send(json!({ "type": "connection_init", "payload": payload }))
            .await;
        loop {
            let message = client.raw().await.ok_or("closed before connection_ack")?;
            match message["type"].as_str() {
                Some("connection_ack") => return Ok(self),
                Some("ka") | Some("ping") => continue,
                _ => return Err(format!("connection refused: {message}")),
            }
        }
    }

    /// Sends a protocol message as it is.
    pub async fn send(&mut self, message: Value) {
        self.socket
            .send(Message::text(message.to_string()))
            .await
            .expect("send");
    }

    /// The next protocol message (pings answered), `None` when closed.
    pub async fn raw(&mut self) -> Option<Value> {
        loop {
            match self.socket.next().await? {
                Ok(Message::Text(text)) => {
                    let value: Value = serde_json::from_str(&text).expect("JSON message");
                    if value["type"] == "ping" {
                        self.send(json!({ "type": "pong" })).await;
                        continue;
                    }
                    if value["type"] == "ka" {
                        continue;
                    }
                    return Some(value);
                }
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => continue,
            }
        }
    }

    /// Starts subscription `id`.
    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        let kind = if self.protocol == Protocol::TransportWs {
            "subscribe"
        } else {
            "start"
        };
        self.send(json!({ "type": kind, "id": id, "payload": { "query": query, "variables": variables } }))
            .await;
    }

    /// Stops subscription `id`.
    pub async fn stop(&mut self, id: &str) {
        let kind = if self.protocol == Protocol::TransportWs {
            "complete"
        } else {
            "stop"
        };
        self.send(json!({ "type": kind, "id": id })).await;
    }

    /// The next message for any subscription, within `timeout`.
    pub async fn next(&mut self, timeout: Duration) -> (String, Incoming) {
        let message = tokio::time::timeout(timeout, self.raw())
            .await
            .unwrap_or_else(|_| panic!("no message within {timeout:?}"))
            .expect("connection open");
        let id = message["id"].as_str().unwrap_or_default().to_owned();
        let incoming = match message["type"].as_str() {
            Some("next") | Some("data") => {
                if message["payload"]["errors"].is_array() {
                    Incoming::Errors(message["payload"]["errors"].clone())
                } else {
                    Incoming::Data(message["payload"]["data"].clone())
                }
            }
            Some("error") => Incoming::Errors(message["payload"].clone()),
            Some("complete") => Incoming::Complete,
            other => panic!("unexpected message {other:?}: {message}"),
        };
        (id, incoming)
    }

    /// The next data payload, failing on errors.
    pub async fn data(&mut self, timeout: Duration) -> Value {
        match self.next(timeout).await {
            (_, Incoming::Data(data)) => data,
            (_, other) => panic!("expected data, got {other:?}"),
        }
    }

    /// Waits (ignoring other messages) until the server closes the
    /// connection; returns the close code.
    pub async fn closed_with(&mut self, timeout: Duration) -> Option<u16> {
        let wait = async {
            loop {
                match self.socket.next().await {
                    Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                    Some(Ok(_)) => continue,
                    Some(Err(_)) | None => return None,
                }
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .expect("the server closes the connection in time")
    }

    /// Sends a text frame that is not a protocol message.
    pub async fn send_text(&mut self, text: &str) {
        self.socket.send(Message::text(text)).await.expect("send");
    }

    pub async fn close(mut self) {
        let _ = self.socket.close(None).await;
    }
}
