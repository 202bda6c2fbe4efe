//! Authorization: each role × each mutation, allowed and refused, refusals
//! in the audit log, and a private product that leaks through nothing.

use serde_json::{json, Value};

use crate::helpers::{code_of, on_both, order_schema, TestApp, ADMIN, PUBLISH};

on_both!(
    every_mutation_by_role,
    a_private_product_does_not_leak,
    refusals_are_audited_for_admins_only
);

const CREATE_TEAM: &str = "mutation($n: String!, $m: [String!]!) { createTeam(input: {name: $n, members: $m}) { id } }";
const ADD_MEMBER: &str = "mutation($t: String!, $u: String!) { addTeamMember(team: $t, user: $u) { name } }";
const CREATE_DOMAIN: &str =
    "mutation($n: String!, $t: String!) { createDomain(input: {name: $n, ownerTeam: $t}) { id } }";
const CREATE_APP: &str =
    "mutation($n: String!, $t: String!) { createApplication(input: {name: $n, ownerTeam: $t}) { id } }";
const REGISTER: &str = "mutation($p: String!, $d: String!) {
  registerSchemaVersion(input: {product: $p, schema: {format: AVRO, definition: $d}}) { version } }";
const REQUEST: &str = "mutation($a: String!, $p: String!) {
  requestAccess(input: {application: $a, product: $p, purpose: \"analysis\"}) { id status } }";
const APPROVE: &str = "mutation($s: ID!) { approveAccess(subscription: $s) { status } }";
const REJECT: &str = "mutation($s: ID!) { rejectAccess(subscription: $s, reason: \"no\") { status } }";
const REVOKE: &str = "mutation($s: ID!) { revokeAccess(subscription: $s) { status } }";
const QUALITY: &str = "mutation($p: String!) {
  recordQualityResult(input: {product: $p, check: \"fresh\", status: PASS}) { status } }";
const ADD_EDGE: &str = "mutation($f: String!, $t: String!) {
  addLineageEdge(input: {from: {product: $f}, to: {product: $t}}) { id } }";
const REMOVE_EDGE: &str = "mutation($id: ID!) { removeLineageEdge(id: $id) { id } }";
const DEPRECATE: &str = "mutation($p: String!) {
  deprecateDataProduct(input: {product: $p, reason: \"replaced\"}) { status } }";
const RETIRE: &str = "mutation($p: String!) { retireDataProduct(product: $p) { status } }";

/// Publishes `<domain>.<name>` as `user`, with a quality check `fresh`;
/// PRIVATE products get a `cardholder_pan` field.
async fn publish(app: &TestApp, user: &str, domain: &str, name: &str, visibility: &str) -> Value {
    let extra: &[&str] = if visibility == "PRIVATE" {
        &[r#"{"name": "cardholder_pan", "type": "string"}"#]
    } else {
        &[]
    };
    let input = json!({ "input": {
        "domain": domain, "name": name, "visibility": visibility,
        "description": format!("secret sauce {name}"), "tags": ["sauce"],
        "qualityChecks": [{ "name": "fresh", "kind": "FRESHNESS" }],
        "schema": { "format": "AVRO", "definition": order_schema(extra) },
    }});
    app.ok(user, PUBLISH, input).await["publishDataProduct"].clone()
}

/// Admin-made teams and domains: orders-team (alice) owns domain orders;
/// apps-team (bob) owns application fraud; mallory belongs to nothing.
async fn mesh(app: &TestApp) {
    app.ok(ADMIN, CREATE_TEAM, json!({ "n": "orders-team", "m": ["alice"] }))
        .await;
    app.ok(ADMIN, CREATE_TEAM, json!({ "n": "apps-team", "m": ["bob"] }))
        .await;
    app.ok(ADMIN, CREATE_DOMAIN, json!({ "n": "orders", "t": "orders-team" }))
        .await;
    app.ok("bob", CREATE_APP, json!({ "n": "fraud", "t": "apps-team" }))
        .await;
}

/// A refusal case: who (None: anonymous), what, with which variables, and
/// the expected error code.
type Refusal<'a> = (Option<&'a str>, &'a str, Value, &'a str);

/// Each case is refused with its code.
async fn refused(app: &TestApp, cases: &[Refusal<'_>]) {
    for (user, query, vars, code) in cases {
        let token = user.map(|u| app.token(u));
        let body = app.post(token.as_deref(), query, vars.clone()).await;
        assert_eq!(code_of(&body), *code, "{user:?} running {query}: {body:#}");
    }
}

async fn every_mutation_by_role(app: TestApp) {
    // Teams and domains: admins only; members grow their own team.
    let team = json!({ "n": "x-team", "m": [] });
    refused(
        &app,
        &[
            (Some("alice"), CREATE_TEAM, team.clone(), "FORBIDDEN"),
            (Some("mallory"), CREATE_TEAM, team.clone(), "FORBIDDEN"),
            (None, CREATE_TEAM, team, "UNAUTHENTICATED"),
        ],
    )
    .await;
    mesh(&app).await;
    let carol = json!({ "t": "orders-team", "u": "carol" });
    refused(
        &app,
        &[
            (
                Some("alice"),
                CREATE_DOMAIN,
                json!({ "n": "xdom", "t": "orders-team" }),
                "FORBIDDEN",
            ),
            (Some("bob"), ADD_MEMBER, carol.clone(), "FORBIDDEN"),
            // Applications: members of the owner team.
            (
                Some("alice"),
                CREATE_APP,
                json!({ "n": "xapp", "t": "apps-team" }),
                "FORBIDDEN",
            ),
        ],
    )
    .await;
    app.ok("alice", ADD_MEMBER, carol).await;

    // Products: members of the domain's team (the catalog's members or the
    // token's teams claim), and admins.
    let draft = |name: &str| json!({ "input": { "domain": "orders", "name": name, "draft": true } });
    refused(
        &app,
        &[
            (Some("bob"), PUBLISH, draft("events"), "FORBIDDEN"),
            (Some("mallory"), PUBLISH, draft("events"), "FORBIDDEN"),
        ],
    )
    .await;
    publish(&app, "alice", "orders", "events", "PUBLIC").await;
    publish(&app, "carol", "orders", "totals", "PUBLIC").await;
    let zoe = app.token_with("zoe", &["orders-team"], &[]);
    for (token, name) in [(zoe, "drafts"), (app.token(ADMIN), "admin-made")] {
        let body = app.post(Some(&token), PUBLISH, draft(name)).await;
        assert!(body.get("errors").is_none(), "{name}: {body:#}");
    }
    let schema = order_schema(&[r#"{"name": "note", "type": ["null", "string"], "default": null}"#]);
    let evolve = json!({ "p": "orders.events", "d": schema });
    let events = json!({ "p": "orders.events" });
    refused(
        &app,
        &[
            (Some("bob"), REGISTER, evolve.clone(), "FORBIDDEN"),
            (Some("bob"), QUALITY, events.clone(), "FORBIDDEN"),
        ],
    )
    .await;
    app.ok("alice", REGISTER, evolve).await;
    app.ok("alice", QUALITY, events.clone()).await;

    // Access: the application's team requests, the product's team decides.
    let request = json!({ "a": "fraud", "p": "orders.events" });
    refused(&app, &[(Some("alice"), REQUEST, request.clone(), "FORBIDDEN")]).await;
    let sub = app.ok("bob", REQUEST, request.clone()).await["requestAccess"]["id"].clone();
    let s = json!({ "s": sub });
    refused(
        &app,
        &[
            (Some("bob"), APPROVE, s.clone(), "FORBIDDEN"),
            (Some("bob"), REJECT, s.clone(), "FORBIDDEN"),
            (Some("mallory"), APPROVE, s.clone(), "FORBIDDEN"),
            (None, APPROVE, s.clone(), "UNAUTHENTICATED"),
        ],
    )
    .await;
    app.ok("alice", APPROVE, s.clone()).await;
    refused(&app, &[(Some("bob"), REVOKE, s.clone(), "FORBIDDEN")]).await;
    app.ok("alice", REVOKE, s).await;
    let again = app.ok("bob", REQUEST, request).await["requestAccess"]["id"].clone();
    app.ok("alice", REJECT, json!({ "s": again })).await;

    // Lineage: a member of a team owning either end.
    let ends = json!({ "f": "orders.events", "t": "orders.totals" });
    refused(
        &app,
        &[
            (Some("bob"), ADD_EDGE, ends.clone(), "FORBIDDEN"),
            (None, ADD_EDGE, ends.clone(), "UNAUTHENTICATED"),
        ],
    )
    .await;
    let edge = app.ok("alice", ADD_EDGE, ends).await["addLineageEdge"]["id"].clone();
    refused(
        &app,
        &[(Some("mallory"), REMOVE_EDGE, json!({ "id": edge }), "FORBIDDEN")],
    )
    .await;
    app.ok("alice", REMOVE_EDGE, json!({ "id": edge })).await;

    // Life cycle: the domain's team.
    refused(&app, &[(Some("bob"), DEPRECATE, events.clone(), "FORBIDDEN")]).await;
    app.ok("alice", DEPRECATE, events.clone()).await;
    refused(
        &app,
        &[
            (Some("mallory"), RETIRE, events.clone(), "FORBIDDEN"),
            (None, RETIRE, events.clone(), "UNAUTHENTICATED"),
        ],
    )
    .await;
    app.ok("alice", RETIRE, events).await;
    app.ok(ADMIN, RETIRE, json!({ "p": "orders.drafts" })).await;
}

/// Every read path, for someone who may not see `payments.ledger`.
async fn outsider_views(app: &TestApp, user: Option<&str>) {
    let token = user.map(|u| app.token(u));
    let post = |query: &'static str, vars: Value| {
        let token = token.clone();
        async move { app.post(token.as_deref(), query, vars).await }
    };
    let everything = post(
        "{ dataProducts(first: 100) { totalCount edges { node { qualifiedName } } }
           domains { name dataProducts { qualifiedName } }
           teams { name dataProducts { qualifiedName } }
           search(query: \"sauce\") { totalCount facets { domains { value count } tags { value count } owners { value count } }
             edges { node { product { qualifiedName } } } }
           all: search(query: \"\") { totalCount }
           suggest(prefix: \"ledg\") { text kind productCount }
           fields: suggest(prefix: \"cardh\") { text kind productCount }
           subscriptions { product { qualifiedName } }
           applications { name subscriptions { product { qualifiedName } } }
           lineage(of: {product: \"orders.events\"}, direction: BOTH, depth: 5) {
             nodes { id name kind restricted } edges { fromId toId from { __typename } fieldMappings { from } } }
           impact(of: \"orders.events\") { restrictedProducts products { product { qualifiedName } } teams { name } } }",
        json!({}),
    )
    .await;
    let text = everything.to_string();
    assert!(everything.get("errors").is_none(), "{everything:#}");
    for secret in ["payments.ledger", "ledger", "cardholder"] {
        assert!(!text.contains(secret), "{user:?} sees `{secret}` in {everything:#}");
    }
    let data = &everything["data"];
    assert_eq!(data["dataProducts"]["totalCount"], 1, "{data:#}");
    assert_eq!(data["search"]["totalCount"], 1, "{data:#}");
    assert_eq!(data["all"]["totalCount"], 1, "{data:#}");
    assert_eq!(
        data["search"]["facets"]["domains"],
        json!([{ "value": "orders", "count": 1 }])
    );
    assert_eq!(
        data["search"]["facets"]["tags"],
        json!([{ "value": "sauce", "count": 1 }])
    );
    assert_eq!(data["suggest"], json!([]), "{data:#}");
    assert_eq!(data["fields"], json!([]), "{data:#}");
    assert_eq!(data["subscriptions"], json!([]));
    // The graph keeps its shape: events → [restricted] → risk.
    let nodes = &data["lineage"]["nodes"];
    assert_eq!(
        nodes[0],
        json!({ "id": "restricted-1", "name": "restricted", "kind": "PRODUCT", "restricted": true }),
        "{data:#}"
    );
    assert_eq!(nodes[1]["name"], "risk", "{data:#}");
    assert_eq!(nodes.as_array().unwrap().len(), 2, "{data:#}");
    for edge in data["lineage"]["edges"].as_array().unwrap() {
        assert!(
            edge["fromId"] == "restricted-1" || edge["toId"] == "restricted-1",
            "{data:#}"
        );
        assert_eq!(edge["fieldMappings"], json!([]));
    }
    assert_eq!(data["impact"]["restrictedProducts"], 1);
    assert_eq!(data["impact"]["products"], json!([]));
    assert_eq!(data["impact"]["teams"], json!([{ "name": "risk-team" }]));

    // Direct lookups: NOT_FOUND (or null), never FORBIDDEN.
    let direct = post(
        "{ byName: dataProduct(qualifiedName: \"payments.ledger\") { id } }",
        json!({}),
    )
    .await;
    assert_eq!(direct["data"]["byName"], Value::Null, "{direct:#}");
    for query in [
        "{ impact(of: \"payments.ledger\") { restrictedProducts } }",
        "{ lineage(of: {product: \"payments.ledger\"}) { nodes { id } } }",
        "{ schemaDiff(product: \"payments.ledger\") { changes { path } } }",
        "{ subscriptions(product: \"payments.ledger\") { id } }",
        "{ checkSchemaCompatibility(product: \"payments.ledger\", schema: {format: AVRO, definition: \"{}\"}) { compatible } }",
    ] {
        let body = post(query, json!({})).await;
        assert_eq!(code_of(&body), "NOT_FOUND", "{query}: {body:#}");
        assert!(!body.to_string().contains("sauce"), "{body:#}");
    }
    if user.is_some() {
        let log = post(
            "{ auditLog(first: 100) { edges { node { entityName summary } } } }",
            json!({}),
        )
        .await;
        assert!(log.get("errors").is_none(), "{log:#}");
        assert!(!log.to_string().contains("ledger"), "audit leaks: {log:#}");
    }
}

async fn a_private_product_does_not_leak(app: TestApp) {
    mesh(&app).await;
    app.ok(ADMIN, CREATE_TEAM, json!({ "n": "payments-team", "m": ["priya"] }))
        .await;
    app.ok(ADMIN, CREATE_DOMAIN, json!({ "n": "payments", "t": "payments-team" }))
        .await;
    app.ok(ADMIN, CREATE_TEAM, json!({ "n": "risk-team", "m": ["rita"] }))
        .await;
    app.ok(ADMIN, CREATE_APP, json!({ "n": "risk", "t": "risk-team" }))
        .await;
    publish(&app, "alice", "orders", "events", "PUBLIC").await;
    publish(&app, "priya", "payments", "ledger", "PRIVATE").await;
    app.ok(
        "priya",
        "mutation { addLineageEdge(input: {from: {product: \"orders.events\"}, to: {product: \"payments.ledger\"},
           fieldMappings: [{from: \"amount\", to: \"sauce_recipe\"}]}) { id } }",
        json!({}),
    )
    .await;
    // risk-team holds an APPROVED subscription: it may see the product.
    // Outsiders cannot discover a private product, so an admin requests
    // access on the application's behalf.
    let sub = app
        .ok(ADMIN, REQUEST, json!({ "a": "risk", "p": "payments.ledger" }))
        .await["requestAccess"]["id"]
        .clone();
    app.ok("priya", APPROVE, json!({ "s": sub })).await;
    // Requesting access to it without seeing it: NOT_FOUND, not FORBIDDEN.
    refused(
        &app,
        &[
            (
                Some("bob"),
                REQUEST,
                json!({ "a": "fraud", "p": "payments.ledger" }),
                "NOT_FOUND",
            ),
            (Some("bob"), APPROVE, json!({ "s": sub }), "NOT_FOUND"),
            (Some("alice"), DEPRECATE, json!({ "p": "payments.ledger" }), "NOT_FOUND"),
        ],
    )
    .await;
    app.ok("alice", "{ viewer { subject } }", json!({})).await;
    // Wait until the index has every change.
    let search = "{ search(query: \"sauce\") { totalCount } }";
    for _ in 0..100 {
        if app.ok(ADMIN, search, json!({})).await["search"]["totalCount"] == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    for _ in 0..100 {
        if app.ok("rita", search, json!({})).await["search"]["totalCount"] == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    for outsider in [None, Some("alice"), Some("bob"), Some("mallory")] {
        outsider_views(&app, outsider).await;
    }

    // Insiders: the domain team, the subscriber's team, admins.
    for insider in ["priya", "rita", ADMIN] {
        let body = app
            .ok(
                insider,
                "{ dataProduct(qualifiedName: \"payments.ledger\") { id } dataProducts { totalCount }
                   search(query: \"sauce\") { totalCount } suggest(prefix: \"ledg\") { text }
                   impact(of: \"orders.events\") { restrictedProducts } }",
                json!({}),
            )
            .await;
        assert!(body["dataProduct"]["id"].is_string(), "{insider}: {body:#}");
        assert_eq!(body["dataProducts"]["totalCount"], 2, "{insider}: {body:#}");
        assert_eq!(body["search"]["totalCount"], 2, "{insider}: {body:#}");
        assert_eq!(body["suggest"][0]["text"], "payments.ledger", "{insider}: {body:#}");
        assert_eq!(body["impact"]["restrictedProducts"], 0, "{insider}: {body:#}");
    }

    // Revoking ends the subscriber's view (search included).
    app.ok("priya", REVOKE, json!({ "s": sub })).await;
    for _ in 0..100 {
        if app.ok("rita", search, json!({})).await["search"]["totalCount"] == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let body = app
        .ok(
            "rita",
            "{ dataProduct(qualifiedName: \"payments.ledger\") { id } search(query: \"sauce\") { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(body, json!({ "dataProduct": null, "search": { "totalCount": 1 } }));
}

async fn refusals_are_audited_for_admins_only(app: TestApp) {
    mesh(&app).await;
    refused(
        &app,
        &[
            (
                Some("mallory"),
                CREATE_DOMAIN,
                json!({ "n": "xdom", "t": "orders-team" }),
                "FORBIDDEN",
            ),
            (None, CREATE_TEAM, json!({ "n": "y-team", "m": [] }), "UNAUTHENTICATED"),
        ],
    )
    .await;
    let log = "query($a: String) { auditLog(filter: {actor: $a}) { edges { node { actor action entityKind entityName summary } } } }";
    let entries = app.ok(ADMIN, log, json!({ "a": "mallory" })).await["auditLog"]["edges"].clone();
    assert_eq!(entries.as_array().unwrap().len(), 1, "{entries:#}");
    let denied = &entries[0]["node"];
    assert_eq!(denied["action"], "DENIED");
    assert_eq!(denied["entityKind"], "DOMAIN");
    assert_eq!(denied["entityName"], "xdom");
    assert!(denied["summary"]
        .as_str()
        .unwrap()
        .contains("createDomain refused (FORBIDDEN)"));
    let anonymous = app.ok(ADMIN, log, json!({ "a": "anonymous" })).await;
    assert_eq!(
        anonymous["auditLog"]["edges"][0]["node"]["action"], "DENIED",
        "{anonymous:#}"
    );
    // Nothing was created by the refused calls.
    let domains = app.ok(ADMIN, "{ domains { name } }", json!({})).await;
    assert_eq!(domains["domains"], json!([{ "name": "orders" }]));
    // Non-admins see changes, never refusals.
    let own = app.ok("mallory", log, json!({ "a": "mallory" })).await;
    assert_eq!(own["auditLog"]["edges"], json!([]));
    let all = app.ok("alice", log, json!({})).await.to_string();
    assert!(!all.contains("DENIED"), "{all}");
    assert!(all.contains("TEAM_CREATED"), "{all}");
    // Anonymous callers cannot read the audit log at all.
    let body = app.post(None, log, json!({})).await;
    assert_eq!(code_of(&body), "UNAUTHENTICATED");
}

/// Resolving a caller's principal, which every authenticated request does,
/// reads indexes only: a member's teams by user, their applications by
/// owner team (a scan of 22,612 applications cost each request 2–3 ms).
#[tokio::test]
async fn resolving_a_principal_reads_indexes_only() {
    let app = crate::helpers::spawn_app(crate::helpers::Backend::Sqlite).await;
    let teams = crate::helpers::sqlite_plan(
        &app.database_url,
        "SELECT id FROM team WHERE name IN ('t') OR id IN ('t')
           OR id IN (SELECT team_id FROM team_member WHERE user_id = 'u')",
    )
    .await;
    assert!(teams.iter().any(|d| d.contains("ix_team_member_user")), "{teams:?}");
    let subscribed = crate::helpers::sqlite_plan(
        &app.database_url,
        "SELECT product_id FROM access_subscription WHERE status = 'approved'
           AND application_id IN (SELECT id FROM application WHERE owner_team_id IN ('t'))",
    )
    .await;
    assert!(
        subscribed.iter().any(|d| d.contains("ix_application_owner_team")),
        "{subscribed:?}"
    );
    let scans: Vec<&String> = teams
        .iter()
        .chain(&subscribed)
        .filter(|d| d.starts_with("SCAN"))
        .collect();
    assert!(scans.is_empty(), "{scans:?}");
}
