//! Mesh Catalog: a GraphQL catalog and discovery API for an event-stream
//! data mesh.
//!
//! Layers, with arrows pointing one way: [`graphql`] (resolvers, loaders,
//! HTTP) → [`catalog`] (domain rules, policy, schema compatibility) →
//! [`store`] (sea-orm), [`search`] (tantivy, fed by the catalog's
//! after-commit hook) and [`stream`] (Kafka: topics, outbox relay, live
//! feeds). [`config`], [`auth`] and [`startup`] sit beside them; [`memory`] is
//! the process's page size and when the allocator returns freed pages
//! (`serve`'s start-up, then after).

pub mod auth;
pub mod catalog;
pub mod config;
pub mod demo;
pub mod graphql;
pub mod memory;
pub mod search;
pub mod startup;
pub mod store;
pub mod stream;
pub mod telemetry;
pub mod values;
