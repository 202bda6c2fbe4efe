//! Database migrations of Mesh Catalog.
//!
//! The same migrations run on SQLite (the embedded default) and PostgreSQL
//! (production). They run at server start-up and with `mesh-catalog migrate`.
//! Identifiers are UUIDv7 strings and structured values (contacts, field
//! lists, mappings) are JSON text, so both backends store them identically.

pub use sea_orm_migration::prelude::*;

mod m20261127_000001_catalog;
mod m20261201_000001_outbox;
mod m20261215_000001_use_cases;
mod m20261230_000001_successor;
mod m20261231_000001_topic_index;
mod m20270101_000001_owner_indexes;
mod m20270102_000001_updated_index;

/// Every migration, oldest first.
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261127_000001_catalog::Migration),
            Box::new(m20261201_000001_outbox::Migration),
            Box::new(m20261215_000001_use_cases::Migration),
            Box::new(m20261230_000001_successor::Migration),
            Box::new(m20261231_000001_topic_index::Migration),
            Box::new(m20270101_000001_owner_indexes::Migration),
            Box::new(m20270102_000001_updated_index::Migration),
        ]
    }
}

/// A migration that creates single-column indexes, each `(index, table,
/// column)`, and drops them in reverse order on the way down. Its name is
/// its file's, as every migration's.
macro_rules! index_migration {
    ($($index:literal on $table:literal ( $column:literal )),+ $(,)?) => {
        use sea_orm_migration::prelude::*;

        #[derive(DeriveMigrationName)]
        pub struct Migration;

        const INDEXES: &[(&str, &str, &str)] = &[$(($index, $table, $column)),+];

        #[async_trait::async_trait]
        impl MigrationTrait for Migration {
            async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
                for &(name, table, column) in INDEXES {
                    manager
                        .create_index(
                            Index::create()
                                .name(name)
                                .table(Alias::new(table))
                                .col(Alias::new(column))
                                .to_owned(),
                        )
                        .await?;
                }
                Ok(())
            }

            async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
                for &(name, table, _) in INDEXES.iter().rev() {
                    manager
                        .drop_index(Index::drop().name(name).table(Alias::new(table)).to_owned())
                        .await?;
                }
                Ok(())
            }
        }
    };
}
pub(crate) use index_migration;

#[cfg(test)]
mod tests {
    use super::*;

    /// A migration's name is what a database records as applied: a name
    /// that changed would run the migration again on every catalog.
    #[test]
    fn names_are_the_files() {
        let names: Vec<String> = Migrator::migrations().iter().map(|m| m.name().to_owned()).collect();
        assert_eq!(
            names,
            [
                "m20261127_000001_catalog",
                "m20261201_000001_outbox",
                "m20261215_000001_use_cases",
                "m20261230_000001_successor",
                "m20261231_000001_topic_index",
                "m20270101_000001_owner_indexes",
                "m20270102_000001_updated_index",
            ]
        );
    }
}
