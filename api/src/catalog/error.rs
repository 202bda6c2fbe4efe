//! The domain layer's error: every variant has a stable code that the GraphQL
//! layer exposes as `extensions.code`.

use crate::store::StoreError;

use super::schema::Incompatibility;

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Validation(String),
    /// A uniqueness, state-transition or optimistic-concurrency conflict.
    #[error("{0}")]
    Conflict(String),
    #[error("{message}")]
    IncompatibleSchema {
        message: String,
        incompatibilities: Vec<Incompatibility>,
    },
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Unauthenticated(String),
    /// Overloaded for now; the same request may succeed when retried.
    #[error("{0}")]
    Unavailable(String),
    /// A failure that is not the caller's fault; details go to the log only.
    #[error("internal error")]
    Internal(String),
}

impl CatalogError {
    /// The stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            CatalogError::NotFound(_) => "NOT_FOUND",
            CatalogError::Validation(_) => "VALIDATION",
            CatalogError::Conflict(_) => "CONFLICT",
            CatalogError::IncompatibleSchema { .. } => "INCOMPATIBLE_SCHEMA",
            CatalogError::Forbidden(_) => "FORBIDDEN",
            CatalogError::Unauthenticated(_) => "UNAUTHENTICATED",
            CatalogError::Unavailable(_) => "UNAVAILABLE",
            CatalogError::Internal(_) => "INTERNAL",
        }
    }

    pub(crate) fn not_found(what: &str, key: &str) -> Self {
        CatalogError::NotFound(format!("{what} `{key}` not found"))
    }
}

impl From<StoreError> for CatalogError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Duplicate(_) => {
                CatalogError::Conflict("an entity with the same unique name already exists".into())
            }
            StoreError::Busy(e) => {
                tracing::warn!(error = %e, "database pool exhausted");
                CatalogError::Unavailable("the catalog is busy: retry shortly".into())
            }
            StoreError::Database(e) => {
                tracing::error!(error = %e, "database error");
                CatalogError::Internal(e.to_string())
            }
        }
    }
}

impl From<sea_orm::DbErr> for CatalogError {
    fn from(err: sea_orm::DbErr) -> Self {
        StoreError::from(err).into()
    }
}

/// Shorthand for domain results.
pub type Result<T, E = CatalogError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::{ConnAcquireErr, DbErr};

    #[test]
    fn an_exhausted_pool_is_unavailable_not_internal() {
        let busy = CatalogError::from(DbErr::ConnectionAcquire(ConnAcquireErr::Timeout));
        assert_eq!(busy.code(), "UNAVAILABLE");
        let broken = CatalogError::from(DbErr::Custom("disk on fire".into()));
        assert_eq!(broken.code(), "INTERNAL");
        assert_eq!(broken.to_string(), "internal error");
    }
}
