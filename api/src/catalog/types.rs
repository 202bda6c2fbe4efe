//! Domain value types: enumerations stored as text, and names that can only
//! be built through `parse`, so invalid values never reach storage.

use serde::{Deserialize, Serialize};

use super::CatalogError;

/// Defines a closed set of values with one spelling shared by GraphQL, JSON
/// and the database column.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, async_graphql::Enum, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// The stored and wire spelling.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }

            /// Reads a stored value; an unknown one means a corrupt row.
            pub fn decode(text: &str) -> Result<Self, CatalogError> {
                match text {
                    $($text => Ok(Self::$variant),)+
                    other => Err(CatalogError::Internal(format!(
                        "unknown {} value `{other}` in the database", stringify!($name)
                    ))),
                }
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

/// A lowercase identifier: a letter, then letters, digits and `-`, 2–63
/// characters. Used for team, domain, product and application names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Name(String);

impl Name {
    pub fn parse(what: &str, raw: &str) -> Result<Self, CatalogError> {
        let ok = (2..=63).contains(&raw.len())
            && raw.starts_with(|c: char| c.is_ascii_lowercase())
            && raw
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !raw.ends_with('-');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(CatalogError::Validation(format!(
                "invalid {what} `{raw}`: use 2–63 lowercase letters, digits and `-`, starting with a letter"
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `<domain>.<name>`: the unique, human name of a data product.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QualifiedName {
    pub domain: Name,
    pub name: Name,
}

impl QualifiedName {
    pub fn new(domain: Name, name: Name) -> Self {
        Self { domain, name }
    }

    pub fn parse(raw: &str) -> Result<Self, CatalogError> {
        let (domain, name) = raw.split_once('.').ok_or_else(|| {
            CatalogError::Validation(format!("invalid qualified name `{raw}`: expected `<domain>.<name>`"))
        })?;
        Ok(Self::new(
            Name::parse("domain name", domain)?,
            Name::parse("product name", name)?,
        ))
    }
}

impl std::fmt::Display for QualifiedName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.domain.as_str(), self.name.as_str())
    }
}

/// A person to reach about a product.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, async_graphql::SimpleObject, async_graphql::InputObject)]
#[graphql(input_name = "ContactInput")]
pub struct Contact {
    pub name: String,
    pub email: String,
    pub role: Option<String>,
}

/// A field of one product mapped to a field of another along a lineage edge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, async_graphql::SimpleObject, async_graphql::InputObject)]
#[graphql(input_name = "FieldMappingInput")]
pub struct FieldMapping {
    pub from: String,
    pub to: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_validated() {
        assert!(Name::parse("x", "orders").is_ok());
        assert!(Name::parse("x", "order-events-v1").is_ok());
        for bad in [
            "",
            "o",
            "Orders",
            "1orders",
            "orders_x",
            "orders-",
            "a.b",
            &"a".repeat(64),
        ] {
            assert!(Name::parse("x", bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn qualified_names_round_trip() {
        let q = QualifiedName::parse("orders.order-events").unwrap();
        assert_eq!(q.to_string(), "orders.order-events");
        assert!(QualifiedName::parse("orders").is_err());
        assert!(QualifiedName::parse("orders.a.b").is_err());
    }

    #[test]
    fn enums_decode_their_own_spelling() {
        for s in [ProductStatus::Draft, ProductStatus::Retired] {
            assert_eq!(ProductStatus::decode(s.as_str()).unwrap(), s);
        }
        assert!(ProductStatus::decode("nope").is_err());
    }
}
