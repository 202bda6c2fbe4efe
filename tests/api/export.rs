//! `export` and `import`: the whole catalog as one JSON document, restored
//! into an empty database in one transaction — through the library and
//! through the `mesh-catalog` binary, on SQLite and PostgreSQL.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use mesh_catalog::auth::{Caller, Identity};
use mesh_catalog::catalog::{AccessDecision, Catalog, NewTeam};
use mesh_catalog::store::entities::access_subscription;
use mesh_catalog::store::transfer::{self, Export, TransferError, TABLES};
use mesh_catalog::store::Store;
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, Statement};
use serde_json::{json, Value};

use crate::helpers::{fresh_postgres_url, order_schema, spawn_on, temp_dir, Backend, ADMIN};

const BIN: &str = env!("CARGO_BIN_EXE_mesh-catalog");

/// Declares `async fn name(backend: Backend)` as two tests, one per backend.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn sqlite() {
                    super::$name(crate::helpers::Backend::Sqlite).await
                }

                #[tokio::test]
                async fn postgres() {
                    super::$name(crate::helpers::Backend::Postgres).await
                }
            }
        )*
    };
}

on_both_backends!(
    round_trip_is_byte_identical_and_reads_the_same,
    export_holds_every_table_and_column,
    another_version_is_refused,
    a_database_that_is_not_empty_is_refused,
    import_is_all_or_nothing,
    cli_exports_and_imports,
);

/// A new, empty database: its data directory and URL (no tables yet).
async fn empty(backend: Backend) -> (PathBuf, String) {
    let dir = temp_dir();
    let url = match backend {
        Backend::Sqlite => format!("sqlite://{}", dir.join("catalog.db").display()),
        Backend::Postgres => fresh_postgres_url().await,
    };
    (dir, url)
}

fn admin() -> Caller {
    Caller::User(Identity {
        subject: "platform-admin".into(),
        teams: vec![],
        roles: vec!["admin".into()],
    })
}

/// A database holding the demo mesh (every kind of row), plus one
/// subscription approved with PII access.
async fn demo(backend: Backend) -> (PathBuf, String) {
    let (dir, url) = empty(backend).await;
    let store = Store::open(&url).await.unwrap();
    let catalog = Catalog::new(store.clone());
    mesh_catalog::demo::seed(&catalog).await.unwrap();
    let pending = access_subscription::Entity::find()
        .filter(access_subscription::Column::Status.eq("PENDING"))
        .one(store.db())
        .await
        .unwrap()
        .expect("the demo has pending requests");
    catalog
        .decide_access(
            &admin(),
            &pending.id,
            AccessDecision::Approve { pii_access: true },
            Some("needs the e-mail addresses".into()),
        )
        .await
        .unwrap();
    (dir, url)
}

/// A database with one team (and its audit entry).
async fn one_team(url: &str) -> Store {
    let store = Store::open(url).await.unwrap();
    let input = NewTeam {
        name: "orders-team".into(),
        description: "Orders".into(),
        members: vec!["alice".into()],
    };
    Catalog::new(store.clone()).create_team(&admin(), input).await.unwrap();
    store
}

async fn export_bytes(url: &str) -> Vec<u8> {
    let store = Store::open(url).await.unwrap();
    transfer::export(&store).await.unwrap().to_json()
}

async fn rows_in(url: &str) -> usize {
    let store = Store::open(url).await.unwrap();
    transfer::export(&store).await.unwrap().rows()
}

async fn outbox_rows(url: &str) -> i64 {
    crate::helpers::count(url, "SELECT COUNT(*) AS n FROM outbox").await
}

/// What a reader sees of the catalog: products with their schema versions
/// (and Confluent ids), SLA, checks and results, subscriptions, tags;
/// teams, domains, applications, use cases, lineage and the audit log.
const CATALOG_VIEW: &str = r#"{
  teams { id name description members }
  domains { id name description ownerTeam { name } dataProducts { qualifiedName } }
  dataProducts(first: 100, filter: { statuses: [DRAFT, PUBLISHED, DEPRECATED, RETIRED] }) {
    totalCount
    edges { node {
      id qualifiedName displayName description status version compatibility visibility qualityClass tags
      contacts { name email } deprecation { reason sunsetDate } createdAt updatedAt
      topic { name partitions retentionMs cleanupPolicy }
      sla { tier availabilityPercent maxFreshnessSeconds maxLatencyMs retentionDays supportHours onCall }
      schemaVersions { id version schemaId format definition createdBy createdAt fields { path type } }
      qualityChecks { id name kind description threshold results { id status observedValue message observedAt } }
      subscriptions { id status purpose requestedBy requestedAt decidedBy decidedAt decisionReason piiAccess application { name } }
    } }
  }
  applications { id name description ownerTeam { name } }
  useCases { id name kind description transformation createdBy createdAt application { name }
    inputs { qualifiedName } outputs { qualifiedName } }
  lineage(of: { product: "marketing.page-views" }, direction: DOWNSTREAM, depth: 20) {
    nodes { id name kind depth } edges { id kind fromId toId fieldMappings { from to } createdAt }
  }
  auditLog(first: 100) { edges { node { id at actor action entityKind entityId entityName summary } } }
}"#;

async fn catalog_view(dir: PathBuf, url: String) -> Value {
    let app = spawn_on(dir, url, false).await;
    app.ok(ADMIN, CATALOG_VIEW, json!({})).await
}

/// Export, import into an empty database, export again: the same bytes;
/// the restored catalog answers as the original did, holds no outbox
/// event, and keeps numbering schema ids after the imported ones.
async fn round_trip_is_byte_identical_and_reads_the_same(backend: Backend) {
    let (source_dir, source) = demo(backend).await;
    let first = export_bytes(&source).await;
    assert_eq!(first, export_bytes(&source).await, "two exports of one catalog differ");
    let text = std::str::from_utf8(&first).unwrap();
    assert!(
        text.starts_with("{\n  \"format\": \"mesh-catalog-export\",\n  \"version\": 1,\n"),
        "{}",
        &text[..200]
    );

    let export = Export::from_json(&first).unwrap();
    for (table, rows) in export.counts() {
        assert!(
            rows > 0,
            "the demo catalog has no `{table}` row: the test would prove nothing"
        );
    }
    assert!(export.access_subscription.iter().any(|s| s.pii_access));
    let max_schema_id = export.schema_registry_id.iter().map(|r| r.id).max().unwrap();
    let rows = export.rows();

    let (target_dir, target) = empty(backend).await;
    let written = transfer::import(&Store::open(&target).await.unwrap(), export)
        .await
        .unwrap();
    assert_eq!(written, rows);
    let again = export_bytes(&target).await;
    assert!(
        first == again,
        "the re-export differs:\n{}",
        first_difference(&first, &again)
    );
    assert_eq!(outbox_rows(&target).await, 0, "an import is no change: no outbox event");

    let before = catalog_view(source_dir, source).await;
    let restored = spawn_on(target_dir, target, false).await;
    let after = restored.ok(ADMIN, CATALOG_VIEW, json!({})).await;
    assert!(
        before["dataProducts"]["totalCount"].as_i64().unwrap() >= 30,
        "{:#}",
        before["dataProducts"]
    );
    assert!(before["lineage"]["edges"].as_array().unwrap().len() >= 3);
    assert_eq!(before, after);

    // The restored catalog takes changes: the next schema id follows the
    // imported ones (PostgreSQL's sequence was moved past them).
    let published = restored
        .ok(
            ADMIN,
            "mutation($input: PublishDataProductInput!) { publishDataProduct(input: $input) { schema { schemaId } } }",
            json!({ "input": {
                "domain": "orders", "name": "restored-orders", "description": "After the restore",
                "schema": { "format": "AVRO", "definition": order_schema(&[]) },
            }}),
        )
        .await;
    assert_eq!(
        published["publishDataProduct"]["schema"]["schemaId"].as_i64(),
        Some(max_schema_id + 1)
    );
}

/// Where two documents first differ, with some context.
fn first_difference(a: &[u8], b: &[u8]) -> String {
    let at = a
        .iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()));
    let from = at.saturating_sub(200);
    format!(
        "at byte {at}:\n{}\n---\n{}",
        String::from_utf8_lossy(&a[from..(at + 200).min(a.len())]),
        String::from_utf8_lossy(&b[from..(at + 200).min(b.len())])
    )
}

/// Every table of the database is in the document but `outbox`, each row
/// carries every column (a migration adding a table or a column without
/// the export following it fails here), and rows are in primary-key order.
async fn export_holds_every_table_and_column(backend: Backend) {
    let (_dir, url) = demo(backend).await;
    let document: Value = serde_json::from_slice(&export_bytes(&url).await).unwrap();
    let store = Store::open(&url).await.unwrap();
    let db = store.db();
    let tables_sql = match backend {
        Backend::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        Backend::Postgres => {
            "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()"
        }
    };
    let tables: BTreeSet<String> = names(db, tables_sql.into()).await;
    let expected: BTreeSet<String> = TABLES
        .iter()
        .map(|t| t.to_string())
        .chain(["outbox".into(), "seaql_migrations".into()])
        .collect();
    assert_eq!(
        tables, expected,
        "tables of the database vs. the export (+ outbox, migrations)"
    );

    let object = document.as_object().unwrap();
    let keys: BTreeSet<&str> = object.keys().map(String::as_str).collect();
    let mut want: BTreeSet<&str> = TABLES.iter().copied().collect();
    want.extend(["format", "version"]);
    assert_eq!(keys, want);
    for table in TABLES {
        let columns_sql = match db.get_database_backend() {
            DbBackend::Sqlite => format!("SELECT name FROM pragma_table_info('{table}')"),
            _ => format!(
                "SELECT column_name AS name FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = '{table}'"
            ),
        };
        let columns = names(db, columns_sql).await;
        let rows = object[*table].as_array().unwrap();
        assert!(!rows.is_empty(), "no `{table}` row to check");
        for row in rows {
            let fields: BTreeSet<String> = row.as_object().unwrap().keys().cloned().collect();
            assert_eq!(fields, columns, "columns of `{table}`");
        }
        // Rows in primary-key order (strings bytewise, numbers by value).
        let key_sql = match db.get_database_backend() {
            DbBackend::Sqlite => format!("SELECT name FROM pragma_table_info('{table}') WHERE pk > 0 ORDER BY pk"),
            _ => format!(
                "SELECT a.attname::text AS name FROM pg_index i \
                 JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
                 WHERE i.indrelid = '{table}'::regclass AND i.indisprimary \
                 ORDER BY array_position(i.indkey::int2[], a.attnum)"
            ),
        };
        let key_columns = ordered_names(db, key_sql).await;
        assert!(!key_columns.is_empty(), "`{table}` has no primary key");
        let key = |row: &Value| -> Vec<Value> { key_columns.iter().map(|c| row[c].clone()).collect() };
        for pair in rows.windows(2) {
            assert_eq!(
                compare_keys(&key(&pair[0]), &key(&pair[1])),
                std::cmp::Ordering::Less,
                "`{table}` rows out of primary-key order: {} then {}",
                pair[0],
                pair[1]
            );
        }
    }
}

fn compare_keys(a: &[Value], b: &[Value]) -> std::cmp::Ordering {
    a.iter()
        .zip(b)
        .map(|pair| match pair {
            (Value::Number(x), Value::Number(y)) => x.as_i64().cmp(&y.as_i64()),
            (Value::String(x), Value::String(y)) => x.as_bytes().cmp(y.as_bytes()),
            other => panic!("unexpected key values {other:?}"),
        })
        .find(|o| o.is_ne())
        .unwrap_or(std::cmp::Ordering::Equal)
}

async fn ordered_names(db: &sea_orm::DatabaseConnection, sql: String) -> Vec<String> {
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String>("", "name").unwrap())
        .collect()
}

async fn names(db: &sea_orm::DatabaseConnection, sql: String) -> BTreeSet<String> {
    ordered_names(db, sql).await.into_iter().collect()
}

/// Another version, another format, malformed JSON or rows that do not
/// fit are refused with a message saying what was found.
async fn another_version_is_refused(backend: Backend) {
    let (_dir, source) = empty(backend).await;
    one_team(&source).await;
    let bytes = export_bytes(&source).await;
    let mut document: Value = serde_json::from_slice(&bytes).unwrap();

    document["version"] = json!(999);
    let error = Export::from_json(&serde_json::to_vec(&document).unwrap()).unwrap_err();
    assert!(matches!(error, TransferError::UnsupportedVersion { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        "export version 999 is not supported: this mesh-catalog reads version 1"
    );

    document["version"] = json!(1);
    document["format"] = json!("something-else");
    let error = Export::from_json(&serde_json::to_vec(&document).unwrap()).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("not a Mesh Catalog export: `format` is \"something-else\""),
        "{error}"
    );

    let error = Export::from_json(&bytes[..bytes.len() / 2]).unwrap_err();
    assert!(matches!(error, TransferError::Malformed(_)), "{error:?}");
    assert!(error.to_string().contains(" line "), "{error}");
    let error = Export::from_json(b"{\"format\": \"mesh-catalog-export\",, }").unwrap_err();
    assert!(error.to_string().ends_with("at line 1 column 34"), "{error}");

    document["format"] = json!("mesh-catalog-export");
    document["team"][0].as_object_mut().unwrap().remove("name");
    let error = Export::from_json(&serde_json::to_vec_pretty(&document).unwrap()).unwrap_err();
    assert!(matches!(error, TransferError::Invalid(_)), "{error:?}");
    assert!(error.to_string().contains("missing field `name`"), "{error}");

    // Through the binary: a non-zero exit, the message, nothing written.
    let (target_dir, target) = empty(backend).await;
    let mut document: Value = serde_json::from_slice(&bytes).unwrap();
    document["version"] = json!(999);
    let file = target_dir.join("v999.json");
    std::fs::write(&file, serde_json::to_vec(&document).unwrap()).unwrap();
    let out = cli(
        &["import", "--input", file.to_str().unwrap()],
        &target_dir,
        &target,
        None,
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("export version 999 is not supported: this mesh-catalog reads version 1"),
        "{stderr}"
    );
    assert_eq!(rows_in(&target).await, 0);
}

/// Import never merges: a database with a row is refused, naming the
/// table, and left as it was.
async fn a_database_that_is_not_empty_is_refused(backend: Backend) {
    let (_dir, source) = demo(backend).await;
    let export = Export::from_json(&export_bytes(&source).await).unwrap();
    let (_dir, target) = empty(backend).await;
    let store = one_team(&target).await;
    let before = export_bytes(&target).await;

    let error = transfer::import(&store, export).await.unwrap_err();
    assert!(
        matches!(error, TransferError::NotEmpty { table: "team", rows: 1 }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "the database is not empty: table `team` has 1 row(s); import only into a new, empty database"
    );
    assert_eq!(export_bytes(&target).await, before);
}

/// One transaction: a row refused by the last table written (a duplicate
/// audit entry) leaves nothing of the tables written before it.
async fn import_is_all_or_nothing(backend: Backend) {
    let (_dir, source) = demo(backend).await;
    let mut export = Export::from_json(&export_bytes(&source).await).unwrap();
    let duplicate = export.audit_entry.last().unwrap().clone();
    export.audit_entry.push(duplicate);

    let (_dir, target) = empty(backend).await;
    let error = transfer::import(&Store::open(&target).await.unwrap(), export)
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            TransferError::Refused {
                table: "audit_entry",
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        error.to_string().starts_with("cannot import table `audit_entry`: "),
        "{error}"
    );
    assert_eq!(rows_in(&target).await, 0, "a failed import left rows behind");
    assert_eq!(outbox_rows(&target).await, 0);
}

/// Runs the binary on the database `url` (given as `DATABASE_URL`) with
/// `data_dir`, feeding `stdin`.
fn cli(args: &[&str], data_dir: &Path, url: &str, stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .args(["--data-dir", data_dir.to_str().unwrap()])
        .env("DATABASE_URL", url)
        .env_remove("MESH_INDEX_DIR")
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs");
    let mut input = child.stdin.take().unwrap();
    if let Some(bytes) = stdin {
        input.write_all(bytes).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

/// `mesh-catalog export` (to a file and to stdout) and `import` (from a
/// file and from stdin) as processes: a restore exports the same bytes; a
/// second import into the restored database is refused.
async fn cli_exports_and_imports(backend: Backend) {
    let (source_dir, source) = demo(backend).await;
    let file = source_dir.join("backup.json");
    let out = cli(
        &["export", "--output", file.to_str().unwrap()],
        &source_dir,
        &source,
        None,
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty());
    let rows = Export::from_json(&std::fs::read(&file).unwrap()).unwrap().rows();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!("exported {rows} rows")),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let backup = std::fs::read(&file).unwrap();
    assert_eq!(backup, export_bytes(&source).await);
    let out = cli(&["export"], &source_dir, &source, None);
    assert!(out.status.success());
    assert!(out.stdout == backup, "stdout and --output differ");

    // From a file, into a database whose server keeps an index: rebuilt.
    let (target_dir, target) = empty(backend).await;
    std::fs::create_dir_all(target_dir.join("index")).unwrap();
    let out = cli(
        &["import", "--input", file.to_str().unwrap()],
        &target_dir,
        &target,
        None,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains(&format!("imported {rows} rows")), "{stderr}");
    assert!(stderr.contains("search index rebuilt"), "{stderr}");
    assert!(target_dir.join("index").join("meta.json").exists());
    let out = cli(&["export"], &target_dir, &target, None);
    assert!(out.status.success());
    assert!(out.stdout == backup, "{}", first_difference(&backup, &out.stdout));

    // From stdin, into the restored (not empty) database: refused.
    let out = cli(&["import"], &target_dir, &target, Some(&backup));
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("mesh-catalog: the database is not empty: table `team` has"),
        "{stderr}"
    );

    // From stdin, into an empty database.
    let (other_dir, other) = empty(backend).await;
    let out = cli(&["import"], &other_dir, &other, Some(&backup));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        !other_dir.join("index").exists(),
        "no index where the server keeps none"
    );
    assert_eq!(export_bytes(&other).await, backup);

    // Malformed input: the position, a non-zero exit.
    let (empty_dir, empty_url) = empty(backend).await;
    let out = cli(&["import"], &empty_dir, &empty_url, Some(&backup[..backup.len() - 10]));
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the export is not valid JSON: EOF while parsing"),
        "{stderr}"
    );
    assert!(stderr.contains(" line "), "{stderr}");
}

/// A SQLite catalog moves to PostgreSQL: the same rows, timestamps to
/// PostgreSQL's microseconds.
#[tokio::test]
async fn a_sqlite_export_imports_into_postgres() {
    let (_dir, sqlite) = demo(Backend::Sqlite).await;
    let backup = export_bytes(&sqlite).await;
    let (postgres_dir, postgres) = empty(Backend::Postgres).await;
    let out = cli(&["import"], &postgres_dir, &postgres, Some(&backup));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let moved: Value = serde_json::from_slice(&export_bytes(&postgres).await).unwrap();
    let original: Value = serde_json::from_slice(&backup).unwrap();
    assert_eq!(to_microseconds(original), to_microseconds(moved));
}

/// Every RFC 3339 timestamp in `value`, cut to microseconds.
fn to_microseconds(value: Value) -> Value {
    match value {
        Value::String(s) => match chrono::DateTime::parse_from_rfc3339(&s) {
            Ok(t) => Value::String(
                t.with_timezone(&chrono::Utc)
                    .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            ),
            Err(_) => Value::String(s),
        },
        Value::Array(items) => Value::Array(items.into_iter().map(to_microseconds).collect()),
        Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (k, to_microseconds(v))).collect()),
        other => other,
    }
}
