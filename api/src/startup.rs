//! Builds the application from a [`Config`], so `main` and the tests start
//! it the same way: open the store, seed the demo, bind, serve.

use std::any::Any;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::IntoResponse;
use axum::Router;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::classify::ServerErrorsFailureClass;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::auth::{AuthError, TokenService};
use crate::catalog::{policy, Catalog, CatalogError};
use crate::config::{Config, ConfigError, JwksSource};
use crate::demo;
use crate::graphql::app::{AppState, Replica};
use crate::graphql::http::router;
use crate::graphql::portal::Portal;
use crate::graphql::ratelimit::RateLimiter;
use crate::graphql::ws;
use crate::graphql::{build_schema, AliasLimit, Documents, Services};
use crate::search::{IndexLocation, Indexer, SearchError, SearchIndex};
use crate::store::{Store, StoreError};
use crate::stream::{Live, StreamError};

/// Backstop for any request (GraphQL over HTTP has its own, shorter
/// timeout with a GraphQL error; see `http::REQUEST_TIMEOUT`).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Everything from here only (the portal and its GraphiQL are bundled:
/// nothing from a CDN); workers from here (the lineage layout, the
/// editors); never framed.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; \
    connect-src 'self'; worker-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// Why the server could not start. Each message names the offending value.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot open the database: {0}")]
    Database(#[from] StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("Kafka: {0}")]
    Kafka(#[from] StreamError),
    #[error("cannot seed the demo data: {0}")]
    Demo(#[source] CatalogError),
    #[error("cannot open the search index: {0}")]
    Search(#[from] SearchError),
    #[error("cannot load the token verification keys: {0}")]
    Keys(#[from] AuthError),
}

/// A bound, ready-to-serve server.
pub struct Application {
    listener: TcpListener,
    router: Router,
    catalog: Catalog,
    indexer: Indexer,
    live: Live,
    /// Tells the handlers the server is shutting down.
    drain: tokio::sync::watch::Sender<bool>,
}

/// Chooses the process-wide TLS provider. Several are linked in (through
/// the embedded broker's dependencies), and rustls then refuses to guess;
/// idempotent.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl Application {
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        install_tls_provider();
        let store = Store::open(&config.database_url).await?;
        let location = config
            .index_dir
            .clone()
            .map_or(IndexLocation::Memory, IndexLocation::Disk);
        let (search, fresh) = SearchIndex::open(&location)?;
        let indexer = Indexer::start(search.clone(), &store, fresh).await?;
        let live = Live::start(&config.kafka, store.clone()).await?;
        let catalog = Catalog::new(store)
            .with_hook(Arc::new(indexer.clone()))
            .with_hook(live.hook())
            .with_settings(policy::Settings {
                anonymous_read: config.security.anonymous_read,
                reserved_topics: config.kafka.reserved_topics.clone(),
            });
        live.watch_freshness(catalog.clone())?;
        let follower = live.follow_changes(catalog.clone(), indexer.follow_from())?;
        let tokens = TokenService::new(&config.auth);
        match (tokens.load_keys().await, &config.auth.jwks) {
            (Err(e), Some(JwksSource::File(_))) => return Err(e.into()),
            (Err(e), _) => tracing::warn!(error = %e, "JWKS not loaded yet; retrying on the first token"),
            (Ok(()), _) => {}
        }
        if config.demo {
            demo::seed(&catalog).await.map_err(StartupError::Demo)?;
            // Serve only once the seeded catalog is searchable.
            indexer.flush().await?;
            demo::traffic::start(&catalog, &live).await;
        }
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| StartupError::Bind {
                addr: config.listen,
                source,
            })?;
        let services = Services::new(catalog.clone(), search, live.clone(), &config.limits);
        let shared = services.shared.clone();
        let metrics = services.metrics.clone();
        let (drain, draining) = tokio::sync::watch::channel(false);
        let state = AppState {
            schema: build_schema(Some(services), &config.limits),
            aliases: AliasLimit::new(config.limits.max_aliases),
            documents: Documents::default(),
            shared,
            ws_setups: ws::setup_limit(),
            catalog: catalog.clone(),
            tokens: Arc::new(tokens),
            limiter: RateLimiter::new(config.security.rate_limit).map(Arc::new),
            demo_users: config.demo.then(|| demo::users().into()),
            portal: Portal::new(config.portal_dir.clone()),
            metrics,
            live: live.clone(),
            replica: Replica {
                indexer: indexer.clone(),
                follower,
            },
            draining,
        };
        let router = catch_panics(security_headers(router(state)))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                REQUEST_TIMEOUT,
            ))
            .layer(cors(config.security.cors_origins.as_deref())?)
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(request_span)
                    .on_request(())
                    .on_response(|response: &axum::http::Response<_>, took: Duration, _: &tracing::Span| {
                        tracing::debug!(target: "mesh_catalog::http", status = response.status().as_u16(), ?took, "answered");
                    })
                    .on_failure(|class: ServerErrorsFailureClass, took: Duration, _: &tracing::Span| {
                        // 503 is an answer, not a fault: not ready yet (a replica
                        // catching up), draining, or Kafka unavailable.
                        if !matches!(class, ServerErrorsFailureClass::StatusCode(StatusCode::SERVICE_UNAVAILABLE)) {
                            tracing::error!(target: "mesh_catalog::http", %class, ?took, "request failed");
                        }
                    }),
            )
            .layer(PropagateRequestIdLayer::x_request_id())
            .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid));
        Ok(Self {
            listener,
            router,
            catalog,
            indexer,
            live,
            drain,
        })
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The search indexer (to wait for or force indexing).
    pub fn indexer(&self) -> &Indexer {
        &self.indexer
    }

    /// The Kafka side: clients, relay and live feeds.
    pub fn live(&self) -> &Live {
        &self.live
    }

    /// Serves until `shutdown` completes, then drains: `/readyz` answers
    /// 503, WebSockets close with 1001, no new connection is accepted,
    /// requests in flight finish (each within its timeout), the search
    /// index commits what is queued and the background tasks stop.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let drain = self.drain;
        let served = axum::serve(
            self.listener,
            self.router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutting down: draining connections");
            drain.send_replace(true);
        })
        .await;
        if let Err(e) = self.indexer.stop().await {
            tracing::warn!(error = %e, "cannot stop the search index writer at shutdown");
        }
        self.live.shutdown();
        served
    }
}

/// The span of one HTTP request: every log line written while serving it
/// carries its id (`x-request-id`: the client's, or a new UUID, returned
/// in the response).
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    tracing::info_span!(
        target: "mesh_catalog::http",
        "request",
        id,
        method = %request.method(),
        path = request.uri().path()
    )
}

/// A panic while serving a request (a bug) answers 500 with a GraphQL
/// error coded `INTERNAL`, instead of dropping the connection.
fn catch_panics(router: Router) -> Router {
    router.layer(CatchPanicLayer::custom(|panic: Box<dyn Any + Send + 'static>| {
        let message = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("unknown");
        tracing::error!(panic = message, "request handler panicked");
        let body = serde_json::json!({
            "errors": [{ "message": "internal error", "extensions": { "code": "INTERNAL" } }]
        });
        (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(body)).into_response()
    }))
}

/// Headers on every response (unless a handler set its own).
fn security_headers(router: Router) -> Router {
    let headers = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (HeaderName::from_static("cross-origin-opener-policy"), "same-origin"),
    ];
    headers.into_iter().fold(router, |router, (name, value)| {
        router.layer(SetResponseHeaderLayer::if_not_present(
            name,
            HeaderValue::from_static(value),
        ))
    })
}

/// CORS: any origin (`None`, the demo), or only the listed ones (none:
/// browsers may call only from the same origin).
fn cors(origins: Option<&[String]>) -> Result<CorsLayer, ConfigError> {
    let Some(origins) = origins else {
        return Ok(CorsLayer::permissive());
    };
    let origins = origins
        .iter()
        .map(|o| HeaderValue::from_str(o).map_err(|_| ConfigError(format!("invalid CORS origin `{o}`"))))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(Duration::from_secs(600)))
}

#[cfg(test)]
mod tests {
    use axum::routing::post;

    use super::*;

    #[tokio::test]
    async fn a_panicking_handler_answers_internal() {
        async fn buggy() -> &'static str {
            panic!("a bug")
        }
        let app = catch_panics(Router::new().route("/graphql", post(buggy)));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/graphql", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        install_tls_provider();
        let response = reqwest::Client::new().post(url).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["errors"][0]["extensions"]["code"], "INTERNAL");
    }
}
