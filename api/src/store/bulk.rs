//! Bulk reads by key: the rows whose key is in a set or a range, answered
//! by the database as one row holding them as a JSON array.
//!
//! sqlx hands SQLite's rows from the connection's thread to the awaiting
//! task one at a time, and when the task keeps up, each row costs a thread
//! wake-up on both sides. A read of thousands of rows by key (a level of a
//! lineage walk, the products of an impact report, a chunk of a search
//! index rebuild) spent more time in that hand-off, and in copying each
//! value into its own allocation, than in SQLite. Here the database
//! aggregates the rows into one JSON value, and a set of keys goes in as
//! one JSON parameter: one statement for any number of keys, prepared once
//! and cached, with no bound on the number of keys.

use sea_orm::sea_query::SimpleExpr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, IdenStatic, Statement, Value};
use serde::de::DeserializeOwned;

/// Which rows a bulk read takes, by their key.
#[derive(Debug, Clone, Copy)]
pub enum Keys<'a> {
    /// Those whose key is one of these.
    In(&'a [String]),
    /// Those whose key sorts between these two, both included (a range of
    /// an index, read without binding its keys one by one).
    Between(&'a str, &'a str),
}

impl Keys<'_> {
    /// The same rows as a condition on `column`, for a typed query.
    pub fn on(self, column: impl ColumnTrait) -> SimpleExpr {
        match self {
            Keys::In(keys) => column.is_in(keys.iter().cloned()),
            Keys::Between(first, last) => column.between(first, last),
        }
    }

    fn values(self) -> Result<Vec<Value>, DbErr> {
        Ok(match self {
            Keys::In(keys) => vec![serde_json::to_string(keys)
                .map_err(|e| DbErr::Json(e.to_string()))?
                .into()],
            Keys::Between(first, last) => vec![first.into(), last.into()],
        })
    }
}

/// The `columns` of the rows of `E` whose `key` is among `keys`, each read
/// as a `T` from a JSON array of the columns' values (a tuple of the
/// columns' types, or a struct with fields in the columns' order; string
/// enums read by their stored spelling), without repeats with `distinct`.
/// In no particular order.
///
/// A column also in `json` holds JSON text and is read as the value it
/// spells (e.g. a `Vec` of structs) rather than as a string: it is parsed
/// once, not escaped into the answer and unescaped out of it first.
pub async fn rows_by_key<E, T>(
    db: &impl ConnectionTrait,
    key: E::Column,
    keys: Keys<'_>,
    columns: &[E::Column],
    json: &[E::Column],
    distinct: bool,
) -> Result<Vec<T>, DbErr>
where
    E: EntityTrait,
    T: DeserializeOwned,
{
    if matches!(keys, Keys::In([])) {
        return Ok(Vec::new());
    }
    let backend = db.get_database_backend();
    let statement = Statement::from_sql_and_values(
        backend,
        rows_by_key_sql::<E>(backend, key, keys, columns, json, distinct),
        keys.values()?,
    );
    let Some(row) = db.query_one_raw(statement).await? else {
        return Ok(Vec::new());
    };
    let json: String = row.try_get_by_index(0)?;
    serde_json::from_str(&json).map_err(|e| DbErr::Json(format!("bulk read of {}: {e}", E::default().table_name())))
}

/// The statement [`rows_by_key`] runs, in the backend's dialect (public so
/// that a test can read SQLite's plan of it); it depends on the kind of
/// `keys`, not on their values. Identifiers come from the entities, never
/// from input.
pub fn rows_by_key_sql<E: EntityTrait>(
    backend: DbBackend,
    key: E::Column,
    keys: Keys<'_>,
    columns: &[E::Column],
    json: &[E::Column],
    distinct: bool,
) -> String {
    let postgres = backend == DbBackend::Postgres;
    let quoted = |c: &E::Column| format!("\"{}\"", c.as_str());
    let list = columns.iter().map(quoted).collect::<Vec<_>>().join(", ");
    let values = columns
        .iter()
        .map(|c| match (json.iter().any(|j| j.as_str() == c.as_str()), postgres) {
            (false, _) => quoted(c),
            (true, true) => format!("{}::json", quoted(c)),
            (true, false) => format!("json({})", quoted(c)),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let condition = match (keys, postgres) {
        // An array, not a subquery: PostgreSQL cannot tell how many keys a
        // function returns (it assumes 100), and then read the whole table
        // of a product's tags or schema versions to find one product's.
        (Keys::In(_), true) => "= ANY(ARRAY(SELECT json_array_elements_text($1::json)))",
        (Keys::In(_), false) => "IN (SELECT value FROM json_each(?))",
        (Keys::Between(..), true) => "BETWEEN $1 AND $2",
        (Keys::Between(..), false) => "BETWEEN ? AND ?",
    };
    let inner = format!(
        "SELECT {}{list} FROM \"{}\" WHERE {} {condition}",
        if distinct { "DISTINCT " } else { "" },
        E::default().table_name(),
        quoted(&key),
    );
    match backend {
        DbBackend::Postgres => {
            format!("SELECT COALESCE(json_agg(json_build_array({values})), '[]')::text FROM ({inner}) AS r")
        }
        _ => format!("SELECT json_group_array(json_array({values})) FROM ({inner})"),
    }
}
