//! Hardening II: topic binding rules (reserved topics, domain namespaces,
//! no existence oracle), GraphQL over HTTP to the letter (methods, media
//! types, transport errors with codes), WebSocket edges, small contract
//! fixes (`suggest` limit, `lineage` depth, `viewer.teams`).

use std::time::Duration;

use sea_orm::{ConnectionTrait, Database};
use serde_json::{json, Value};

use crate::helpers::{code_of, on_both, spawn_app, Backend, TestApp, ADMIN, PUBLISH};
use crate::ws::{Incoming, Protocol, WsClient};

const JSON_SCHEMA: &str = r#"{"type":"object","properties":{"id":{"type":"string"}}}"#;

/// Publishes `<domain>.<name>` as `user`, bound to `topic` when given;
/// returns the whole response body.
async fn publish_on(app: &TestApp, user: &str, domain: &str, name: &str, topic: Option<&str>, private: bool) -> Value {
    let mut input = json!({
        "domain": domain, "name": name, "description": "d", "tags": [],
        "visibility": if private { "PRIVATE" } else { "PUBLIC" },
        "schema": { "format": "JSON_SCHEMA", "definition": JSON_SCHEMA },
    });
    if let Some(topic) = topic {
        input["topic"] = json!({ "name": topic });
    }
    app.post(Some(&app.token(user)), PUBLISH, json!({ "input": input }))
        .await
}

/// `orders` (alice) and `payments` (priya).
async fn two_domains(app: &TestApp) {
    app.orders_domain().await;
    app.ok(
        ADMIN,
        "mutation { createTeam(input: {name: \"payments-team\", members: [\"priya\"]}) { id } }",
        json!({}),
    )
    .await;
    app.ok(
        ADMIN,
        "mutation { createDomain(input: {name: \"payments\", description: \"Payments\", ownerTeam: \"payments-team\"}) { id } }",
        json!({}),
    )
    .await;
}

on_both!(reserved_topics_are_never_bound);

/// Kafka's internal topics and the catalog's own change stream can never be
/// a product's topic, by publishing or by adopting.
async fn reserved_topics_are_never_bound(app: TestApp) {
    app.orders_domain().await;
    for topic in ["mesh.catalog.events", "__consumer_offsets", "_schemas"] {
        for user in ["alice", ADMIN] {
            let body = publish_on(&app, user, "orders", "events-copy", Some(topic), false).await;
            assert_eq!(code_of(&body), "VALIDATION", "{user} binding {topic}: {body:#}");
            assert!(
                body["errors"][0]["message"].as_str().unwrap().contains("reserved"),
                "{body:#}"
            );
        }
        let adopt = app
            .post(
                Some(&app.token("alice")),
                "mutation($t: String!) { adoptTopic(input: {topic: $t, domain: \"orders\", name: \"adopted\"}) { id } }",
                json!({ "t": topic }),
            )
            .await;
        assert_eq!(code_of(&adopt), "VALIDATION", "adopting {topic}: {adopt:#}");
    }
    // Nothing was created.
    let products = app.ok(ADMIN, "{ dataProducts { totalCount } }", json!({})).await;
    assert_eq!(products["dataProducts"]["totalCount"], 0);
}

/// The alias limit holds on the WebSocket as over HTTP: a subscription
/// repeating a field under 65 aliases is refused before it runs, and the
/// connection stays usable.
#[tokio::test]
async fn aliases_are_limited_on_the_websocket() {
    let app = spawn_app(Backend::Sqlite).await;
    let mut client = WsClient::connect(&app.address, Protocol::TransportWs, json!({}))
        .await
        .unwrap();
    let fields = |n: usize| {
        (0..n)
            .map(|i| format!("a{i}: __typename"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    client
        .subscribe("wide", &format!("subscription {{ {} }}", fields(65)), json!({}))
        .await;
    match client.next(Duration::from_secs(30)).await {
        (id, Incoming::Errors(errors)) => {
            assert_eq!(id, "wide");
            assert_eq!(errors[0]["extensions"]["code"], "VALIDATION", "{errors}");
            assert!(
                errors[0]["message"].as_str().unwrap().contains("65 aliased fields"),
                "{errors}"
            );
        }
        other => panic!("expected the alias limit, got {other:?}"),
    }
    assert!(matches!(
        client.next(Duration::from_secs(30)).await,
        (_, Incoming::Complete)
    ));
    // Within the limit, the same connection answers (a query over the socket).
    client
        .subscribe("ok", &format!("{{ {} }}", fields(64)), json!({}))
        .await;
    match client.next(Duration::from_secs(30)).await {
        (id, Incoming::Data(data)) => {
            assert_eq!(id, "ok");
            assert_eq!(data["a63"], "Query", "{data}");
        }
        other => panic!("expected data, got {other:?}"),
    }
}

/// A product bound to a reserved topic before the rule existed cannot be
/// streamed: its records would be the catalog's own events.
#[tokio::test]
async fn a_product_on_a_reserved_topic_is_never_streamed() {
    let app = spawn_app(Backend::Sqlite).await;
    app.orders_domain().await;
    let body = publish_on(&app, "alice", "orders", "legacy", Some("legacy-events"), false).await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let db = Database::connect(&app.database_url).await.unwrap();
    db.execute_unprepared(
        "UPDATE data_product SET topic_name = 'mesh.catalog.events' WHERE qualified_name = 'orders.legacy'",
    )
    .await
    .unwrap();
    let payload = json!({ "Authorization": format!("Bearer {}", app.token("alice")) });
    let mut client = WsClient::connect(&app.address, Protocol::TransportWs, payload)
        .await
        .unwrap();
    client
        .subscribe(
            "s",
            "subscription { productEvents(product: \"orders.legacy\") { ... on KafkaRecord { value } } }",
            json!({}),
        )
        .await;
    match client.next(Duration::from_secs(30)).await {
        (_, Incoming::Errors(errors)) => {
            assert_eq!(errors[0]["extensions"]["code"], "FORBIDDEN", "{errors}");
            assert!(errors[0]["message"].as_str().unwrap().contains("reserved"), "{errors}");
        }
        other => panic!("expected FORBIDDEN, got {other:?}"),
    }
}

on_both!(topic_namespaces_and_no_existence_oracle);

/// A topic in another domain's namespace needs that domain's team (or an
/// admin); a taken topic is refused without naming a product the caller
/// cannot see.
async fn topic_namespaces_and_no_existence_oracle(app: TestApp) {
    two_domains(&app).await;
    // Squatting: an orders member cannot claim a payments topic...
    let squat = publish_on(&app, "alice", "orders", "squat", Some("payments.nonexistent-zz"), false).await;
    assert_eq!(code_of(&squat), "FORBIDDEN", "{squat:#}");
    assert!(
        squat["errors"][0]["message"].as_str().unwrap().contains("namespace"),
        "{squat:#}"
    );
    // ...so the payments team can still publish it.
    let own = publish_on(&app, "priya", "payments", "nonexistent-zz", None, false).await;
    assert!(own.get("errors").is_none(), "{own:#}");
    // The refusal is audited.
    let denied = app
        .ok(
            ADMIN,
            "{ auditLog(filter: {actor: \"alice\"}, first: 50) { edges { node { action summary } } } }",
            json!({}),
        )
        .await;
    assert!(
        denied.to_string().contains("DENIED") && denied.to_string().contains("namespace"),
        "{denied:#}"
    );
    // An admin may bind across namespaces; topics outside any domain's
    // namespace are free to bind.
    let admin = publish_on(&app, ADMIN, "orders", "mirror", Some("payments.mirror-source"), false).await;
    assert!(admin.get("errors").is_none(), "{admin:#}");
    let legacy = publish_on(&app, "alice", "orders", "clicks", Some("legacy-clicks"), false).await;
    assert!(legacy.get("errors").is_none(), "{legacy:#}");

    // A PRIVATE payments product on a topic outside any namespace.
    let private = publish_on(
        &app,
        "priya",
        "payments",
        "zanzibar-ledger",
        Some("shared-ledger"),
        true,
    )
    .await;
    assert!(private.get("errors").is_none(), "{private:#}");
    let clash = publish_on(&app, "alice", "orders", "ledger-copy", Some("shared-ledger"), false).await;
    assert_eq!(code_of(&clash), "CONFLICT", "{clash:#}");
    let message = clash["errors"][0]["message"].as_str().unwrap();
    assert!(
        !message.contains("zanzibar") && !message.contains("payments"),
        "the refusal names a hidden product: {message}"
    );
    // Adopting the same topic says no more.
    let adopt = app
        .post(
            Some(&app.token("alice")),
            "mutation { adoptTopic(input: {topic: \"shared-ledger\", domain: \"orders\", name: \"zz\", schema: {format: JSON_SCHEMA, definition: \"{}\"}}) { id } }",
            json!({}),
        )
        .await;
    assert!(!adopt.to_string().contains("zanzibar"), "{adopt:#}");
    // Whoever may see the product is told which one it is.
    let seen = publish_on(&app, ADMIN, "orders", "ledger-copy", Some("shared-ledger"), false).await;
    assert_eq!(code_of(&seen), "CONFLICT", "{seen:#}");
    assert!(
        seen["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("payments.zanzibar-ledger"),
        "{seen:#}"
    );
}

#[tokio::test]
async fn get_runs_queries_only() {
    let app = spawn_app(Backend::Sqlite).await;
    let url = reqwest::Url::parse_with_params(
        &format!("{}/graphql", app.address),
        &[("query", "mutation { createTeam(input: {name: \"via-get\"}) { id } }")],
    )
    .unwrap();
    let response = app.client.get(url).bearer_auth(app.token(ADMIN)).send().await.unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "POST");
    let body: Value = response.json().await.unwrap();
    assert_eq!(code_of(&body), "BAD_REQUEST", "{body:#}");
    let teams = app.ok(ADMIN, "{ teams { name } }", json!({})).await;
    assert_eq!(teams["teams"], json!([]), "the mutation did not run");

    // A named mutation among queries is refused too; the query runs.
    let both = "query Q { teams { name } } mutation M { createTeam(input: {name: \"x\"}) { id } }";
    let with =
        |params: &[(&str, &str)]| reqwest::Url::parse_with_params(&format!("{}/graphql", app.address), params).unwrap();
    let refused = app
        .client
        .get(with(&[("query", both), ("operationName", "M")]))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 405);
    let query = app
        .client
        .get(with(&[
            ("query", "query Q($n: String!) { team(key: $n) { name } }"),
            ("operationName", "Q"),
            ("variables", "{\"n\": \"nope\"}"),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(query.status(), 200);
    assert_eq!(
        query.json::<Value>().await.unwrap(),
        json!({ "data": { "team": null } })
    );
}

/// GraphQL over HTTP: media types, status codes and transport-level errors,
/// each a GraphQL error response with a code.
#[tokio::test]
async fn graphql_over_http_to_the_letter() {
    let app = spawn_app(Backend::Sqlite).await;
    let url = format!("{}/graphql", app.address);
    let post = |accept: Option<&'static str>, content_type: Option<&'static str>, body: String| {
        let mut request = app.client.post(&url).body(body);
        if let Some(accept) = accept {
            request = request.header("accept", accept);
        }
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        request.send()
    };
    let ok = json!({ "query": "{ __typename }" }).to_string();

    // Media types follow the Accept header.
    for (accept, expected) in [
        (Some("application/json"), "application/json"),
        (Some("*/*"), "application/json"),
        (None, "application/json"),
        (
            Some("application/graphql-response+json"),
            "application/graphql-response+json",
        ),
        (
            Some("application/graphql-response+json, application/json;q=0.9"),
            "application/graphql-response+json",
        ),
    ] {
        let response = post(accept, Some("application/json"), ok.clone()).await.unwrap();
        assert_eq!(response.status(), 200, "{accept:?}");
        assert_eq!(response.headers()["content-type"], expected, "{accept:?}");
    }
    let refused = post(Some("text/html"), Some("application/json"), ok.clone())
        .await
        .unwrap();
    assert_eq!(refused.status(), 406);

    // Transport errors: status, JSON body, code.
    let cases: Vec<(Option<&'static str>, String, u16)> = vec![
        (None, ok.clone(), 415),
        (Some("text/plain"), ok.clone(), 415),
        (Some("application/json"), "{ \"not a JSON".into(), 400),
        (
            Some("application/json"),
            "[{\"query\": \"{ __typename }\"}]".into(),
            400,
        ),
        (
            Some("application/json"),
            json!({ "qeury": "{ __typename }" }).to_string(),
            400,
        ),
        (
            Some("application/json"),
            json!({ "query": "{ __typename }", "variables": "x" }).to_string(),
            400,
        ),
        (
            Some("application/json"),
            json!({ "query": format!("{{ __typename }} #{}", "x".repeat(3 * 1024 * 1024)) }).to_string(),
            413,
        ),
    ];
    for (content_type, body, status) in cases {
        let response = post(None, content_type, body).await.unwrap();
        assert_eq!(response.status(), status, "{content_type:?}");
        assert!(
            response.headers()["content-type"].to_str().unwrap().contains("json"),
            "{content_type:?}"
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(code_of(&body), "BAD_REQUEST", "{body:#}");
    }
    let wrong_method = app.client.put(&url).body(ok.clone()).send().await.unwrap();
    assert_eq!(wrong_method.status(), 405);
    assert_eq!(code_of(&wrong_method.json().await.unwrap()), "BAD_REQUEST");

    // Request errors: 200 in application/json, 400 without data in
    // application/graphql-response+json.
    for query in [
        json!({ "query": "{" }),
        json!({ "query": "{ nope }" }),
        json!({ "query": "query($id: ID!) { __typename }", "variables": { "id": null } }),
    ] {
        let legacy = post(Some("application/json"), Some("application/json"), query.to_string())
            .await
            .unwrap();
        assert_eq!(legacy.status(), 200, "{query}");
        assert_eq!(code_of(&legacy.json().await.unwrap()), "VALIDATION");
        let modern = post(
            Some("application/graphql-response+json"),
            Some("application/json"),
            query.to_string(),
        )
        .await
        .unwrap();
        assert_eq!(modern.status(), 400, "{query}");
        let body: Value = modern.json().await.unwrap();
        assert!(body.get("data").is_none(), "{body:#}");
        assert_eq!(code_of(&body), "VALIDATION");
    }
    // A field error is not a request error: 200 with data in both.
    let missing = json!({ "query": "{ team(key: \"nope\") { name } }" }).to_string();
    let response = post(
        Some("application/graphql-response+json"),
        Some("application/json"),
        missing,
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn websocket_init_refusals_close_cleanly() {
    let app = spawn_app(Backend::Sqlite).await;
    // A token that is not a string is refused, not taken as anonymous.
    for payload in [
        json!({ "token": 12345 }),
        json!({ "Authorization": ["Bearer x"] }),
        json!("Bearer x"),
    ] {
        let mut client = WsClient::open(&app.address, Protocol::TransportWs).await;
        client
            .send(json!({ "type": "connection_init", "payload": payload }))
            .await;
        assert_eq!(
            client.closed_with(Duration::from_secs(10)).await,
            Some(4403),
            "{payload}"
        );
    }
    // An `alg: none` token's refusal is long: the close frame stays valid
    // (at most 123 bytes of reason), so the client sees 4403, not 1006.
    use base64::Engine;
    let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let unsigned = format!(
        "{}.{}.",
        b64(json!({ "alg": "none", "typ": "JWT", "kid": "k".repeat(200) })),
        b64(json!({ "sub": "root", "roles": ["admin"], "exp": 4_000_000_000u64 }))
    );
    for token in [unsigned, format!("x{}", "y".repeat(500))] {
        let mut client = WsClient::open(&app.address, Protocol::TransportWs).await;
        client
            .send(json!({ "type": "connection_init", "payload": { "token": token } }))
            .await;
        assert_eq!(client.closed_with(Duration::from_secs(10)).await, Some(4403));
    }
}

#[tokio::test]
async fn small_contracts_hold() {
    let app = crate::helpers::spawn_with(Backend::Sqlite, true).await;
    // suggest(limit) bounds products and fields together.
    for limit in [1, 2, 3] {
        let found = app
            .anon(
                "query($l: Int!) { suggest(prefix: \"or\", limit: $l) { text } }",
                json!({ "l": limit }),
            )
            .await;
        let count = found["suggest"].as_array().unwrap().len();
        assert!(count <= limit as usize && count > 0, "limit {limit}: {found:#}");
    }
    // lineage depth is validated, not clamped.
    let deep = app
        .post(
            None,
            "{ lineage(of: {product: \"orders.order-events\"}, depth: 1000) { nodes { name } } }",
            json!({}),
        )
        .await;
    assert_eq!(code_of(&deep), "VALIDATION", "{deep:#}");
    let fine = app
        .anon(
            "{ lineage(of: {product: \"orders.order-events\"}, depth: 100) { nodes { name } } }",
            json!({}),
        )
        .await;
    assert!(!fine["lineage"]["nodes"].as_array().unwrap().is_empty());
    // viewer.teams: the catalog's teams of the caller (alice is a member of
    // two in the demo), with a token that claims none.
    let me = app.ok("alice", "{ viewer { subject teams } }", json!({})).await;
    assert_eq!(me["viewer"]["teams"], json!(["orders-team", "platform-team"]), "{me:#}");

    // The demo's sign-in: its users, and a token for one of them.
    let users: Value = app
        .client
        .get(format!("{}/auth/demo-users", app.address))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let alice = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["subject"] == "alice")
        .cloned();
    assert_eq!(
        alice,
        Some(json!({ "subject": "alice", "admin": false, "teams": ["orders-team", "platform-team"] }))
    );
    assert!(users["users"]
        .as_array()
        .unwrap()
        .iter()
        .any(|u| u["subject"] == "root" && u["admin"] == true));
    let minted: Value = app
        .client
        .post(format!("{}/auth/demo-token", app.address))
        .json(&json!({ "subject": "alice" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = minted["token"].as_str().expect("a token");
    let me = app.post(Some(token), "{ viewer { subject teams } }", json!({})).await;
    assert_eq!(me["data"]["viewer"]["subject"], "alice", "{me:#}");
    let stranger = app
        .client
        .post(format!("{}/auth/demo-token", app.address))
        .json(&json!({ "subject": "mallory" }))
        .send()
        .await
        .unwrap();
    assert_eq!(stranger.status(), 404);
    // Outside the demo there is no such sign-in.
    let plain = spawn_app(Backend::Sqlite).await;
    for (method, path) in [
        (reqwest::Method::GET, "/auth/demo-users"),
        (reqwest::Method::POST, "/auth/demo-token"),
    ] {
        let response = plain
            .client
            .request(method, format!("{}{path}", plain.address))
            .json(&json!({ "subject": "root" }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{path}");
    }
}

/// Shutting down closes WebSockets with 1001 ("going away"), so clients
/// reconnect elsewhere instead of seeing an abnormal 1006.
#[tokio::test]
async fn shutdown_closes_websockets_with_going_away() {
    let app = spawn_app(Backend::Sqlite).await;
    let address = app.address.clone();
    let mut client = WsClient::connect(&address, Protocol::TransportWs, json!({}))
        .await
        .unwrap();
    client
        .subscribe(
            "e",
            "subscription { catalogEvents { ... on CatalogEvent { type } } }",
            json!({}),
        )
        .await;
    drop(app);
    assert_eq!(client.closed_with(Duration::from_secs(15)).await, Some(1001));
}
