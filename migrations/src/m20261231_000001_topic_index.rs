//! An index on the topic a product is bound to: every publish and adoption
//! checks that no other product holds the topic, and without it that check
//! read the whole product table (a million rows at a million products).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum DataProduct {
    Table,
    TopicName,
}

const NAME: &str = "idx_data_product_topic_name";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(NAME)
                    .table(DataProduct::Table)
                    .col(DataProduct::TopicName)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(NAME).table(DataProduct::Table).to_owned())
            .await
    }
}
