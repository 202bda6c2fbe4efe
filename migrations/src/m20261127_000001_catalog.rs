//! The catalog model: teams, domains, data products with schema versions and
//! quality checks, applications, access subscriptions, lineage and audit.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Team {
    Table,
    Id,
    Name,
    Description,
    CreatedAt,
}

#[derive(DeriveIden)]
enum TeamMember {
    Table,
    TeamId,
    UserId,
    AddedAt,
}

#[derive(DeriveIden)]
enum Domain {
    Table,
    Id,
    Name,
    Description,
    OwnerTeamId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum DataProduct {
    Table,
    Id,
    QualifiedName,
    DomainId,
    Name,
    DisplayName,
    Description,
    OwnerTeamId,
    Contacts,
    Status,
    DeprecationReason,
    SunsetDate,
    Visibility,
    Compatibility,
    TopicName,
    TopicPartitions,
    TopicRetentionMs,
    TopicCleanupPolicy,
    SlaTier,
    SlaAvailabilityPercent,
    SlaMaxFreshnessSeconds,
    SlaMaxLatencyMs,
    SlaRetentionDays,
    SlaSupportHours,
    SlaOnCall,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ProductTag {
    Table,
    ProductId,
    Tag,
}

#[derive(DeriveIden)]
enum SchemaVersion {
    Table,
    Id,
    ProductId,
    Version,
    Format,
    Definition,
    Canonical,
    Fields,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum QualityCheck {
    Table,
    Id,
    ProductId,
    Name,
    Kind,
    Description,
    Threshold,
    CreatedAt,
}

#[derive(DeriveIden)]
enum QualityResult {
    Table,
    Id,
    CheckId,
    ProductId,
    Status,
    ObservedValue,
    Message,
    ObservedAt,
}

#[derive(DeriveIden)]
enum Application {
    Table,
    Id,
    Name,
    Description,
    OwnerTeamId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum AccessSubscription {
    Table,
    Id,
    ApplicationId,
    ProductId,
    Purpose,
    Status,
    RequestedBy,
    RequestedAt,
    DecidedBy,
    DecidedAt,
    DecisionReason,
}

#[derive(DeriveIden)]
enum LineageEdge {
    Table,
    Id,
    FromKind,
    FromId,
    ToKind,
    ToId,
    Kind,
    FieldMappings,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AuditEntry {
    Table,
    Id,
    At,
    Actor,
    Action,
    EntityKind,
    EntityId,
    EntityName,
    Summary,
}

fn id(col: impl IntoIden) -> ColumnDef {
    string(col).primary_key().take()
}

fn fk(
    name: &str,
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(ForeignKeyAction::Cascade)
        .take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Team::Table)
                    .col(id(Team::Id))
                    .col(string_uniq(Team::Name))
                    .col(text(Team::Description))
                    .col(timestamp_with_time_zone(Team::CreatedAt))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TeamMember::Table)
                    .col(string(TeamMember::TeamId))
                    .col(string(TeamMember::UserId))
                    .col(timestamp_with_time_zone(TeamMember::AddedAt))
                    .primary_key(Index::create().col(TeamMember::TeamId).col(TeamMember::UserId))
                    .foreign_key(&mut fk(
                        "fk_team_member_team",
                        (TeamMember::Table, TeamMember::TeamId),
                        (Team::Table, Team::Id),
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Domain::Table)
                    .col(id(Domain::Id))
                    .col(string_uniq(Domain::Name))
                    .col(text(Domain::Description))
                    .col(string(Domain::OwnerTeamId))
                    .col(timestamp_with_time_zone(Domain::CreatedAt))
                    .col(timestamp_with_time_zone(Domain::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_domain_team",
                        (Domain::Table, Domain::OwnerTeamId),
                        (Team::Table, Team::Id),
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(DataProduct::Table)
                    .col(id(DataProduct::Id))
                    .col(string_uniq(DataProduct::QualifiedName))
                    .col(string(DataProduct::DomainId))
                    .col(string(DataProduct::Name))
                    .col(string(DataProduct::DisplayName))
                    .col(text(DataProduct::Description))
                    .col(string(DataProduct::OwnerTeamId))
                    .col(text(DataProduct::Contacts))
                    .col(string(DataProduct::Status))
                    .col(text_null(DataProduct::DeprecationReason))
                    .col(string_null(DataProduct::SunsetDate))
                    .col(string(DataProduct::Visibility))
                    .col(string(DataProduct::Compatibility))
                    .col(string(DataProduct::TopicName))
                    .col(integer(DataProduct::TopicPartitions))
                    .col(big_integer(DataProduct::TopicRetentionMs))
                    .col(string(DataProduct::TopicCleanupPolicy))
                    .col(string_null(DataProduct::SlaTier))
                    .col(double_null(DataProduct::SlaAvailabilityPercent))
                    .col(big_integer_null(DataProduct::SlaMaxFreshnessSeconds))
                    .col(big_integer_null(DataProduct::SlaMaxLatencyMs))
                    .col(integer_null(DataProduct::SlaRetentionDays))
                    .col(string_null(DataProduct::SlaSupportHours))
                    .col(string_null(DataProduct::SlaOnCall))
                    .col(integer(DataProduct::Version))
                    .col(timestamp_with_time_zone(DataProduct::CreatedAt))
                    .col(timestamp_with_time_zone(DataProduct::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_product_domain",
                        (DataProduct::Table, DataProduct::DomainId),
                        (Domain::Table, Domain::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_product_team",
                        (DataProduct::Table, DataProduct::OwnerTeamId),
                        (Team::Table, Team::Id),
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_product_domain")
                    .table(DataProduct::Table)
                    .col(DataProduct::DomainId)
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ProductTag::Table)
                    .col(string(ProductTag::ProductId))
                    .col(string(ProductTag::Tag))
                    .primary_key(Index::create().col(ProductTag::ProductId).col(ProductTag::Tag))
                    .foreign_key(&mut fk(
                        "fk_tag_product",
                        (ProductTag::Table, ProductTag::ProductId),
                        (DataProduct::Table, DataProduct::Id),
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_tag_tag")
                    .table(ProductTag::Table)
                    .col(ProductTag::Tag)
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SchemaVersion::Table)
                    .col(id(SchemaVersion::Id))
                    .col(string(SchemaVersion::ProductId))
                    .col(integer(SchemaVersion::Version))
                    .col(string(SchemaVersion::Format))
                    .col(text(SchemaVersion::Definition))
                    .col(text(SchemaVersion::Canonical))
                    .col(text(SchemaVersion::Fields))
                    .col(string(SchemaVersion::CreatedBy))
                    .col(timestamp_with_time_zone(SchemaVersion::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_schema_product",
                        (SchemaVersion::Table, SchemaVersion::ProductId),
                        (DataProduct::Table, DataProduct::Id),
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_schema_product_version")
                    .table(SchemaVersion::Table)
                    .col(SchemaVersion::ProductId)
                    .col(SchemaVersion::Version)
                    .unique()
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(QualityCheck::Table)
                    .col(id(QualityCheck::Id))
                    .col(string(QualityCheck::ProductId))
                    .col(string(QualityCheck::Name))
                    .col(string(QualityCheck::Kind))
                    .col(text(QualityCheck::Description))
                    .col(double_null(QualityCheck::Threshold))
                    .col(timestamp_with_time_zone(QualityCheck::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_check_product",
                        (QualityCheck::Table, QualityCheck::ProductId),
                        (DataProduct::Table, DataProduct::Id),
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_check_product_name")
                    .table(QualityCheck::Table)
                    .col(QualityCheck::ProductId)
                    .col(QualityCheck::Name)
                    .unique()
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(QualityResult::Table)
                    .col(id(QualityResult::Id))
                    .col(string(QualityResult::CheckId))
                    .col(string(QualityResult::ProductId))
                    .col(string(QualityResult::Status))
                    .col(double_null(QualityResult::ObservedValue))
                    .col(text_null(QualityResult::Message))
                    .col(timestamp_with_time_zone(QualityResult::ObservedAt))
                    .foreign_key(&mut fk(
                        "fk_result_check",
                        (QualityResult::Table, QualityResult::CheckId),
                        (QualityCheck::Table, QualityCheck::Id),
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_result_check_time")
                    .table(QualityResult::Table)
                    .col(QualityResult::CheckId)
                    .col(QualityResult::ObservedAt)
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_result_product")
                    .table(QualityResult::Table)
                    .col(QualityResult::ProductId)
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Application::Table)
                    .col(id(Application::Id))
                    .col(string_uniq(Application::Name))
                    .col(text(Application::Description))
                    .col(string(Application::OwnerTeamId))
                    .col(timestamp_with_time_zone(Application::CreatedAt))
                    .col(timestamp_with_time_zone(Application::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_application_team",
                        (Application::Table, Application::OwnerTeamId),
                        (Team::Table, Team::Id),
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AccessSubscription::Table)
                    .col(id(AccessSubscription::Id))
                    .col(string(AccessSubscription::ApplicationId))
                    .col(string(AccessSubscription::ProductId))
                    .col(text(AccessSubscription::Purpose))
                    .col(string(AccessSubscription::Status))
                    .col(string(AccessSubscription::RequestedBy))
                    .col(timestamp_with_time_zone(AccessSubscription::RequestedAt))
                    .col(string_null(AccessSubscription::DecidedBy))
                    .col(timestamp_with_time_zone_null(AccessSubscription::DecidedAt))
                    .col(text_null(AccessSubscription::DecisionReason))
                    .foreign_key(&mut fk(
                        "fk_sub_application",
                        (AccessSubscription::Table, AccessSubscription::ApplicationId),
                        (Application::Table, Application::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_sub_product",
                        (AccessSubscription::Table, AccessSubscription::ProductId),
                        (DataProduct::Table, DataProduct::Id),
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_sub_product")
                    .table(AccessSubscription::Table)
                    .col(AccessSubscription::ProductId)
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_sub_application")
                    .table(AccessSubscription::Table)
                    .col(AccessSubscription::ApplicationId)
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(LineageEdge::Table)
                    .col(id(LineageEdge::Id))
                    .col(string(LineageEdge::FromKind))
                    .col(string(LineageEdge::FromId))
                    .col(string(LineageEdge::ToKind))
                    .col(string(LineageEdge::ToId))
                    .col(string(LineageEdge::Kind))
                    .col(text(LineageEdge::FieldMappings))
                    .col(string(LineageEdge::CreatedBy))
                    .col(timestamp_with_time_zone(LineageEdge::CreatedAt))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_lineage_endpoints")
                    .table(LineageEdge::Table)
                    .col(LineageEdge::FromId)
                    .col(LineageEdge::ToId)
                    .unique()
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_lineage_to")
                    .table(LineageEdge::Table)
                    .col(LineageEdge::ToId)
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuditEntry::Table)
                    .col(id(AuditEntry::Id))
                    .col(timestamp_with_time_zone(AuditEntry::At))
                    .col(string(AuditEntry::Actor))
                    .col(string(AuditEntry::Action))
                    .col(string(AuditEntry::EntityKind))
                    .col(string(AuditEntry::EntityId))
                    .col(string(AuditEntry::EntityName))
                    .col(text(AuditEntry::Summary))
                    .take(),
            )
            .await?;
        for (name, col) in [
            ("ix_audit_at", AuditEntry::At),
            ("ix_audit_actor", AuditEntry::Actor),
            ("ix_audit_entity", AuditEntry::EntityId),
        ] {
            manager
                .create_index(Index::create().name(name).table(AuditEntry::Table).col(col).take())
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AuditEntry::Table.into_iden(),
            LineageEdge::Table.into_iden(),
            AccessSubscription::Table.into_iden(),
            Application::Table.into_iden(),
            QualityResult::Table.into_iden(),
            QualityCheck::Table.into_iden(),
            SchemaVersion::Table.into_iden(),
            ProductTag::Table.into_iden(),
            DataProduct::Table.into_iden(),
            Domain::Table.into_iden(),
            TeamMember::Table.into_iden(),
            Team::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).take()).await?;
        }
        Ok(())
    }
}
