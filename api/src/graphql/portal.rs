//! The portal: the Vite build of `frontend/` in a directory
//! (`MESH_PORTAL_DIR`). Its files are served by path (hashed `/assets/…`
//! cached for a year, the rest revalidated), compressed when the browser
//! accepts it — from the `.br`/`.gz` files the portal's build writes next
//! to each file, else on the fly — and its `index.html` answers every other GET, so deep
//! links (`/products/orders.order-events`) load the portal. Without a build,
//! `/` says how to make one.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Router;
use tower::ServiceExt;
use tower_http::compression::CompressionLayer;
use tower_http::services::{ServeDir, ServeFile};

/// Where the built portal is.
#[derive(Debug, Clone)]
pub struct Portal {
    dir: Arc<Path>,
}

impl Portal {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir: dir.into() }
    }

    fn index_file(&self) -> PathBuf {
        self.dir.join("index.html")
    }

    /// Whether a build is there (checked per request, so building the
    /// portal needs no restart).
    fn built(&self) -> bool {
        self.index_file().is_file()
    }

    /// The portal's `index.html` (its router renders the path), or the
    /// missing-build page.
    pub async fn index(&self) -> Response {
        if !self.built() {
            return self.missing();
        }
        let request = Request::new(axum::body::Body::empty());
        let response = ServeFile::new(self.index_file())
            .precompressed_br()
            .precompressed_gzip()
            .oneshot(request)
            .await
            .map(IntoResponse::into_response)
            .unwrap_or_else(|e| match e {});
        revalidate(response)
    }

    /// The service answering every path no other route takes.
    pub fn service(&self) -> Router {
        let portal = self.clone();
        Router::new()
            .fallback(move |request: Request| {
                let portal = portal.clone();
                async move { portal.serve(request).await }
            })
            .layer(CompressionLayer::new())
    }

    async fn serve(&self, request: Request) -> Response {
        if !self.built() {
            return self.missing();
        }
        let asset = request.uri().path().starts_with("/assets/");
        let files = ServeDir::new(&self.dir).precompressed_br().precompressed_gzip();
        let response = if asset {
            // A missing hashed asset is a 404, never the page.
            files.oneshot(request).await.map(IntoResponse::into_response)
        } else {
            files
                .fallback(
                    ServeFile::new(self.index_file())
                        .precompressed_br()
                        .precompressed_gzip(),
                )
                .oneshot(request)
                .await
                .map(IntoResponse::into_response)
        };
        let response = response.unwrap_or_else(|e| match e {});
        if asset && response.status().is_success() {
            let mut response = response;
            response.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            );
            response
        } else {
            revalidate(response)
        }
    }

    fn missing(&self) -> Response {
        let page = format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Mesh Catalog</title></head>\
             <body style=\"font-family:sans-serif;max-width:44rem;margin:3rem auto;line-height:1.5\">\
             <h1>Mesh Catalog</h1><p>The portal is not built: there is no <code>index.html</code> in \
             <code>{}</code>.</p><p>Build it with <code>npm --prefix frontend ci &amp;&amp; npm --prefix frontend \
             run build</code> (<code>scripts/demo</code> does this), or point <code>MESH_PORTAL_DIR</code> \
             (<code>--portal-dir</code>) at a built portal.</p><p>The GraphQL API is at <code>/graphql</code> \
             (POST, GET for queries, WebSocket for subscriptions).</p></body></html>",
            html_escape(&self.dir.display().to_string())
        );
        (StatusCode::NOT_FOUND, Html(page)).into_response()
    }
}

/// `index.html` and other unhashed files: always revalidated, so a new
/// build is picked up at once.
fn revalidate(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
