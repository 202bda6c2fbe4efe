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
