//! Which Kafka topics a data product may be bound to, and by whom.
//!
//! - **Reserved topics** are never a product's topic, never offered for
//!   adoption and never streamed: Kafka's internal topics (names starting
//!   with `_`, e.g. `__consumer_offsets`), the catalog's own
//!   `mesh.catalog.events`, and the deployment's list
//!   (`MESH_RESERVED_TOPICS`: exact names, or prefixes ending with `*`).
//!   Binding one would let a domain member read, through `productEvents`,
//!   what the topic carries about products they may not see.
//! - **Domain namespaces**: a topic named `<d>.…`, where `<d>` is the name
//!   of an existing domain, belongs to that domain. A product of another
//!   domain may bind it only when the caller is an admin or a member of
//!   domain `<d>`'s owner team (so nobody can squat a name another domain
//!   will need). A product's topic defaults to its qualified name, which is
//!   always in its own namespace. Other names (legacy topics such as
//!   `legacy-clicks`) may be bound by any member of the product's domain.
//! - **One product per topic**: a topic bound to another product is refused
//!   with `CONFLICT`; the refusal names that product only when the caller
//!   may see it.

use std::sync::Arc;

use super::outbox::CATALOG_EVENTS_TOPIC;

/// The reserved topic names and prefixes (see the module comment).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReservedTopics {
    /// The deployment's own: exact names, or prefixes ending with `*`.
    extra: Arc<[String]>,
}

impl ReservedTopics {
    pub fn new(extra: impl IntoIterator<Item = String>) -> Self {
        Self {
            extra: extra.into_iter().filter(|e| !e.trim().is_empty()).collect(),
        }
    }

    /// Whether `topic` is reserved.
    pub fn contains(&self, topic: &str) -> bool {
        topic.starts_with('_')
            || topic == CATALOG_EVENTS_TOPIC
            || self.extra.iter().any(|entry| match entry.strip_suffix('*') {
                Some(prefix) => topic.starts_with(prefix),
                None => topic == entry,
            })
    }
}

/// The domain whose namespace a topic name is in, if its first
/// dot-separated segment names one (the caller checks that it exists).
pub fn namespace(topic: &str) -> Option<&str> {
    topic.split_once('.').map(|(first, _)| first).filter(|d| !d.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_topics() {
        let reserved = ReservedTopics::new(["audit-log".to_owned(), "connect-*".to_owned(), " ".to_owned()]);
        for topic in [
            "__consumer_offsets",
            "_schemas",
            "mesh.catalog.events",
            "audit-log",
            "connect-configs",
        ] {
            assert!(reserved.contains(topic), "{topic}");
        }
        for topic in [
            "orders.order-events",
            "mesh.catalog.events-copy",
            "audit-log-2",
            "web_page-views",
            "",
        ] {
            assert!(!reserved.contains(topic), "{topic}");
        }
    }

    #[test]
    fn namespaces() {
        assert_eq!(namespace("payments.ledger"), Some("payments"));
        assert_eq!(namespace("payments.a.b"), Some("payments"));
        assert_eq!(namespace("legacy-clicks"), None);
        assert_eq!(namespace(".hidden"), None);
    }
}
