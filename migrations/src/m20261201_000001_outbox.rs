//! The live mesh: the transactional outbox of catalog events, the numeric
//! schema ids used by the Confluent wire format, and PII access of
//! subscriptions.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// One committed catalog change waiting to be relayed to Kafka. Rows are
/// written in the transaction of the change and deleted once the broker has
/// acknowledged them; `seq` gives the relay its order.
#[derive(DeriveIden)]
enum Outbox {
    Table,
    Seq,
    EventId,
    EventType,
    At,
    Actor,
    EntityKind,
    EntityId,
    /// The whole event as JSON text (what is published).
    Payload,
}

/// A stable, global, numeric id per schema version: the id a producer puts
/// after the magic byte of the Confluent wire format. Auto-incremented by
/// the database, so concurrent registrations on several replicas never
/// collide and an id never changes once given.
#[derive(DeriveIden)]
enum SchemaRegistryId {
    Table,
    Id,
    SchemaVersionId,
}

/// `pii_access`: whether an approved subscription may read PII fields of
/// the product's records unmasked.
#[derive(DeriveIden)]
enum AccessSubscription {
    Table,
    PiiAccess,
}

#[derive(DeriveIden)]
enum SchemaVersion {
    Table,
    Id,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Outbox::Table)
                    .col(big_pk_auto(Outbox::Seq))
                    .col(string_uniq(Outbox::EventId))
                    .col(string(Outbox::EventType))
                    .col(timestamp_with_time_zone(Outbox::At))
                    .col(string(Outbox::Actor))
                    .col(string(Outbox::EntityKind))
                    .col(string(Outbox::EntityId))
                    .col(text(Outbox::Payload))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SchemaRegistryId::Table)
                    .col(big_pk_auto(SchemaRegistryId::Id))
                    .col(string_uniq(SchemaRegistryId::SchemaVersionId))
                    .take(),
            )
            .await?;
        // Existing versions get ids in registration order.
        let backfill = Query::insert()
            .into_table(SchemaRegistryId::Table)
            .columns([SchemaRegistryId::SchemaVersionId])
            .select_from(
                Query::select()
                    .column(SchemaVersion::Id)
                    .from(SchemaVersion::Table)
                    .order_by(SchemaVersion::CreatedAt, Order::Asc)
                    .order_by(SchemaVersion::Id, Order::Asc)
                    .take(),
            )
            .map_err(|e| DbErr::Migration(e.to_string()))?
            .take();
        manager.exec_stmt(backfill).await?;
        manager
            .alter_table(
                Table::alter()
                    .table(AccessSubscription::Table)
                    .add_column(boolean(AccessSubscription::PiiAccess).default(false))
                    .take(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(AccessSubscription::Table)
                    .drop_column(AccessSubscription::PiiAccess)
                    .take(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(SchemaRegistryId::Table).take())
            .await?;
        manager.drop_table(Table::drop().table(Outbox::Table).take()).await?;
        Ok(())
    }
}
