//! The closed sets of values of the catalog (a product's status, its
//! visibility, a change's kind…), shared by every layer: one spelling for
//! GraphQL, JSON and the database, where the store's entities hold them as
//! typed columns. A spelling read from elsewhere than a column parses with
//! sea-orm's `ActiveEnum::try_from_value`.

use serde::{Deserialize, Serialize};

/// Defines a closed set of values with one spelling shared by GraphQL, JSON
/// and the database column (a typed column through `DeriveActiveEnum`).
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, async_graphql::Enum, Serialize, Deserialize,
            sea_orm::EnumIter, sea_orm::DeriveActiveEnum,
        )]
        #[sea_orm(rs_type = "String", db_type = "Text")]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] #[sea_orm(string_value = $text)] $variant),+
        }

        impl $name {
            /// The stored and wire spelling.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum! {
    /// Life cycle of a data product: DRAFT → PUBLISHED → DEPRECATED → RETIRED.
    ProductStatus { Draft = "DRAFT", Published = "PUBLISHED", Deprecated = "DEPRECATED", Retired = "RETIRED" }
}

string_enum! {
    /// Who may discover a product (enforced by the authorization issue).
    Visibility { Public = "PUBLIC", Private = "PRIVATE" }
}

string_enum! {
    /// What a product claims to be, set by its owner (the measured quality
    /// — checks, schema conformance — is separate and may disagree).
    QualityClass {
        /// The system of record for its data.
        Authoritative = "AUTHORITATIVE",
        /// Cleaned and conformed from other products.
        Curated = "CURATED",
        /// As produced, unprocessed.
        Raw = "RAW",
    }
}

string_enum! {
    /// How an application's use case derives its outputs from its inputs.
    UseCaseKind { Enrich = "ENRICH", Filter = "FILTER", Aggregate = "AGGREGATE", Join = "JOIN", Custom = "CUSTOM" }
}

string_enum! {
    /// Kafka `cleanup.policy` of the product's topic.
    CleanupPolicy { Delete = "DELETE", Compact = "COMPACT", CompactDelete = "COMPACT_DELETE" }
}

string_enum! {
    /// Service tier promised by the product's SLA.
    SlaTier { Platinum = "PLATINUM", Gold = "GOLD", Silver = "SILVER", Bronze = "BRONZE" }
}

string_enum! {
    /// What a data quality check measures.
    CheckKind {
        Completeness = "COMPLETENESS", Freshness = "FRESHNESS", Validity = "VALIDITY",
        Uniqueness = "UNIQUENESS", Volume = "VOLUME", SchemaConformance = "SCHEMA_CONFORMANCE",
        Custom = "CUSTOM",
    }
}

string_enum! {
    /// Outcome of one run of a quality check.
    QualityStatus { Pass = "PASS", Warn = "WARN", Fail = "FAIL" }
}

string_enum! {
    /// Access request life cycle: PENDING → APPROVED | REJECTED, APPROVED → REVOKED.
    SubscriptionStatus { Pending = "PENDING", Approved = "APPROVED", Rejected = "REJECTED", Revoked = "REVOKED" }
}

string_enum! {
    /// The two kinds of lineage node.
    NodeKind { Product = "PRODUCT", Application = "APPLICATION" }
}

string_enum! {
    /// Meaning of a lineage edge, implied by its endpoints: product → application
    /// (the application consumes it), application → product (it produces it),
    /// product → product (the target is derived from the source).
    EdgeKind { Consumes = "CONSUMES", Produces = "PRODUCES", DerivedFrom = "DERIVED_FROM" }
}

string_enum! {
    /// Which way to walk the lineage graph.
    Direction { Upstream = "UPSTREAM", Downstream = "DOWNSTREAM", Both = "BOTH" }
}

string_enum! {
    /// What a catalog change did; also the audit log's action.
    ChangeKind {
        TeamCreated = "TEAM_CREATED", TeamMemberAdded = "TEAM_MEMBER_ADDED",
        DomainCreated = "DOMAIN_CREATED", ProductPublished = "PRODUCT_PUBLISHED",
        ProductUpdated = "PRODUCT_UPDATED", SchemaRegistered = "SCHEMA_REGISTERED",
        ProductDeprecated = "PRODUCT_DEPRECATED", ProductRetired = "PRODUCT_RETIRED",
        ApplicationCreated = "APPLICATION_CREATED", AccessRequested = "ACCESS_REQUESTED",
        AccessApproved = "ACCESS_APPROVED", AccessRejected = "ACCESS_REJECTED",
        AccessRevoked = "ACCESS_REVOKED", QualityResultRecorded = "QUALITY_RESULT_RECORDED",
        LineageAdded = "LINEAGE_ADDED", LineageRemoved = "LINEAGE_REMOVED",
        ProductStale = "PRODUCT_STALE", ProductFresh = "PRODUCT_FRESH",
        UseCaseRegistered = "USE_CASE_REGISTERED", UseCaseRemoved = "USE_CASE_REMOVED",
        /// A refused mutation (audit only; never a committed change).
        Denied = "DENIED",
    }
}

string_enum! {
    /// Kind of entity a change or audit entry is about.
    EntityKind {
        Team = "TEAM", Domain = "DOMAIN", Product = "PRODUCT", Application = "APPLICATION",
        Subscription = "SUBSCRIPTION", LineageEdge = "LINEAGE_EDGE", UseCase = "USE_CASE",
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::ActiveEnum;

    use super::*;

    #[test]
    fn enums_decode_their_own_spelling() {
        for s in [ProductStatus::Draft, ProductStatus::Retired] {
            assert_eq!(ProductStatus::try_from_value(&s.as_str().to_owned()).unwrap(), s);
        }
        assert!(ProductStatus::try_from_value(&"nope".to_owned()).is_err());
    }
}
