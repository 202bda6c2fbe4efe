//! An index on when a product last changed: every start-up reconciles the
//! search index with the products changed since its last commit, and
//! without it that read the whole product table (a million rows at a
//! million products).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum DataProduct {
    Table,
    UpdatedAt,
}

const NAME: &str = "idx_data_product_updated_at";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(NAME)
                    .table(DataProduct::Table)
                    .col(DataProduct::UpdatedAt)
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
