//! The HTTP surface: GraphiQL, GraphQL over HTTP (POST and GET, both media
//! types), health probes, limits and request-level errors.

use serde_json::{json, Value};

use crate::helpers::{on_both, spawn_app, spawn_configured, Backend, TestApp};

on_both!(probes_answer);

async fn probes_answer(app: TestApp) {
    let health = app.client.get(format!("{}/healthz", app.address)).send().await.unwrap();
    assert_eq!(health.status(), 200);
    // Ready once the first pass over mesh.catalog.events is done; until
    // then 503 with the reason.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let ready = app.client.get(format!("{}/readyz", app.address)).send().await.unwrap();
        if ready.status() == 200 {
            break;
        }
        assert_eq!(ready.status(), 503);
        assert_eq!(ready.text().await.unwrap(), "catching up with mesh.catalog.events");
        assert!(std::time::Instant::now() < deadline, "never ready");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The portal: files by path, `index.html` for deep links and for a
/// browser opening `/graphql` (the portal's GraphiQL), a 404 for a missing
/// hashed asset, and a clear page when there is no build.
#[tokio::test]
async fn the_portal_is_served() {
    let portal = crate::helpers::temp_dir();
    std::fs::create_dir_all(portal.join("assets")).unwrap();
    std::fs::write(portal.join("index.html"), "<!doctype html><title>portal-index</title>").unwrap();
    std::fs::write(portal.join("assets/app-1234.js"), "console.log('portal')".repeat(200)).unwrap();
    let dir = portal.clone();
    let app = spawn_configured(Backend::Sqlite, move |c| c.portal_dir = dir).await;
    let get = |path: &str, accept: &str| {
        app.client
            .get(format!("{}{path}", app.address))
            .header("accept", accept)
            .send()
    };
    for path in ["/", "/products/orders.order-events", "/search?q=orders", "/graphql"] {
        let page = get(path, "text/html").await.unwrap();
        assert_eq!(page.status(), 200, "{path}");
        assert_eq!(page.headers()["cache-control"], "no-cache", "{path}");
        assert!(page.text().await.unwrap().contains("portal-index"), "{path}");
    }
    let asset = app
        .client
        .get(format!("{}/assets/app-1234.js", app.address))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(asset.status(), 200);
    assert!(asset.headers()["cache-control"].to_str().unwrap().contains("immutable"));
    assert_eq!(
        asset.headers()["content-encoding"],
        "gzip",
        "compressed for the browser"
    );
    assert_eq!(get("/assets/missing-5678.js", "*/*").await.unwrap().status(), 404);
    // A compressed file the build wrote next to the asset is served as is.
    std::fs::write(portal.join("assets/app-1234.js.br"), b"precompressed-brotli").unwrap();
    let asset = app
        .client
        .get(format!("{}/assets/app-1234.js", app.address))
        .header("accept-encoding", "br, gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(asset.headers()["content-encoding"], "br");
    assert_eq!(asset.headers()["content-type"], "text/javascript");
    assert_eq!(asset.bytes().await.unwrap().as_ref(), b"precompressed-brotli");

    std::fs::remove_file(portal.join("index.html")).unwrap();
    let missing = get("/", "text/html").await.unwrap();
    assert_eq!(missing.status(), 404);
    let text = missing.text().await.unwrap();
    assert!(
        text.contains("portal is not built") && text.contains("npm --prefix frontend"),
        "{text}"
    );
}

#[tokio::test]
async fn graphql_over_http() {
    let app = spawn_app(Backend::Sqlite).await;

    // GET with a query executes it.
    let got: Value = app
        .client
        .get(format!("{}/graphql?query=%7Bdomains%7Bname%7D%7D", app.address))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got, json!({ "data": { "domains": [] } }));

    // The GraphQL-over-HTTP media type is honoured.
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("accept", "application/graphql-response+json")
        .json(&json!({ "query": "{ viewer { subject } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], "application/graphql-response+json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({ "data": { "viewer": null } }));

    // The viewer reflects the token.
    let me = app
        .post(Some(&app.token("alice")), "{ viewer { subject } }", json!({}))
        .await;
    assert_eq!(me["data"]["viewer"]["subject"], "alice");

    // Syntax errors and unknown fields are errors, not crashes.
    let bad = app.post(None, "{ domains { nope } }", json!({})).await;
    assert!(bad["errors"][0]["message"].as_str().unwrap().contains("nope"));
    assert_eq!(bad["errors"][0]["extensions"]["code"], "VALIDATION");
    let bad = app.post(None, "{ domains {", json!({})).await;
    assert_eq!(bad["errors"][0]["extensions"]["code"], "VALIDATION");
}

#[tokio::test]
async fn bad_tokens_and_limits_are_refused() {
    let app = spawn_app(Backend::Sqlite).await;
    let other = mesh_catalog::auth::TokenService::new(&mesh_catalog::config::AuthConfig::with_secret(
        "another-secret-entirely-0123456789",
    ));
    let forged = other
        .mint(
            &mesh_catalog::auth::Identity {
                subject: "mallory".into(),
                teams: vec![],
                roles: vec!["admin".into()],
            },
            std::time::Duration::from_secs(60),
        )
        .unwrap();
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(forged)
        .json(&json!({ "query": "{ viewer { subject } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");

    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("authorization", "Basic abc")
        .json(&json!({ "query": "{ viewer { subject } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);

    // Too deep.
    let deep = format!(
        "{{ domains {{ {} }} }}",
        "ownerTeam { domains { ".repeat(12) + "name" + " } }".repeat(12).as_str()
    );
    let body = app.post(None, &deep, json!({})).await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("nested too deep"),
        "{body:#}"
    );
    assert_eq!(body["errors"][0]["extensions"]["code"], "VALIDATION");

    // Too many aliases: refused before anything runs.
    let wide = |n: usize| {
        format!(
            "{{ {} }}",
            (0..n)
                .map(|i| format!("a{i}: domains {{ name }}"))
                .collect::<Vec<_>>()
                .join(" ")
        )
    };
    let body = app.post(None, &wide(65), json!({})).await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("65 aliased fields"),
        "{body:#}"
    );
    assert_eq!(body["errors"][0]["extensions"]["code"], "VALIDATION");
    assert!(app.post(None, &wide(64), json!({})).await.get("errors").is_none());

    // Too complex: thousands of fields (aliases allowed on this server).
    let lenient = spawn_configured(Backend::Sqlite, |c| c.limits.max_aliases = 10_000).await;
    let body = lenient.post(None, &wide(3000), json!({})).await;
    assert!(
        body["errors"][0]["message"].as_str().unwrap().contains("too complex"),
        "{body:#}"
    );
    assert_eq!(body["errors"][0]["extensions"]["code"], "VALIDATION");

    // Too large a body.
    let huge = "x".repeat(3 * 1024 * 1024);
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .json(&json!({ "query": format!("{{ domains {{ name }} }} #{huge}") }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
}

/// The reference GraphQL-over-HTTP audit (graphql-http's `serverAudits`,
/// run by Node from tests/http-audit, installed by scripts/test): no MUST
/// fails, and no SHOULD but the documented departures.
#[tokio::test]
async fn graphql_over_http_audit() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/http-audit");
    assert!(
        dir.join("node_modules/graphql-http").is_dir(),
        "run `npm ci --prefix tests/http-audit` (scripts/test does) before this test"
    );
    let app = spawn_app(Backend::Sqlite).await;
    let url = format!("{}/graphql", app.address);
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .arg("audit.mjs")
            .arg(url)
            .current_dir(&dir)
            .output()
    })
    .await
    .unwrap()
    .expect("node runs");
    let report = String::from_utf8_lossy(&output.stdout);
    println!("{report}");
    assert!(
        output.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(report.contains("MUST "), "{report}");
}

/// `/metrics`: requests by operation, errors by code, rate-limit refusals,
/// search latency, WebSocket connections and the outbox, in the Prometheus
/// text format; every response carries a request id.
#[tokio::test]
async fn metrics_and_request_ids() {
    let app = spawn_configured(Backend::Sqlite, |c| {
        c.security.rate_limit = mesh_catalog::config::RateLimit {
            per_minute: 60,
            burst: 8,
        }
    })
    .await;
    let post = |body: Value| app.client.post(format!("{}/graphql", app.address)).json(&body).send();
    post(json!({ "query": "query Probe { domains { name } }", "operationName": "Probe" }))
        .await
        .unwrap();
    post(json!({ "query": "query Finder { search(query: \"x\") { totalCount } }" }))
        .await
        .unwrap();
    post(json!({ "query": "{ nope }" })).await.unwrap();
    let ws = crate::ws::WsClient::connect(&app.address, crate::ws::Protocol::TransportWs, json!({}))
        .await
        .unwrap();
    // Over the burst: refused.
    let mut refused = 0;
    for _ in 0..10 {
        if post(json!({ "query": "{ __typename }" })).await.unwrap().status() == 429 {
            refused += 1;
        }
    }
    assert!(refused > 0);

    let response = app.client.get(format!("{}/metrics", app.address)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let text = response.text().await.unwrap();
    for expected in [
        "mesh_graphql_request_seconds_count{kind=\"query\",operation=\"Probe\"} 1",
        "mesh_graphql_request_seconds_count{kind=\"query\",operation=\"anonymous\"}",
        "mesh_graphql_request_seconds_count{kind=\"query\",operation=\"Finder\"} 1",
        "mesh_graphql_errors_total{code=\"VALIDATION\"} 1",
        &format!("mesh_graphql_errors_total{{code=\"RATE_LIMITED\"}} {refused}"),
        &format!("mesh_rate_limited_total {refused}"),
        "mesh_search_seconds_count 1",
        "mesh_websocket_connections 1",
        "mesh_outbox_depth",
    ] {
        assert!(text.contains(expected), "`{expected}` missing from:\n{text}");
    }
    ws.close().await;

    // A client's own request id is kept and returned.
    let traced = app
        .client
        .get(format!("{}/healthz", app.address))
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(traced.headers()["x-request-id"], "trace-me-42");
}
