//! Applications and access subscriptions: every transition and refusal.

use serde_json::json;

use crate::helpers::{on_both, order_schema, TestApp, ADMIN};

on_both!(
    subscription_life_cycle,
    subscription_refusals,
    retiring_a_product_ends_its_subscriptions
);

const REQUEST: &str = "mutation($a: String!, $p: String!) {
  requestAccess(input: {application: $a, product: $p, purpose: \"fraud scoring\"}) { id status requestedBy application { name } product { qualifiedName } }
}";
const APPROVE: &str = "mutation($s: ID!) { approveAccess(subscription: $s, reason: \"ok\") { status decidedBy decidedAt decisionReason } }";
const REJECT: &str =
    "mutation($s: ID!, $r: String!) { rejectAccess(subscription: $s, reason: $r) { status decisionReason } }";
const REVOKE: &str = "mutation($s: ID!) { revokeAccess(subscription: $s) { status } }";

async fn subscription_life_cycle(app: TestApp) {
    app.orders_domain().await;
    app.publish("order-events", &order_schema(&[])).await;
    app.application("fraud-detection").await;

    let sub = app
        .ok(
            "bob",
            REQUEST,
            json!({ "a": "fraud-detection", "p": "orders.order-events" }),
        )
        .await["requestAccess"]
        .clone();
    assert_eq!(sub["status"], "PENDING");
    assert_eq!(sub["requestedBy"], "bob");
    assert_eq!(sub["application"]["name"], "fraud-detection");
    let id = sub["id"].clone();

    let approved = app.ok("alice", APPROVE, json!({ "s": id })).await["approveAccess"].clone();
    assert_eq!(approved["status"], "APPROVED");
    assert_eq!(approved["decidedBy"], "alice");
    assert!(approved["decidedAt"].is_string());

    // Approval is visible from both sides, and as lineage.
    let view = app
        .anon("{ dataProduct(qualifiedName: \"orders.order-events\") { subscriberCount subscriptions(status: APPROVED) { application { name } }
                 lineage(direction: DOWNSTREAM) { nodes { name kind depth } edges { kind } } }
               application(key: \"fraud-detection\") { subscriptions { status product { qualifiedName } } ownerTeam { name } } }", json!({}))
        .await;
    assert_eq!(view["dataProduct"]["subscriberCount"], 1);
    assert_eq!(
        view["dataProduct"]["subscriptions"][0]["application"]["name"],
        "fraud-detection"
    );
    assert_eq!(
        view["dataProduct"]["lineage"]["nodes"],
        json!([{ "name": "fraud-detection", "kind": "APPLICATION", "depth": 1 }])
    );
    assert_eq!(view["dataProduct"]["lineage"]["edges"][0]["kind"], "CONSUMES");
    assert_eq!(view["application"]["subscriptions"][0]["status"], "APPROVED");
    assert_eq!(view["application"]["ownerTeam"]["name"], "fraud-detection-team");

    let revoked = app.ok("alice", REVOKE, json!({ "s": id })).await["revokeAccess"].clone();
    assert_eq!(revoked["status"], "REVOKED");
    let view = app
        .anon(
            "{ dataProduct(qualifiedName: \"orders.order-events\") { subscriberCount lineage { nodes { name } } } }",
            json!({}),
        )
        .await;
    assert_eq!(view["dataProduct"]["subscriberCount"], 0);
    assert_eq!(view["dataProduct"]["lineage"]["nodes"], json!([]));

    // After a revocation, a new request is possible and can be rejected.
    let again = app
        .ok(
            "bob",
            REQUEST,
            json!({ "a": "fraud-detection", "p": "orders.order-events" }),
        )
        .await["requestAccess"]
        .clone();
    let rejected = app
        .ok("alice", REJECT, json!({ "s": again["id"], "r": "no PII for scoring" }))
        .await["rejectAccess"]
        .clone();
    assert_eq!(
        rejected,
        json!({ "status": "REJECTED", "decisionReason": "no PII for scoring" })
    );

    let list = app.anon("{ subscriptions(product: \"orders.order-events\") { status } pending: subscriptions(status: PENDING) { id } }", json!({})).await;
    assert_eq!(
        list["subscriptions"],
        json!([{ "status": "REJECTED" }, { "status": "REVOKED" }])
    );
    assert_eq!(list["pending"], json!([]));
    let one = app
        .anon(
            "query($id: ID!) { subscription(id: $id) { status purpose } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        one["subscription"],
        json!({ "status": "REVOKED", "purpose": "fraud scoring" })
    );
}

async fn subscription_refusals(app: TestApp) {
    app.orders_domain().await;
    app.publish("order-events", &order_schema(&[])).await;
    app.application("fraud-detection").await;
    assert_eq!(
        app.error_code(
            ADMIN,
            "mutation { createApplication(input: {name: \"fraud-detection\", ownerTeam: \"orders-team\"}) { id } }",
            json!({})
        )
        .await,
        "CONFLICT"
    );
    assert_eq!(
        app.error_code(
            "bob",
            "mutation { createApplication(input: {name: \"x-app\", ownerTeam: \"ghost\"}) { id } }",
            json!({})
        )
        .await,
        "NOT_FOUND"
    );
    assert_eq!(
        app.error_code("bob", REQUEST, json!({ "a": "ghost-app", "p": "orders.order-events" }))
            .await,
        "NOT_FOUND"
    );
    assert_eq!(
        app.error_code("bob", REQUEST, json!({ "a": "fraud-detection", "p": "orders.ghost" }))
            .await,
        "NOT_FOUND"
    );
    let empty = "mutation { requestAccess(input: {application: \"fraud-detection\", product: \"orders.order-events\", purpose: \"  \"}) { id } }";
    assert_eq!(app.error_code("bob", empty, json!({})).await, "VALIDATION");

    let sub = app
        .ok(
            "bob",
            REQUEST,
            json!({ "a": "fraud-detection", "p": "orders.order-events" }),
        )
        .await["requestAccess"]["id"]
        .clone();
    // One open request per application and product.
    assert_eq!(
        app.error_code(
            "bob",
            REQUEST,
            json!({ "a": "fraud-detection", "p": "orders.order-events" })
        )
        .await,
        "CONFLICT"
    );
    // Pending cannot be revoked; rejection needs a reason.
    assert_eq!(app.error_code("alice", REVOKE, json!({ "s": sub })).await, "CONFLICT");
    assert_eq!(
        app.error_code("alice", REJECT, json!({ "s": sub, "r": " " })).await,
        "VALIDATION"
    );
    app.ok("alice", APPROVE, json!({ "s": sub })).await;
    // Approved cannot be approved or rejected again.
    assert_eq!(app.error_code("alice", APPROVE, json!({ "s": sub })).await, "CONFLICT");
    assert_eq!(
        app.error_code("alice", REJECT, json!({ "s": sub, "r": "late" })).await,
        "CONFLICT"
    );
    assert_eq!(
        app.error_code("alice", APPROVE, json!({ "s": "no-such-id" })).await,
        "NOT_FOUND"
    );
    // Drafts and deprecated products take no new requests.
    app.ok(
        "alice",
        crate::helpers::PUBLISH,
        json!({ "input": { "domain": "orders", "name": "draft-one", "draft": true } }),
    )
    .await;
    assert_eq!(
        app.error_code(
            "bob",
            REQUEST,
            json!({ "a": "fraud-detection", "p": "orders.draft-one" })
        )
        .await,
        "CONFLICT"
    );
}

async fn retiring_a_product_ends_its_subscriptions(app: TestApp) {
    app.orders_domain().await;
    app.publish("order-events", &order_schema(&[])).await;
    app.application("fraud-detection").await;
    app.application("bi-dashboards").await;
    let approved = app
        .ok(
            "bob",
            REQUEST,
            json!({ "a": "fraud-detection", "p": "orders.order-events" }),
        )
        .await["requestAccess"]["id"]
        .clone();
    app.ok("alice", APPROVE, json!({ "s": approved })).await;
    app.ok(
        "bob",
        REQUEST,
        json!({ "a": "bi-dashboards", "p": "orders.order-events" }),
    )
    .await;
    app.ok(
        "alice",
        "mutation { deprecateDataProduct(input: {product: \"orders.order-events\", reason: \"v2\"}) { id } }",
        json!({}),
    )
    .await;
    app.ok(
        "alice",
        "mutation { retireDataProduct(product: \"orders.order-events\") { id } }",
        json!({}),
    )
    .await;
    let subs = app
        .anon(
            "{ subscriptions(product: \"orders.order-events\") { status decisionReason application { name } } }",
            json!({}),
        )
        .await;
    let mut statuses: Vec<(String, String)> = subs["subscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["application"]["name"].as_str().unwrap().to_owned(),
                s["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    statuses.sort();
    assert_eq!(
        statuses,
        [
            ("bi-dashboards".into(), "REJECTED".into()),
            ("fraud-detection".into(), "REVOKED".into())
        ]
    );
    assert_eq!(subs["subscriptions"][0]["decisionReason"], "data product retired");
}
