//! Data products: publish (create or update), deprecate, retire, and list.

use chrono::{NaiveDate, Utc};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use crate::auth::Caller;
use crate::store::entities::{access_subscription, data_product, domain, product_tag, quality_check};

use super::policy::{self, Action, Principal};
use super::rows::{bump_version, find_domain, find_product, find_team, stale};
use super::schema::CompatibilityMode;
use super::schemas::{self, SchemaInput};
use super::topic_rules;
use super::{
    new_id, required_text, text, Catalog, CatalogError, ChangeKind, CheckKind, CleanupPolicy, Contact, EntityKind,
    Event, Name, Op, ProductStatus, QualifiedName, QualityClass, Result, SlaTier, SubscriptionStatus, Unit, Visibility,
};

/// Kafka topic settings of a product; omitted values keep the current ones
/// (or take defaults when the product is new).
#[derive(Debug, Clone, Default)]
pub struct TopicInput {
    pub name: Option<String>,
    pub partitions: Option<i32>,
    /// `-1` keeps records forever.
    pub retention_ms: Option<i64>,
    pub cleanup_policy: Option<CleanupPolicy>,
}

// The product's SLA: its contract with consumers. Also the GraphQL input
// `SlaInput` (a plain comment: the SDL gives that input no description).
#[derive(Debug, Clone, PartialEq, async_graphql::InputObject)]
pub struct SlaInput {
    pub tier: SlaTier,
    pub availability_percent: Option<f64>,
    pub max_freshness_seconds: Option<i64>,
    pub max_latency_ms: Option<i64>,
    pub retention_days: Option<i32>,
    pub support_hours: Option<String>,
    pub on_call: Option<String>,
}

/// A named quality check declared with the product.
#[derive(Debug, Clone)]
pub struct QualityCheckInput {
    pub name: String,
    pub kind: CheckKind,
    pub description: String,
    pub threshold: Option<f64>,
}

/// Input of `publishDataProduct`. On update, omitted values keep the current
/// ones; `expected_version` must match the stored version.
#[derive(Debug, Clone, Default)]
pub struct PublishProduct {
    pub domain: String,
    pub name: String,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub owner_team: Option<String>,
    pub tags: Option<Vec<String>>,
    pub contacts: Option<Vec<Contact>>,
    pub visibility: Option<Visibility>,
    /// RAW when a new product gives none.
    pub quality_class: Option<QualityClass>,
    pub compatibility: Option<CompatibilityMode>,
    pub topic: Option<TopicInput>,
    pub sla: Option<SlaInput>,
    pub schema: Option<SchemaInput>,
    pub quality_checks: Vec<QualityCheckInput>,
    /// Keep the product in DRAFT instead of publishing it.
    pub draft: bool,
    pub expected_version: Option<i32>,
    /// The topic already exists and is being adopted (see `stream::topics`):
    /// the product must be new, and the audit says so.
    pub adopted: bool,
}

/// Input of `deprecateDataProduct`.
#[derive(Debug, Clone)]
pub struct Deprecate {
    pub product: String,
    pub reason: String,
    /// `YYYY-MM-DD`.
    pub sunset_date: Option<String>,
    /// The product consumers should move to (id or qualified name): a
    /// PUBLISHED product the caller can see, not this one.
    pub successor: Option<String>,
    pub expected_version: Option<i32>,
}

/// Filters of `dataProducts`; all given filters must match.
#[derive(Debug, Clone, Default)]
pub struct ProductFilter {
    pub domain: Option<String>,
    pub owner_team: Option<String>,
    pub statuses: Vec<ProductStatus>,
    /// Every tag must be present.
    pub tags: Vec<String>,
    pub tiers: Vec<SlaTier>,
    pub quality_classes: Vec<QualityClass>,
    pub visibility: Option<Visibility>,
}

/// One page of products in qualified-name order.
#[derive(Debug, Clone)]
pub struct ProductPage {
    pub items: Vec<data_product::Model>,
    pub has_next_page: bool,
    pub total_count: u64,
}

pub const DEFAULT_PARTITIONS: i32 = 3;
pub const DEFAULT_RETENTION_MS: i64 = 7 * 24 * 3600 * 1000;

fn topic_name(raw: &str) -> Result<String> {
    let ok = !raw.is_empty()
        && raw.len() <= 249
        && raw != "."
        && raw != ".."
        && raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(CatalogError::Validation(format!(
            "invalid topic name `{raw}`: use up to 249 letters, digits, `.`, `_` and `-`"
        )))
    }
}

fn tags(raw: &[String]) -> Result<Vec<String>> {
    if raw.len() > 30 {
        return Err(CatalogError::Validation("at most 30 tags".into()));
    }
    let mut tags = raw
        .iter()
        .map(|t| {
            let t = t.trim().to_lowercase();
            let ok =
                !t.is_empty() && t.len() <= 50 && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if ok {
                Ok(t)
            } else {
                Err(CatalogError::Validation(format!(
                    "invalid tag `{t}`: use letters, digits, `-` and `_`"
                )))
            }
        })
        .collect::<Result<Vec<_>>>()?;
    tags.sort();
    tags.dedup();
    Ok(tags)
}

fn contacts(raw: &[Contact]) -> Result<Vec<Contact>> {
    raw.iter()
        .map(|c| {
            let email = required_text("contact email", &c.email, 320)?;
            if !email.contains('@') || email.chars().any(char::is_whitespace) {
                return Err(CatalogError::Validation(format!("invalid contact email `{email}`")));
            }
            Ok(Contact {
                name: required_text("contact name", &c.name, 200)?,
                email,
                role: c.role.as_deref().map(|r| text("contact role", r, 200)).transpose()?,
            })
        })
        .collect()
}

fn validate_sla(sla: &SlaInput) -> Result<()> {
    if let Some(a) = sla.availability_percent {
        if !(a > 0.0 && a <= 100.0) {
            return Err(CatalogError::Validation("SLA availability must be in (0, 100]".into()));
        }
    }
    for (what, value) in [
        ("max freshness", sla.max_freshness_seconds),
        ("max latency", sla.max_latency_ms),
    ] {
        if value.is_some_and(|v| v <= 0) {
            return Err(CatalogError::Validation(format!("SLA {what} must be positive")));
        }
    }
    if sla.retention_days.is_some_and(|v| v <= 0) {
        return Err(CatalogError::Validation("SLA retention must be positive".into()));
    }
    Ok(())
}

/// `adopted`: the topic exists already, so its retention is taken as it is
/// (a new topic gets at least a minute).
fn validate_topic(topic: &TopicInput, adopted: bool) -> Result<()> {
    if let Some(name) = &topic.name {
        topic_name(name)?;
    }
    if topic.partitions.is_some_and(|p| !(1..=10_000).contains(&p)) {
        return Err(CatalogError::Validation(
            "topic partitions must be between 1 and 10000".into(),
        ));
    }
    let shortest = if adopted { 1 } else { 60_000 };
    if topic.retention_ms.is_some_and(|r| r != -1 && r < shortest) {
        return Err(CatalogError::Validation(format!(
            "topic retention must be -1 (forever) or at least {shortest} ms"
        )));
    }
    Ok(())
}

impl Catalog {
    /// Refuses to bind `topic` to a product of `domain` when it is reserved,
    /// or in another domain's namespace and the caller may not
    /// (`Action::BindTopic`, audited like every refusal).
    async fn check_topic_binding(&self, unit: Unit, domain: &domain::Model, topic: &str) -> Result<Unit> {
        if self.reserved_topics().contains(topic) {
            return Err(CatalogError::Validation(format!(
                "topic `{topic}` is reserved for the platform (Kafka's internal `_…` topics, the catalog's own \
                 `mesh.catalog.events` and MESH_RESERVED_TOPICS) and cannot be a data product's topic"
            )));
        }
        let Some(namespace) = topic_rules::namespace(topic).filter(|d| *d != domain.name) else {
            return Ok(unit);
        };
        let namespace = domain::Entity::find()
            .filter(domain::Column::Name.eq(namespace))
            .one(unit.conn())
            .await?;
        match namespace {
            Some(namespace) => {
                let decision = policy::authorize(
                    &unit.principal,
                    Action::BindTopic {
                        topic,
                        namespace: &namespace,
                    },
                );
                self.allow(decision, unit).await
            }
            None => Ok(unit),
        }
    }

    /// Creates or updates a product, registering its schema when given:
    /// the input is checked first, then every rule that needs the catalog,
    /// then the product's row is written once.
    pub async fn publish_product(&self, caller: &Caller, input: PublishProduct) -> Result<data_product::Model> {
        let checked = Checked::parse(&input)?;
        let qname = checked.qualified.to_string();
        let unit = self
            .begin(caller, Op::new("publishDataProduct", EntityKind::Product, &qname))
            .await?;
        let domain = find_domain(unit.conn(), checked.qualified.domain.as_str()).await?;
        let mut unit = self
            .allow(
                policy::authorize(&unit.principal, Action::ChangeProduct { domain: &domain }),
                unit,
            )
            .await?;
        let owner_team = match &input.owner_team {
            Some(team) => Some(find_team(unit.conn(), team).await?),
            None => None,
        };
        let existing = data_product::Entity::find()
            .filter(data_product::Column::QualifiedName.eq(&qname))
            .one(unit.conn())
            .await?;
        // The topic the product will be bound to: the one given, else the
        // current one, else its qualified name.
        let bound_topic = existing.as_ref().map(|p| p.topic_name.as_str());
        let topic_name = input
            .topic
            .as_ref()
            .and_then(|t| t.name.clone())
            .unwrap_or_else(|| bound_topic.map_or_else(|| qname.clone(), str::to_owned));
        if bound_topic != Some(topic_name.as_str()) {
            unit = self.check_topic_binding(unit, &domain, &topic_name).await?;
        }
        ensure_topic_free(&unit, &topic_name, existing.as_ref().map(|p| p.id.as_str())).await?;
        let status = match &existing {
            None => {
                if input.expected_version.is_some_and(|v| v != 0) {
                    return Err(CatalogError::Conflict(format!(
                        "data product `{qname}` does not exist (expected version {})",
                        input.expected_version.unwrap_or_default()
                    )));
                }
                ProductStatus::Draft
            }
            Some(current) => {
                if input.adopted {
                    return Err(CatalogError::Conflict(format!(
                        "data product `{qname}` already exists: adopt the topic under another name"
                    )));
                }
                current.status
            }
        };
        let target = match (status, input.draft) {
            (ProductStatus::Retired, _) => {
                return Err(CatalogError::Conflict(format!(
                    "data product `{qname}` is retired and cannot change"
                )))
            }
            (ProductStatus::Draft, true) => ProductStatus::Draft,
            (ProductStatus::Draft, false) => ProductStatus::Published,
            (ProductStatus::Published | ProductStatus::Deprecated, true) => {
                return Err(CatalogError::Conflict(format!(
                    "data product `{qname}` is {status} and cannot go back to DRAFT"
                )))
            }
            (other, false) => other,
        };
        let row = Row {
            input: &input,
            checked: &checked,
            topic_name,
            owner_team_id: owner_team.map(|t| t.id),
            status: target,
            now: Utc::now(),
        };
        let (model, created) = match existing {
            None => {
                ensure_schema(&qname, target, input.schema.is_some())?;
                (row.create(&domain).insert(unit.conn()).await?, true)
            }
            Some(current) => {
                let Some(expected) = input.expected_version else {
                    return Err(CatalogError::Conflict(format!(
                        "data product `{qname}` already exists at version {}: pass expectedVersion to update it",
                        current.version
                    )));
                };
                let has_schema = input.schema.is_some() || schemas::has_schema(unit.conn(), &current.id).await?;
                ensure_schema(&qname, target, has_schema)?;
                (row.update(&unit, current, expected).await?, false)
            }
        };
        if let Some(tags) = &checked.tags {
            product_tag::Entity::delete_many()
                .filter(product_tag::Column::ProductId.eq(&model.id))
                .exec(unit.conn())
                .await?;
            for tag in tags {
                product_tag::ActiveModel {
                    product_id: Set(model.id.clone()),
                    tag: Set(tag.clone()),
                }
                .insert(unit.conn())
                .await?;
            }
        }
        for (name, check) in &checked.checks {
            upsert_check(&unit, &model.id, name, check).await?;
        }
        let registered = match &input.schema {
            Some(schema) => schemas::register_in(&unit, &model, schema).await?,
            None => None,
        };
        let kind = if created || (status == ProductStatus::Draft && target == ProductStatus::Published) {
            ChangeKind::ProductPublished
        } else {
            ChangeKind::ProductUpdated
        };
        let mut summary = if input.adopted {
            format!(
                "adopted topic {} as {} ({})",
                model.topic_name, model.qualified_name, target
            )
        } else {
            format!(
                "{} {} ({})",
                if created { "created" } else { "updated" },
                model.qualified_name,
                target
            )
        };
        if let Some(version) = &registered {
            summary.push_str(&format!(", schema version {}", version.version));
        }
        unit.record(Event {
            kind,
            entity_kind: EntityKind::Product,
            entity_id: &model.id,
            entity_name: &model.qualified_name,
            summary,
            products: vec![model.id.clone()],
        })
        .await?;
        self.commit(unit).await?;
        Ok(model)
    }

    pub async fn deprecate_product(&self, caller: &Caller, input: Deprecate) -> Result<data_product::Model> {
        let reason = required_text("deprecation reason", &input.reason, 2_000)?;
        let sunset = input
            .sunset_date
            .as_deref()
            .map(|d| {
                NaiveDate::parse_from_str(d, "%Y-%m-%d")
                    .map(|d| d.to_string())
                    .map_err(|_| CatalogError::Validation(format!("invalid sunset date `{d}`: use YYYY-MM-DD")))
            })
            .transpose()?;
        let (mut unit, product) = self
            .product_to_change(
                caller,
                Op::new("deprecateDataProduct", EntityKind::Product, &input.product),
            )
            .await?;
        let status = product.status;
        if status != ProductStatus::Published {
            return Err(CatalogError::Conflict(format!(
                "only a PUBLISHED product can be deprecated; `{}` is {status}",
                product.qualified_name
            )));
        }
        let successor = match input.successor.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(key) => {
                // Hidden or missing alike: NOT_FOUND, naming only what was typed.
                let as_successor = |e: CatalogError| match e {
                    CatalogError::NotFound(message) => CatalogError::NotFound(format!("successor: {message}")),
                    other => other,
                };
                let successor = find_product(unit.conn(), key).await.map_err(as_successor)?;
                policy::ensure_visible(&unit.principal, &successor, key).map_err(as_successor)?;
                if successor.id == product.id {
                    return Err(CatalogError::Validation(format!(
                        "`{}` cannot be its own successor",
                        product.qualified_name
                    )));
                }
                let status = successor.status;
                if status != ProductStatus::Published {
                    return Err(CatalogError::Validation(format!(
                        "the successor `{}` must be PUBLISHED; it is {status}",
                        successor.qualified_name
                    )));
                }
                Some(successor)
            }
        };
        let version = bump_version(&unit, &product, input.expected_version).await?;
        let mut active: data_product::ActiveModel = product.into();
        active.status = Set(ProductStatus::Deprecated);
        active.deprecation_reason = Set(Some(reason.clone()));
        active.sunset_date = Set(sunset.clone());
        active.successor_id = Set(successor.as_ref().map(|s| s.id.clone()));
        active.version = Set(version);
        let model = active.update(unit.conn()).await?;
        unit.record(Event {
            kind: ChangeKind::ProductDeprecated,
            entity_kind: EntityKind::Product,
            entity_id: &model.id,
            entity_name: &model.qualified_name,
            summary: format!(
                "deprecated {}: {reason}{}{}",
                model.qualified_name,
                sunset.map(|s| format!(" (sunset {s})")).unwrap_or_default(),
                successor
                    .map(|s| format!("; successor {}", s.qualified_name))
                    .unwrap_or_default()
            ),
            products: vec![model.id.clone()],
        })
        .await?;
        self.commit(unit).await?;
        Ok(model)
    }

    /// Retires a DEPRECATED (or never published DRAFT) product; its open
    /// access requests are rejected and approved ones revoked.
    pub async fn retire_product(
        &self,
        caller: &Caller,
        product: &str,
        expected_version: Option<i32>,
    ) -> Result<data_product::Model> {
        let (mut unit, product) = self
            .product_to_change(caller, Op::new("retireDataProduct", EntityKind::Product, product))
            .await?;
        let status = product.status;
        if !matches!(status, ProductStatus::Deprecated | ProductStatus::Draft) {
            return Err(CatalogError::Conflict(format!(
                "only a DEPRECATED or DRAFT product can be retired; `{}` is {status}",
                product.qualified_name
            )));
        }
        let version = bump_version(&unit, &product, expected_version).await?;
        let now = Utc::now();
        for (from, to) in [
            (SubscriptionStatus::Pending, SubscriptionStatus::Rejected),
            (SubscriptionStatus::Approved, SubscriptionStatus::Revoked),
        ] {
            access_subscription::Entity::update_many()
                .col_expr(access_subscription::Column::Status, Expr::value(to.as_str()))
                .col_expr(access_subscription::Column::DecidedBy, Expr::value(unit.actor.clone()))
                .col_expr(access_subscription::Column::DecidedAt, Expr::value(now))
                .col_expr(
                    access_subscription::Column::DecisionReason,
                    Expr::value("data product retired"),
                )
                .filter(access_subscription::Column::ProductId.eq(&product.id))
                .filter(access_subscription::Column::Status.eq(from))
                .exec(unit.conn())
                .await?;
        }
        let mut active: data_product::ActiveModel = product.into();
        active.status = Set(ProductStatus::Retired);
        active.version = Set(version);
        let model = active.update(unit.conn()).await?;
        unit.record(Event {
            kind: ChangeKind::ProductRetired,
            entity_kind: EntityKind::Product,
            entity_id: &model.id,
            entity_name: &model.qualified_name,
            summary: format!("retired {}", model.qualified_name),
            products: vec![model.id.clone()],
        })
        .await?;
        self.commit(unit).await?;
        Ok(model)
    }

    /// Opens the unit of a change to an existing product: the product must
    /// be visible to the caller (else NOT_FOUND) and the caller a member of
    /// its domain's team (else FORBIDDEN); refusals are audited.
    pub(super) async fn product_to_change(&self, caller: &Caller, op: Op) -> Result<(Unit, data_product::Model)> {
        let key = op.key.clone();
        let unit = self.begin(caller, op).await?;
        let product = find_product(unit.conn(), &key).await?;
        let domain = find_domain(unit.conn(), &product.domain_id).await?;
        let unit = self
            .allow_on_product(unit, &product, &key, Action::ChangeProduct { domain: &domain })
            .await?;
        Ok((unit, product))
    }

    /// A product by id or qualified name, NOT_FOUND when it does not exist
    /// or the caller may not see it.
    pub async fn visible_product(&self, principal: &Principal, key: &str) -> Result<data_product::Model> {
        policy::ensure_reader(principal)?;
        let product = find_product(self.db(), key).await?;
        policy::ensure_visible(principal, &product, key)?;
        Ok(product)
    }

    pub async fn product(&self, principal: &Principal, key: &str) -> Result<Option<data_product::Model>> {
        super::optional(self.visible_product(principal, key).await)
    }

    /// Lists the products the caller can see in qualified-name order after
    /// the `after` name.
    pub async fn products(
        &self,
        principal: &Principal,
        filter: &ProductFilter,
        first: u64,
        after: Option<&str>,
    ) -> Result<ProductPage> {
        policy::ensure_reader(principal)?;
        let mut cond = policy::product_condition(principal).map_or_else(Condition::all, |c| Condition::all().add(c));
        if let Some(domain) = &filter.domain {
            let domain = find_domain(self.db(), domain).await?;
            cond = cond.add(data_product::Column::DomainId.eq(domain.id));
        }
        if let Some(team) = &filter.owner_team {
            let team = find_team(self.db(), team).await?;
            cond = cond.add(data_product::Column::OwnerTeamId.eq(team.id));
        }
        if !filter.statuses.is_empty() {
            cond = cond.add(data_product::Column::Status.is_in(filter.statuses.iter().copied()));
        }
        if !filter.quality_classes.is_empty() {
            cond = cond.add(data_product::Column::QualityClass.is_in(filter.quality_classes.iter().copied()));
        }
        if !filter.tiers.is_empty() {
            cond = cond.add(data_product::Column::SlaTier.is_in(filter.tiers.iter().copied()));
        }
        if let Some(v) = filter.visibility {
            cond = cond.add(data_product::Column::Visibility.eq(v));
        }
        for tag in &filter.tags {
            cond = cond.add(
                data_product::Column::Id.in_subquery(
                    Query::select()
                        .column(product_tag::Column::ProductId)
                        .from(product_tag::Entity)
                        .and_where(product_tag::Column::Tag.eq(tag.to_lowercase()))
                        .to_owned(),
                ),
            );
        }
        let total_count = data_product::Entity::find()
            .filter(cond.clone())
            .count(self.db())
            .await?;
        let mut query = data_product::Entity::find().filter(cond);
        if let Some(after) = after {
            query = query.filter(data_product::Column::QualifiedName.gt(after));
        }
        let mut items = query
            .order_by_asc(data_product::Column::QualifiedName)
            .limit(first + 1)
            .all(self.db())
            .await?;
        let has_next_page = items.len() as u64 > first;
        items.truncate(first as usize);
        Ok(ProductPage {
            items,
            has_next_page,
            total_count,
        })
    }
}

/// What `publishDataProduct` can check of its input without the catalog.
struct Checked {
    qualified: QualifiedName,
    display_name: Option<String>,
    description: Option<String>,
    tags: Option<Vec<String>>,
    contacts: Option<Vec<Contact>>,
    checks: Vec<(Name, QualityCheckInput)>,
}

impl Checked {
    fn parse(input: &PublishProduct) -> Result<Self> {
        let qualified = QualifiedName::new(
            Name::parse("domain name", &input.domain)?,
            Name::parse("product name", &input.name)?,
        );
        let tags = input.tags.as_deref().map(tags).transpose()?;
        let contacts = input.contacts.as_deref().map(contacts).transpose()?;
        let display_name = input
            .display_name
            .as_deref()
            .map(|d| required_text("display name", d, 200))
            .transpose()?;
        let description = input
            .description
            .as_deref()
            .map(|d| text("description", d, 100_000))
            .transpose()?;
        if let Some(sla) = &input.sla {
            validate_sla(sla)?;
        }
        if let Some(topic) = &input.topic {
            validate_topic(topic, input.adopted)?;
        }
        let checks = input
            .quality_checks
            .iter()
            .map(|c| {
                if c.threshold.is_some_and(|t| !t.is_finite()) {
                    return Err(CatalogError::Validation(
                        "check threshold must be a finite number".into(),
                    ));
                }
                Ok((Name::parse("check name", &c.name)?, c.clone()))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            qualified,
            display_name,
            description,
            tags,
            contacts,
            checks,
        })
    }
}

/// A product's row as `publishDataProduct` writes it, from the checked
/// input and what the catalog decided (topic, owner, status).
struct Row<'a> {
    input: &'a PublishProduct,
    checked: &'a Checked,
    topic_name: String,
    /// The owner team given, if any.
    owner_team_id: Option<String>,
    status: ProductStatus,
    now: chrono::DateTime<Utc>,
}

impl Row<'_> {
    /// A new product: what is not given takes its default.
    fn create(self, domain: &domain::Model) -> data_product::ActiveModel {
        let (input, checked) = (self.input, self.checked);
        let name = checked.qualified.name.as_str();
        let topic = input.topic.clone().unwrap_or_default();
        let mut row = data_product::ActiveModel {
            id: Set(new_id()),
            qualified_name: Set(checked.qualified.to_string()),
            domain_id: Set(domain.id.clone()),
            name: Set(name.to_owned()),
            display_name: Set(checked.display_name.clone().unwrap_or_else(|| name.to_owned())),
            description: Set(checked.description.clone().unwrap_or_default()),
            owner_team_id: Set(self.owner_team_id.unwrap_or_else(|| domain.owner_team_id.clone())),
            contacts: Set(serde_json::to_string(&checked.contacts.clone().unwrap_or_default()).unwrap_or_default()),
            status: Set(self.status),
            deprecation_reason: Set(None),
            sunset_date: Set(None),
            successor_id: Set(None),
            visibility: Set(input.visibility.unwrap_or(Visibility::Public)),
            quality_class: Set(input.quality_class.unwrap_or(QualityClass::Raw)),
            compatibility: Set(schemas::mode_str(input.compatibility.unwrap_or_default()).to_owned()),
            topic_name: Set(self.topic_name),
            topic_partitions: Set(topic.partitions.unwrap_or(DEFAULT_PARTITIONS)),
            topic_retention_ms: Set(topic.retention_ms.unwrap_or(DEFAULT_RETENTION_MS)),
            topic_cleanup_policy: Set(topic.cleanup_policy.unwrap_or(CleanupPolicy::Delete)),
            sla_tier: Set(None),
            sla_availability_percent: Set(None),
            sla_max_freshness_seconds: Set(None),
            sla_max_latency_ms: Set(None),
            sla_retention_days: Set(None),
            sla_support_hours: Set(None),
            sla_on_call: Set(None),
            version: Set(1),
            created_at: Set(self.now),
            updated_at: Set(self.now),
        };
        if let Some(sla) = &input.sla {
            set_sla(&mut row, sla);
        }
        row
    }

    /// An update of `current` at version `expected`: what is given
    /// replaces what is stored; written only if the stored version is still
    /// `expected` (optimistic concurrency).
    async fn update(self, unit: &Unit, current: data_product::Model, expected: i32) -> Result<data_product::Model> {
        let (input, checked) = (self.input, self.checked);
        if expected != current.version {
            return Err(stale(&current, expected));
        }
        let mut row: data_product::ActiveModel = current.clone().into();
        row.version = Set(expected + 1);
        row.updated_at = Set(self.now);
        row.status = Set(self.status);
        if let Some(d) = &checked.display_name {
            row.display_name = Set(d.clone());
        }
        if let Some(d) = &checked.description {
            row.description = Set(d.clone());
        }
        if let Some(t) = self.owner_team_id {
            row.owner_team_id = Set(t);
        }
        if let Some(c) = &checked.contacts {
            row.contacts = Set(serde_json::to_string(c).unwrap_or_default());
        }
        if let Some(v) = input.visibility {
            row.visibility = Set(v);
        }
        if let Some(c) = input.quality_class {
            row.quality_class = Set(c);
        }
        if let Some(m) = input.compatibility {
            row.compatibility = Set(schemas::mode_str(m).to_owned());
        }
        if let Some(topic) = &input.topic {
            row.topic_name = Set(self.topic_name);
            if let Some(p) = topic.partitions {
                if p < current.topic_partitions {
                    return Err(CatalogError::Validation(format!(
                        "a topic's partitions cannot decrease ({} → {p})",
                        current.topic_partitions
                    )));
                }
                row.topic_partitions = Set(p);
            }
            if let Some(r) = topic.retention_ms {
                row.topic_retention_ms = Set(r);
            }
            if let Some(c) = topic.cleanup_policy {
                row.topic_cleanup_policy = Set(c);
            }
        }
        if let Some(sla) = &input.sla {
            set_sla(&mut row, sla);
        }
        let updated = data_product::Entity::update(row)
            .validate()?
            .filter(data_product::Column::Version.eq(expected))
            .exec(unit.conn())
            .await;
        match updated {
            Err(sea_orm::DbErr::RecordNotUpdated) => Err(stale(&current, expected)),
            other => Ok(other?),
        }
    }
}

fn set_sla(row: &mut data_product::ActiveModel, sla: &SlaInput) {
    row.sla_tier = Set(Some(sla.tier));
    row.sla_availability_percent = Set(sla.availability_percent);
    row.sla_max_freshness_seconds = Set(sla.max_freshness_seconds);
    row.sla_max_latency_ms = Set(sla.max_latency_ms);
    row.sla_retention_days = Set(sla.retention_days);
    row.sla_support_hours = Set(sla.support_hours.clone());
    row.sla_on_call = Set(sla.on_call.clone());
}

/// A product leaving DRAFT needs a schema.
fn ensure_schema(qname: &str, target: ProductStatus, has_schema: bool) -> Result<()> {
    if target == ProductStatus::Draft || has_schema {
        return Ok(());
    }
    Err(CatalogError::Validation(format!(
        "data product `{qname}` needs a schema to be published (or publish it as a draft)"
    )))
}

/// Refuses a topic another product is bound to, naming that product only to
/// a caller who may see it.
async fn ensure_topic_free(unit: &Unit, topic: &str, product_id: Option<&str>) -> Result<()> {
    let mut clash = data_product::Entity::find().filter(data_product::Column::TopicName.eq(topic));
    if let Some(id) = product_id {
        clash = clash.filter(data_product::Column::Id.ne(id));
    }
    let Some(other) = clash.one(unit.conn()).await? else {
        return Ok(());
    };
    Err(CatalogError::Conflict(if policy::can_see(&unit.principal, &other) {
        format!(
            "topic `{topic}` already belongs to data product `{}`",
            other.qualified_name
        )
    } else {
        format!("topic `{topic}` is not available: choose another topic name")
    }))
}

async fn upsert_check(unit: &Unit, product_id: &str, name: &Name, input: &QualityCheckInput) -> Result<()> {
    let description = text("check description", &input.description, 2_000)?;
    let existing = quality_check::Entity::find()
        .filter(quality_check::Column::ProductId.eq(product_id))
        .filter(quality_check::Column::Name.eq(name.as_str()))
        .one(unit.conn())
        .await?;
    match existing {
        Some(check) => {
            let mut active: quality_check::ActiveModel = check.into();
            active.kind = Set(input.kind);
            active.description = Set(description);
            active.threshold = Set(input.threshold);
            active.update(unit.conn()).await?;
        }
        None => {
            quality_check::ActiveModel {
                id: Set(new_id()),
                product_id: Set(product_id.to_owned()),
                name: Set(name.as_str().to_owned()),
                kind: Set(input.kind),
                description: Set(description),
                threshold: Set(input.threshold),
                created_at: Set(Utc::now()),
            }
            .insert(unit.conn())
            .await?;
        }
    }
    Ok(())
}
