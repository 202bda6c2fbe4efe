//! Domain value types: names that can only be built through `parse`, so
//! invalid values never reach storage, and the small records stored as JSON.
//! The enumerations are in [`crate::values`], re-exported here.

use serde::{Deserialize, Serialize};

use super::CatalogError;
pub use crate::values::*;

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
}
