//! Bulk reads by key: the rows whose key is in a set, answered by the
//! database as one row holding them as a JSON array.
//!
//! sqlx hands SQLite's rows from the connection's thread to the awaiting
//! task one at a time, and when the task keeps up, each row costs a thread
//! wake-up on both sides. A read of thousands of rows by key (a level of a
//! lineage walk, the products of an impact report) spent more time in that
//! hand-off than in SQLite. Here the database aggregates the rows into one
//! JSON value, and the keys go in as one JSON parameter: one statement for
//! any number of keys, prepared once and cached, with no bound on the
//! number of keys.

use sea_orm::{ConnectionTrait, DbBackend, DbErr, EntityTrait, IdenStatic, Statement};
use serde::de::DeserializeOwned;

/// The `columns` of the rows of `E` whose `key` is one of `keys`, each read
/// as a `T` from a JSON array of the columns' values (a tuple of the
/// columns' types; string enums read by their stored spelling), without
/// repeats with `distinct`. In no particular order.
pub async fn rows_by_key<E, T>(
    db: &impl ConnectionTrait,
    key: E::Column,
    keys: &[String],
    columns: &[E::Column],
    distinct: bool,
) -> Result<Vec<T>, DbErr>
where
    E: EntityTrait,
    T: DeserializeOwned,
{
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let backend = db.get_database_backend();
    let statement = Statement::from_sql_and_values(
        backend,
        rows_by_key_sql::<E>(backend, key, columns, distinct),
        [serde_json::to_string(keys)
            .map_err(|e| DbErr::Json(e.to_string()))?
            .into()],
    );
    let Some(row) = db.query_one_raw(statement).await? else {
        return Ok(Vec::new());
    };
    let json: String = row.try_get_by_index(0)?;
    serde_json::from_str(&json).map_err(|e| DbErr::Json(format!("bulk read of {}: {e}", E::default().table_name())))
}

/// The statement [`rows_by_key`] runs, in the backend's dialect (public so
/// that tests can read SQLite's and PostgreSQL's plans of it). Identifiers
/// come from the entities, never from input.
pub fn rows_by_key_sql<E: EntityTrait>(
    backend: DbBackend,
    key: E::Column,
    columns: &[E::Column],
    distinct: bool,
) -> String {
    let quoted = |c: &E::Column| format!("\"{}\"", c.as_str());
    let list = columns.iter().map(quoted).collect::<Vec<_>>().join(", ");
    let inner = format!(
        "SELECT {}{list} FROM \"{}\" WHERE {} {}",
        if distinct { "DISTINCT " } else { "" },
        E::default().table_name(),
        quoted(&key),
        match backend {
            // An array, not a subquery: PostgreSQL cannot tell how many keys
            // a function returns (it assumes 100), and on a table without
            // statistics yet it then read the whole table.
            DbBackend::Postgres => "= ANY(ARRAY(SELECT json_array_elements_text($1::json)))",
            _ => "IN (SELECT value FROM json_each(?))",
        }
    );
    match backend {
        DbBackend::Postgres => {
            format!("SELECT COALESCE(json_agg(json_build_array({list})), '[]')::text FROM ({inner}) AS r")
        }
        _ => format!("SELECT json_group_array(json_array({list})) FROM ({inner})"),
    }
}
