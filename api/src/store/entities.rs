//! sea-orm entities, one module per table (see `migrations/` for the DDL).
//!
//! Enumerations are stored as their GraphQL spelling (`PUBLISHED`, `AVRO`…)
//! and JSON values as text, so SQLite and PostgreSQL rows look the same.
//! Rows (de)serialise with serde as objects keyed by column name: the
//! export document of [`super::transfer`].

macro_rules! entity {
    ($table:literal, $($body:tt)*) => {
        use sea_orm::entity::prelude::*;
        #[allow(unused_imports)]
        use crate::values::*;

        #[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
        #[sea_orm(table_name = $table)]
        #[serde(deny_unknown_fields)]
        pub struct Model { $($body)* }

        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}

        impl ActiveModelBehavior for ActiveModel {}
    };
}

pub mod team {
    entity!("team",
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub name: String,
        pub description: String,
        pub created_at: DateTimeUtc,
    );
}

pub mod team_member {
    entity!("team_member",
        #[sea_orm(primary_key, auto_increment = false)]
        pub team_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: String,
        pub added_at: DateTimeUtc,
    );
}

pub mod domain {
    entity!("domain",
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub name: String,
        pub description: String,
        pub owner_team_id: String,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    );
}

pub mod data_product {
    entity!("data_product",
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub qualified_name: String,
        pub domain_id: String,
        pub name: String,
        pub display_name: String,
        pub description: String,
        pub owner_team_id: String,
        /// JSON array of `catalog::Contact`.
        pub contacts: String,
        pub status: ProductStatus,
        pub deprecation_reason: Option<String>,
        /// ISO date (YYYY-MM-DD).
        pub sunset_date: Option<String>,
        /// The product consumers should move to, when deprecated.
        #[serde(default)]
        pub successor_id: Option<String>,
        pub visibility: Visibility,
        pub compatibility: String,
        pub topic_name: String,
        pub topic_partitions: i32,
        pub topic_retention_ms: i64,
        pub topic_cleanup_policy: CleanupPolicy,
        pub sla_tier: Option<SlaTier>,
        pub sla_availability_percent: Option<f64>,
        pub sla_max_freshness_seconds: Option<i64>,
        pub sla_max_latency_ms: Option<i64>,
        pub sla_retention_days: Option<i32>,
        pub sla_support_hours: Option<String>,
        pub sla_on_call: Option<String>,
        pub quality_class: QualityClass,
        /// Optimistic concurrency token, incremented by every change.
        pub version: i32,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    );
}

pub mod product_tag {
    entity!("product_tag",
        #[sea_orm(primary_key, auto_increment = false)]
        pub product_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub tag: String,
    );
}

pub mod schema_version {
    entity!("schema_version",
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub product_id: String,
        pub version: i32,
        pub format: String,
        pub definition: String,
        pub canonical: String,
        /// JSON array of `catalog::schema::SchemaField`.
        pub fields: String,
        pub created_by: String,
        pub created_at: DateTimeUtc,
    );

    use sea_orm::sea_query::{Alias, Query};
    use sea_orm::ExprTrait;

    /// The condition `versions` (on this table) and "is the latest version
    /// of its product": no later version of the product exists. One probe
    /// of the (product, version) index per version read; the older
    /// versions' definitions are not read. (A product has a few versions,
    /// so reading its versions' index entries costs little, and a range of
    /// products is read as one range of the index.)
    pub fn latest_of(versions: Expr) -> Expr {
        let later = Alias::new("later");
        let exists = Query::select()
            .expr(Expr::val(1))
            .from_as(Entity, later.clone())
            .and_where(Expr::col((later.clone(), Column::ProductId)).equals((Entity, Column::ProductId)))
            .and_where(Expr::col((later, Column::Version)).gt(Expr::col((Entity, Column::Version))))
            .to_owned();
        versions.and(Expr::exists(exists).not())
    }
}

pub mod quality_check {
    entity!("quality_check",
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub product_id: String,
        pub name: String,
        pub kind: CheckKind,
        pub description: String,
        pub threshold: Option<f64>,
        pub created_at: DateTimeUtc,
    );
}

pub mod quality_result {
    entity!("quality_result",
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub check_id: String,
        pub product_id: String,
        pub status: QualityStatus,
        pub observed_value: Option<f64>,
        pub message: Option<String>,
        pub observed_at: DateTimeUtc,
    );

    use sea_orm::sea_query::{Alias, Asterisk, IntoColumnRef, Order, Query, SelectStatement, UnionType};
    use sea_orm::ExprTrait;

    use super::quality_check;

    /// Orders `query`'s results newest first: by observation time, then the
    /// greater id (`col` names a column as the query sees it). A check's
    /// latest result is its first in this order.
    fn newest_first<C: IntoColumnRef>(query: &mut SelectStatement, col: impl Fn(Column) -> C) {
        query
            .order_by(col(Column::ObservedAt), Order::Desc)
            .order_by(col(Column::Id), Order::Desc);
    }

    /// The condition "is the latest result of a check that `checks` (a
    /// condition on `quality_check`) picks". Each check's latest is one seek
    /// on the (check, observation time) index, so it costs the same however
    /// long the check's history grows.
    pub fn latest_of(checks: Expr) -> Expr {
        let r = Alias::new("latest");
        let mut latest = Query::select()
            .column((r.clone(), Column::Id))
            .from_as(Entity, r.clone())
            .and_where(
                Expr::col((r.clone(), Column::CheckId)).equals((quality_check::Entity, quality_check::Column::Id)),
            )
            .limit(1)
            .to_owned();
        newest_first(&mut latest, |c| (r.clone(), c));
        let ids = Query::select()
            .expr(latest)
            .from(quality_check::Entity)
            .and_where(checks)
            .to_owned();
        Expr::col((Entity, Column::Id)).in_subquery(ids)
    }

    /// The `limit` newest results of each of `pages` (a check id and a
    /// limit each), newest first, in one statement: one index range per
    /// check.
    pub fn recent(pages: &[(String, u64)]) -> Option<SelectStatement> {
        let page = |(check, limit): &(String, u64)| {
            let mut newest = Query::select()
                .column(Asterisk)
                .from(Entity)
                .and_where(Column::CheckId.eq(check.as_str()))
                .limit(*limit)
                .to_owned();
            newest_first(&mut newest, |c| c);
            // A part of a compound query may not have its own ORDER BY or
            // LIMIT on SQLite, but a subquery may.
            Query::select()
                .column(Asterisk)
                .from_subquery(newest, Alias::new("page"))
                .to_owned()
        };
        let (first, rest) = pages.split_first()?;
        let mut query = page(first);
        query.unions(rest.iter().map(|p| (UnionType::All, page(p))));
        newest_first(&mut query, |c| c);
        Some(query)
    }
}

pub mod application {
    entity!("application",
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub name: String,
        pub description: String,
        pub owner_team_id: String,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    );
}

pub mod access_subscription {
    entity!("access_subscription",
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub application_id: String,
        pub product_id: String,
        pub purpose: String,
        pub status: SubscriptionStatus,
        pub requested_by: String,
        pub requested_at: DateTimeUtc,
        pub decided_by: Option<String>,
        pub decided_at: Option<DateTimeUtc>,
        pub decision_reason: Option<String>,
        /// Approved with access to PII fields of streamed records.
        pub pii_access: bool,
    );
}

pub mod lineage_edge {
    entity!("lineage_edge",
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub from_kind: NodeKind,
        pub from_id: String,
        pub to_kind: NodeKind,
        pub to_id: String,
        pub kind: EdgeKind,
        /// JSON array of `catalog::FieldMapping`.
        pub field_mappings: String,
        pub created_by: String,
        pub created_at: DateTimeUtc,
    );
}

pub mod audit_entry {
    entity!("audit_entry",
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub at: DateTimeUtc,
        pub actor: String,
        pub action: ChangeKind,
        pub entity_kind: EntityKind,
        pub entity_id: String,
        pub entity_name: String,
        pub summary: String,
    );
}

pub mod outbox {
    entity!("outbox",
        /// Relay order (auto-incremented).
        #[sea_orm(primary_key)]
        pub seq: i64,
        pub event_id: String,
        pub event_type: ChangeKind,
        pub at: DateTimeUtc,
        pub actor: String,
        pub entity_kind: EntityKind,
        /// The Kafka record key.
        pub entity_id: String,
        /// The published JSON event.
        pub payload: String,
    );
}

pub mod schema_registry_id {
    entity!("schema_registry_id",
        /// The numeric schema id of the Confluent wire format.
        #[sea_orm(primary_key)]
        pub id: i64,
        pub schema_version_id: String,
    );
}

pub mod use_case {
    entity!("use_case",
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub application_id: String,
        pub name: String,
        /// `catalog::UseCaseKind`.
        pub kind: UseCaseKind,
        pub description: String,
        pub transformation: String,
        pub created_by: String,
        pub created_at: DateTimeUtc,
    );
}

pub mod use_case_product {
    entity!("use_case_product",
        #[sea_orm(primary_key, auto_increment = false)]
        pub use_case_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub product_id: String,
        /// `INPUT` or `OUTPUT`.
        #[sea_orm(primary_key, auto_increment = false)]
        pub role: String,
    );
}
