//! Tokens (HS256 and JWKS keys, time, issuer and audience claims, key
//! rotation from a file and a URL), rate limiting, security headers, CORS,
//! introspection and anonymous access switches.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use mesh_catalog::config::{JwksSource, RateLimit};
use serde_json::{json, Value};

use crate::helpers::{spawn_configured, temp_dir, Backend, TestApp, ADMIN, SECRET};

const ISSUER: &str = "https://idp.test";
const AUDIENCE: &str = "mesh-catalog";
const VIEWER: &str = "{ viewer { subject teams roles } }";

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/jwt")
        .join(name)
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Valid claims for the token tests' servers, with `extra` merged in
/// (a `null` removes a claim).
fn claims(extra: Value) -> Value {
    let mut claims = json!({
        "sub": "ada", "iss": ISSUER, "aud": AUDIENCE, "iat": now(), "exp": now() + 600,
        "realm_access": { "roles": ["admin"] }, "groups": "orders-team payments-team",
    });
    for (k, v) in extra.as_object().unwrap() {
        if v.is_null() {
            claims.as_object_mut().unwrap().remove(k);
        } else {
            claims[k] = v.clone();
        }
    }
    claims
}

fn sign(alg: Algorithm, kid: Option<&str>, key: &EncodingKey, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    encode(&header, claims, key).unwrap()
}

fn rsa(name: &str) -> EncodingKey {
    EncodingKey::from_rsa_pem(&std::fs::read(fixture(name)).unwrap()).unwrap()
}

fn ec(name: &str) -> EncodingKey {
    EncodingKey::from_ec_pem(&std::fs::read(fixture(name)).unwrap()).unwrap()
}

fn hs(secret: &str) -> EncodingKey {
    EncodingKey::from_secret(secret.as_bytes())
}

/// The HTTP status and body of `{ viewer }` with this token.
async fn viewer(app: &TestApp, token: &str) -> (u16, Value) {
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(token)
        .json(&json!({ "query": VIEWER }))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn accepted(app: &TestApp, token: &str, what: &str) -> Value {
    let (status, body) = viewer(app, token).await;
    assert_eq!(status, 200, "{what}: {body:#}");
    body["data"]["viewer"].clone()
}

async fn rejected(app: &TestApp, token: &str, what: &str) {
    let (status, body) = viewer(app, token).await;
    assert_eq!(status, 401, "{what} should be refused: {body:#}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{what}");
}

/// A server checking issuer and audience, with keys from `jwks`, roles and
/// teams under custom claim names.
async fn token_server(jwks: JwksSource, min_refresh: Duration) -> TestApp {
    spawn_configured(Backend::Sqlite, |c| {
        c.auth.issuer = Some(ISSUER.into());
        c.auth.audience = Some(AUDIENCE.into());
        c.auth.jwks = Some(jwks);
        c.auth.jwks_min_refresh = min_refresh;
        c.auth.roles_claim = "realm_access.roles".into();
        c.auth.teams_claim = "groups".into();
    })
    .await
}

#[tokio::test]
async fn tokens_are_checked_and_keys_rotate_from_a_file() {
    let dir = temp_dir();
    let jwks = dir.join("jwks.json");
    std::fs::copy(fixture("jwks-1.json"), &jwks).unwrap();
    let app = token_server(JwksSource::File(jwks.clone()), Duration::ZERO).await;

    // HS256 with the shared secret, roles and teams from the custom claims.
    let good = sign(Algorithm::HS256, None, &hs(SECRET), &claims(json!({})));
    assert_eq!(
        accepted(&app, &good, "HS256").await,
        json!({ "subject": "ada", "teams": ["orders-team", "payments-team"], "roles": ["admin"] })
    );
    // Minted by the server's own token service: the same claim names.
    let minted = app.token(ADMIN);
    assert_eq!(accepted(&app, &minted, "minted").await["roles"], json!(["admin"]));

    let bad = [
        (
            "forged",
            sign(
                Algorithm::HS256,
                None,
                &hs("not-the-secret-0123456789"),
                &claims(json!({})),
            ),
        ),
        (
            "expired",
            sign(
                Algorithm::HS256,
                None,
                &hs(SECRET),
                &claims(json!({ "exp": now() - 120 })),
            ),
        ),
        (
            "not yet valid",
            sign(
                Algorithm::HS256,
                None,
                &hs(SECRET),
                &claims(json!({ "nbf": now() + 120 })),
            ),
        ),
        (
            "wrong issuer",
            sign(
                Algorithm::HS256,
                None,
                &hs(SECRET),
                &claims(json!({ "iss": "https://evil.test" })),
            ),
        ),
        (
            "wrong audience",
            sign(
                Algorithm::HS256,
                None,
                &hs(SECRET),
                &claims(json!({ "aud": "another-api" })),
            ),
        ),
        (
            "no expiry",
            sign(Algorithm::HS256, None, &hs(SECRET), &claims(json!({ "exp": null }))),
        ),
        (
            "no subject",
            sign(Algorithm::HS256, None, &hs(SECRET), &claims(json!({ "sub": null }))),
        ),
        (
            "unsupported algorithm",
            sign(Algorithm::HS384, None, &hs(SECRET), &claims(json!({}))),
        ),
        (
            "RS256 without kid",
            sign(Algorithm::RS256, None, &rsa("rsa-1.pem"), &claims(json!({}))),
        ),
        (
            "RS256 by another key",
            sign(Algorithm::RS256, Some("rsa-1"), &rsa("rsa-2.pem"), &claims(json!({}))),
        ),
        (
            "RS256 naming the EC key",
            sign(Algorithm::RS256, Some("ec-1"), &rsa("rsa-1.pem"), &claims(json!({}))),
        ),
        (
            "not yet published key",
            sign(Algorithm::RS256, Some("rsa-2"), &rsa("rsa-2.pem"), &claims(json!({}))),
        ),
        ("garbage", "not.a.token".to_owned()),
    ];
    for (what, token) in &bad {
        rejected(&app, token, what).await;
    }
    // Clock skew within the leeway (30 s) is tolerated.
    let skewed = sign(
        Algorithm::HS256,
        None,
        &hs(SECRET),
        &claims(json!({ "exp": now() - 10, "nbf": now() + 10 })),
    );
    accepted(&app, &skewed, "small clock skew").await;

    // RS256 and ES256 keys from the JWKS.
    let rs = sign(Algorithm::RS256, Some("rsa-1"), &rsa("rsa-1.pem"), &claims(json!({})));
    let es = sign(
        Algorithm::ES256,
        Some("ec-1"),
        &ec("ec-1.pem"),
        &claims(json!({ "sub": "eve" })),
    );
    assert_eq!(accepted(&app, &rs, "RS256").await["subject"], "ada");
    assert_eq!(accepted(&app, &es, "ES256").await["subject"], "eve");

    // Rotation: rsa-2 replaces rsa-1; a token naming the new kid triggers a
    // refresh, and the retired key stops working.
    std::fs::copy(fixture("jwks-2.json"), &jwks).unwrap();
    let rotated = sign(Algorithm::RS256, Some("rsa-2"), &rsa("rsa-2.pem"), &claims(json!({})));
    accepted(&app, &rotated, "RS256 with the new key").await;
    rejected(&app, &rs, "RS256 with the retired key").await;
    accepted(&app, &es, "ES256 (kept)").await;
}

/// Serves a JWKS document that the test can swap, counting fetches.
struct KeyServer {
    url: String,
    document: Arc<RwLock<String>>,
    fetches: Arc<AtomicUsize>,
}

async fn key_server(initial: &str) -> KeyServer {
    let document = Arc::new(RwLock::new(std::fs::read_to_string(fixture(initial)).unwrap()));
    let fetches = Arc::new(AtomicUsize::new(0));
    let (doc, count) = (document.clone(), fetches.clone());
    let router = axum::Router::new().route(
        "/.well-known/jwks.json",
        axum::routing::get(move || {
            let (doc, count) = (doc.clone(), count.clone());
            async move {
                count.fetch_add(1, Ordering::SeqCst);
                let body = doc.read().unwrap().clone();
                ([(axum::http::header::CONTENT_TYPE, "application/json")], body)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/.well-known/jwks.json", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    KeyServer { url, document, fetches }
}

#[tokio::test]
async fn keys_rotate_from_a_url_at_most_once_per_interval() {
    let keys = key_server("jwks-1.json").await;
    let app = token_server(JwksSource::Url(keys.url.clone()), Duration::ZERO).await;
    let rs1 = sign(Algorithm::RS256, Some("rsa-1"), &rsa("rsa-1.pem"), &claims(json!({})));
    let rs2 = sign(Algorithm::RS256, Some("rsa-2"), &rsa("rsa-2.pem"), &claims(json!({})));
    accepted(&app, &rs1, "RS256 from the URL").await;
    *keys.document.write().unwrap() = std::fs::read_to_string(fixture("jwks-2.json")).unwrap();
    accepted(&app, &rs2, "rotated key fetched by kid").await;

    // With a long minimum interval, unknown kids do not hammer the server.
    let slow = key_server("jwks-1.json").await;
    let app = token_server(JwksSource::Url(slow.url.clone()), Duration::from_secs(3600)).await;
    assert_eq!(slow.fetches.load(Ordering::SeqCst), 1, "fetched at start-up");
    accepted(&app, &rs1, "RS256").await;
    *slow.document.write().unwrap() = std::fs::read_to_string(fixture("jwks-2.json")).unwrap();
    for _ in 0..5 {
        rejected(&app, &rs2, "a kid unknown until the next refresh").await;
    }
    assert_eq!(slow.fetches.load(Ordering::SeqCst), 1, "no refresh within the interval");
}

#[tokio::test]
async fn callers_over_the_rate_get_429_with_retry_after() {
    let app = spawn_configured(Backend::Sqlite, |c| {
        c.security.rate_limit = RateLimit {
            per_minute: 6,
            burst: 3,
        }
    })
    .await;
    let alice = app.token("alice");
    for _ in 0..3 {
        let body = app.post(Some(&alice), VIEWER, json!({})).await;
        assert!(body.get("errors").is_none(), "{body:#}");
    }
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(&alice)
        .json(&json!({ "query": VIEWER }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    let retry: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=10).contains(&retry), "Retry-After {retry}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "RATE_LIMITED");
    // Another identity has its own bucket; anonymous callers share their IP's.
    let body = app.post(Some(&app.token("bob")), VIEWER, json!({})).await;
    assert!(body.get("errors").is_none(), "{body:#}");
    for _ in 0..3 {
        app.anon(VIEWER, json!({})).await;
    }
    let body = app.post(None, VIEWER, json!({})).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "RATE_LIMITED");
}

#[tokio::test]
async fn responses_carry_security_headers_and_cors_follows_the_allow_list() {
    let app = spawn_configured(Backend::Sqlite, |c| {
        c.security.cors_origins = Some(vec!["https://ok.example".into()]);
    })
    .await;
    let page = app.client.get(format!("{}/healthz", app.address)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let headers = page.headers();
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    let csp = headers["content-security-policy"].to_str().unwrap();
    // Nothing from a CDN: the portal and its GraphiQL are served from here.
    assert!(csp.contains("script-src 'self';"), "no inline scripts either: {csp}");
    assert!(!csp.contains("https:"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");

    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, format!("{}/graphql", app.address))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization, content-type")
            .send()
    };
    let allowed = preflight("https://ok.example").await.unwrap();
    assert_eq!(allowed.headers()["access-control-allow-origin"], "https://ok.example");
    let refused = preflight("https://evil.example").await.unwrap();
    assert!(refused.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn introspection_and_anonymous_reads_can_be_turned_off() {
    let app = spawn_configured(Backend::Sqlite, |c| {
        c.limits.introspection = false;
        c.security.anonymous_read = false;
    })
    .await;
    let token = app.token("alice");
    let body = app
        .post(
            Some(&token),
            "{ __schema { types { name } } __type(name: \"Query\") { name } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["data"],
        json!({ "__schema": null, "__type": null }),
        "introspection answered: {body:#}"
    );
    for query in [
        "{ dataProducts { totalCount } }",
        "{ search(query: \"\") { totalCount } }",
        "{ suggest(prefix: \"or\") { text } }",
        "{ domains { name } }",
    ] {
        let body = app.post(None, query, json!({})).await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
            "{query}: {body:#}"
        );
        let body = app.post(Some(&token), query, json!({})).await;
        assert!(body.get("errors").is_none(), "{query}: {body:#}");
    }
    // A batch (JSON array) is not accepted.
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(&token)
        .json(&json!([{ "query": VIEWER }, { "query": VIEWER }]))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_client_error(), "{}", response.status());
}
