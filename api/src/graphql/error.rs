//! Domain errors as GraphQL errors: the message plus a stable
//! `extensions.code` (and the list of incompatibilities for
//! INCOMPATIBLE_SCHEMA).

use async_graphql::{ErrorExtensions, Value};

use crate::catalog::CatalogError;
use crate::search::SearchError;
use crate::stream::StreamError;

impl ErrorExtensions for CatalogError {
    fn extend(&self) -> async_graphql::Error {
        async_graphql::Error::new(self.to_string()).extend_with(|_, e| {
            e.set("code", self.code());
            if let CatalogError::IncompatibleSchema { incompatibilities, .. } = self {
                let list = incompatibilities
                    .iter()
                    .map(|i| {
                        let mut m = async_graphql::indexmap::IndexMap::new();
                        m.insert(async_graphql::Name::new("path"), Value::from(i.path.clone()));
                        m.insert(async_graphql::Name::new("message"), Value::from(i.message.clone()));
                        m.insert(
                            async_graphql::Name::new("againstVersion"),
                            i.against_version.map_or(Value::Null, Value::from),
                        );
                        Value::Object(m)
                    })
                    .collect::<Vec<_>>();
                e.set("incompatibilities", Value::List(list));
            }
        })
    }
}

/// `?`-friendly conversion of domain results into GraphQL results.
pub trait GqlResult<T> {
    fn gql(self) -> async_graphql::Result<T>;
}

impl<T> GqlResult<T> for Result<T, CatalogError> {
    fn gql(self) -> async_graphql::Result<T> {
        self.map_err(|e| e.extend())
    }
}

/// A Kafka bridge failure: the catalog's own errors keep their code;
/// anything else means the cluster could not answer (UNAVAILABLE).
impl ErrorExtensions for StreamError {
    fn extend(&self) -> async_graphql::Error {
        match self {
            StreamError::Catalog(e) => e.extend(),
            StreamError::Store(e) => {
                tracing::error!(error = %e, "database error in the Kafka bridge");
                async_graphql::Error::new("internal error").extend_with(|_, e| e.set("code", "INTERNAL"))
            }
            other => async_graphql::Error::new(format!("Kafka is unavailable: {other}"))
                .extend_with(|_, e| e.set("code", "UNAVAILABLE")),
        }
    }
}

/// A search index failure is the server's fault (INTERNAL), logged here.
impl ErrorExtensions for SearchError {
    fn extend(&self) -> async_graphql::Error {
        tracing::error!(error = %self, "search failed");
        CatalogError::Internal(self.to_string()).extend()
    }
}

impl<T> GqlResult<T> for Result<T, SearchError> {
    fn gql(self) -> async_graphql::Result<T> {
        self.map_err(|e| e.extend())
    }
}

impl<T> GqlResult<T> for Result<T, StreamError> {
    fn gql(self) -> async_graphql::Result<T> {
        self.map_err(|e| e.extend())
    }
}

/// Gives every error of a response a code: errors raised by async-graphql
/// itself (syntax, unknown fields, bad arguments, depth and complexity
/// limits) are the caller's request being invalid, so VALIDATION. Resolver
/// errors already carry the code of their `CatalogError`.
pub fn ensure_codes(response: &mut async_graphql::Response) {
    for error in &mut response.errors {
        let extensions = error.extensions.get_or_insert_with(Default::default);
        if extensions.get("code").is_none() {
            extensions.set("code", "VALIDATION");
        }
    }
}
