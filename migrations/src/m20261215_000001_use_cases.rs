//! Quality classes of products, and applications' use cases: how an
//! application derives output products from input products.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// `quality_class`: AUTHORITATIVE, CURATED or RAW, set by the owner.
#[derive(DeriveIden)]
enum DataProduct {
    Table,
    Id,
    QualityClass,
}

#[derive(DeriveIden)]
enum Application {
    Table,
    Id,
}

/// A use case of an application: a named transformation (ENRICH, FILTER,
/// AGGREGATE, JOIN, CUSTOM) of input products into output products.
#[derive(DeriveIden)]
enum UseCase {
    Table,
    Id,
    ApplicationId,
    Name,
    Kind,
    Description,
    /// The transformation as text, e.g. a streaming SQL statement.
    Transformation,
    CreatedBy,
    CreatedAt,
}

/// The products a use case reads (`INPUT`) and writes (`OUTPUT`).
#[derive(DeriveIden)]
enum UseCaseProduct {
    Table,
    UseCaseId,
    ProductId,
    Role,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(DataProduct::Table)
                    .add_column(string(DataProduct::QualityClass).default("RAW"))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(UseCase::Table)
                    .col(string(UseCase::Id).primary_key())
                    .col(string(UseCase::ApplicationId))
                    .col(string(UseCase::Name))
                    .col(string(UseCase::Kind))
                    .col(text(UseCase::Description))
                    .col(text(UseCase::Transformation))
                    .col(string(UseCase::CreatedBy))
                    .col(timestamp_with_time_zone(UseCase::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_use_case_application")
                            .from(UseCase::Table, UseCase::ApplicationId)
                            .to(Application::Table, Application::Id),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_use_case_name")
                    .table(UseCase::Table)
                    .col(UseCase::ApplicationId)
                    .col(UseCase::Name)
                    .unique()
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(UseCaseProduct::Table)
                    .col(string(UseCaseProduct::UseCaseId))
                    .col(string(UseCaseProduct::ProductId))
                    .col(string(UseCaseProduct::Role))
                    .primary_key(
                        Index::create()
                            .col(UseCaseProduct::UseCaseId)
                            .col(UseCaseProduct::ProductId)
                            .col(UseCaseProduct::Role),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_use_case_product_use_case")
                            .from(UseCaseProduct::Table, UseCaseProduct::UseCaseId)
                            .to(UseCase::Table, UseCase::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_use_case_product_product")
                            .from(UseCaseProduct::Table, UseCaseProduct::ProductId)
                            .to(DataProduct::Table, DataProduct::Id),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_use_case_product_product")
                    .table(UseCaseProduct::Table)
                    .col(UseCaseProduct::ProductId)
                    .take(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(UseCaseProduct::Table).take())
            .await?;
        manager.drop_table(Table::drop().table(UseCase::Table).take()).await?;
        manager
            .alter_table(
                Table::alter()
                    .table(DataProduct::Table)
                    .drop_column(DataProduct::QualityClass)
                    .take(),
            )
            .await?;
        Ok(())
    }
}
