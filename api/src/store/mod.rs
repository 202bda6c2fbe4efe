//! Storage: the sea-orm connection, migrations and entities.
//!
//! The catalog layer owns the queries; this layer owns how we connect
//! (SQLite by default, PostgreSQL in production), schema migration and the
//! translation of database failures into [`StoreError`]; [`transfer`]
//! exports and imports the whole database (backup and restore), and
//! [`rows_by_key`] reads many rows by key in one answer row.

mod bulk;
pub mod entities;
pub mod transfer;

pub use bulk::{rows_by_key, rows_by_key_sql};

use std::sync::Arc;
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::SqliteJournalMode;
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbErr, SqlErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use tokio::sync::{Mutex, OwnedMutexGuard};

/// A failure of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the write (the caller maps it to CONFLICT).
    #[error("already exists: {0}")]
    Duplicate(String),
    /// No pooled connection became free in time: the server is overloaded
    /// (a burst of requests), and the caller may retry.
    #[error("the database is busy: {0}")]
    Busy(DbErr),
    #[error("database error: {0}")]
    Database(DbErr),
}

impl From<DbErr> for StoreError {
    fn from(err: DbErr) -> Self {
        if matches!(err, DbErr::ConnectionAcquire(_)) {
            return StoreError::Busy(err);
        }
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(message)) => StoreError::Duplicate(message),
            _ => StoreError::Database(err),
        }
    }
}

/// The catalog database. Cheap to clone (a pool handle).
#[derive(Clone, Debug)]
pub struct Store {
    db: DatabaseConnection,
    /// SQLite allows one writer; taking this lock before a write transaction
    /// queues writers in the process instead of failing with SQLITE_BUSY when
    /// two read-then-write transactions race. `None` on PostgreSQL.
    write_lock: Option<Arc<Mutex<()>>>,
}

/// A write transaction, holding the SQLite writer lock until it ends.
pub struct WriteTx {
    pub tx: DatabaseTransaction,
    _guard: Option<OwnedMutexGuard<()>>,
}

impl WriteTx {
    pub async fn commit(self) -> Result<(), StoreError> {
        Ok(self.tx.commit().await?)
    }
}

/// Advisory lock key held while migrating ("mig" in ASCII).
const MIGRATION_LOCK: i64 = 0x6d_6967;

/// Rows an SQLite connection's worker thread may read ahead of the task
/// that awaits them. sqlx's default, 50, made the worker and the task wake
/// each other once per row as soon as a result outgrew it (a search index
/// rebuild reads thousands of rows per query).
const ROW_BUFFER: usize = 4096;

impl Store {
    /// Connects to `url` (`sqlite://…` or `postgres://…`) and applies pending
    /// migrations. SQLite files are created when missing.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let mut options = ConnectOptions::new(url.to_owned());
        options
            .connect_timeout(Duration::from_secs(5))
            // A burst (thousands of WebSocket clients connecting at once)
            // queues for the pool: let it wait rather than fail.
            .acquire_timeout(Duration::from_secs(30))
            .sqlx_logging(false);
        let sqlite = url.starts_with("sqlite:");
        if sqlite {
            options
                .max_connections(4)
                .min_connections(1)
                // sqlx pings a pooled connection before every use: for a
                // file, one more round trip to the connection's thread
                // per query, with nothing to detect.
                .test_before_acquire(false);
            options.map_sqlx_sqlite_opts(|o| {
                o.create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .busy_timeout(Duration::from_secs(10))
                    .row_buffer_size(ROW_BUFFER)
            });
        } else {
            options.max_connections(16);
        }
        let db = Database::connect(options).await?;
        if sqlite {
            Migrator::up(&db, None).await?;
        } else {
            // Replicas starting together: one migrates (in one transaction,
            // PostgreSQL's DDL being transactional), the others wait for it
            // and then find nothing pending.
            let tx = db.begin().await?;
            tx.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
                .await?;
            Migrator::up(&tx, None).await?;
            tx.commit().await?;
        }
        let write_lock = sqlite.then(|| Arc::new(Mutex::new(())));
        Ok(Self { db, write_lock })
    }

    /// Starts a write transaction: every mutation runs in exactly one, so a
    /// failure leaves nothing half-written.
    pub async fn begin_write(&self) -> Result<WriteTx, StoreError> {
        let guard = match &self.write_lock {
            Some(lock) => Some(lock.clone().lock_owned().await),
            None => None,
        };
        // On SQLite, take the database write lock at BEGIN (IMMEDIATE), so
        // the transaction never fails later upgrading a read snapshot, e.g.
        // while a dropped transaction's rollback is still finishing.
        let options = TransactionOptions {
            sqlite_transaction_mode: guard.as_ref().map(|_| SqliteTransactionMode::Immediate),
            ..TransactionOptions::default()
        };
        let tx = self.db.begin_with_options(options).await?;
        Ok(WriteTx { tx, _guard: guard })
    }

    /// The connection pool, for the catalog layer's queries.
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Liveness of the database, for `/readyz`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        Ok(self.db.ping().await?)
    }
}
