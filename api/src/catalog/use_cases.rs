//! Use cases: how an application derives output products from input
//! products (ENRICH, FILTER, AGGREGATE, JOIN or CUSTOM), with the
//! transformation as text.
//!
//! Registering one, in a single transaction, records lineage from each
//! input through the application to each output and requests access to each
//! input the application does not hold yet (APPROVED or PENDING). Removing
//! one removes the lineage edges nothing else still needs.

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

use crate::auth::Caller;
use crate::store::entities::{
    access_subscription, application, data_product, lineage_edge, use_case, use_case_product,
};

use super::applications::insert_request;
use super::lineage::{find_edge, insert_edge, record_edge, Endpoint};
use super::policy::{self, Action, Principal};
use super::rows::{find_application, find_product};
use super::{
    new_id, required_text, text, Catalog, CatalogError, ChangeKind, EntityKind, Event, Name, NodeKind, Op,
    ProductStatus, Result, SubscriptionStatus, Unit, UseCaseKind,
};

/// Most inputs or outputs of one use case.
const MAX_PRODUCTS: usize = 50;

/// Input of `registerUseCase`.
#[derive(Debug, Clone)]
pub struct NewUseCase {
    /// Application id or name.
    pub application: String,
    pub name: String,
    pub kind: UseCaseKind,
    pub description: String,
    /// Products read (ids or qualified names).
    pub inputs: Vec<String>,
    /// Products written (ids or qualified names).
    pub outputs: Vec<String>,
    /// E.g. a streaming SQL statement.
    pub transformation: String,
}

/// What registering a use case did.
#[derive(Debug, Clone)]
pub struct UseCaseRegistration {
    pub use_case: use_case::Model,
    /// Lineage edges added (those that existed already are not repeated).
    pub lineage: Vec<lineage_edge::Model>,
    /// Access requests made for inputs the application did not hold.
    pub access_requests: Vec<access_subscription::Model>,
}

/// Whether a product is read or written by a use case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UseCaseRole {
    Input,
    Output,
}

impl UseCaseRole {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            UseCaseRole::Input => "INPUT",
            UseCaseRole::Output => "OUTPUT",
        }
    }
}

/// Product keys, trimmed and deduplicated in order; refuses empty and
/// oversized lists.
fn product_keys(what: &str, keys: &[String]) -> Result<Vec<String>> {
    let mut seen = HashSet::new();
    let keys: Vec<String> = keys
        .iter()
        .map(|k| k.trim().to_owned())
        .filter(|k| !k.is_empty() && seen.insert(k.clone()))
        .collect();
    if keys.is_empty() || keys.len() > MAX_PRODUCTS {
        return Err(CatalogError::Validation(format!(
            "a use case needs between 1 and {MAX_PRODUCTS} {what} products"
        )));
    }
    Ok(keys)
}

fn product_end(product: &data_product::Model) -> Endpoint {
    Endpoint {
        kind: NodeKind::Product,
        id: product.id.clone(),
    }
}

fn app_end(app: &application::Model) -> Endpoint {
    Endpoint {
        kind: NodeKind::Application,
        id: app.id.clone(),
    }
}

impl Catalog {
    /// Registers a use case of an application (see the module doc).
    pub async fn register_use_case(&self, caller: &Caller, input: NewUseCase) -> Result<UseCaseRegistration> {
        let name = Name::parse("use case name", &input.name)?;
        let description = required_text("use case description", &input.description, 10_000)?;
        let transformation = text("transformation", &input.transformation, 100_000)?;
        let inputs = product_keys("input", &input.inputs)?;
        let outputs = product_keys("output", &input.outputs)?;
        if input.kind == UseCaseKind::Join && inputs.len() < 2 {
            return Err(CatalogError::Validation(
                "a JOIN use case needs at least two inputs".into(),
            ));
        }
        let unit = self
            .begin(caller, Op::new("registerUseCase", EntityKind::UseCase, name.as_str()))
            .await?;
        let app = find_application(unit.conn(), &input.application).await?;
        let unit = self
            .allow(
                policy::authorize(&unit.principal, Action::ChangeApplication { application: &app }),
                unit,
            )
            .await?;
        let (unit, inputs) = self.visible_products(unit, &inputs).await?;
        let (mut unit, outputs) = self.visible_products(unit, &outputs).await?;
        if let Some(both) = inputs.iter().find(|i| outputs.iter().any(|o| o.id == i.id)) {
            return Err(CatalogError::Validation(format!(
                "`{}` cannot be both an input and an output of a use case",
                both.qualified_name
            )));
        }
        if let Some(retired) = inputs
            .iter()
            .chain(&outputs)
            .find(|p| p.status == ProductStatus::Retired)
        {
            return Err(CatalogError::Conflict(format!(
                "`{}` is RETIRED and cannot take part in a use case",
                retired.qualified_name
            )));
        }
        let taken = use_case::Entity::find()
            .filter(use_case::Column::ApplicationId.eq(&app.id))
            .filter(use_case::Column::Name.eq(name.as_str()))
            .one(unit.conn())
            .await?;
        if taken.is_some() {
            return Err(CatalogError::Conflict(format!(
                "application `{}` already has a use case named `{}`",
                app.name,
                name.as_str()
            )));
        }
        let model = use_case::ActiveModel {
            id: Set(new_id()),
            application_id: Set(app.id.clone()),
            name: Set(name.as_str().to_owned()),
            kind: Set(input.kind),
            description: Set(description),
            transformation: Set(transformation),
            created_by: Set(unit.actor.clone()),
            created_at: Set(Utc::now()),
        }
        .insert(unit.conn())
        .await?;
        let roles = inputs
            .iter()
            .map(|p| (UseCaseRole::Input, p))
            .chain(outputs.iter().map(|p| (UseCaseRole::Output, p)));
        for (role, product) in roles {
            use_case_product::ActiveModel {
                use_case_id: Set(model.id.clone()),
                product_id: Set(product.id.clone()),
                role: Set(role.as_str().to_owned()),
            }
            .insert(unit.conn())
            .await?;
        }
        unit.record(Event {
            kind: ChangeKind::UseCaseRegistered,
            entity_kind: EntityKind::UseCase,
            entity_id: &model.id,
            entity_name: &format!("{}/{}", app.name, model.name),
            summary: format!(
                "registered use case {} ({}) of {}: {} input(s) → {} output(s)",
                model.name,
                model.kind,
                app.name,
                inputs.len(),
                outputs.len()
            ),
            products: inputs.iter().chain(&outputs).map(|p| p.id.clone()).collect(),
        })
        .await?;
        let mut lineage = Vec::new();
        for product in &inputs {
            let title = format!("{} → {}", product.qualified_name, app.name);
            if let Some(edge) = add_edge(&mut unit, &product_end(product), &app_end(&app), &title).await? {
                lineage.push(edge);
            }
        }
        for product in &outputs {
            let title = format!("{} → {}", app.name, product.qualified_name);
            if let Some(edge) = add_edge(&mut unit, &app_end(&app), &product_end(product), &title).await? {
                lineage.push(edge);
            }
        }
        let held: HashSet<String> = access_subscription::Entity::find()
            .filter(access_subscription::Column::ApplicationId.eq(&app.id))
            .filter(access_subscription::Column::Status.is_in([
                SubscriptionStatus::Pending.as_str(),
                SubscriptionStatus::Approved.as_str(),
            ]))
            .all(unit.conn())
            .await?
            .into_iter()
            .map(|s| s.product_id)
            .collect();
        let mut access_requests = Vec::new();
        for product in inputs.iter().filter(|p| !held.contains(&p.id)) {
            let purpose = format!("Use case `{}` ({}): {}", model.name, model.kind, model.description);
            let purpose: String = purpose.chars().take(4_000).collect();
            access_requests.push(insert_request(&mut unit, &app, product, purpose).await?);
        }
        self.commit(unit).await?;
        Ok(UseCaseRegistration {
            use_case: model,
            lineage,
            access_requests,
        })
    }

    /// Removes a use case, and the lineage edges of its application that
    /// no other use case (nor, for an input, an APPROVED subscription)
    /// still accounts for. Access subscriptions are left as they are.
    pub async fn remove_use_case(&self, caller: &Caller, id: &str) -> Result<use_case::Model> {
        let unit = self
            .begin(caller, Op::new("removeUseCase", EntityKind::UseCase, id))
            .await?;
        let model = use_case::Entity::find_by_id(id.to_owned())
            .one(unit.conn())
            .await?
            .ok_or_else(|| CatalogError::not_found("use case", id))?;
        let app = find_application(unit.conn(), &model.application_id).await?;
        let mut unit = self
            .allow(
                policy::authorize(&unit.principal, Action::ChangeApplication { application: &app }),
                unit,
            )
            .await?;
        let links = use_case_product::Entity::find()
            .filter(use_case_product::Column::UseCaseId.eq(&model.id))
            .all(unit.conn())
            .await?;
        use_case_product::Entity::delete_many()
            .filter(use_case_product::Column::UseCaseId.eq(&model.id))
            .exec(unit.conn())
            .await?;
        use_case::Entity::delete_by_id(model.id.clone())
            .exec(unit.conn())
            .await?;
        unit.record(Event {
            kind: ChangeKind::UseCaseRemoved,
            entity_kind: EntityKind::UseCase,
            entity_id: &model.id,
            entity_name: &format!("{}/{}", app.name, model.name),
            summary: format!("removed use case {} ({}) of {}", model.name, model.kind, app.name),
            products: links.iter().map(|l| l.product_id.clone()).collect(),
        })
        .await?;
        // What the application's remaining use cases and approvals still need.
        let remaining: Vec<use_case_product::Model> = use_case_product::Entity::find()
            .filter(
                use_case_product::Column::UseCaseId.in_subquery(
                    sea_orm::sea_query::Query::select()
                        .column(use_case::Column::Id)
                        .from(use_case::Entity)
                        .and_where(use_case::Column::ApplicationId.eq(&app.id))
                        .to_owned(),
                ),
            )
            .all(unit.conn())
            .await?;
        let approved: HashSet<String> = access_subscription::Entity::find()
            .filter(access_subscription::Column::ApplicationId.eq(&app.id))
            .filter(access_subscription::Column::Status.eq(SubscriptionStatus::Approved))
            .all(unit.conn())
            .await?
            .into_iter()
            .map(|s| s.product_id)
            .collect();
        for link in &links {
            let input = link.role == UseCaseRole::Input.as_str();
            let still_needed = remaining
                .iter()
                .any(|r| r.product_id == link.product_id && r.role == link.role)
                || (input && approved.contains(&link.product_id));
            if still_needed {
                continue;
            }
            let (from, to) = if input {
                (&link.product_id, &app.id)
            } else {
                (&app.id, &link.product_id)
            };
            if let Some(edge) = find_edge(&unit, from, to).await? {
                let product = find_product(unit.conn(), &link.product_id).await?;
                lineage_edge::Entity::delete_by_id(edge.id.clone())
                    .exec(unit.conn())
                    .await?;
                let title = if input {
                    format!("{} → {}", product.qualified_name, app.name)
                } else {
                    format!("{} → {}", app.name, product.qualified_name)
                };
                record_edge(&mut unit, ChangeKind::LineageRemoved, &edge, &title).await?;
            }
        }
        self.commit(unit).await?;
        Ok(model)
    }

    /// Resolves product keys inside a unit; a product the caller may not
    /// see is NOT_FOUND (audited as a refusal).
    async fn visible_products(&self, unit: Unit, keys: &[String]) -> Result<(Unit, Vec<data_product::Model>)> {
        let mut products = Vec::with_capacity(keys.len());
        let mut decision = Ok(());
        for key in keys {
            let product = find_product(unit.conn(), key).await?;
            if let Err(hidden) = policy::ensure_visible(&unit.principal, &product, key) {
                decision = Err(hidden);
                break;
            }
            products.push(product);
        }
        let unit = self.allow(decision, unit).await?;
        Ok((unit, products))
    }

    /// A use case by id, if the caller may see it ([`Self::visible_use_cases`]).
    pub async fn use_case(&self, principal: &Principal, id: &str) -> Result<Option<use_case::Model>> {
        policy::ensure_reader(principal)?;
        let found = use_case::Entity::find_by_id(id.to_owned()).one(self.db()).await?;
        Ok(self
            .visible_use_cases(principal, found.into_iter().collect())
            .await?
            .pop())
    }

    /// The use cases of `rows` whose every input and output the caller can
    /// see: a use case's description and transformation may name a private
    /// product, so one touching a hidden product is hidden as a whole.
    pub async fn visible_use_cases(
        &self,
        principal: &Principal,
        rows: Vec<use_case::Model>,
    ) -> Result<Vec<use_case::Model>> {
        if rows.is_empty() || policy::product_condition(principal).is_none() {
            return Ok(rows);
        }
        let links = use_case_product::Entity::find()
            .filter(use_case_product::Column::UseCaseId.is_in(rows.iter().map(|r| r.id.clone())))
            .all(self.db())
            .await?;
        let products: HashMap<String, data_product::Model> = data_product::Entity::find()
            .filter(data_product::Column::Id.is_in(links.iter().map(|l| l.product_id.clone())))
            .all(self.db())
            .await?
            .into_iter()
            .map(|p| (p.id.clone(), p))
            .collect();
        let hidden: HashSet<&str> = links
            .iter()
            .filter(|l| {
                !products
                    .get(&l.product_id)
                    .is_some_and(|p| policy::can_see(principal, p))
            })
            .map(|l| l.use_case_id.as_str())
            .collect();
        Ok(rows.into_iter().filter(|r| !hidden.contains(r.id.as_str())).collect())
    }

    /// Use cases by application name and name, optionally of one kind or touching
    /// one product (id or qualified name, which must be visible).
    pub async fn use_cases(
        &self,
        principal: &Principal,
        kind: Option<UseCaseKind>,
        product: Option<&str>,
    ) -> Result<Vec<use_case::Model>> {
        policy::ensure_reader(principal)?;
        let mut query = use_case::Entity::find();
        if let Some(kind) = kind {
            query = query.filter(use_case::Column::Kind.eq(kind));
        }
        if let Some(product) = product {
            let product = self.visible_product(principal, product).await?;
            query = query.filter(
                use_case::Column::Id.in_subquery(
                    sea_orm::sea_query::Query::select()
                        .column(use_case_product::Column::UseCaseId)
                        .from(use_case_product::Entity)
                        .and_where(use_case_product::Column::ProductId.eq(product.id))
                        .to_owned(),
                ),
            );
        }
        let mut rows = self.visible_use_cases(principal, query.all(self.db()).await?).await?;
        let apps: HashMap<String, String> = application::Entity::find()
            .all(self.db())
            .await?
            .into_iter()
            .map(|a| (a.id, a.name))
            .collect();
        rows.sort_by(|a, b| (apps.get(&a.application_id), &a.name).cmp(&(apps.get(&b.application_id), &b.name)));
        Ok(rows)
    }
}

/// Adds an edge unless it exists (e.g. from an approval), recording it.
async fn add_edge(unit: &mut Unit, from: &Endpoint, to: &Endpoint, title: &str) -> Result<Option<lineage_edge::Model>> {
    let edge = match insert_edge(unit, from, to, &[]).await {
        Ok(edge) => edge,
        // `insert_edge` refuses an existing edge before writing anything.
        Err(CatalogError::Conflict(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    record_edge(unit, ChangeKind::LineageAdded, &edge, title).await?;
    Ok(Some(edge))
}
