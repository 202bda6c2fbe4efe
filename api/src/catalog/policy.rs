//! Authorization: the one place that decides whether a caller may act.
//!
//! For now every change needs an authenticated caller and reads are open;
//! the authorization issue grows the rules here (team ownership, admins,
//! private products) without touching resolvers.

use crate::auth::{Caller, Identity};

use super::{CatalogError, Result};

/// Something a caller wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Any catalog mutation.
    Change,
    /// Reading the audit log.
    ReadAudit,
}

/// Returns the acting identity, or why the action is refused.
pub fn authorize(caller: &Caller, action: Action) -> Result<&Identity> {
    match (caller.identity(), action) {
        (Some(identity), _) => Ok(identity),
        (None, Action::Change) => Err(CatalogError::Unauthenticated(
            "this operation needs a bearer token (mesh-catalog token --sub <user>)".into(),
        )),
        (None, Action::ReadAudit) => Err(CatalogError::Unauthenticated(
            "reading the audit log needs a bearer token".into(),
        )),
    }
}
