//! Lineage: a directed graph of products and applications, walked upstream
//! or downstream to any depth (cycle-safe), and impact analysis.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Set};

use crate::auth::Caller;
use crate::store::entities::{application, data_product, lineage_edge, team};
use crate::store::rows_by_key;

use super::policy::{self, Action, Principal};
use super::rows::{find_application, find_domain, find_product};
use super::{
    new_id, Catalog, CatalogError, ChangeKind, CleanupPolicy, Direction, EdgeKind, EntityKind, Event, FieldMapping,
    NodeKind, Op, ProductStatus, QualityClass, Result, Unit, Visibility,
};

/// Deepest walk accepted; deeper requests are clamped.
pub const MAX_DEPTH: i32 = 100;

/// A lineage endpoint as the caller names it: a product (id or qualified
/// name) or an application (id or name).
#[derive(Debug, Clone)]
pub enum NodeRef {
    Product(String),
    Application(String),
}

/// A resolved endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Endpoint {
    pub kind: NodeKind,
    pub id: String,
}

/// Input of `addLineageEdge`.
#[derive(Debug, Clone)]
pub struct NewLineageEdge {
    pub from: NodeRef,
    pub to: NodeRef,
    pub field_mappings: Vec<FieldMapping>,
}

/// A node reached by a walk, with its distance from the root (negative
/// upstream, positive downstream, 0 for the root).
#[derive(Debug, Clone, PartialEq)]
pub struct LineageNode {
    pub kind: NodeKind,
    pub id: String,
    pub name: String,
    pub depth: i32,
    /// A product the caller may not see: `id` is an opaque placeholder
    /// (`restricted-<n>`, unique within one answer) and `name` is
    /// `restricted`.
    pub restricted: bool,
    /// The row behind the node, read by the walk (`None` for a restricted
    /// node, or a node whose row is gone): resolvers need no second read.
    pub entity: Option<NodeEntity>,
}

/// The product or application behind a lineage node.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeEntity {
    Product(Arc<data_product::Model>),
    Application(Arc<application::Model>),
}

/// Most ids bound in one `IN (…)` list (SQLite allows 32,766 parameters,
/// PostgreSQL 65,535): larger sets are read in several queries.
const IN_CHUNK: usize = 10_000;

/// The rows of `E` whose `column` is in `ids`, in chunks of [`IN_CHUNK`].
async fn rows_in<E: EntityTrait>(db: &impl ConnectionTrait, column: E::Column, ids: &[String]) -> Result<Vec<E::Model>>
where
    E::Column: ColumnTrait,
{
    let mut rows = Vec::new();
    for chunk in ids.chunks(IN_CHUNK) {
        rows.extend(E::find().filter(column.is_in(chunk.iter().cloned())).all(db).await?);
    }
    Ok(rows)
}

// ------------------------------------------------------------ summary rows
//
// A lineage or impact answer over thousands of nodes spends much of its
// time reading and copying whole rows (a product has 30 columns) of which
// the portal shows two or three. When the caller's selection reads only
// what a summary row holds (the GraphQL layer looks ahead), the reads
// below select only those columns; the other fields of the model hold
// placeholders (empty strings, `None`, the epoch) that nothing reads.

/// The product columns a summary row holds: what `policy::can_see` needs
/// (id, visibility, domain, owner team) and what a lineage node shows.
const SUMMARY_PRODUCT_COLUMNS: [data_product::Column; 7] = [
    data_product::Column::Id,
    data_product::Column::QualifiedName,
    data_product::Column::Name,
    data_product::Column::DomainId,
    data_product::Column::OwnerTeamId,
    data_product::Column::Status,
    data_product::Column::Visibility,
];

type ProductSummary = (String, String, String, String, String, ProductStatus, Visibility);

/// A product model holding only [`SUMMARY_PRODUCT_COLUMNS`].
fn product_from_summary(
    (id, qualified_name, name, domain_id, owner_team_id, status, visibility): ProductSummary,
) -> data_product::Model {
    data_product::Model {
        id,
        qualified_name,
        domain_id,
        name,
        display_name: String::new(),
        description: String::new(),
        owner_team_id,
        contacts: "[]".into(),
        status,
        deprecation_reason: None,
        sunset_date: None,
        successor_id: None,
        visibility,
        compatibility: String::new(),
        topic_name: String::new(),
        topic_partitions: 0,
        topic_retention_ms: 0,
        topic_cleanup_policy: CleanupPolicy::Delete,
        sla_tier: None,
        sla_availability_percent: None,
        sla_max_freshness_seconds: None,
        sla_max_latency_ms: None,
        sla_retention_days: None,
        sla_support_hours: None,
        sla_on_call: None,
        quality_class: QualityClass::Raw,
        version: 0,
        created_at: DateTime::UNIX_EPOCH,
        updated_at: DateTime::UNIX_EPOCH,
    }
}

/// The application columns a summary row holds.
const SUMMARY_APPLICATION_COLUMNS: [application::Column; 3] = [
    application::Column::Id,
    application::Column::Name,
    application::Column::OwnerTeamId,
];

/// An application model holding only [`SUMMARY_APPLICATION_COLUMNS`].
fn application_from_summary((id, name, owner_team_id): (String, String, String)) -> application::Model {
    application::Model {
        id,
        name,
        description: String::new(),
        owner_team_id,
        created_at: DateTime::UNIX_EPOCH,
        updated_at: DateTime::UNIX_EPOCH,
    }
}

/// The edge columns a walk needs (and the portal shows).
const SUMMARY_EDGE_COLUMNS: [lineage_edge::Column; 6] = [
    lineage_edge::Column::Id,
    lineage_edge::Column::FromKind,
    lineage_edge::Column::FromId,
    lineage_edge::Column::ToKind,
    lineage_edge::Column::ToId,
    lineage_edge::Column::Kind,
];

type EdgeSummary = (String, NodeKind, String, NodeKind, String, EdgeKind);

/// An edge model holding only [`SUMMARY_EDGE_COLUMNS`] (no field mappings,
/// author or time).
fn edge_from_summary((id, from_kind, from_id, to_kind, to_id, kind): EdgeSummary) -> lineage_edge::Model {
    lineage_edge::Model {
        id,
        from_kind,
        from_id,
        to_kind,
        to_id,
        kind,
        field_mappings: "[]".into(),
        created_by: String::new(),
        created_at: DateTime::UNIX_EPOCH,
    }
}

/// The rows of `E` whose `column` is in `ids`: whole rows (in chunks of
/// [`IN_CHUNK`]), or only `columns` read as `T` in one bulk read and made a
/// model by `model`.
async fn rows_or_summaries_in<E, T>(
    db: &impl ConnectionTrait,
    column: E::Column,
    ids: &[String],
    whole: bool,
    columns: &[E::Column],
    model: fn(T) -> E::Model,
) -> Result<Vec<E::Model>>
where
    E: EntityTrait,
    E::Column: ColumnTrait,
    T: serde::de::DeserializeOwned,
{
    if whole {
        return rows_in::<E>(db, column, ids).await;
    }
    let rows = rows_by_key::<E, T>(db, column, ids, columns, false).await?;
    Ok(rows.into_iter().map(model).collect())
}

/// The products with these ids: whole rows, or summaries.
async fn products_in(db: &impl ConnectionTrait, ids: &[String], whole: bool) -> Result<Vec<data_product::Model>> {
    rows_or_summaries_in::<data_product::Entity, _>(
        db,
        data_product::Column::Id,
        ids,
        whole,
        &SUMMARY_PRODUCT_COLUMNS,
        product_from_summary,
    )
    .await
}

/// The applications with these ids: whole rows, or summaries.
async fn applications_in(db: &impl ConnectionTrait, ids: &[String], whole: bool) -> Result<Vec<application::Model>> {
    rows_or_summaries_in::<application::Entity, _>(
        db,
        application::Column::Id,
        ids,
        whole,
        &SUMMARY_APPLICATION_COLUMNS,
        application_from_summary,
    )
    .await
}

/// What a walk reads of the edges it crosses.
#[derive(Clone, Copy, PartialEq)]
enum EdgeRead {
    /// Whole rows, kept in the answer.
    Whole,
    /// Summaries ([`SUMMARY_EDGE_COLUMNS`]), kept in the answer.
    Summary,
    /// Only the far end of each, not kept (an impact report lists nodes).
    Ends,
}

/// One step of a walk from `ids` (downstream: along the edges from them,
/// upstream: against those to them): the node reached, its kind, and the
/// edge crossed unless `read` is [`EdgeRead::Ends`].
async fn steps_from(
    db: &impl ConnectionTrait,
    downstream: bool,
    ids: &[String],
    read: EdgeRead,
) -> Result<Vec<(String, NodeKind, Option<lineage_edge::Model>)>> {
    use lineage_edge::Column;
    let (near, far, far_kind) = if downstream {
        (Column::FromId, Column::ToId, Column::ToKind)
    } else {
        (Column::ToId, Column::FromId, Column::FromKind)
    };
    if read == EdgeRead::Ends {
        let ends =
            rows_by_key::<lineage_edge::Entity, (String, NodeKind)>(db, near, ids, &[far, far_kind], true).await?;
        return Ok(ends.into_iter().map(|(id, kind)| (id, kind, None)).collect());
    }
    let edges = rows_or_summaries_in::<lineage_edge::Entity, _>(
        db,
        near,
        ids,
        read == EdgeRead::Whole,
        &SUMMARY_EDGE_COLUMNS,
        edge_from_summary,
    )
    .await?;
    Ok(edges
        .into_iter()
        .map(|edge| {
            let (id, kind) = if downstream {
                (edge.to_id.clone(), edge.to_kind)
            } else {
                (edge.from_id.clone(), edge.from_kind)
            };
            (id, kind, Some(edge))
        })
        .collect())
}

/// What a walk reached: each node's kind and signed distance, and the
/// edges crossed (sorted by id).
struct Reached {
    nodes: HashMap<String, (NodeKind, i32)>,
    edges: Vec<lineage_edge::Model>,
}

impl Reached {
    /// The reached ids of one kind.
    fn ids(&self, kind: NodeKind) -> Vec<String> {
        self.nodes
            .iter()
            .filter(|(_, (k, _))| *k == kind)
            .map(|(id, _)| id.clone())
            .collect()
    }
}

/// The name shown for products hidden from the caller.
pub const RESTRICTED: &str = "restricted";

/// The part of the lineage graph reached from a root.
#[derive(Debug, Clone)]
pub struct LineageGraph {
    pub root: LineageNode,
    pub nodes: Vec<LineageNode>,
    pub edges: Vec<lineage_edge::Model>,
}

/// A product affected by a change to the root, with its distance.
#[derive(Debug, Clone)]
pub struct ImpactedProduct {
    pub product: data_product::Model,
    pub depth: i32,
}

/// An application affected by a change to the root, with its distance.
#[derive(Debug, Clone)]
pub struct ImpactedApplication {
    pub application: application::Model,
    pub depth: i32,
}

/// Everything downstream of a product, to any depth.
#[derive(Debug, Clone)]
pub struct ImpactReport {
    pub product: data_product::Model,
    /// The impacted products the caller can see.
    pub products: Vec<ImpactedProduct>,
    pub applications: Vec<ImpactedApplication>,
    /// How many impacted products are hidden from the caller.
    pub restricted_products: u64,
    /// The owner teams of the impacted products and applications listed,
    /// by id, when asked for ([`ImpactRequest::with_teams`]); empty
    /// otherwise.
    pub teams: HashMap<String, team::Model>,
}

/// A lineage walk to answer ([`Catalog::lineage_of`]): by default with
/// whole rows, as [`Catalog::lineage`] answers.
#[must_use]
pub struct LineageRequest<'a> {
    catalog: &'a Catalog,
    principal: &'a Principal,
    of: &'a NodeRef,
    direction: Direction,
    depth: i32,
    whole_rows: bool,
    edges: EdgeRead,
}

impl LineageRequest<'_> {
    /// With `summary`, the reached nodes carry summary rows: a product's
    /// id, qualified name, name, domain, owner team, status and visibility,
    /// an application's id, name and owner team; the other fields of
    /// [`NodeEntity`]'s model are placeholders. The root keeps its whole
    /// row. Same nodes, order and masking.
    pub fn summary_rows(mut self, summary: bool) -> Self {
        self.whole_rows = !summary;
        self
    }

    /// With `summary`, the edges carry their id, kind and ends only (field
    /// mappings empty, author and time placeholders).
    pub fn summary_edges(mut self, summary: bool) -> Self {
        self.edges = if summary { EdgeRead::Summary } else { EdgeRead::Whole };
        self
    }

    pub async fn run(self) -> Result<LineageGraph> {
        self.catalog.answer_lineage(self).await
    }
}

/// An impact report to answer ([`Catalog::impact_of`]): by default with
/// whole rows and no teams, as [`Catalog::impact`] answers.
#[must_use]
pub struct ImpactRequest<'a> {
    catalog: &'a Catalog,
    principal: &'a Principal,
    product: &'a str,
    whole_rows: bool,
    teams: bool,
}

impl ImpactRequest<'_> {
    /// With `summary`, the impacted products and applications carry
    /// summary rows (see [`LineageRequest::summary_rows`]); the root keeps
    /// its whole row. Same entries, order and count of hidden products.
    pub fn summary_rows(mut self, summary: bool) -> Self {
        self.whole_rows = !summary;
        self
    }

    /// With `teams`, the report carries the owner teams of what it lists
    /// ([`ImpactReport::teams`]), read with it.
    pub fn with_teams(mut self, teams: bool) -> Self {
        self.teams = teams;
        self
    }

    pub async fn run(self) -> Result<ImpactReport> {
        self.catalog.answer_impact(self).await
    }
}

fn edge_kind(from: NodeKind, to: NodeKind) -> Result<EdgeKind> {
    match (from, to) {
        (NodeKind::Product, NodeKind::Application) => Ok(EdgeKind::Consumes),
        (NodeKind::Application, NodeKind::Product) => Ok(EdgeKind::Produces),
        (NodeKind::Product, NodeKind::Product) => Ok(EdgeKind::DerivedFrom),
        (NodeKind::Application, NodeKind::Application) => Err(CatalogError::Validation(
            "an application cannot feed another application directly: connect them through a data product".into(),
        )),
    }
}

/// An endpoint with what authorization needs: the teams owning it and,
/// for a product, the row (whose visibility is checked).
struct Owned {
    endpoint: Endpoint,
    name: String,
    /// The key the caller gave (NOT_FOUND messages name only that).
    key: String,
    owners: Vec<String>,
    product: Option<data_product::Model>,
}

async fn resolve_owned(db: &impl ConnectionTrait, node: &NodeRef) -> Result<Owned> {
    Ok(match node {
        NodeRef::Product(key) => {
            let p = find_product(db, key).await?;
            let domain = find_domain(db, &p.domain_id).await?;
            Owned {
                endpoint: Endpoint {
                    kind: NodeKind::Product,
                    id: p.id.clone(),
                },
                name: p.qualified_name.clone(),
                key: key.clone(),
                owners: vec![domain.owner_team_id, p.owner_team_id.clone()],
                product: Some(p),
            }
        }
        NodeRef::Application(key) => {
            let a = find_application(db, key).await?;
            Owned {
                endpoint: Endpoint {
                    kind: NodeKind::Application,
                    id: a.id,
                },
                name: a.name,
                key: key.clone(),
                owners: vec![a.owner_team_id],
                product: None,
            }
        }
    })
}

/// NOT_FOUND for the first product endpoint hidden from the caller.
fn ensure_visible_ends(principal: &Principal, ends: &[&Owned]) -> Result<()> {
    for end in ends {
        if let Some(product) = &end.product {
            policy::ensure_visible(principal, product, &end.key)?;
        }
    }
    Ok(())
}

fn node_key(node: &NodeRef) -> &str {
    match node {
        NodeRef::Product(key) | NodeRef::Application(key) => key,
    }
}

/// The edge from `from_id` to `to_id`, if any (ids are unique across node
/// kinds).
pub(crate) async fn find_edge(unit: &Unit, from_id: &str, to_id: &str) -> Result<Option<lineage_edge::Model>> {
    Ok(lineage_edge::Entity::find()
        .filter(lineage_edge::Column::FromId.eq(from_id))
        .filter(lineage_edge::Column::ToId.eq(to_id))
        .one(unit.conn())
        .await?)
}

/// Inserts an edge inside `unit`; CONFLICT when it already exists.
pub(crate) async fn insert_edge(
    unit: &Unit,
    from: &Endpoint,
    to: &Endpoint,
    mappings: &[FieldMapping],
) -> Result<lineage_edge::Model> {
    if from == to {
        return Err(CatalogError::Validation("a lineage edge cannot point to itself".into()));
    }
    let kind = edge_kind(from.kind, to.kind)?;
    if find_edge(unit, &from.id, &to.id).await?.is_some() {
        return Err(CatalogError::Conflict("this lineage edge already exists".into()));
    }
    let mappings = serde_json::to_string(mappings)
        .map_err(|e| CatalogError::Internal(format!("cannot encode field mappings: {e}")))?;
    Ok(lineage_edge::ActiveModel {
        id: Set(new_id()),
        from_kind: Set(from.kind),
        from_id: Set(from.id.clone()),
        to_kind: Set(to.kind),
        to_id: Set(to.id.clone()),
        kind: Set(kind),
        field_mappings: Set(mappings),
        created_by: Set(unit.actor.clone()),
        created_at: Set(Utc::now()),
    }
    .insert(unit.conn())
    .await?)
}

/// Records that `edge` (titled `from → to`) was added or removed.
pub(crate) async fn record_edge(
    unit: &mut Unit,
    kind: ChangeKind,
    edge: &lineage_edge::Model,
    title: &str,
) -> Result<()> {
    let summary = match kind {
        ChangeKind::LineageRemoved => format!("removed {title} ({})", edge.kind),
        _ => format!("{title} ({})", edge.kind),
    };
    unit.record(Event {
        kind,
        entity_kind: EntityKind::LineageEdge,
        entity_id: &edge.id,
        entity_name: title,
        summary,
        products: products_of(edge),
    })
    .await
}

/// Products among the endpoints (their search documents and counts change).
fn products_of(edge: &lineage_edge::Model) -> Vec<String> {
    [(&edge.from_kind, &edge.from_id), (&edge.to_kind, &edge.to_id)]
        .into_iter()
        .filter(|(kind, _)| kind.as_str() == NodeKind::Product.as_str())
        .map(|(_, id)| id.clone())
        .collect()
}

impl Catalog {
    pub async fn add_lineage_edge(&self, caller: &Caller, input: NewLineageEdge) -> Result<lineage_edge::Model> {
        for m in &input.field_mappings {
            if m.from.trim().is_empty() || m.to.trim().is_empty() || m.from.len() > 500 || m.to.len() > 500 {
                return Err(CatalogError::Validation(
                    "field mappings need non-empty `from` and `to` field paths".into(),
                ));
            }
        }
        let title = format!("{} → {}", node_key(&input.from), node_key(&input.to));
        let unit = self
            .begin(caller, Op::new("addLineageEdge", EntityKind::LineageEdge, &title))
            .await?;
        let from = resolve_owned(unit.conn(), &input.from).await?;
        let to = resolve_owned(unit.conn(), &input.to).await?;
        let mut unit = self.allow_lineage_change(unit, &from, &to).await?;
        let edge = insert_edge(&unit, &from.endpoint, &to.endpoint, &input.field_mappings).await?;
        record_edge(
            &mut unit,
            ChangeKind::LineageAdded,
            &edge,
            &format!("{} → {}", from.name, to.name),
        )
        .await?;
        self.commit(unit).await?;
        Ok(edge)
    }

    pub async fn remove_lineage_edge(&self, caller: &Caller, id: &str) -> Result<lineage_edge::Model> {
        let unit = self
            .begin(caller, Op::new("removeLineageEdge", EntityKind::LineageEdge, id))
            .await?;
        let edge = lineage_edge::Entity::find_by_id(id.to_owned())
            .one(unit.conn())
            .await?
            .ok_or_else(|| CatalogError::not_found("lineage edge", id))?;
        let end = |kind: NodeKind, id: &str| match kind {
            NodeKind::Product => NodeRef::Product(id.to_owned()),
            NodeKind::Application => NodeRef::Application(id.to_owned()),
        };
        let from = resolve_owned(unit.conn(), &end(edge.from_kind, &edge.from_id)).await?;
        let to = resolve_owned(unit.conn(), &end(edge.to_kind, &edge.to_id)).await?;
        // An edge touching a hidden product is itself hidden.
        let unit = self
            .allow(
                ensure_visible_ends(&unit.principal, &[&from, &to])
                    .map_err(|_| CatalogError::not_found("lineage edge", id)),
                unit,
            )
            .await?;
        let mut unit = self.allow_lineage_change(unit, &from, &to).await?;
        lineage_edge::Entity::delete_by_id(edge.id.clone())
            .exec(unit.conn())
            .await?;
        let names = self
            .names(unit.conn(), &[edge.from_id.clone(), edge.to_id.clone()])
            .await?;
        let label = |id: &String| names.get(id).cloned().unwrap_or_else(|| id.clone());
        let title = format!("{} → {}", label(&edge.from_id), label(&edge.to_id));
        record_edge(&mut unit, ChangeKind::LineageRemoved, &edge, &title).await?;
        self.commit(unit).await?;
        Ok(edge)
    }

    /// Both endpoints visible (else NOT_FOUND) and the caller in a team
    /// owning one of them (else FORBIDDEN).
    async fn allow_lineage_change(&self, unit: Unit, from: &Owned, to: &Owned) -> Result<Unit> {
        let unit = self
            .allow(ensure_visible_ends(&unit.principal, &[from, to]), unit)
            .await?;
        let owners: Vec<&str> = from.owners.iter().chain(&to.owners).map(String::as_str).collect();
        self.allow(
            policy::authorize(&unit.principal, Action::ChangeLineage { owners: &owners }),
            unit,
        )
        .await
    }

    /// The lineage around `of` as the caller may see it: `of` must be
    /// visible; hidden products reached become opaque "restricted" nodes
    /// (the edges stay, pointing at the placeholder), so the graph's shape
    /// stays honest without naming what is hidden.
    pub async fn lineage(
        &self,
        principal: &Principal,
        of: &NodeRef,
        direction: Direction,
        depth: i32,
    ) -> Result<LineageGraph> {
        self.lineage_of(principal, of, direction, depth).run().await
    }

    /// [`Self::lineage`], with options ([`LineageRequest`]).
    pub fn lineage_of<'a>(
        &'a self,
        principal: &'a Principal,
        of: &'a NodeRef,
        direction: Direction,
        depth: i32,
    ) -> LineageRequest<'a> {
        LineageRequest {
            catalog: self,
            principal,
            of,
            direction,
            depth,
            whole_rows: true,
            edges: EdgeRead::Whole,
        }
    }

    async fn answer_lineage(&self, request: LineageRequest<'_>) -> Result<LineageGraph> {
        let LineageRequest {
            principal,
            of,
            direction,
            depth,
            whole_rows,
            edges,
            ..
        } = request;
        policy::ensure_reader(principal)?;
        // A product root is checked for visibility before the depth (an
        // application root after it), as before.
        let root = match of {
            NodeRef::Product(key) => {
                let p = self.visible_product(principal, key).await?;
                check_depth(depth)?;
                LineageNode {
                    kind: NodeKind::Product,
                    id: p.id.clone(),
                    name: p.qualified_name.clone(),
                    depth: 0,
                    restricted: false,
                    entity: Some(NodeEntity::Product(Arc::new(p))),
                }
            }
            NodeRef::Application(key) => {
                check_depth(depth)?;
                let a = find_application(self.db(), key).await?;
                LineageNode {
                    kind: NodeKind::Application,
                    id: a.id.clone(),
                    name: a.name.clone(),
                    depth: 0,
                    restricted: false,
                    entity: Some(NodeEntity::Application(Arc::new(a))),
                }
            }
        };
        let reached = self.walk(&root.id, direction, depth, edges).await?;
        // One read per kind gives names, visibility and the rows the
        // resolvers show.
        let products = products_in(self.db(), &reached.ids(NodeKind::Product), whole_rows).await?;
        let applications = applications_in(self.db(), &reached.ids(NodeKind::Application), whole_rows).await?;
        let mut hidden: HashSet<String> = HashSet::new();
        let mut entities: HashMap<String, NodeEntity> = HashMap::with_capacity(products.len() + applications.len());
        for p in products {
            if !policy::can_see(principal, &p) {
                hidden.insert(p.id.clone());
            }
            entities.insert(p.id.clone(), NodeEntity::Product(Arc::new(p)));
        }
        for a in applications {
            entities.insert(a.id.clone(), NodeEntity::Application(Arc::new(a)));
        }
        let mut nodes: Vec<LineageNode> = reached
            .nodes
            .into_iter()
            .map(|(id, (kind, depth))| {
                let entity = entities.remove(&id);
                LineageNode {
                    name: match &entity {
                        Some(NodeEntity::Product(p)) => p.qualified_name.clone(),
                        Some(NodeEntity::Application(a)) => a.name.clone(),
                        None => String::new(),
                    },
                    kind,
                    id,
                    depth,
                    restricted: false,
                    entity,
                }
            })
            .collect();
        nodes.sort_by(|a, b| a.depth.cmp(&b.depth).then_with(|| a.name.cmp(&b.name)));
        Ok(mask(
            LineageGraph {
                root,
                nodes,
                edges: reached.edges,
            },
            &hidden,
        ))
    }

    /// Walks the whole graph from `root` up to `depth` hops in `direction`
    /// (unfiltered: callers mask what the caller may not see); the root
    /// itself is not among the nodes reached. `edges` says what is read of
    /// the edges crossed (and whether they are kept).
    async fn walk(&self, root: &str, direction: Direction, depth: i32, edges: EdgeRead) -> Result<Reached> {
        let mut reached: HashMap<String, (NodeKind, i32)> = HashMap::new();
        let mut crossed: HashMap<String, lineage_edge::Model> = HashMap::new();
        let walks: &[bool] = match direction {
            Direction::Downstream => &[true],
            Direction::Upstream => &[false],
            Direction::Both => &[false, true],
        };
        for &downstream in walks {
            let mut seen: HashSet<String> = HashSet::from([root.to_owned()]);
            let mut frontier = vec![root.to_owned()];
            for level in 1..=depth {
                if frontier.is_empty() {
                    break;
                }
                let steps = steps_from(self.db(), downstream, &frontier, edges).await?;
                frontier.clear();
                for (next, kind, edge) in steps {
                    if seen.insert(next.clone()) {
                        let signed = if downstream { level } else { -level };
                        reached.entry(next.clone()).or_insert((kind, signed));
                        frontier.push(next);
                    }
                    if let Some(edge) = edge {
                        crossed.insert(edge.id.clone(), edge);
                    }
                }
            }
        }
        reached.remove(root);
        let mut edges: Vec<_> = crossed.into_values().collect();
        edges.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(Reached { nodes: reached, edges })
    }

    /// Every product and application downstream of `product`; products
    /// hidden from the caller are only counted.
    pub async fn impact(&self, principal: &Principal, product: &str) -> Result<ImpactReport> {
        self.impact_of(principal, product).run().await
    }

    /// [`Self::impact`], with options ([`ImpactRequest`]).
    pub fn impact_of<'a>(&'a self, principal: &'a Principal, product: &'a str) -> ImpactRequest<'a> {
        ImpactRequest {
            catalog: self,
            principal,
            product,
            whole_rows: true,
            teams: false,
        }
    }

    async fn answer_impact(&self, request: ImpactRequest<'_>) -> Result<ImpactReport> {
        let ImpactRequest {
            principal,
            product,
            whole_rows,
            teams,
            ..
        } = request;
        let root = self.visible_product(principal, product).await?;
        let reached = self
            .walk(&root.id, Direction::Downstream, MAX_DEPTH, EdgeRead::Ends)
            .await?;
        let depth_of = |id: &str| reached.nodes.get(id).map_or(0, |&(_, depth)| depth);
        let (visible, hidden): (Vec<_>, Vec<_>) = products_in(self.db(), &reached.ids(NodeKind::Product), whole_rows)
            .await?
            .into_iter()
            .partition(|p| policy::can_see(principal, p));
        let mut products: Vec<ImpactedProduct> = visible
            .into_iter()
            .map(|p| ImpactedProduct {
                depth: depth_of(&p.id),
                product: p,
            })
            .collect();
        products.sort_by(|a, b| {
            a.depth
                .cmp(&b.depth)
                .then_with(|| a.product.qualified_name.cmp(&b.product.qualified_name))
        });
        let mut applications: Vec<ImpactedApplication> =
            applications_in(self.db(), &reached.ids(NodeKind::Application), whole_rows)
                .await?
                .into_iter()
                .map(|a| ImpactedApplication {
                    depth: depth_of(&a.id),
                    application: a,
                })
                .collect();
        applications.sort_by(|a, b| {
            a.depth
                .cmp(&b.depth)
                .then_with(|| a.application.name.cmp(&b.application.name))
        });
        let teams = if teams {
            // The owners of what is listed (not of the hidden products).
            let ids: HashSet<&String> = products
                .iter()
                .map(|p| &p.product.owner_team_id)
                .chain(applications.iter().map(|a| &a.application.owner_team_id))
                .collect();
            let ids: Vec<String> = ids.into_iter().cloned().collect();
            rows_in::<team::Entity>(self.db(), team::Column::Id, &ids)
                .await?
                .into_iter()
                .map(|t| (t.id.clone(), t))
                .collect()
        } else {
            HashMap::new()
        };
        Ok(ImpactReport {
            product: root,
            products,
            applications,
            restricted_products: hidden.len() as u64,
            teams,
        })
    }

    /// Display names of products and applications by id.
    async fn names(&self, db: &impl ConnectionTrait, ids: &[String]) -> Result<HashMap<String, String>> {
        let mut names: HashMap<String, String> = data_product::Entity::find()
            .select_only()
            .columns([data_product::Column::Id, data_product::Column::QualifiedName])
            .filter(data_product::Column::Id.is_in(ids.to_vec()))
            .into_tuple::<(String, String)>()
            .all(db)
            .await?
            .into_iter()
            .collect();
        names.extend(
            application::Entity::find()
                .select_only()
                .columns([application::Column::Id, application::Column::Name])
                .filter(application::Column::Id.is_in(ids.to_vec()))
                .into_tuple::<(String, String)>()
                .all(db)
                .await?,
        );
        Ok(names)
    }
}

fn check_depth(depth: i32) -> Result<()> {
    if (1..=MAX_DEPTH).contains(&depth) {
        Ok(())
    } else {
        Err(CatalogError::Validation(format!(
            "depth must be between 1 and {MAX_DEPTH}, got {depth}"
        )))
    }
}

/// Replaces the `hidden` products by placeholders: numbered in walk order
/// (depth, then name), not by id, so a placeholder says nothing about the
/// product behind it; edges touching one keep their shape and lose their
/// details.
fn mask(mut graph: LineageGraph, hidden: &HashSet<String>) -> LineageGraph {
    if hidden.is_empty() {
        return graph;
    }
    let mut placeholder: HashMap<String, String> = HashMap::with_capacity(hidden.len());
    for node in &mut graph.nodes {
        if hidden.contains(&node.id) {
            let id = format!("{RESTRICTED}-{}", placeholder.len() + 1);
            placeholder.insert(std::mem::replace(&mut node.id, id.clone()), id);
            node.name = RESTRICTED.to_owned();
            node.restricted = true;
            node.entity = None;
        }
    }
    for edge in &mut graph.edges {
        let mut touched = false;
        for end in [&mut edge.from_id, &mut edge.to_id] {
            if let Some(id) = placeholder.get(end.as_str()) {
                *end = id.clone();
                touched = true;
            }
        }
        if touched {
            edge.field_mappings = "[]".into();
            edge.created_by = RESTRICTED.to_owned();
        }
    }
    graph
}
