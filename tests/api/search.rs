//! Discovery search: relevance over the demo mesh, filters and facets,
//! cursors, freshness after each kind of change, rebuild and reconcile.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::{metric, order_schema, spawn_app, spawn_on, spawn_with, Backend, TestApp, ADMIN, PUBLISH};

const SEARCH: &str = "query($q: String!, $f: SearchFiltersInput, $first: Int, $after: String) {
  search(query: $q, filters: $f, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    facets { domains { value count } tags { value count } tiers { value count } statuses { value count } owners { value count } formats { value count } }
    edges { cursor node { score matchedFields highlights { field fragment marked ranges { start end } } product { qualifiedName status } } }
  }
}";

async fn search(app: &TestApp, q: &str, filters: Value) -> Value {
    app.ok(ADMIN, SEARCH, json!({ "q": q, "f": filters, "first": 20 }))
        .await["search"]
        .clone()
}

fn names(result: &Value) -> Vec<String> {
    result["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["product"]["qualifiedName"].as_str().unwrap().to_owned())
        .collect()
}

/// What a relevance case expects.
enum Expect {
    /// This product is the first hit.
    Top(&'static str),
    /// Each of these products is within the first `n` hits.
    Within(usize, &'static [&'static str]),
    /// The first product ranks above the second.
    Above(&'static str, &'static str),
    /// This product is not among the hits.
    Absent(&'static str),
    /// No hits at all.
    Nothing,
}

use Expect::*;

fn relevance_cases() -> Vec<(&'static str, Expect)> {
    vec![
        // Exact names, display names and words of names.
        ("orders.order-events", Top("orders.order-events")),
        ("order-events-v1", Top("orders.order-events-v1")),
        ("Order Events", Top("orders.order-events")),
        ("order events", Above("orders.order-events", "orders.order-events-v1")),
        ("shipments", Top("logistics.shipments")),
        ("shipment tracking", Top("logistics.shipment-tracking")),
        ("Product Catalogue", Top("inventory.product-catalog")),
        ("catalogue", Top("inventory.product-catalog")),
        ("customer 360", Top("customers.customer-profiles")),
        ("page views", Top("marketing.page-views")),
        ("carrier rates", Top("logistics.carrier-rates")),
        ("consent", Top("customers.consent-preferences")),
        ("cart", Top("orders.cart-events")),
        ("refunds", Top("payments.refunds")),
        ("fraud", Top("payments.fraud-scores")),
        (
            "enriched",
            Within(2, &["orders.enriched-orders", "marketing.enriched-page-views"]),
        ),
        (
            "ledger",
            Within(2, &["payments.ledger-entries", "customers.loyalty-points"]),
        ),
        // Field names in several casings.
        (
            "trackingNumber",
            Within(2, &["logistics.shipments", "logistics.shipment-tracking"]),
        ),
        (
            "tracking_number",
            Within(2, &["logistics.shipments", "logistics.shipment-tracking"]),
        ),
        (
            "TrackingNumber",
            Within(2, &["logistics.shipments", "logistics.shipment-tracking"]),
        ),
        (
            "tracking-number",
            Within(2, &["logistics.shipments", "logistics.shipment-tracking"]),
        ),
        (
            "trackingnumber",
            Within(2, &["logistics.shipments", "logistics.shipment-tracking"]),
        ),
        ("paymentid", Within(3, &["payments.payment-transactions"])),
        ("userIPAddress", Top("orders.cart-events")),
        ("user ip address", Within(3, &["orders.cart-events"])),
        ("payer ip", Top("payments.payment-transactions")),
        ("PaymentID", Within(3, &["payments.payment-transactions"])),
        ("fx rate", Top("payments.ledger-entries")),
        ("churn probability", Top("customers.customer-segments")),
        ("gtin", Top("inventory.product-catalog")),
        ("reorder point", Top("inventory.stock-levels")),
        (
            "warehouse id",
            Within(
                6,
                &[
                    "inventory.stock-levels",
                    "inventory.stock-movements",
                    "inventory.demand-forecasts",
                ],
            ),
        ),
        // Typos: one edit from 5 letters, two from 9; never for short words.
        ("shipmnet", Within(2, &["logistics.shipments"])),
        ("refnds", Within(3, &["payments.refunds"])),
        ("forcasting", Top("inventory.demand-forecasts")),
        ("recomendations", Top("marketing.recommendations")),
        ("invetnroy", Within(5, &["inventory.stock-levels"])),
        ("zqx", Nothing),
        // Prefixes of the last word (typeahead-style).
        ("shipm", Within(2, &["logistics.shipments"])),
        ("recomm", Top("marketing.recommendations")),
        ("loyal", Within(3, &["customers.loyalty-points"])),
        // Owners, domains and tags.
        (
            "logistics-team",
            Within(3, &["logistics.shipments", "logistics.shipment-tracking"]),
        ),
        ("gdpr", Within(2, &["customers.users", "customers.consent-preferences"])),
        (
            "machine learning",
            Within(
                5,
                &[
                    "payments.fraud-scores",
                    "inventory.demand-forecasts",
                    "marketing.recommendations",
                ],
            ),
        ),
        ("tumbling window", Top("analytics.page-view-counts")),
        // Only in a description, only in field docs (stemmed).
        ("bookkeeping", Top("payments.ledger-entries")),
        ("breadcrumb", Top("inventory.product-catalog")),
        ("apartment", Top("customers.users")),
        ("abandoned carts", Within(2, &["orders.cart-events"])),
        // Retired products are hidden; deprecated ones rank below published.
        ("daily sales", Absent("analytics.daily-sales")),
        ("stock", Absent("inventory.stock-reservations")),
        ("payments events", Within(3, &["payments.payment-events"])),
    ]
}

#[tokio::test]
async fn relevance_suite_over_the_demo_mesh() {
    let app = spawn_with(Backend::Sqlite, true).await;
    let cases = relevance_cases();
    assert!(cases.len() >= 40);
    let mut failures = Vec::new();
    for (query, expect) in &cases {
        let result = search(&app, query, json!(null)).await;
        let hits = names(&result);
        let rank = |p: &str| hits.iter().position(|h| h == p);
        let ok = match expect {
            Top(p) => hits.first().map(String::as_str) == Some(*p),
            Within(n, ps) => ps.iter().all(|p| rank(p).is_some_and(|r| r < *n)),
            Above(a, b) => matches!((rank(a), rank(b)), (Some(x), Some(y)) if x < y),
            Absent(p) => rank(p).is_none(),
            Nothing => hits.is_empty(),
        };
        if !ok {
            failures.push(format!("`{query}`: got {:?}", &hits[..hits.len().min(6)]));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} relevance cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );

    // Retired products appear when asked for.
    let retired = search(&app, "daily sales", json!({ "statuses": ["RETIRED"] })).await;
    assert_eq!(names(&retired), ["analytics.daily-sales"]);

    // Doc-only and description-only matches say where they matched, marked.
    let hit = &search(&app, "breadcrumb", json!(null)).await["edges"][0]["node"];
    assert_eq!(hit["matchedFields"], json!(["docs"]));
    assert!(
        hit["highlights"][0]["marked"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("<mark>breadcrumb</mark>"),
        "{hit:#}"
    );
    // A field name typed as one word matches and marks the whole name.
    let hit = &search(&app, "trackingnumber", json!(null)).await["edges"][0]["node"];
    assert!(
        hit["matchedFields"].as_array().unwrap().contains(&json!("fields")),
        "{hit:#}"
    );
    let fields = hit["highlights"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["field"] == "fields")
        .unwrap();
    assert!(
        fields["marked"]
            .as_str()
            .unwrap()
            .contains("<mark>trackingNumber</mark>"),
        "{hit:#}"
    );
    let hit = &search(&app, "shipmnet", json!(null)).await["edges"][0]["node"];
    assert!(hit["matchedFields"].as_array().unwrap().contains(&json!("name")));
    let first = &hit["highlights"][0];
    let range = &first["ranges"][0];
    let fragment: Vec<char> = first["fragment"].as_str().unwrap().chars().collect();
    let marked: String = fragment[range["start"].as_u64().unwrap() as usize..range["end"].as_u64().unwrap() as usize]
        .iter()
        .collect();
    assert!(marked.starts_with("shipment"), "{marked}");

    // Matched fields selected without highlights (read only up to each
    // field's first match) are the fields the highlights are from.
    let matched = "query($q: String!) { search(query: $q, first: 20) { edges { node { matchedFields } } } }";
    for q in [
        "breadcrumb",
        "trackingnumber",
        "shipmnet",
        "order events",
        "payments team",
        "ship",
    ] {
        let alone = app.ok(ADMIN, matched, json!({ "q": q })).await["search"]["edges"].clone();
        let full = search(&app, q, json!(null)).await["edges"].clone();
        let fields = |edges: &Value| -> Vec<Value> {
            edges
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["node"]["matchedFields"].clone())
                .collect()
        };
        let from_highlights: Vec<Value> = full
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                Value::from_iter(
                    e["node"]["highlights"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|h| h["field"].clone()),
                )
            })
            .collect();
        assert!(!fields(&alone).is_empty(), "`{q}` finds products");
        assert_eq!(fields(&alone), fields(&full), "`{q}`");
        assert_eq!(fields(&alone), from_highlights, "`{q}`");
    }
}

#[tokio::test]
async fn filters_facets_and_cursor_pagination() {
    let app = spawn_with(Backend::Sqlite, true).await;
    // Empty query: everything but retired, alphabetical, faceted.
    let all = search(&app, "", json!(null)).await;
    let total = all["totalCount"].as_u64().unwrap();
    assert_eq!(total, 36, "38 demo products, 2 retired");
    let listed = names(&all);
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(listed, sorted);
    let facet = |r: &Value, dim: &str, value: &str| -> u64 {
        r["facets"][dim]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["value"] == value)
            .map_or(0, |f| f["count"].as_u64().unwrap())
    };
    let domains: u64 = all["facets"]["domains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["count"].as_u64().unwrap())
        .sum();
    assert_eq!(domains, total);
    assert_eq!(facet(&all, "statuses", "RETIRED"), 0);
    assert_eq!(facet(&all, "statuses", "DEPRECATED"), 4);
    assert_eq!(facet(&all, "domains", "logistics"), 5);
    assert_eq!(facet(&all, "owners", "logistics-team"), 5);
    assert!(facet(&all, "formats", "JSON_SCHEMA") >= 10);
    assert!(facet(&all, "tags", "clickstream") >= 4);

    // Filters combine; facets follow the filtered set.
    let f = search(&app, "", json!({ "domains": ["logistics"], "tiers": ["GOLD"] })).await;
    assert_eq!(names(&f), ["logistics.shipment-tracking", "logistics.shipments"]);
    assert_eq!(f["totalCount"], 2);
    assert_eq!(facet(&f, "tiers", "GOLD"), 2);
    assert_eq!(facet(&f, "domains", "payments"), 0);
    let f = search(&app, "", json!({ "tags": ["gdpr"], "formats": ["JSON_SCHEMA"] })).await;
    assert_eq!(names(&f), ["customers.consent-preferences"]);
    let f = search(
        &app,
        "orders",
        json!({ "owners": ["orders-team"], "statuses": ["DEPRECATED"] }),
    )
    .await;
    assert_eq!(names(&f), ["orders.order-events-v1"]);
    let good = search(&app, "", json!({ "minQuality": 90.0 })).await["totalCount"]
        .as_u64()
        .unwrap();
    let some = search(&app, "", json!({ "minQuality": 0.0 })).await["totalCount"]
        .as_u64()
        .unwrap();
    assert!(good > 0 && good < some && some < total, "{good} {some} {total}");

    // Cursor pagination: pages of 7 walk every hit exactly once, for a
    // listing and for a ranked query, over an index that does not change
    // meanwhile. (A background merge of the demo's segments may still
    // commit: it purges deleted documents, which shifts every BM25 score a
    // little. The walk is then compared again.)
    let ranking = |r: &Value| -> Vec<(String, String)> {
        r["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let node = &e["node"];
                (node["product"]["qualifiedName"].to_string(), node["score"].to_string())
            })
            .collect()
    };
    for q in ["", "orders customer"] {
        let mut attempts = 0;
        loop {
            let full = json!({ "q": q, "first": 100 });
            let before = app.ok(ADMIN, SEARCH, full.clone()).await["search"].clone();
            let mut seen = Vec::new();
            let mut after = Value::Null;
            loop {
                let page = app
                    .ok(ADMIN, SEARCH, json!({ "q": q, "first": 7, "after": after }))
                    .await["search"]
                    .clone();
                seen.extend(names(&page));
                if !page["pageInfo"]["hasNextPage"].as_bool().unwrap() {
                    break;
                }
                after = page["pageInfo"]["endCursor"].clone();
            }
            let again = app.ok(ADMIN, SEARCH, full).await["search"].clone();
            attempts += 1;
            if ranking(&before) == ranking(&again) || attempts == 5 {
                assert_eq!(seen, names(&before), "query `{q}`");
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let body = app.post(None, SEARCH, json!({ "q": "x", "after": "nonsense" })).await;
    assert_eq!(crate::helpers::code_of(&body), "VALIDATION");
    // Each bound says which argument broke it.
    for (vars, message) in [
        (
            json!({ "q": "x", "first": 0 }),
            "first must be between 1 and 100, got 0",
        ),
        (
            json!({ "q": "x", "first": 101 }),
            "first must be between 1 and 100, got 101",
        ),
        (
            json!({ "q": "x".repeat(1001), "first": 20 }),
            "query must be at most 1000 bytes, got 1001",
        ),
    ] {
        let body = app.post(None, SEARCH, vars).await;
        assert_eq!(crate::helpers::code_of(&body), "VALIDATION");
        assert_eq!(body["errors"][0]["message"], message, "{body:#}");
    }
    let longest = app
        .ok(ADMIN, SEARCH, json!({ "q": "x".repeat(1000), "first": 20 }))
        .await;
    assert_eq!(longest["search"]["totalCount"], 0, "{longest:#}");

    // Facets and highlights are computed when selected, also through
    // fragments (the server looks ahead at the selection).
    let through_fragments = "fragment F on SearchHitConnection { facets { domains { value count } } }
      query { search(query: \"shipments\", first: 2) { ...F edges { node { ... on SearchHit { matchedFields } } } } }";
    let r = app.ok(ADMIN, through_fragments, json!({})).await["search"].clone();
    assert!(facet(&r, "domains", "logistics") >= 1, "{r:#}");
    assert!(
        r["edges"][0]["node"]["matchedFields"]
            .as_array()
            .unwrap()
            .contains(&json!("name")),
        "{r:#}"
    );
}

#[tokio::test]
async fn suggest_products_and_fields() {
    let app = spawn_with(Backend::Sqlite, true).await;
    let q = "query($p: String!) { suggest(prefix: $p, limit: 5) { kind text displayName productCount product { status } } }";
    let s = app.ok(ADMIN, q, json!({ "p": "shipm" })).await["suggest"].clone();
    let products: Vec<&str> = s
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["kind"] == "PRODUCT")
        .map(|x| x["text"].as_str().unwrap())
        .collect();
    assert!(
        products.contains(&"logistics.shipments") && products.contains(&"logistics.shipment-tracking"),
        "{s:#}"
    );
    let fields: Vec<&str> = s
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["kind"] == "FIELD")
        .map(|x| x["text"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"shipment_id") || fields.contains(&"shipmentid"),
        "{s:#}"
    );
    let s = app.ok(ADMIN, q, json!({ "p": "order st" })).await["suggest"].clone();
    assert_eq!(s[0]["text"], "orders.order-status-snapshots");
    // Retired products are not suggested.
    let s = app.ok(ADMIN, q, json!({ "p": "daily sa" })).await["suggest"].clone();
    assert!(
        s.as_array()
            .unwrap()
            .iter()
            .all(|x| x["text"] != "analytics.daily-sales"),
        "{s:#}"
    );
    let s = app.ok(ADMIN, q, json!({ "p": "" })).await["suggest"].clone();
    assert_eq!(s, json!([]));
    let limited = "query($p: String!, $n: Int!) { suggest(prefix: $p, limit: $n) { text } }";
    for (vars, message) in [
        (json!({ "p": "sh", "n": 0 }), "limit must be between 1 and 50, got 0"),
        (json!({ "p": "sh", "n": 51 }), "limit must be between 1 and 50, got 51"),
        (
            json!({ "p": "s".repeat(201), "n": 5 }),
            "prefix must be at most 200 bytes, got 201",
        ),
    ] {
        let body = app.post(None, limited, vars).await;
        assert_eq!(crate::helpers::code_of(&body), "VALIDATION");
        assert_eq!(body["errors"][0]["message"], message, "{body:#}");
    }
    let s = app.ok(ADMIN, limited, json!({ "p": "s".repeat(200), "n": 50 })).await["suggest"].clone();
    assert_eq!(s, json!([]));
}

/// Polls `search` until `check` holds; returns how long it took.
async fn eventually(app: &TestApp, q: &str, filters: Value, check: impl Fn(&Value) -> bool) -> Duration {
    let start = Instant::now();
    loop {
        let result = search(app, q, filters.clone()).await;
        if check(&result) {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "not visible within 1 s: `{q}` → {:?}",
            names(&result)
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn every_change_is_searchable_within_a_second() {
    let app = spawn_app(Backend::Sqlite).await;
    app.orders_domain().await;
    let has = |name: &'static str| move |r: &Value| names(r).iter().any(|n| n == name);
    let lacks = |name: &'static str| move |r: &Value| names(r).iter().all(|n| n != name);

    let input = json!({ "domain": "orders", "name": "zebra-feed", "description": "Stripes",
        "qualityChecks": [{ "name": "complete", "kind": "COMPLETENESS" }],
        "schema": { "format": "AVRO", "definition": order_schema(&[]) } });
    app.ok("alice", PUBLISH, json!({ "input": input })).await;
    eventually(&app, "zebra", json!(null), has("orders.zebra-feed")).await;

    let update =
        json!({ "domain": "orders", "name": "zebra-feed", "expectedVersion": 1, "description": "Now with unicorns" });
    app.ok("alice", PUBLISH, json!({ "input": update })).await;
    eventually(&app, "unicorns", json!(null), has("orders.zebra-feed")).await;

    let register = "mutation($d: String!) { registerSchemaVersion(input: {product: \"orders.zebra-feed\", schema: {format: AVRO, definition: $d}}) { version } }";
    app.ok(
        "alice",
        register,
        json!({ "d": order_schema(&[r#"{"name": "giraffeHeight", "type": "long", "default": 0}"#]) }),
    )
    .await;
    eventually(&app, "giraffe height", json!(null), has("orders.zebra-feed")).await;

    let record = "mutation { recordQualityResult(input: {product: \"orders.zebra-feed\", check: \"complete\", status: PASS}) { status } }";
    app.ok("alice", record, json!({})).await;
    eventually(&app, "zebra", json!({ "minQuality": 100.0 }), has("orders.zebra-feed")).await;
    // A result observed before the latest one, recorded now.
    let late = "mutation { recordQualityResult(input: {product: \"orders.zebra-feed\", check: \"complete\", status: FAIL, observedAt: \"2026-01-01T00:00:00Z\"}) { status } }";
    app.ok("alice", late, json!({})).await;

    app.ok(
        "alice",
        "mutation { deprecateDataProduct(input: {product: \"orders.zebra-feed\", reason: \"old\"}) { status } }",
        json!({}),
    )
    .await;
    eventually(
        &app,
        "zebra",
        json!({ "statuses": ["DEPRECATED"] }),
        has("orders.zebra-feed"),
    )
    .await;
    // The hit's product is the row the index holds now, not one read before.
    let hit = search(&app, "zebra", json!({ "statuses": ["DEPRECATED"] })).await;
    assert_eq!(hit["edges"][0]["node"]["product"]["status"], "DEPRECATED");
    // The late result, applied before the deprecation, did not lower the
    // indexed score: the latest observation counts, not the latest recorded.
    let hit = search(
        &app,
        "zebra",
        json!({ "statuses": ["DEPRECATED"], "minQuality": 100.0 }),
    )
    .await;
    assert_eq!(names(&hit), ["orders.zebra-feed"]);

    app.ok(
        "alice",
        "mutation { retireDataProduct(product: \"orders.zebra-feed\") { status } }",
        json!({}),
    )
    .await;
    eventually(&app, "zebra", json!(null), lacks("orders.zebra-feed")).await;
}

#[tokio::test]
async fn index_is_rebuilt_when_deleted_corrupt_or_outdated_and_reconciled_after_a_crash() {
    let app = spawn_app(Backend::Sqlite).await;
    app.orders_domain().await;
    app.publish("alpha-stream", &order_schema(&[])).await;
    app.publish("beta-stream", &order_schema(&[])).await;
    let (dir, url) = (app.data_dir.clone(), app.database_url.clone());
    app.stop().await;

    // Deleted: rebuilt from the database.
    std::fs::remove_dir_all(dir.join("index")).unwrap();
    let app = spawn_on(dir.clone(), url.clone(), false).await;
    assert_eq!(search(&app, "", json!(null)).await["totalCount"], 2);
    app.stop().await;

    // Built by another layout: rebuilt.
    std::fs::write(dir.join("index/layout.json"), "0").unwrap();
    let app = spawn_on(dir.clone(), url.clone(), false).await;
    assert_eq!(
        names(&search(&app, "alpha", json!(null)).await),
        ["orders.alpha-stream"]
    );
    app.stop().await;

    // Corrupt: rebuilt.
    std::fs::write(dir.join("index/meta.json"), "{ garbage").unwrap();
    let app = spawn_on(dir.clone(), url.clone(), false).await;
    assert_eq!(search(&app, "", json!(null)).await["totalCount"], 2);
    app.stop().await;

    // A crash between the database commit and the index commit: changes
    // committed while no indexer ran are found after the next start.
    let store = mesh_catalog::store::Store::open(&url).await.unwrap();
    let catalog = mesh_catalog::catalog::Catalog::new(store);
    let alice = mesh_catalog::auth::Caller::User(mesh_catalog::auth::Identity {
        subject: "alice".into(),
        teams: vec![],
        roles: vec![],
    });
    let update = mesh_catalog::catalog::PublishProduct {
        domain: "orders".into(),
        name: "beta-stream".into(),
        description: Some("Carries flamingo sightings".into()),
        expected_version: Some(1),
        ..Default::default()
    };
    catalog.publish_product(&alice, update).await.unwrap();
    drop(catalog);
    let app = spawn_on(dir, url, false).await;
    assert_eq!(
        names(&search(&app, "flamingo", json!(null)).await),
        ["orders.beta-stream"]
    );
}

/// A page of hits reads its products from the store in one batched lookup,
/// and their owner teams in one more: never one query per hit
/// (`mesh_store_lookup_keys`, keys per batch).
#[tokio::test]
async fn a_page_of_hits_is_read_in_one_lookup_per_kind() {
    let app = spawn_with(Backend::Sqlite, true).await;
    let page = app
        .ok(
            ADMIN,
            "{ search(query: \"\", first: 20) { edges { node { product { qualifiedName ownerTeam { name } } } } } }",
            json!({}),
        )
        .await;
    let edges = page["search"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 20);
    assert!(edges
        .iter()
        .all(|e| e["node"]["product"]["ownerTeam"]["name"].is_string()));
    let owners: std::collections::HashSet<&str> = edges
        .iter()
        .map(|e| e["node"]["product"]["ownerTeam"]["name"].as_str().unwrap())
        .collect();
    assert!(owners.len() > 1, "{owners:?}");

    // Keys per batched lookup: one batch of products, one of owner teams.
    let figure = |name: &'static str| metric(&app.address, name);
    assert_eq!(
        figure("mesh_store_lookup_keys_count{lookup=\"ProductById\"}").await,
        Some(1.0)
    );
    assert_eq!(
        figure("mesh_store_lookup_keys_sum{lookup=\"ProductById\"}").await,
        Some(20.0)
    );
    assert_eq!(
        figure("mesh_store_lookup_keys_count{lookup=\"TeamById\"}").await,
        Some(1.0)
    );
    assert_eq!(
        figure("mesh_store_lookup_keys_sum{lookup=\"TeamById\"}").await,
        Some(owners.len() as f64)
    );

    // The same page again: the products at the versions the index holds
    // are not read again (their teams are: nested lookups are per request).
    let listing =
        "{ search(query: \"\", first: 20) { edges { node { product { qualifiedName status ownerTeam { name } } } } } }";
    app.ok(ADMIN, listing, json!({})).await;
    let products = || async {
        (
            figure("mesh_store_lookup_keys_count{lookup=\"ProductById\"}").await,
            figure("mesh_store_lookup_keys_sum{lookup=\"ProductById\"}").await,
        )
    };
    assert_eq!(products().await, (Some(1.0), Some(20.0)));
    assert_eq!(
        figure("mesh_store_lookup_keys_count{lookup=\"TeamById\"}").await,
        Some(2.0)
    );

    // A changed product (a new version) is read again, and only it.
    let first = edges[0]["node"]["product"]["qualifiedName"].as_str().unwrap();
    app.ok(
        ADMIN,
        "mutation($p: String!) { deprecateDataProduct(input: {product: $p, reason: \"old\"}) { status } }",
        json!({ "p": first }),
    )
    .await;
    let before = products().await;
    let start = Instant::now();
    loop {
        let page = app.ok(ADMIN, listing, json!({})).await;
        let hit = page["search"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["node"]["product"]["qualifiedName"] == first)
            .cloned();
        if hit.is_some_and(|e| e["node"]["product"]["status"] == "DEPRECATED") {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(1), "not deprecated within 1 s");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    app.ok(ADMIN, listing, json!({})).await;
    let (count, sum) = products().await;
    assert_eq!(
        (count.unwrap() - before.0.unwrap(), sum.unwrap() - before.1.unwrap()),
        (1.0, 1.0),
        "one lookup of the one changed product"
    );
}
