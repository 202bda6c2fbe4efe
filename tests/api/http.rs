//! The HTTP surface: GraphiQL, GraphQL over HTTP (POST and GET, both media
//! types), health probes, limits and request-level errors.

use serde_json::{json, Value};

use crate::helpers::{on_both, spawn_app, spawn_configured, Backend, TestApp};

on_both!(probes_answer);

async fn probes_answer(app: TestApp) {
    let health = app.client.get(format!("{}/healthz", app.address)).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready = app.client.get(format!("{}/readyz", app.address)).send().await.unwrap();
    assert_eq!(ready.status(), 200);
}

#[tokio::test]
async fn graphiql_and_graphql_over_http() {
    let app = spawn_app(Backend::Sqlite).await;
    let page = app
        .client
        .get(format!("{}/graphql", app.address))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().to_lowercase().contains("graphiql"));

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
