//! The successor of a deprecated product: the product its consumers should
//! move to (optional).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum DataProduct {
    Table,
    /// The successor's id, set when the product is deprecated.
    SuccessorId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(DataProduct::Table)
                    .add_column(string_null(DataProduct::SuccessorId))
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(DataProduct::Table)
                    .drop_column(DataProduct::SuccessorId)
                    .take(),
            )
            .await
    }
}
