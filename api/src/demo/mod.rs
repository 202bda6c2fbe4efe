//! The demo mesh (`serve --demo`): seeded from `api/demo/catalog.json`
//! through the catalog's own mutations, so demo data obeys every rule.
//! Seeding is idempotent: what already exists is left alone.

pub mod traffic;

use chrono::{Duration, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::auth::{Caller, Identity};
use crate::catalog::{
    decode_format, decode_mode, AccessDecision, Catalog, CatalogError, CheckKind, CleanupPolicy, Contact, Deprecate,
    FieldMapping, NewApplication, NewDomain, NewLineageEdge, NewTeam, NewUseCase, NodeRef, ProductStatus,
    PublishProduct, QualityCheckInput, QualityClass, QualityStatus, RecordQualityResult, RequestAccess, SchemaInput,
    SlaInput, SlaTier, SubscriptionStatus, TopicInput, UseCaseKind, Visibility,
};

/// The demo catalog, compiled into the binary.
const DEMO: &str = include_str!("../../demo/catalog.json");

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Demo {
    teams: Vec<DemoTeam>,
    domains: Vec<DemoDomain>,
    products: Vec<DemoProduct>,
    applications: Vec<DemoApplication>,
    subscriptions: Vec<DemoSubscription>,
    lineage: Vec<DemoEdge>,
    use_cases: Vec<DemoUseCase>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DemoTeam {
    name: String,
    description: String,
    members: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DemoDomain {
    name: String,
    description: String,
    owner_team: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DemoTopic {
    name: String,
    partitions: i32,
    retention_ms: i64,
    cleanup_policy: CleanupPolicy,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DemoSla {
    tier: SlaTier,
    availability_percent: Option<f64>,
    max_freshness_seconds: Option<i64>,
    max_latency_ms: Option<i64>,
    retention_days: Option<i32>,
    support_hours: Option<String>,
    on_call: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DemoSchema {
    format: String,
    definition: Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DemoResult {
    status: QualityStatus,
    observed_value: Option<f64>,
    hours_ago: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DemoCheck {
    name: String,
    kind: CheckKind,
    description: String,
    threshold: Option<f64>,
    #[serde(default)]
    results: Vec<DemoResult>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DemoDeprecation {
    reason: String,
    sunset_date: Option<String>,
    successor: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DemoProduct {
    domain: String,
    name: String,
    display_name: String,
    description: String,
    owner_team: String,
    tags: Vec<String>,
    #[serde(default)]
    contacts: Vec<Contact>,
    visibility: Visibility,
    quality_class: QualityClass,
    compatibility: String,
    topic: DemoTopic,
    sla: Option<DemoSla>,
    schema_versions: Vec<DemoSchema>,
    status: ProductStatus,
    deprecation: Option<DemoDeprecation>,
    #[serde(default)]
    quality_checks: Vec<DemoCheck>,
    /// Whether the demo produces live records for it (default: yes); a
    /// quiet product shows the freshness flags.
    #[serde(default = "yes")]
    traffic: bool,
}

fn yes() -> bool {
    true
}

/// Qualified names of the demo products kept without live traffic.
pub fn quiet_products() -> Vec<String> {
    serde_json::from_str::<Demo>(DEMO)
        .map(|demo| {
            demo.products
                .into_iter()
                .filter(|p| !p.traffic)
                .map(|p| format!("{}.{}", p.domain, p.name))
                .collect()
        })
        .unwrap_or_default()
}

/// A user of the demo mesh, offered by the portal's sign-in.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DemoUser {
    pub subject: String,
    pub admin: bool,
    /// The demo teams it is a member of, by name.
    pub teams: Vec<String>,
}

/// The demo's users: `root` (a platform admin), then every member of the
/// demo's teams, by name.
pub fn users() -> Vec<DemoUser> {
    let Ok(demo) = serde_json::from_str::<Demo>(DEMO) else {
        return Vec::new();
    };
    let mut members: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for team in demo.teams {
        for member in team.members {
            members.entry(member).or_default().push(team.name.clone());
        }
    }
    let root = DemoUser {
        subject: "root".into(),
        admin: true,
        teams: Vec::new(),
    };
    std::iter::once(root)
        .chain(members.into_iter().map(|(subject, teams)| DemoUser {
            subject,
            admin: false,
            teams,
        }))
        .collect()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DemoApplication {
    name: String,
    description: String,
    owner_team: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DemoSubscription {
    application: String,
    product: String,
    purpose: String,
    requested_by: String,
    status: SubscriptionStatus,
    decided_by: Option<String>,
    reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DemoUseCase {
    application: String,
    registered_by: String,
    name: String,
    kind: UseCaseKind,
    description: String,
    inputs: Vec<String>,
    outputs: Vec<String>,
    transformation: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DemoEdge {
    from: String,
    to: String,
    #[serde(default)]
    field_mappings: Vec<FieldMapping>,
}

fn user(subject: &str) -> Caller {
    Caller::User(Identity {
        subject: subject.to_owned(),
        teams: vec![],
        roles: vec!["admin".into()],
    })
}

fn node(text: &str) -> Result<NodeRef, CatalogError> {
    match text.split_once(':') {
        Some(("product", p)) => Ok(NodeRef::Product(p.to_owned())),
        Some(("application", a)) => Ok(NodeRef::Application(a.to_owned())),
        _ => Err(CatalogError::Validation(format!("demo: bad lineage endpoint {text}"))),
    }
}

/// Ignores "already exists" so that seeding twice is harmless.
fn tolerate<T>(result: Result<T, CatalogError>) -> Result<Option<T>, CatalogError> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(CatalogError::Conflict(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Seeds the demo mesh; returns the number of products created.
pub async fn seed(catalog: &Catalog) -> Result<usize, CatalogError> {
    let demo: Demo =
        serde_json::from_str(DEMO).map_err(|e| CatalogError::Internal(format!("demo catalog does not parse: {e}")))?;
    let admin = user("platform-admin");
    for team in &demo.teams {
        let input = NewTeam {
            name: team.name.clone(),
            description: team.description.clone(),
            members: team.members.clone(),
        };
        tolerate(catalog.create_team(&admin, input).await)?;
    }
    for domain in &demo.domains {
        let input = NewDomain {
            name: domain.name.clone(),
            description: domain.description.clone(),
            owner_team: domain.owner_team.clone(),
        };
        tolerate(catalog.create_domain(&admin, input).await)?;
    }
    let mut created = Vec::new();
    let admin_view = catalog.principal(&admin).await?;
    for p in &demo.products {
        let qualified = format!("{}.{}", p.domain, p.name);
        if catalog.product(&admin_view, &qualified).await?.is_some() {
            continue;
        }
        let mut versions = p.schema_versions.iter().map(|s| {
            Ok::<_, CatalogError>(SchemaInput {
                format: decode_format(&s.format)?,
                definition: s.definition.to_string(),
            })
        });
        let first = versions.next().transpose()?;
        let input = PublishProduct {
            domain: p.domain.clone(),
            name: p.name.clone(),
            display_name: Some(p.display_name.clone()),
            description: Some(p.description.clone()),
            owner_team: Some(p.owner_team.clone()),
            tags: Some(p.tags.clone()),
            contacts: Some(p.contacts.clone()),
            visibility: Some(p.visibility),
            quality_class: Some(p.quality_class),
            compatibility: Some(decode_mode(&p.compatibility)?),
            topic: Some(TopicInput {
                name: Some(p.topic.name.clone()),
                partitions: Some(p.topic.partitions),
                retention_ms: Some(p.topic.retention_ms),
                cleanup_policy: Some(p.topic.cleanup_policy),
            }),
            sla: p.sla.as_ref().map(|s| SlaInput {
                tier: s.tier,
                availability_percent: s.availability_percent,
                max_freshness_seconds: s.max_freshness_seconds,
                max_latency_ms: s.max_latency_ms,
                retention_days: s.retention_days,
                support_hours: s.support_hours.clone(),
                on_call: s.on_call.clone(),
            }),
            schema: first,
            quality_checks: p
                .quality_checks
                .iter()
                .map(|c| QualityCheckInput {
                    name: c.name.clone(),
                    kind: c.kind,
                    description: c.description.clone(),
                    threshold: c.threshold,
                })
                .collect(),
            draft: p.status == ProductStatus::Draft,
            expected_version: None,
            adopted: false,
        };
        let owner = user(&format!("{}-owner", p.domain));
        catalog
            .publish_product(&owner, input)
            .await
            .map_err(|e| CatalogError::Validation(format!("demo product {qualified}: {e}")))?;
        for schema in versions {
            catalog
                .register_schema_version(&owner, &qualified, schema?, None)
                .await
                .map_err(|e| CatalogError::Validation(format!("demo schema of {qualified}: {e}")))?;
        }
        let now = Utc::now();
        for check in &p.quality_checks {
            for r in &check.results {
                let input = RecordQualityResult {
                    product: qualified.clone(),
                    check: check.name.clone(),
                    status: r.status,
                    observed_value: r.observed_value,
                    message: None,
                    observed_at: Some(now - Duration::hours(r.hours_ago)),
                };
                catalog.record_quality_result(&owner, input).await?;
            }
        }
        created.push(p);
    }
    for app in &demo.applications {
        let input = NewApplication {
            name: app.name.clone(),
            description: app.description.clone(),
            owner_team: app.owner_team.clone(),
        };
        tolerate(catalog.create_application(&admin, input).await)?;
    }
    let fresh = |qualified: &str| created.iter().any(|p| format!("{}.{}", p.domain, p.name) == qualified);
    for s in demo.subscriptions.iter().filter(|s| fresh(&s.product)) {
        let request = RequestAccess {
            application: s.application.clone(),
            product: s.product.clone(),
            purpose: s.purpose.clone(),
        };
        let sub = catalog
            .request_access(&user(&s.requested_by), request)
            .await
            .map_err(|e| {
                CatalogError::Validation(format!("demo subscription {} → {}: {e}", s.product, s.application))
            })?;
        let decider = user(s.decided_by.as_deref().unwrap_or("platform-admin"));
        let steps: &[AccessDecision] = match s.status {
            SubscriptionStatus::Pending => &[],
            SubscriptionStatus::Approved => &[AccessDecision::Approve { pii_access: false }],
            SubscriptionStatus::Rejected => &[AccessDecision::Reject],
            SubscriptionStatus::Revoked => &[AccessDecision::Approve { pii_access: false }, AccessDecision::Revoke],
        };
        for step in steps {
            let reason = s.reason.clone().or_else(|| Some("demo".into()));
            catalog.decide_access(&decider, &sub.id, *step, reason).await?;
        }
    }
    // The classic clickstream pipeline: enrich, filter, aggregate. Each
    // registration records its lineage and requests missing access.
    for u in &demo.use_cases {
        let input = NewUseCase {
            application: u.application.clone(),
            name: u.name.clone(),
            kind: u.kind,
            description: u.description.clone(),
            inputs: u.inputs.clone(),
            outputs: u.outputs.clone(),
            transformation: u.transformation.clone(),
        };
        tolerate(catalog.register_use_case(&user(&u.registered_by), input).await)
            .map_err(|e| CatalogError::Validation(format!("demo use case {}: {e}", u.name)))?;
    }
    for edge in &demo.lineage {
        let input = NewLineageEdge {
            from: node(&edge.from)?,
            to: node(&edge.to)?,
            field_mappings: edge.field_mappings.clone(),
        };
        tolerate(catalog.add_lineage_edge(&admin, input).await)?;
    }
    for p in &created {
        let qualified = format!("{}.{}", p.domain, p.name);
        let owner = user(&format!("{}-owner", p.domain));
        if matches!(p.status, ProductStatus::Deprecated | ProductStatus::Retired) {
            let deprecation = p.deprecation.as_ref();
            let input = Deprecate {
                product: qualified.clone(),
                reason: deprecation.map_or_else(|| "superseded".to_owned(), |d| d.reason.clone()),
                sunset_date: deprecation.and_then(|d| d.sunset_date.clone()),
                successor: deprecation.and_then(|d| d.successor.clone()),
                expected_version: None,
            };
            catalog.deprecate_product(&owner, input).await?;
        }
        if p.status == ProductStatus::Retired {
            catalog.retire_product(&owner, &qualified, None).await?;
        }
    }
    tracing::info!(created = created.len(), "demo catalog seeded");
    Ok(created.len())
}
