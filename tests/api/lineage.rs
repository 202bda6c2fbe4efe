//! Lineage: depth, direction, cycles, refusals and impact analysis.

use mesh_catalog::catalog::{NodeKind, ProductStatus};
use mesh_catalog::store::entities::{application, data_product, lineage_edge};
use mesh_catalog::store::{rows_by_key, rows_by_key_sql};
use sea_orm::{Database, DbBackend, EntityTrait};
use serde_json::{json, Value};

use crate::helpers::{on_both, order_schema, TestApp, ADMIN};

on_both!(
    lineage_depth_direction_and_cycles,
    impact_lists_everything_downstream_with_owners,
    lineage_refusals,
    summary_and_whole_rows_answer_alike,
    bulk_reads_take_any_number_of_keys
);

const ADD: &str = "mutation($from: LineageNodeInput!, $to: LineageNodeInput!, $m: [FieldMappingInput!]) {
  addLineageEdge(input: {from: $from, to: $to, fieldMappings: $m}) { id kind fieldMappings { from to }
    from { ... on DataProduct { qualifiedName } ... on Application { name } } to { ... on DataProduct { qualifiedName } ... on Application { name } } }
}";

fn p(name: &str) -> Value {
    json!({ "product": format!("orders.{name}") })
}

fn a(name: &str) -> Value {
    json!({ "application": name })
}

/// raw → enricher → enriched → (derived) daily → reporting → report, and
/// report → (derived) raw closing a cycle.
async fn chain(app: &TestApp) {
    app.orders_domain().await;
    for name in ["raw", "enriched", "daily", "report"] {
        app.publish(name, &order_schema(&[])).await;
    }
    app.application("enricher").await;
    app.application("reporting").await;
    let edge = app
        .ok("alice", ADD, json!({ "from": p("raw"), "to": a("enricher") }))
        .await["addLineageEdge"]
        .clone();
    assert_eq!(edge["kind"], "CONSUMES");
    assert_eq!(edge["from"]["qualifiedName"], "orders.raw");
    assert_eq!(edge["to"]["name"], "enricher");
    let edge = app
        .ok("alice", ADD, json!({ "from": a("enricher"), "to": p("enriched") }))
        .await["addLineageEdge"]
        .clone();
    assert_eq!(edge["kind"], "PRODUCES");
    let edge = app
        .ok(
            "alice",
            ADD,
            json!({ "from": p("enriched"), "to": p("daily"), "m": [{ "from": "amount", "to": "revenue" }] }),
        )
        .await["addLineageEdge"]
        .clone();
    assert_eq!(edge["kind"], "DERIVED_FROM");
    assert_eq!(edge["fieldMappings"], json!([{ "from": "amount", "to": "revenue" }]));
    app.ok("alice", ADD, json!({ "from": p("daily"), "to": a("reporting") }))
        .await;
    app.ok("alice", ADD, json!({ "from": a("reporting"), "to": p("report") }))
        .await;
    app.ok("alice", ADD, json!({ "from": p("report"), "to": p("raw") }))
        .await;
}

const LINEAGE: &str = "query($of: LineageNodeInput!, $d: Direction!, $depth: Int!) {
  lineage(of: $of, direction: $d, depth: $depth) { root { name depth } nodes { name kind depth entity { __typename } } edges { id kind } }
}";

fn names(graph: &Value) -> Vec<(String, i64)> {
    graph["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["name"].as_str().unwrap().to_owned(), n["depth"].as_i64().unwrap()))
        .collect()
}

async fn lineage_depth_direction_and_cycles(app: TestApp) {
    chain(&app).await;
    let g = app
        .anon(LINEAGE, json!({ "of": p("raw"), "d": "DOWNSTREAM", "depth": 2 }))
        .await["lineage"]
        .clone();
    assert_eq!(g["root"], json!({ "name": "orders.raw", "depth": 0 }));
    assert_eq!(names(&g), [("enricher".into(), 1), ("orders.enriched".into(), 2)]);
    assert_eq!(g["nodes"][0]["entity"]["__typename"], "Application");
    assert_eq!(g["edges"].as_array().unwrap().len(), 2);

    // Any depth: the cycle back to the root is walked once and terminates.
    let g = app
        .anon(LINEAGE, json!({ "of": p("raw"), "d": "DOWNSTREAM", "depth": 100 }))
        .await["lineage"]
        .clone();
    assert_eq!(
        names(&g),
        [
            ("enricher".into(), 1),
            ("orders.enriched".into(), 2),
            ("orders.daily".into(), 3),
            ("reporting".into(), 4),
            ("orders.report".into(), 5)
        ]
    );
    assert_eq!(
        g["edges"].as_array().unwrap().len(),
        6,
        "the edge closing the cycle is included"
    );

    let g = app
        .anon(LINEAGE, json!({ "of": p("daily"), "d": "UPSTREAM", "depth": 2 }))
        .await["lineage"]
        .clone();
    assert_eq!(names(&g), [("enricher".into(), -2), ("orders.enriched".into(), -1)]);
    let g = app
        .anon(LINEAGE, json!({ "of": a("reporting"), "d": "BOTH", "depth": 1 }))
        .await["lineage"]
        .clone();
    assert_eq!(names(&g), [("orders.daily".into(), -1), ("orders.report".into(), 1)]);

    let body = app
        .post(None, LINEAGE, json!({ "of": p("raw"), "d": "DOWNSTREAM", "depth": 0 }))
        .await;
    assert_eq!(crate::helpers::code_of(&body), "VALIDATION");
    let body = app
        .post(
            None,
            LINEAGE,
            json!({ "of": p("ghost"), "d": "DOWNSTREAM", "depth": 1 }),
        )
        .await;
    assert_eq!(crate::helpers::code_of(&body), "NOT_FOUND");
}

async fn impact_lists_everything_downstream_with_owners(app: TestApp) {
    chain(&app).await;
    let impact = app
        .anon(
            "{ impact(of: \"orders.enriched\") { product { qualifiedName }
                 products { depth product { qualifiedName } ownerTeam { name } }
                 applications { depth application { name } ownerTeam { name } } teams { name } } }",
            json!({}),
        )
        .await["impact"]
        .clone();
    assert_eq!(impact["product"]["qualifiedName"], "orders.enriched");
    let products: Vec<&str> = impact["products"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["product"]["qualifiedName"].as_str().unwrap())
        .collect();
    assert_eq!(products, ["orders.daily", "orders.report", "orders.raw"]);
    let apps: Vec<(&str, i64)> = impact["applications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["application"]["name"].as_str().unwrap(), a["depth"].as_i64().unwrap()))
        .collect();
    assert_eq!(apps, [("reporting", 2), ("enricher", 5)]);
    assert_eq!(impact["applications"][0]["ownerTeam"]["name"], "reporting-team");
    assert_eq!(
        impact["teams"],
        json!([{ "name": "enricher-team" }, { "name": "orders-team" }, { "name": "reporting-team" }])
    );
}

async fn lineage_refusals(app: TestApp) {
    chain(&app).await;
    let cases = [
        (json!({ "from": a("enricher"), "to": a("reporting") }), "VALIDATION"),
        (json!({ "from": p("raw"), "to": p("raw") }), "VALIDATION"),
        (json!({ "from": p("raw"), "to": a("enricher") }), "CONFLICT"),
        (json!({ "from": p("ghost"), "to": a("enricher") }), "NOT_FOUND"),
        (
            json!({ "from": p("raw"), "to": p("daily"), "m": [{ "from": "", "to": "x" }] }),
            "VALIDATION",
        ),
    ];
    for (vars, code) in cases {
        assert_eq!(app.error_code(ADMIN, ADD, vars.clone()).await, code, "{vars}");
    }
    // Both endpoints given is not a valid oneOf input.
    let body = app
        .post(
            Some(&app.token("alice")),
            ADD,
            json!({ "from": { "product": "orders.raw", "application": "enricher" }, "to": p("daily") }),
        )
        .await;
    assert!(body["errors"].is_array(), "{body:#}");

    let edges = app
        .anon(LINEAGE, json!({ "of": p("raw"), "d": "DOWNSTREAM", "depth": 1 }))
        .await["lineage"]["edges"]
        .clone();
    let id = edges[0]["id"].clone();
    let removed = app
        .ok(
            "alice",
            "mutation($id: ID!) { removeLineageEdge(id: $id) { id kind } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(removed["removeLineageEdge"]["kind"], "CONSUMES");
    let g = app
        .anon(LINEAGE, json!({ "of": p("raw"), "d": "DOWNSTREAM", "depth": 5 }))
        .await["lineage"]
        .clone();
    assert_eq!(names(&g), Vec::<(String, i64)>::new());
    assert_eq!(
        app.error_code(
            "alice",
            "mutation($id: ID!) { removeLineageEdge(id: $id) { id } }",
            json!({ "id": id })
        )
        .await,
        "NOT_FOUND"
    );
}

/// The chain, plus `payments.ledger` (PRIVATE, team payments-team: carol)
/// fed by `orders.enriched` (with a field mapping) and feeding
/// `reporting`; masked for everyone but admins and carol.
async fn chain_with_private(app: &TestApp) {
    chain(app).await;
    app.ok(
        ADMIN,
        "mutation { createTeam(input: {name: \"payments-team\", members: [\"carol\"]}) { id } }",
        json!({}),
    )
    .await;
    app.ok(
        ADMIN,
        "mutation { createDomain(input: {name: \"payments\", ownerTeam: \"payments-team\"}) { id } }",
        json!({}),
    )
    .await;
    app.ok(
        "carol",
        crate::helpers::PUBLISH,
        json!({ "input": {
            "domain": "payments", "name": "ledger", "visibility": "PRIVATE", "description": "The ledger",
            "schema": { "format": "AVRO", "definition": order_schema(&[]) },
        }}),
    )
    .await;
    let ledger = json!({ "product": "payments.ledger" });
    app.ok(
        ADMIN,
        ADD,
        json!({ "from": p("enriched"), "to": ledger, "m": [{ "from": "amount", "to": "debit" }] }),
    )
    .await;
    app.ok(ADMIN, ADD, json!({ "from": ledger, "to": a("reporting") }))
        .await;
}

/// Removes, recursively, the members of objects named in `extra`.
fn without(value: &Value, extra: &[&str]) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| !extra.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), without(v, extra)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| without(v, extra)).collect()),
        other => other.clone(),
    }
}

/// A selection that summary rows serve gives the same answer as one that
/// needs whole rows (the server looks ahead and reads less), for every
/// kind of caller, masking included; and so do impact's owner teams read
/// with the report or through the data loader.
async fn summary_and_whole_rows_answer_alike(app: TestApp) {
    chain_with_private(&app).await;
    const SUMMARY: &str = "query($of: LineageNodeInput!, $d: Direction!) {
      lineage(of: $of, direction: $d, depth: 10) {
        root { id name kind depth restricted entity { __typename } }
        nodes { id name kind depth restricted
          entity { __typename ... on DataProduct { id qualifiedName name status } ... on Application { id name } } }
        edges { id kind fromId toId } } }";
    // The same, plus fields only whole rows hold (through a fragment).
    const WHOLE: &str = "query($of: LineageNodeInput!, $d: Direction!) {
      lineage(of: $of, direction: $d, depth: 10) {
        root { id name kind depth restricted entity { __typename } }
        nodes { ...node }
        edges { id kind fromId toId fieldMappings { from to } createdAt } } }
      fragment node on LineageNode { id name kind depth restricted
        entity { __typename ... on DataProduct { id qualifiedName name status description }
                 ... on Application { id name description } } }";
    const IMPACT_SUMMARY: &str = "query($of: String!) { impact(of: $of) {
      product { qualifiedName }
      products { depth product { id qualifiedName status } }
      applications { depth application { id name } }
      restrictedProducts } }";
    const IMPACT_WHOLE: &str = "query($of: String!) { impact(of: $of) {
      product { qualifiedName }
      products { depth product { id qualifiedName status displayName } ownerTeam { name } }
      applications { depth application { id name description } ownerTeam { name } }
      restrictedProducts teams { name } } }";
    // Owner teams read with the report, rows summarised.
    const IMPACT_TEAMS: &str = "query($of: String!) { impact(of: $of) {
      product { qualifiedName }
      products { depth product { id qualifiedName status } ownerTeam { name } }
      applications { depth application { id name } ownerTeam { name } }
      restrictedProducts teams { name } } }";

    for user in [None, Some("alice"), Some("carol"), Some("bob"), Some(ADMIN)] {
        let token = user.map(|u| app.token(u));
        let run = |query: &'static str, vars: Value| {
            let token = token.clone();
            let app = &app;
            async move {
                let body = app.post(token.as_deref(), query, vars).await;
                assert!(body.get("errors").is_none(), "{user:?}: {body:#}");
                body["data"].clone()
            }
        };
        for (of, d) in [
            (p("raw"), "DOWNSTREAM"),
            (p("report"), "UPSTREAM"),
            (a("reporting"), "BOTH"),
            (p("enriched"), "BOTH"),
        ] {
            let vars = json!({ "of": of, "d": d });
            let summary = run(SUMMARY, vars.clone()).await;
            let whole = run(WHOLE, vars.clone()).await;
            assert_eq!(
                summary,
                without(&whole, &["description", "fieldMappings", "createdAt"]),
                "{user:?} {vars}"
            );
            let restricted = summary["lineage"]["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|n| n["restricted"] == true)
                .count();
            // Every walk reaches the ledger: named for insiders only.
            let insider = matches!(user, Some("carol") | Some(ADMIN));
            assert_eq!(restricted, usize::from(!insider), "{user:?} {vars}: {summary:#}");
            let text = summary.to_string();
            assert_eq!(text.contains("ledger"), insider, "{user:?} {vars}: {summary:#}");
        }
        for of in ["orders.raw", "orders.enriched", "orders.daily"] {
            let vars = json!({ "of": of });
            let summary = run(IMPACT_SUMMARY, vars.clone()).await;
            let whole = run(IMPACT_WHOLE, vars.clone()).await;
            let teams = run(IMPACT_TEAMS, vars.clone()).await;
            assert_eq!(
                summary,
                without(&whole, &["displayName", "description", "ownerTeam", "teams"]),
                "{user:?} {of}"
            );
            assert_eq!(teams, without(&whole, &["displayName", "description"]), "{user:?} {of}");
        }
    }
    // What the whole rows add is there, and masked for outsiders.
    let whole = app
        .anon(
            "{ lineage(of: {product: \"orders.enriched\"}, direction: DOWNSTREAM, depth: 1) {
                 nodes { restricted entity { ... on DataProduct { description } } }
                 edges { toId fieldMappings { from to } } } }",
            json!({}),
        )
        .await;
    let nodes = whole["lineage"]["nodes"].as_array().unwrap();
    assert!(
        nodes.iter().any(|n| n["entity"]["description"] == "The daily stream"),
        "{whole:#}"
    );
    for edge in whole["lineage"]["edges"].as_array().unwrap() {
        if edge["toId"].as_str().unwrap().starts_with("restricted-") {
            assert_eq!(edge["fieldMappings"], json!([]), "{whole:#}");
        } else {
            assert_eq!(
                edge["fieldMappings"],
                json!([{ "from": "amount", "to": "revenue" }]),
                "{whole:#}"
            );
        }
    }
    let admin = app
        .ok(
            ADMIN,
            "{ lineage(of: {product: \"orders.enriched\"}, direction: DOWNSTREAM, depth: 1) {
                 edges { toId fieldMappings { from to } } } }",
            json!({}),
        )
        .await;
    assert!(admin.to_string().contains("debit"), "{admin:#}");
}

/// The bulk read under lineage and impact (`store::rows_by_key`) answers
/// exactly the rows whose key is given, each once, for more keys than a
/// statement may bind parameters (SQLite: 32,766), and without repeats
/// when asked.
async fn bulk_reads_take_any_number_of_keys(app: TestApp) {
    chain(&app).await;
    let db = Database::connect(&app.database_url).await.unwrap();
    let mut stored: Vec<(String, String, ProductStatus)> = data_product::Entity::find()
        .all(&db)
        .await
        .unwrap()
        .into_iter()
        .map(|p| (p.id, p.qualified_name, p.status))
        .collect();
    stored.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(stored.len(), 4);
    let mut keys: Vec<String> = (0..40_000).map(|i| format!("missing-{i}")).collect();
    keys.extend(stored.iter().map(|p| p.0.clone()));
    keys.push(stored[0].0.clone());
    use data_product::Column as P;
    let mut read: Vec<(String, String, ProductStatus)> =
        rows_by_key::<data_product::Entity, _>(&db, P::Id, &keys, &[P::Id, P::QualifiedName, P::Status], false)
            .await
            .unwrap();
    read.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(read, stored);

    // Every edge's far end kind, from every node: two kinds, once each.
    let edges = lineage_edge::Entity::find().all(&db).await.unwrap();
    assert_eq!(edges.len(), 6);
    let from: Vec<String> = edges.iter().map(|e| e.from_id.clone()).collect();
    use lineage_edge::Column as E;
    let mut kinds: Vec<(String,)> =
        rows_by_key::<lineage_edge::Entity, (NodeKind,)>(&db, E::FromId, &from, &[E::ToKind], true)
            .await
            .unwrap()
            .into_iter()
            .map(|(k,)| (k.to_string(),))
            .collect();
    kinds.sort();
    assert_eq!(kinds, [("APPLICATION".to_owned(),), ("PRODUCT".to_owned(),)]);
    let all: Vec<(String, NodeKind)> =
        rows_by_key::<lineage_edge::Entity, _>(&db, E::FromId, &from, &[E::ToId, E::ToKind], false)
            .await
            .unwrap();
    assert_eq!(all.len(), 6);

    let none: Vec<(String,)> = rows_by_key::<data_product::Entity, _>(&db, P::Id, &[], &[P::Id], false)
        .await
        .unwrap();
    assert!(none.is_empty());
    let none: Vec<(String,)> = rows_by_key::<data_product::Entity, _>(&db, P::Id, &keys[..10], &[P::Id], false)
        .await
        .unwrap();
    assert!(none.is_empty());
}

/// SQLite reads a bulk read's rows by the key's index, once per key,
/// whatever the number of keys: never a scan of the table.
#[tokio::test]
async fn bulk_reads_use_the_keys_index() {
    let app = crate::helpers::spawn_app(crate::helpers::Backend::Sqlite).await;
    let statements = [
        (
            "data_product",
            rows_by_key_sql::<data_product::Entity>(
                DbBackend::Sqlite,
                data_product::Column::Id,
                &[data_product::Column::Id, data_product::Column::Name],
                false,
            ),
        ),
        (
            "application",
            rows_by_key_sql::<application::Entity>(
                DbBackend::Sqlite,
                application::Column::Id,
                &[application::Column::Id],
                false,
            ),
        ),
        (
            "lineage_edge",
            rows_by_key_sql::<lineage_edge::Entity>(
                DbBackend::Sqlite,
                lineage_edge::Column::FromId,
                &[lineage_edge::Column::ToId, lineage_edge::Column::ToKind],
                true,
            ),
        ),
    ];
    for (table, statement) in statements {
        let plan = crate::helpers::sqlite_plan(&app.database_url, &statement).await;
        assert!(
            plan.iter().any(|d| d.starts_with(&format!("SEARCH {table} USING"))),
            "{table}: {plan:?}"
        );
        assert!(
            !plan.iter().any(|d| d.starts_with(&format!("SCAN {table}"))),
            "{table}: {plan:?}"
        );
    }
}

/// PostgreSQL looks a bulk read's keys up by the key's index even when the
/// table has no statistics yet (loaded or imported moments before): with
/// the keys as a subquery it assumed 100 of them and read the whole table
/// (32 ms instead of 0.1 ms for one key among 300,000 rows).
#[tokio::test]
async fn bulk_reads_use_the_keys_index_on_postgres() {
    use sea_orm::{ConnectionTrait, Statement, TransactionTrait};
    let db = Database::connect(crate::helpers::fresh_postgres_url().await)
        .await
        .unwrap();
    // One connection: a temporary table, never analysed, in place of the
    // real one for this session.
    let tx = db.begin().await.unwrap();
    let run = |sql: String| Statement::from_string(DbBackend::Postgres, sql);
    for sql in [
        "CREATE TEMPORARY TABLE lineage_edge (from_id text NOT NULL, to_id text NOT NULL, to_kind text NOT NULL)",
        "CREATE INDEX ON lineage_edge (from_id)",
        "INSERT INTO lineage_edge SELECT 'n' || i, 'n' || (i + j), 'PRODUCT' FROM generate_series(1, 100000) i, generate_series(1, 3) j",
    ] {
        tx.execute_raw(run(sql.into())).await.unwrap();
    }
    let statement = rows_by_key_sql::<lineage_edge::Entity>(
        DbBackend::Postgres,
        lineage_edge::Column::FromId,
        &[lineage_edge::Column::ToId, lineage_edge::Column::ToKind],
        true,
    );
    tx.execute_raw(run(format!("PREPARE bulk(text) AS {statement}")))
        .await
        .unwrap();
    let plan: Vec<String> = tx
        .query_all_raw(run(r#"EXPLAIN EXECUTE bulk('["n42"]')"#.into()))
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get_by_index::<String>(0).unwrap())
        .collect();
    assert!(plan.iter().any(|l| l.contains("Index Cond")), "{plan:#?}");
    assert!(!plan.iter().any(|l| l.contains("Seq Scan")), "{plan:#?}");
    tx.rollback().await.unwrap();
}
