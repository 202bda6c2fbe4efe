//! Authorization: the one place that decides what a caller may see and do.
//!
//! # The rules
//!
//! - **Team membership** is the union of the token's teams claim (team names
//!   or ids) and the catalog's own `team_member` rows for the token's
//!   subject. Either source is enough: an identity provider can manage
//!   teams, or the catalog can (`addTeamMember`).
//! - **Platform admins** (role `admin`) may do and see everything.
//! - **Reading**: a PUBLIC product is visible to every authenticated caller,
//!   and to anonymous callers when anonymous reading is on (the `--demo`
//!   default; off in production). A PRIVATE product is visible only to
//!   members of its domain's team or of its owner team, to members of a team
//!   owning an application with an APPROVED subscription to it, and to
//!   admins. A hidden product does not exist for the caller: lookups answer
//!   NOT_FOUND (never FORBIDDEN), lists and counts leave it out, search
//!   filters it inside the index query (so totals and facets never count
//!   it), and lineage shows it as an opaque "restricted" node.
//! - **Subscriptions** are visible when their product is; **audit entries**:
//!   admins see all of them, others only entries about teams, domains,
//!   applications and products, subscriptions and lineage edges they can
//!   see — never refusals (`DENIED`).
//! - **Changing**: admins create teams and domains; a team's members add
//!   members to it; members of a domain's team publish, evolve (schema
//!   versions), deprecate and retire its products and record their quality
//!   results (the owner team may record quality results too); members of a
//!   product's owner team approve, reject and revoke access to it; members
//!   of an application's owner team create it and request access for it; a
//!   lineage edge may be added or removed by a member of a team owning either
//!   endpoint, when both endpoints are visible; members of an application's
//!   owner team register and remove its use cases (whose products must be
//!   visible to them).
//! - **Unadopted topics** (topics of the cluster that are no data product
//!   yet, with samples of their records): members of a team owning a domain
//!   — the people who could adopt one — and admins.
//! - **Reading a product's records** (the live stream): admins, members of
//!   the domain or owner team, and members of a team owning an application
//!   with an APPROVED subscription — PUBLIC alone is not enough; see
//!   [`may_read_records`].
//!
//! Every mutation resolves a [`Principal`] inside its transaction and asks
//! [`authorize`]; every read path gets the request's [`Principal`] and asks
//! [`can_see`], [`product_condition`] or [`search_audience`].

use std::collections::BTreeSet;

use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect, Select};

use crate::auth::Caller;
use crate::store::entities::{access_subscription, application, data_product, domain, team, team_member};

use super::topic_rules::ReservedTopics;
use super::{CatalogError, Result, SubscriptionStatus, Visibility};

/// The role of platform admins.
pub const ADMIN_ROLE: &str = "admin";

/// Deployment-wide policy switches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// Callers without a token may read PUBLIC products.
    pub anonymous_read: bool,
    /// Topics no product may be bound to or stream (see `topic_rules`).
    pub reserved_topics: ReservedTopics,
}

/// A caller with its memberships resolved from the catalog: what every
/// decision of this module looks at. Built once per request (reads) or per
/// transaction (mutations).
#[derive(Debug, Clone, Default)]
pub struct Principal {
    caller: Caller,
    admin: bool,
    anonymous_read: bool,
    /// Ids of the caller's teams.
    teams: BTreeSet<String>,
    /// Ids of the domains those teams own.
    domains: BTreeSet<String>,
    /// Ids of products an application of those teams has an APPROVED
    /// subscription to.
    subscribed: BTreeSet<String>,
}

impl Principal {
    /// Resolves the caller's teams, their domains and approved
    /// subscriptions (three small queries; none for anonymous callers).
    pub async fn resolve(db: &impl ConnectionTrait, caller: &Caller, settings: &Settings) -> Result<Self> {
        let mut principal = Principal {
            caller: caller.clone(),
            anonymous_read: settings.anonymous_read,
            ..Principal::default()
        };
        let Some(identity) = caller.identity() else {
            return Ok(principal);
        };
        principal.admin = identity.roles.iter().any(|r| r == ADMIN_ROLE);
        let claimed = identity.teams.clone();
        let teams = team::Entity::find().select_only().column(team::Column::Id).filter(
            Condition::any()
                .add(team::Column::Name.is_in(claimed.clone()))
                .add(team::Column::Id.is_in(claimed))
                .add(
                    team::Column::Id.in_subquery(
                        Query::select()
                            .column(team_member::Column::TeamId)
                            .from(team_member::Entity)
                            .and_where(team_member::Column::UserId.eq(identity.subject.as_str()))
                            .to_owned(),
                    ),
                ),
        );
        principal.teams = ids(db, teams).await?;
        if principal.teams.is_empty() {
            return Ok(principal);
        }
        let teams: Vec<String> = principal.teams.iter().cloned().collect();
        let domains = domain::Entity::find()
            .select_only()
            .column(domain::Column::Id)
            .filter(domain::Column::OwnerTeamId.is_in(teams.clone()));
        principal.domains = ids(db, domains).await?;
        let subscribed = access_subscription::Entity::find()
            .select_only()
            .column(access_subscription::Column::ProductId)
            .filter(access_subscription::Column::Status.eq(SubscriptionStatus::Approved))
            .filter(
                access_subscription::Column::ApplicationId.in_subquery(
                    Query::select()
                        .column(application::Column::Id)
                        .from(application::Entity)
                        .and_where(application::Column::OwnerTeamId.is_in(teams))
                        .to_owned(),
                ),
            );
        principal.subscribed = ids(db, subscribed).await?;
        Ok(principal)
    }

    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    /// The user id recorded as the actor of changes and refusals.
    pub fn actor(&self) -> &str {
        self.caller.identity().map_or("anonymous", |i| i.subject.as_str())
    }

    pub fn is_admin(&self) -> bool {
        self.admin
    }

    /// Whether the caller belongs to the team with this id.
    pub fn is_member(&self, team_id: &str) -> bool {
        self.teams.contains(team_id)
    }

    /// Ids of the caller's teams.
    pub fn team_ids(&self) -> impl Iterator<Item = &str> {
        self.teams.iter().map(String::as_str)
    }

    fn can_read(&self) -> bool {
        self.caller.identity().is_some() || self.anonymous_read
    }
}

/// The ids a one-column query selects.
async fn ids<E: EntityTrait>(db: &impl ConnectionTrait, query: Select<E>) -> Result<BTreeSet<String>> {
    Ok(query.into_tuple::<String>().all(db).await?.into_iter().collect())
}

/// Refuses reads by anonymous callers when anonymous reading is off.
pub fn ensure_reader(principal: &Principal) -> Result<()> {
    if principal.can_read() {
        Ok(())
    } else {
        Err(CatalogError::Unauthenticated(
            "reading the catalog needs a bearer token (anonymous access is off)".into(),
        ))
    }
}

/// Whether the caller may see a product at all (discovery).
pub fn can_see(principal: &Principal, product: &data_product::Model) -> bool {
    if principal.admin {
        return true;
    }
    principal.can_read() && (product.visibility == Visibility::Public || is_insider(principal, product))
}

/// Members of the domain team or owner team, and subscribers.
fn is_insider(principal: &Principal, product: &data_product::Model) -> bool {
    principal.domains.contains(&product.domain_id)
        || principal.teams.contains(&product.owner_team_id)
        || principal.subscribed.contains(&product.id)
}

/// Whether the caller may read the product's records (its live stream):
/// admins, members of its domain or owner team, and members of a team owning
/// an application with an APPROVED subscription. Visibility alone (PUBLIC)
/// is not enough.
pub fn may_read_records(principal: &Principal, product: &data_product::Model) -> bool {
    principal.caller.identity().is_some() && (principal.admin || is_insider(principal, product))
}

/// The products the caller may see, as a SQL condition on `data_product`
/// (`None`: every product). The SQL twin of [`can_see`].
pub fn product_condition(principal: &Principal) -> Option<Condition> {
    if principal.admin {
        return None;
    }
    if !principal.can_read() {
        return Some(Condition::all().add(data_product::Column::Id.is_in(Vec::<String>::new())));
    }
    let ids = |set: &BTreeSet<String>| set.iter().cloned().collect::<Vec<_>>();
    Some(
        Condition::any()
            .add(data_product::Column::Visibility.eq(Visibility::Public))
            .add(data_product::Column::DomainId.is_in(ids(&principal.domains)))
            .add(data_product::Column::OwnerTeamId.is_in(ids(&principal.teams)))
            .add(data_product::Column::Id.is_in(ids(&principal.subscribed))),
    )
}

/// The reader key of PUBLIC products in the search index.
pub const PUBLIC_READER: &str = "public";

/// The reader key of a team (by id) in the search index.
pub fn team_reader(team_id: &str) -> String {
    format!("team:{team_id}")
}

/// Who may find products in the search index: every product (admins), or
/// only products indexed with one of these reader keys. Applied inside the
/// index's query, so totals, facets and suggestions only ever count what
/// the caller may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    All,
    Readers(Vec<String>),
}

impl Audience {
    /// Whether a product indexed with `keys` is found by this audience.
    pub fn admits(&self, keys: &[String]) -> bool {
        match self {
            Audience::All => true,
            Audience::Readers(readers) => keys.iter().any(|k| readers.contains(k)),
        }
    }
}

/// The index twin of [`can_see`]'s facts about a product: the reader keys
/// it is indexed with — `public` when PUBLIC, and the ids of its owner
/// team, its domain's team and the owner teams of applications holding an
/// APPROVED subscription to it.
pub fn reader_keys(
    owner_team_id: &str,
    visibility: Visibility,
    domain_team: Option<&str>,
    subscriber_teams: &[String],
) -> Vec<String> {
    let mut keys = vec![team_reader(owner_team_id)];
    keys.extend(domain_team.map(team_reader));
    keys.extend(subscriber_teams.iter().map(|t| team_reader(t)));
    if visibility == Visibility::Public {
        keys.push(PUBLIC_READER.to_owned());
    }
    keys.sort();
    keys.dedup();
    keys
}

/// The search twin of [`can_see`]: the audience whose reader keys the
/// index filters on (see [`reader_keys`]).
pub fn search_audience(principal: &Principal) -> Audience {
    if principal.admin {
        return Audience::All;
    }
    let mut readers = Vec::new();
    if principal.can_read() {
        readers.push(PUBLIC_READER.to_owned());
    }
    readers.extend(principal.teams.iter().map(|t| team_reader(t)));
    Audience::Readers(readers)
}

/// Something a caller wants to change, with what the decision depends on.
#[derive(Debug, Clone, Copy)]
pub enum Action<'a> {
    CreateTeam,
    AddTeamMember {
        team: &'a team::Model,
    },
    CreateDomain,
    CreateApplication {
        owner: &'a team::Model,
    },
    /// Create, update, evolve the schema of, deprecate or retire a product
    /// of this domain.
    ChangeProduct {
        domain: &'a domain::Model,
    },
    RecordQuality {
        product: &'a data_product::Model,
    },
    RequestAccess {
        application: &'a application::Model,
    },
    /// Register or remove a use case of this application.
    ChangeApplication {
        application: &'a application::Model,
    },
    /// List the cluster's topics that are not data products yet, with
    /// samples of their records, and adopt one.
    InspectCluster,
    /// Approve, reject or revoke a subscription to this product.
    DecideAccess {
        product: &'a data_product::Model,
    },
    /// Add or remove a lineage edge; the teams owning each endpoint.
    ChangeLineage {
        owners: &'a [&'a str],
    },
    /// Bind a topic in this domain's namespace (`<domain>.…`) to a product
    /// of another domain (see `topic_rules`).
    BindTopic {
        topic: &'a str,
        namespace: &'a domain::Model,
    },
}

/// Decides whether the caller may perform `action`. Callers check product
/// visibility first ([`ensure_visible`]), so a hidden product stays NOT_FOUND.
pub fn authorize(principal: &Principal, action: Action<'_>) -> Result<()> {
    if principal.caller.identity().is_none() {
        return Err(CatalogError::Unauthenticated(
            "this operation needs a bearer token".into(),
        ));
    }
    if principal.admin {
        return Ok(());
    }
    let member = |team: &str| principal.teams.contains(team);
    let (allowed, refusal) = match action {
        Action::CreateTeam => (false, "only platform admins create teams".to_owned()),
        Action::CreateDomain => (false, "only platform admins create domains".to_owned()),
        Action::AddTeamMember { team } => (
            member(&team.id),
            format!("only members of team `{}` (or admins) add members to it", team.name),
        ),
        Action::CreateApplication { owner } => (
            member(&owner.id),
            format!("only members of team `{}` create applications it owns", owner.name),
        ),
        Action::ChangeProduct { domain } => (
            member(&domain.owner_team_id),
            format!(
                "only members of the team owning domain `{}` publish and change its products",
                domain.name
            ),
        ),
        Action::RecordQuality { product } => (
            principal.domains.contains(&product.domain_id) || member(&product.owner_team_id),
            format!(
                "only the teams owning `{}` record its quality results",
                product.qualified_name
            ),
        ),
        Action::RequestAccess { application } => (
            member(&application.owner_team_id),
            format!(
                "only members of the team owning application `{}` request access for it",
                application.name
            ),
        ),
        Action::ChangeApplication { application } => (
            member(&application.owner_team_id),
            format!(
                "only members of the team owning application `{}` change its use cases",
                application.name
            ),
        ),
        Action::InspectCluster => (
            !principal.domains.is_empty(),
            "only members of a team owning a domain (or admins) inspect the cluster's unadopted topics".to_owned(),
        ),
        Action::DecideAccess { product } => (
            member(&product.owner_team_id),
            format!(
                "only members of the team owning `{}` decide on access to it",
                product.qualified_name
            ),
        ),
        Action::ChangeLineage { owners } => (
            owners.iter().any(|t| member(t)),
            "only members of a team owning one of its endpoints change a lineage edge".to_owned(),
        ),
        Action::BindTopic { topic, namespace } => (
            member(&namespace.owner_team_id),
            format!(
                "topic `{topic}` is in the namespace of domain `{}`: only its owner team (or admins) bind it to a \
                 product of another domain",
                namespace.name
            ),
        ),
    };
    if allowed {
        Ok(())
    } else {
        Err(CatalogError::Forbidden(refusal))
    }
}

/// NOT_FOUND unless the caller may see the product (as if it did not
/// exist: the message names only what the caller typed).
pub fn ensure_visible(principal: &Principal, product: &data_product::Model, key: &str) -> Result<()> {
    if can_see(principal, product) {
        Ok(())
    } else {
        Err(CatalogError::not_found("data product", key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Identity;

    fn product(visibility: Visibility) -> data_product::Model {
        data_product::Model {
            id: "p1".into(),
            qualified_name: "pay.ledger".into(),
            domain_id: "d1".into(),
            name: "ledger".into(),
            display_name: "Ledger".into(),
            description: String::new(),
            owner_team_id: "t-owner".into(),
            contacts: "[]".into(),
            status: crate::values::ProductStatus::Published,
            deprecation_reason: None,
            sunset_date: None,
            successor_id: None,
            visibility,
            compatibility: "BACKWARD".into(),
            topic_name: "pay.ledger".into(),
            topic_partitions: 1,
            topic_retention_ms: 1,
            topic_cleanup_policy: crate::values::CleanupPolicy::Delete,
            sla_tier: None,
            sla_availability_percent: None,
            sla_max_freshness_seconds: None,
            sla_max_latency_ms: None,
            sla_retention_days: None,
            sla_support_hours: None,
            sla_on_call: None,
            quality_class: crate::values::QualityClass::Raw,
            version: 1,
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
        }
    }

    fn user(roles: &[&str]) -> Principal {
        Principal {
            caller: Caller::User(Identity {
                subject: "u".into(),
                teams: vec![],
                roles: roles.iter().map(|r| r.to_string()).collect(),
            }),
            admin: roles.contains(&ADMIN_ROLE),
            ..Principal::default()
        }
    }

    #[test]
    fn private_products_are_seen_by_insiders_only() {
        let private = product(Visibility::Private);
        let public = product(Visibility::Public);
        let stranger = user(&[]);
        assert!(!can_see(&stranger, &private));
        assert!(can_see(&stranger, &public));
        assert!(!may_read_records(&stranger, &public));
        assert!(can_see(&user(&[ADMIN_ROLE]), &private));
        for insider in [
            Principal {
                domains: BTreeSet::from(["d1".to_owned()]),
                ..user(&[])
            },
            Principal {
                teams: BTreeSet::from(["t-owner".to_owned()]),
                ..user(&[])
            },
            Principal {
                subscribed: BTreeSet::from(["p1".to_owned()]),
                ..user(&[])
            },
        ] {
            assert!(can_see(&insider, &private));
            assert!(may_read_records(&insider, &private));
        }
        let anonymous = Principal::default();
        assert!(!can_see(&anonymous, &public));
        let anonymous_reader = Principal {
            anonymous_read: true,
            ..Principal::default()
        };
        assert!(can_see(&anonymous_reader, &public));
        assert!(!can_see(&anonymous_reader, &private));
        assert!(!may_read_records(&anonymous_reader, &public));
        assert!(matches!(search_audience(&anonymous), Audience::Readers(r) if r.is_empty()));
    }

    /// The three writings of visibility agree: [`can_see`] (reads),
    /// [`search_audience`] (the caller's side of the index) and
    /// [`reader_keys`] (the product's side), for every kind of caller and
    /// both visibilities. (`product_condition`, the SQL twin, is checked
    /// against `can_see` by the integration tests.)
    #[test]
    fn visibility_is_one_rule_in_reads_and_in_the_index() {
        // p1 in domain d1 (team t-dom), owned by t-owner, subscribed to by
        // an application of t-sub.
        let member = |team: &str| Principal {
            teams: BTreeSet::from([team.to_owned()]),
            domains: if team == "t-dom" {
                BTreeSet::from(["d1".to_owned()])
            } else {
                BTreeSet::new()
            },
            subscribed: if team == "t-sub" {
                BTreeSet::from(["p1".to_owned()])
            } else {
                BTreeSet::new()
            },
            ..user(&[])
        };
        let callers = [
            ("anonymous", Principal::default()),
            (
                "anonymous reader",
                Principal {
                    anonymous_read: true,
                    ..Principal::default()
                },
            ),
            ("stranger", user(&[])),
            ("admin", user(&[ADMIN_ROLE])),
            ("domain team", member("t-dom")),
            ("owner team", member("t-owner")),
            ("subscriber", member("t-sub")),
            ("other team", member("t-other")),
        ];
        for visibility in [Visibility::Public, Visibility::Private] {
            let mut product = product(visibility);
            product.id = "p1".into();
            product.domain_id = "d1".into();
            product.owner_team_id = "t-owner".into();
            let keys = reader_keys(&product.owner_team_id, visibility, Some("t-dom"), &["t-sub".to_owned()]);
            for (name, caller) in &callers {
                assert_eq!(
                    search_audience(caller).admits(&keys),
                    can_see(caller, &product),
                    "{name} on a {visibility} product"
                );
            }
        }
    }

    #[test]
    fn changes_need_the_right_team() {
        let domain = domain::Model {
            id: "d1".into(),
            name: "pay".into(),
            description: String::new(),
            owner_team_id: "t1".into(),
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
        };
        let member = Principal {
            teams: BTreeSet::from(["t1".to_owned()]),
            ..user(&[])
        };
        assert!(authorize(&member, Action::ChangeProduct { domain: &domain }).is_ok());
        let err = authorize(&user(&[]), Action::ChangeProduct { domain: &domain }).unwrap_err();
        assert_eq!(err.code(), "FORBIDDEN");
        assert!(authorize(&user(&[ADMIN_ROLE]), Action::CreateDomain).is_ok());
        assert_eq!(
            authorize(&Principal::default(), Action::CreateTeam).unwrap_err().code(),
            "UNAUTHENTICATED"
        );
    }
}

/// What a caller may see of a product's records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordAccess {
    /// PII fields unmasked: admins, the domain and owner teams, and
    /// applications approved with PII access.
    pub pii: bool,
}

/// May the caller read the live records of `product` (`productEvents`), and
/// with PII or without? A product the caller cannot see is NOT_FOUND; one
/// it sees but may not read is FORBIDDEN ([`may_read_records`]).
pub async fn record_access(
    db: &impl ConnectionTrait,
    principal: &Principal,
    product: &data_product::Model,
    key: &str,
) -> Result<RecordAccess> {
    ensure_visible(principal, product, key)?;
    let Some(identity) = principal.caller.identity() else {
        return Err(CatalogError::Unauthenticated(
            "reading a product's records needs a bearer token".into(),
        ));
    };
    if !may_read_records(principal, product) {
        return Err(CatalogError::Forbidden(format!(
            "{} may not read the records of {}: only its domain and owner teams and teams of applications with an \
             approved subscription may",
            identity.subject, product.qualified_name
        )));
    }
    if principal.admin
        || principal.domains.contains(&product.domain_id)
        || principal.teams.contains(&product.owner_team_id)
    {
        return Ok(RecordAccess { pii: true });
    }
    let teams: Vec<String> = principal.teams.iter().cloned().collect();
    let with_pii = access_subscription::Entity::find()
        .filter(access_subscription::Column::ProductId.eq(&product.id))
        .filter(access_subscription::Column::Status.eq(SubscriptionStatus::Approved))
        .filter(access_subscription::Column::PiiAccess.eq(true))
        .filter(
            access_subscription::Column::ApplicationId.in_subquery(
                Query::select()
                    .column(application::Column::Id)
                    .from(application::Entity)
                    .and_where(application::Column::OwnerTeamId.is_in(teams))
                    .to_owned(),
            ),
        )
        .count(db)
        .await?;
    Ok(RecordAccess { pii: with_pii > 0 })
}
