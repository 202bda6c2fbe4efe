//! Export and import of the whole catalog as one JSON document
//! (`mesh-catalog export` / `import`): a backup an operator restores into
//! an empty database, on the same backend or the other one.
//!
//! The document is `{"format": "mesh-catalog-export", "version": 1, …}`
//! followed by one array per table, named as the table, in the order the
//! import writes them (referenced rows first): teams and their members,
//! domains, products, tags, schema versions and their Confluent schema ids,
//! quality checks and results, applications, access subscriptions, use
//! cases and their products, lineage edges and the audit log. Every row
//! carries every column (the entities' serde form). Left out: `outbox`,
//! events not yet relayed to Kafka — transient, and an import is a restore,
//! not a change, so it writes none; also Kafka's own state (topics,
//! records) and the search index (rebuilt from the database).
//!
//! Rows are sorted by primary key (bytewise, in Rust, whatever the
//! database's collation) and keys keep the entities' field order, so two
//! exports of the same catalog are byte-identical.
//!
//! Import rows are written as they are, with no domain rule applied: the
//! database's keys, uniqueness and foreign keys are the checks. A change to
//! a table's columns changes the document: bump [`VERSION`].

use std::io::{Read, Write};
use std::path::Path;

use sea_orm::{
    AccessMode, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait, IntoActiveModel, IsolationLevel,
    Iterable, PaginatorTrait, TransactionOptions, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::entities::*;
use super::{Store, StoreError};

/// The `format` marker of an export document.
pub const FORMAT: &str = "mesh-catalog-export";
/// The document version this build writes and reads.
pub const VERSION: u32 = 1;

/// Bind parameters per INSERT statement: well under SQLite's (32766) and
/// PostgreSQL's (65535) limits.
const MAX_PARAMETERS: usize = 10_000;

/// Why an export or import failed. A failed import writes nothing; a
/// failed export leaves no file.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error("cannot open the database: {0}")]
    Open(StoreError),
    #[error("cannot read {what}: {source}")]
    Read { what: String, source: std::io::Error },
    #[error("cannot write {what}: {source}")]
    Write { what: String, source: std::io::Error },
    /// Not JSON, or cut short; the message gives the line and column.
    #[error("the export is not valid JSON: {0}")]
    Malformed(serde_json::Error),
    /// JSON, but not a Mesh Catalog export.
    #[error("not a Mesh Catalog export: {0}")]
    NotAnExport(String),
    #[error("export version {found} is not supported: this mesh-catalog reads version {expected}")]
    UnsupportedVersion { found: String, expected: u32 },
    /// An export of the right version whose content does not fit the
    /// tables (a missing column, a wrong type…), with its position.
    #[error("the export is invalid: {0}")]
    Invalid(serde_json::Error),
    /// Import never merges: the target must be empty.
    #[error("the database is not empty: table `{table}` has {rows} row(s); import only into a new, empty database")]
    NotEmpty { table: &'static str, rows: u64 },
    /// The database refused a row (a duplicate key, a missing referenced
    /// row): the whole import is rolled back.
    #[error("cannot import table `{table}`: {source}")]
    Refused { table: &'static str, source: StoreError },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sea_orm::DbErr> for TransferError {
    fn from(err: sea_orm::DbErr) -> Self {
        TransferError::Store(err.into())
    }
}

/// Declares the exported tables once, in import order, each with its
/// primary key columns: the document, its reading, its emptiness check and
/// its writing all follow this list.
macro_rules! tables {
    ($($table:ident ($($key:ident),+)),* $(,)?) => {
        /// The whole catalog: every row of every table but `outbox`.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct Export {
            pub format: String,
            pub version: u32,
            $(pub $table: Vec<$table::Model>,)*
        }

        /// The tables of the document, in import order.
        pub const TABLES: &[&str] = &[$(stringify!($table)),*];

        impl Export {
            /// Rows per table, in import order.
            pub fn counts(&self) -> Vec<(&'static str, usize)> {
                vec![$((stringify!($table), self.$table.len())),*]
            }

            async fn load(tx: &DatabaseTransaction) -> Result<Self, TransferError> {
                Ok(Self {
                    format: FORMAT.to_owned(),
                    version: VERSION,
                    $($table: {
                        let mut rows = $table::Entity::find().all(tx).await?;
                        rows.sort_by(|a, b| ($(&a.$key,)+).cmp(&($(&b.$key,)+)));
                        rows
                    },)*
                })
            }

            async fn insert_all(self, tx: &DatabaseTransaction) -> Result<(), TransferError> {
                $(insert::<$table::Entity>(tx, stringify!($table), self.$table).await?;)*
                Ok(())
            }
        }

        /// The first table holding a row (`outbox` included), with its count.
        async fn first_non_empty(tx: &DatabaseTransaction) -> Result<Option<(&'static str, u64)>, TransferError> {
            $(
                let rows = $table::Entity::find().count(tx).await?;
                if rows > 0 {
                    return Ok(Some((stringify!($table), rows)));
                }
            )*
            let rows = outbox::Entity::find().count(tx).await?;
            Ok((rows > 0).then_some(("outbox", rows)))
        }
    };
}

tables! {
    team(id),
    team_member(team_id, user_id),
    domain(id),
    data_product(id),
    product_tag(product_id, tag),
    schema_version(id),
    schema_registry_id(id),
    quality_check(id),
    quality_result(id),
    application(id),
    access_subscription(id),
    use_case(id),
    use_case_product(use_case_id, product_id, role),
    lineage_edge(id),
    audit_entry(id),
}

/// The fields that tell what a document is, read before anything else.
#[derive(Deserialize)]
struct Header {
    format: Option<Value>,
    version: Option<Value>,
}

impl Export {
    /// The document: indented JSON, ending with a newline.
    pub fn to_json(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("rows serialise");
        bytes.push(b'\n');
        bytes
    }

    /// Parses a document: JSON first, then its format and version, then
    /// its rows.
    pub fn from_json(bytes: &[u8]) -> Result<Self, TransferError> {
        let header: Header = serde_json::from_slice(bytes).map_err(|e| match e.classify() {
            serde_json::error::Category::Data => TransferError::NotAnExport(format!("expected a JSON object ({e})")),
            _ => TransferError::Malformed(e),
        })?;
        match header.format {
            Some(Value::String(format)) if format == FORMAT => {}
            Some(other) => {
                return Err(TransferError::NotAnExport(format!(
                    "`format` is {other}, expected \"{FORMAT}\""
                )));
            }
            None => return Err(TransferError::NotAnExport(format!("no `format` field (\"{FORMAT}\")"))),
        }
        match header.version {
            Some(Value::Number(n)) if n.as_u64() == Some(VERSION.into()) => {}
            found => {
                return Err(TransferError::UnsupportedVersion {
                    found: found.map_or_else(|| "(none)".to_owned(), |v| v.to_string()),
                    expected: VERSION,
                });
            }
        }
        serde_json::from_slice(bytes).map_err(TransferError::Invalid)
    }

    /// Rows in all tables.
    pub fn rows(&self) -> usize {
        self.counts().iter().map(|(_, n)| n).sum()
    }
}

/// Reads the whole catalog in one read transaction: a consistent snapshot,
/// so a running server may keep writing meanwhile.
pub async fn export(store: &Store) -> Result<Export, TransferError> {
    let db = store.db();
    // SQLite (WAL) reads one snapshot per transaction anyway and only warns
    // about these options.
    let options = match db.get_database_backend() {
        DbBackend::Sqlite => TransactionOptions::default(),
        _ => TransactionOptions {
            isolation_level: Some(IsolationLevel::RepeatableRead),
            access_mode: Some(AccessMode::ReadOnly),
            ..TransactionOptions::default()
        },
    };
    let tx = db.begin_with_options(options).await?;
    let export = Export::load(&tx).await?;
    tx.commit().await?;
    Ok(export)
}

/// Writes `export` into the store's database in one transaction, after
/// checking that every table is empty; no outbox event is written. Returns
/// the number of rows written.
pub async fn import(store: &Store, export: Export) -> Result<usize, TransferError> {
    let rows = export.rows();
    let write = store.begin_write().await?;
    if let Some((table, rows)) = first_non_empty(&write.tx).await? {
        return Err(TransferError::NotEmpty { table, rows });
    }
    export.insert_all(&write.tx).await?;
    if write.tx.get_database_backend() == DbBackend::Postgres {
        // Ids were given explicitly: the next registered schema continues
        // after them. (SQLite's AUTOINCREMENT follows inserted ids itself.)
        write
            .tx
            .execute_unprepared(
                "SELECT setval(pg_get_serial_sequence('schema_registry_id', 'id'), MAX(id)) FROM schema_registry_id",
            )
            .await?;
    }
    write.commit().await?;
    Ok(rows)
}

async fn insert<E>(tx: &DatabaseTransaction, table: &'static str, rows: Vec<E::Model>) -> Result<(), TransferError>
where
    E: EntityTrait,
    E::Model: IntoActiveModel<E::ActiveModel>,
{
    let per_statement = (MAX_PARAMETERS / E::Column::iter().count()).max(1);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk = rows
            .by_ref()
            .take(per_statement)
            .map(IntoActiveModel::into_active_model);
        E::insert_many(chunk)
            .exec_without_returning(tx)
            .await
            .map_err(|e| TransferError::Refused {
                table,
                source: e.into(),
            })?;
    }
    Ok(())
}

/// Reads a document from `path`, or from standard input.
pub fn read_input(path: Option<&Path>) -> Result<Vec<u8>, TransferError> {
    let mut bytes = Vec::new();
    let result = match path {
        Some(path) => std::fs::File::open(path).and_then(|mut f| f.read_to_end(&mut bytes)),
        None => std::io::stdin().lock().read_to_end(&mut bytes),
    };
    result.map_err(|source| TransferError::Read {
        what: path.map_or_else(|| "standard input".to_owned(), |p| p.display().to_string()),
        source,
    })?;
    Ok(bytes)
}

/// Writes a document to `path` (through a temporary file renamed at the
/// end, so an interrupted export never leaves a partial file under that
/// name), or to standard output.
pub fn write_output(path: Option<&Path>, bytes: &[u8]) -> Result<(), TransferError> {
    let Some(path) = path else {
        let mut out = std::io::stdout().lock();
        return out
            .write_all(bytes)
            .and_then(|()| out.flush())
            .map_err(|source| TransferError::Write {
                what: "standard output".to_owned(),
                source,
            });
    };
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = std::path::PathBuf::from(partial);
    std::fs::File::create(&partial)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        })
        .and_then(|()| std::fs::rename(&partial, path))
        .map_err(|source| {
            let _ = std::fs::remove_file(&partial);
            TransferError::Write {
                what: path.display().to_string(),
                source,
            }
        })
}
