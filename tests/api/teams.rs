//! Teams and domains.

use serde_json::json;

use crate::helpers::{code_of, on_both, TestApp, ADMIN};

on_both!(teams_and_domains_are_created_and_listed, team_and_domain_refusals);

async fn teams_and_domains_are_created_and_listed(app: TestApp) {
    app.orders_domain().await;
    let data = app
        .ok(
            "alice",
            "mutation { addTeamMember(team: \"orders-team\", user: \"carol\") { name members } }",
            json!({}),
        )
        .await;
    assert_eq!(data["addTeamMember"]["members"], json!(["alice", "carol"]));

    let data = app
        .anon(
            "{ domains { name description ownerTeam { name members domains { name } } } teams { name } }",
            json!({}),
        )
        .await;
    assert_eq!(data["domains"][0]["name"], "orders");
    assert_eq!(data["domains"][0]["ownerTeam"]["name"], "orders-team");
    assert_eq!(data["domains"][0]["ownerTeam"]["domains"][0]["name"], "orders");
    assert_eq!(data["teams"], json!([{ "name": "orders-team" }]));

    let data = app
        .anon(
            "{ domain(key: \"orders\") { name } team(key: \"nope\") { name } }",
            json!({}),
        )
        .await;
    assert_eq!(data["domain"]["name"], "orders");
    assert!(data["team"].is_null());
}

async fn team_and_domain_refusals(app: TestApp) {
    // Mutations need a token.
    let body = app
        .post(
            None,
            "mutation { createTeam(input: {name: \"x-team\"}) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(code_of(&body), "UNAUTHENTICATED");
    // A forged token is refused at the door.
    let body = app.post(Some("not.a.jwt"), "{ teams { name } }", json!({})).await;
    assert_eq!(code_of(&body), "UNAUTHENTICATED");

    app.orders_domain().await;
    let cases = [
        (
            "mutation { createTeam(input: {name: \"Bad Name\"}) { id } }",
            "VALIDATION",
        ),
        (
            "mutation { createTeam(input: {name: \"orders-team\"}) { id } }",
            "CONFLICT",
        ),
        (
            "mutation { createTeam(input: {name: \"ok-team\", members: [\"has space\"]}) { id } }",
            "VALIDATION",
        ),
        (
            "mutation { addTeamMember(team: \"orders-team\", user: \"alice\") { id } }",
            "CONFLICT",
        ),
        (
            "mutation { addTeamMember(team: \"ghost-team\", user: \"x\") { id } }",
            "NOT_FOUND",
        ),
        (
            "mutation { createDomain(input: {name: \"orders\", ownerTeam: \"orders-team\"}) { id } }",
            "CONFLICT",
        ),
        (
            "mutation { createDomain(input: {name: \"pay\", ownerTeam: \"ghost-team\"}) { id } }",
            "NOT_FOUND",
        ),
        (
            "mutation { createDomain(input: {name: \"x\", ownerTeam: \"orders-team\"}) { id } }",
            "VALIDATION",
        ),
    ];
    for (query, code) in cases {
        assert_eq!(app.error_code(ADMIN, query, json!({})).await, code, "{query}");
    }
    // Nothing half-written: the refused team with a bad member does not exist.
    let data = app.anon("{ team(key: \"ok-team\") { id } }", json!({})).await;
    assert!(data["team"].is_null());
}

/// A team's products and applications (`Team.dataProducts`, `Team.applications`,
/// read by the request's data loader) are found by index, not by a scan of
/// the whole table (80 ms for the products at 100,000 of them).
#[tokio::test]
async fn what_a_team_owns_is_read_by_index() {
    let app = crate::helpers::spawn_app(crate::helpers::Backend::Sqlite).await;
    for (table, index) in [
        ("data_product", "ix_product_owner_team"),
        ("application", "ix_application_owner_team"),
    ] {
        let plan = crate::helpers::sqlite_plan(
            &app.database_url,
            &format!("SELECT * FROM {table} WHERE owner_team_id IN ('t', 'u')"),
        )
        .await;
        assert!(plan.iter().any(|d| d.contains(index)), "{table}: {plan:?}");
    }
}
