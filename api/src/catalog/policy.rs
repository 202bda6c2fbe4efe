//! Authorization: the one place that decides whether a caller may act.
//!
//! For now every change needs an authenticated caller and reads are open;
//! the authorization issue grows the rules here (team ownership, admins,
//! private products) without touching resolvers.

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::auth::{Caller, Identity};
use crate::store::entities::{access_subscription, application, data_product, team, team_member};

use super::{CatalogError, Result, SubscriptionStatus};

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

/// What a caller may see of a product's records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordAccess {
    /// PII fields unmasked: the owner team, admins, and applications
    /// approved with PII access.
    pub pii: bool,
}

/// May `caller` read the live records of `product` (`productEvents`), and
/// with PII or without?
///
/// Records are the product's data, not catalog metadata, so reading them
/// needs one of: membership of the product's owner team, or membership of
/// the owner team of an application with an APPROVED subscription to it.
/// Membership comes from the token's `teams` claim or from the catalog's own
/// team membership; the `admin` role may read everything.
pub async fn authorize_record_access(
    db: &impl ConnectionTrait,
    caller: &Caller,
    product: &data_product::Model,
) -> Result<RecordAccess> {
    let Some(identity) = caller.identity() else {
        return Err(CatalogError::Unauthenticated(
            "reading a product's records needs a bearer token".into(),
        ));
    };
    if identity.roles.iter().any(|r| r == "admin") {
        return Ok(RecordAccess { pii: true });
    }
    let approved = access_subscription::Entity::find()
        .filter(access_subscription::Column::ProductId.eq(&product.id))
        .filter(access_subscription::Column::Status.eq(SubscriptionStatus::Approved.as_str()))
        .all(db)
        .await?;
    let apps = application::Entity::find()
        .filter(application::Column::Id.is_in(approved.iter().map(|s| s.application_id.clone())))
        .all(db)
        .await?;
    let mut team_ids: Vec<String> = apps.iter().map(|a| a.owner_team_id.clone()).collect();
    team_ids.push(product.owner_team_id.clone());
    let teams = team::Entity::find()
        .filter(team::Column::Id.is_in(team_ids.clone()))
        .all(db)
        .await?;
    let memberships = team_member::Entity::find()
        .filter(team_member::Column::TeamId.is_in(team_ids))
        .filter(team_member::Column::UserId.eq(&identity.subject))
        .all(db)
        .await?;
    let member_of = |team_id: &str| {
        memberships.iter().any(|m| m.team_id == team_id)
            || teams
                .iter()
                .any(|t| t.id == team_id && identity.teams.contains(&t.name))
    };
    if member_of(&product.owner_team_id) {
        return Ok(RecordAccess { pii: true });
    }
    let granted: Vec<&access_subscription::Model> = approved
        .iter()
        .filter(|s| {
            apps.iter()
                .any(|a| a.id == s.application_id && member_of(&a.owner_team_id))
        })
        .collect();
    if granted.is_empty() {
        return Err(CatalogError::Forbidden(format!(
            "{} may not read the records of {}: only its owner team and teams of applications with an approved subscription may",
            identity.subject, product.qualified_name
        )));
    }
    Ok(RecordAccess {
        pii: granted.iter().any(|s| s.pii_access),
    })
}
