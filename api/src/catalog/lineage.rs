//! Lineage: a directed graph of products and applications, walked upstream
//! or downstream to any depth (cycle-safe), and impact analysis.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Set};

use crate::auth::Caller;
use crate::store::entities::{application, data_product, lineage_edge};

use super::policy::{self, Action, Principal};
use super::rows::{find_application, find_domain, find_product};
use super::{
    new_id, Catalog, CatalogError, ChangeKind, Direction, EdgeKind, EntityKind, Event, FieldMapping, NodeKind, Op,
    Result, Unit,
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
        let reached = self.walk(&root.id, direction, depth).await?;
        // One read per kind gives names, visibility and the rows the
        // resolvers show.
        let products =
            rows_in::<data_product::Entity>(self.db(), data_product::Column::Id, &reached.ids(NodeKind::Product))
                .await?;
        let applications =
            rows_in::<application::Entity>(self.db(), application::Column::Id, &reached.ids(NodeKind::Application))
                .await?;
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
    /// itself is not among the nodes reached.
    async fn walk(&self, root: &str, direction: Direction, depth: i32) -> Result<Reached> {
        let mut reached: HashMap<String, (NodeKind, i32)> = HashMap::new();
        let mut edges: HashMap<String, lineage_edge::Model> = HashMap::new();
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
                let column = if downstream {
                    lineage_edge::Column::FromId
                } else {
                    lineage_edge::Column::ToId
                };
                let found = rows_in::<lineage_edge::Entity>(self.db(), column, &frontier).await?;
                frontier.clear();
                for edge in found {
                    let (next, kind) = if downstream {
                        (&edge.to_id, &edge.to_kind)
                    } else {
                        (&edge.from_id, &edge.from_kind)
                    };
                    if seen.insert(next.clone()) {
                        frontier.push(next.clone());
                        let signed = if downstream { level } else { -level };
                        reached.entry(next.clone()).or_insert((*kind, signed));
                    }
                    edges.insert(edge.id.clone(), edge);
                }
            }
        }
        reached.remove(root);
        let mut edges: Vec<_> = edges.into_values().collect();
        edges.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(Reached { nodes: reached, edges })
    }

    /// Every product and application downstream of `product`; products
    /// hidden from the caller are only counted.
    pub async fn impact(&self, principal: &Principal, product: &str) -> Result<ImpactReport> {
        let root = self.visible_product(principal, product).await?;
        let reached = self.walk(&root.id, Direction::Downstream, MAX_DEPTH).await?;
        let depth_of = |id: &str| reached.nodes.get(id).map_or(0, |&(_, depth)| depth);
        let (visible, hidden): (Vec<_>, Vec<_>) =
            rows_in::<data_product::Entity>(self.db(), data_product::Column::Id, &reached.ids(NodeKind::Product))
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
            rows_in::<application::Entity>(self.db(), application::Column::Id, &reached.ids(NodeKind::Application))
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
        Ok(ImpactReport {
            product: root,
            products,
            applications,
            restricted_products: hidden.len() as u64,
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
