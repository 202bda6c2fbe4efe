//! Teams, their members, and the domains they own.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, QueryOrder, Set};

use crate::auth::Caller;
use crate::store::entities::{domain, team, team_member};

use super::policy::{self, Action, Principal};
use super::rows::{find_domain, find_team};
use super::{required_text, text, Catalog, CatalogError, ChangeKind, EntityKind, Event, Name, Op, Result};

/// Input of `createTeam`.
#[derive(Debug, Clone)]
pub struct NewTeam {
    pub name: String,
    pub description: String,
    pub members: Vec<String>,
}

/// Input of `createDomain`.
#[derive(Debug, Clone)]
pub struct NewDomain {
    pub name: String,
    pub description: String,
    /// Team id or name.
    pub owner_team: String,
}

fn user_id(raw: &str) -> Result<String> {
    let user = required_text("user id", raw, 200)?;
    if user.chars().any(char::is_whitespace) {
        return Err(CatalogError::Validation(format!("invalid user id `{user}`")));
    }
    Ok(user)
}

impl Catalog {
    pub async fn create_team(&self, caller: &Caller, input: NewTeam) -> Result<team::Model> {
        let name = Name::parse("team name", &input.name)?;
        let description = text("description", &input.description, 10_000)?;
        let members = input.members.iter().map(|m| user_id(m)).collect::<Result<Vec<_>>>()?;
        let unit = self
            .begin(caller, Op::new("createTeam", EntityKind::Team, name.as_str()))
            .await?;
        let mut unit = self
            .allow(policy::authorize(&unit.principal, Action::CreateTeam), unit)
            .await?;
        if find_team(unit.conn(), name.as_str()).await.is_ok() {
            return Err(CatalogError::Conflict(format!(
                "team `{}` already exists",
                name.as_str()
            )));
        }
        let now = Utc::now();
        let model = team::ActiveModel {
            id: Set(super::new_id()),
            name: Set(name.as_str().to_owned()),
            description: Set(description),
            created_at: Set(now),
        }
        .insert(unit.conn())
        .await?;
        for member in dedup(members) {
            insert_member(unit.conn(), &model.id, &member).await?;
        }
        unit.record(Event {
            kind: ChangeKind::TeamCreated,
            entity_kind: EntityKind::Team,
            entity_id: &model.id,
            entity_name: &model.name,
            summary: format!("created team {}", model.name),
            products: vec![],
        })
        .await?;
        self.commit(unit).await?;
        Ok(model)
    }

    pub async fn add_team_member(&self, caller: &Caller, team: &str, user: &str) -> Result<team::Model> {
        let user = user_id(user)?;
        let unit = self
            .begin(caller, Op::new("addTeamMember", EntityKind::Team, team))
            .await?;
        let team = find_team(unit.conn(), team).await?;
        let mut unit = self
            .allow(
                policy::authorize(&unit.principal, Action::AddTeamMember { team: &team }),
                unit,
            )
            .await?;
        let existing = team_member::Entity::find_by_id((team.id.clone(), user.clone()))
            .one(unit.conn())
            .await?;
        if existing.is_some() {
            return Err(CatalogError::Conflict(format!(
                "`{user}` is already a member of team `{}`",
                team.name
            )));
        }
        insert_member(unit.conn(), &team.id, &user).await?;
        unit.record(Event {
            kind: ChangeKind::TeamMemberAdded,
            entity_kind: EntityKind::Team,
            entity_id: &team.id,
            entity_name: &team.name,
            summary: format!("added {user} to team {}", team.name),
            products: vec![],
        })
        .await?;
        self.commit(unit).await?;
        Ok(team)
    }

    pub async fn create_domain(&self, caller: &Caller, input: NewDomain) -> Result<domain::Model> {
        let name = Name::parse("domain name", &input.name)?;
        let description = text("description", &input.description, 10_000)?;
        let unit = self
            .begin(caller, Op::new("createDomain", EntityKind::Domain, name.as_str()))
            .await?;
        let mut unit = self
            .allow(policy::authorize(&unit.principal, Action::CreateDomain), unit)
            .await?;
        let team = find_team(unit.conn(), &input.owner_team).await?;
        if find_domain(unit.conn(), name.as_str()).await.is_ok() {
            return Err(CatalogError::Conflict(format!(
                "domain `{}` already exists",
                name.as_str()
            )));
        }
        let now = Utc::now();
        let model = domain::ActiveModel {
            id: Set(super::new_id()),
            name: Set(name.as_str().to_owned()),
            description: Set(description),
            owner_team_id: Set(team.id.clone()),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(unit.conn())
        .await?;
        unit.record(Event {
            kind: ChangeKind::DomainCreated,
            entity_kind: EntityKind::Domain,
            entity_id: &model.id,
            entity_name: &model.name,
            summary: format!("created domain {} owned by {}", model.name, team.name),
            products: vec![],
        })
        .await?;
        self.commit(unit).await?;
        Ok(model)
    }

    pub async fn team(&self, principal: &Principal, key: &str) -> Result<Option<team::Model>> {
        policy::ensure_reader(principal)?;
        super::optional(find_team(self.db(), key).await)
    }

    pub async fn teams(&self, principal: &Principal) -> Result<Vec<team::Model>> {
        policy::ensure_reader(principal)?;
        Ok(team::Entity::find()
            .order_by_asc(team::Column::Name)
            .all(self.db())
            .await?)
    }

    pub async fn domain(&self, principal: &Principal, key: &str) -> Result<Option<domain::Model>> {
        policy::ensure_reader(principal)?;
        super::optional(find_domain(self.db(), key).await)
    }

    pub async fn domains(&self, principal: &Principal) -> Result<Vec<domain::Model>> {
        policy::ensure_reader(principal)?;
        Ok(domain::Entity::find()
            .order_by_asc(domain::Column::Name)
            .all(self.db())
            .await?)
    }
}

async fn insert_member(db: &impl ConnectionTrait, team_id: &str, user: &str) -> Result<()> {
    team_member::ActiveModel {
        team_id: Set(team_id.to_owned()),
        user_id: Set(user.to_owned()),
        added_at: Set(Utc::now()),
    }
    .insert(db)
    .await?;
    Ok(())
}

fn dedup(mut items: Vec<String>) -> Vec<String> {
    items.sort();
    items.dedup();
    items
}
