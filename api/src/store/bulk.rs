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
        sql::<E>(backend, key, columns, distinct),
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

/// The statement of [`rows_by_key`] in the backend's dialect. Identifiers
/// come from the entities, never from input.
fn sql<E: EntityTrait>(backend: DbBackend, key: E::Column, columns: &[E::Column], distinct: bool) -> String {
    let quoted = |c: &E::Column| format!("\"{}\"", c.as_str());
    let list = columns.iter().map(quoted).collect::<Vec<_>>().join(", ");
    let inner = format!(
        "SELECT {}{list} FROM \"{}\" WHERE {} IN ({})",
        if distinct { "DISTINCT " } else { "" },
        E::default().table_name(),
        quoted(&key),
        match backend {
            DbBackend::Postgres => "SELECT json_array_elements_text($1::json)",
            _ => "SELECT value FROM json_each(?)",
        }
    );
    match backend {
        DbBackend::Postgres => {
            format!("SELECT COALESCE(json_agg(json_build_array({list})), '[]')::text FROM ({inner}) AS r")
        }
        _ => format!("SELECT json_group_array(json_array({list})) FROM ({inner})"),
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};

    use super::sql;
    use crate::store::entities::{application, data_product, lineage_edge};
    use crate::store::Store;

    /// SQLite reads the rows by the key's index, once per key, whatever
    /// the number of keys (never a scan of the table).
    #[tokio::test]
    async fn sqlite_reads_by_the_keys_index() {
        let dir = std::env::temp_dir().join(format!("mesh-bulk-plan-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = Store::open(&format!("sqlite://{}", dir.join("c.db").display()))
            .await
            .unwrap();
        let statements = [
            (
                "data_product",
                sql::<data_product::Entity>(
                    DbBackend::Sqlite,
                    data_product::Column::Id,
                    &[data_product::Column::Id, data_product::Column::Name],
                    false,
                ),
            ),
            (
                "application",
                sql::<application::Entity>(
                    DbBackend::Sqlite,
                    application::Column::Id,
                    &[application::Column::Id],
                    false,
                ),
            ),
            (
                "lineage_edge",
                sql::<lineage_edge::Entity>(
                    DbBackend::Sqlite,
                    lineage_edge::Column::FromId,
                    &[lineage_edge::Column::ToId, lineage_edge::Column::ToKind],
                    true,
                ),
            ),
        ];
        for (table, statement) in statements {
            let plan: Vec<String> = store
                .db()
                .query_all_raw(Statement::from_sql_and_values(
                    DbBackend::Sqlite,
                    format!("EXPLAIN QUERY PLAN {statement}"),
                    ["[\"a\",\"b\"]".into()],
                ))
                .await
                .unwrap()
                .iter()
                .map(|row| row.try_get::<String>("", "detail").unwrap())
                .collect();
            assert!(
                plan.iter().any(|d| d.starts_with(&format!("SEARCH {table} USING"))),
                "{table}: {plan:?}"
            );
            assert!(
                !plan.iter().any(|d| d.starts_with(&format!("SCAN {table}"))),
                "{table}: {plan:?}"
            );
        }
        drop(store);
        std::fs::remove_dir_all(&dir).ok();
    }
}
