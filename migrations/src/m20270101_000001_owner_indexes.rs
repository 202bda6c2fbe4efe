//! Indexes on who belongs to a team and what a team owns.
//!
//! Every authenticated request resolves its caller's principal
//! (`policy::Principal::resolve`): the teams of a member by user, then the
//! applications of those teams (whose approved subscriptions the caller may
//! read through). Without these indexes each request scanned both tables:
//! at 22,612 applications that scan cost a reader 2–3 ms on every request.
//! A team's products (`Team.dataProducts`) scanned the product table: 80 ms at
//! 100,000 products, 8 ms with the index.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum TeamMember {
    Table,
    UserId,
}

#[derive(DeriveIden)]
enum Application {
    Table,
    OwnerTeamId,
}

#[derive(DeriveIden)]
enum DataProduct {
    Table,
    OwnerTeamId,
}

const MEMBER_USER: &str = "ix_team_member_user";
const APPLICATION_OWNER: &str = "ix_application_owner_team";
const PRODUCT_OWNER: &str = "ix_product_owner_team";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(MEMBER_USER)
                    .table(TeamMember::Table)
                    .col(TeamMember::UserId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(APPLICATION_OWNER)
                    .table(Application::Table)
                    .col(Application::OwnerTeamId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(PRODUCT_OWNER)
                    .table(DataProduct::Table)
                    .col(DataProduct::OwnerTeamId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(PRODUCT_OWNER).table(DataProduct::Table).to_owned())
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name(APPLICATION_OWNER)
                    .table(Application::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(Index::drop().name(MEMBER_USER).table(TeamMember::Table).to_owned())
            .await
    }
}
