//! Lineage: a directed graph of products and applications, walked upstream
//! or downstream to any depth (cycle-safe), and impact analysis.

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

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

async fn resolve(db: &impl ConnectionTrait, node: &NodeRef) -> Result<(Endpoint, String)> {
    Ok(match node {
        NodeRef::Product(key) => {
            let p = find_product(db, key).await?;
            (
                Endpoint {
                    kind: NodeKind::Product,
                    id: p.id,
                },
                p.qualified_name,
            )
        }
        NodeRef::Application(key) => {
            let a = find_application(db, key).await?;
            (
                Endpoint {
                    kind: NodeKind::Application,
                    id: a.id,
                },
                a.name,
            )
        }
    })
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
        from_kind: Set(from.kind.as_str().to_owned()),
        from_id: Set(from.id.clone()),
        to_kind: Set(to.kind.as_str().to_owned()),
        to_id: Set(to.id.clone()),
        kind: Set(kind.as_str().to_owned()),
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
        let end = |kind: &str, id: &str| match NodeKind::decode(kind) {
            Ok(NodeKind::Product) => Ok(NodeRef::Product(id.to_owned())),
            Ok(NodeKind::Application) => Ok(NodeRef::Application(id.to_owned())),
            Err(e) => Err(e),
        };
        let from = resolve_owned(unit.conn(), &end(&edge.from_kind, &edge.from_id)?).await?;
        let to = resolve_owned(unit.conn(), &end(&edge.to_kind, &edge.to_id)?).await?;
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
        if let NodeRef::Product(key) = of {
            self.visible_product(principal, key).await?;
        }
        let graph = self.walk(of, direction, depth).await?;
        self.mask(principal, graph).await
    }

    /// Replaces the products hidden from the caller by placeholders.
    async fn mask(&self, principal: &Principal, mut graph: LineageGraph) -> Result<LineageGraph> {
        let product_ids: Vec<String> = graph
            .nodes
            .iter()
            .filter(|n| n.kind == NodeKind::Product)
            .map(|n| n.id.clone())
            .collect();
        let mut hidden: Vec<String> = data_product::Entity::find()
            .filter(data_product::Column::Id.is_in(product_ids))
            .all(self.db())
            .await?
            .into_iter()
            .filter(|p| !policy::can_see(principal, p))
            .map(|p| p.id)
            .collect();
        if hidden.is_empty() {
            return Ok(graph);
        }
        // Numbered in walk order (depth, then name), not by id: the
        // placeholder says nothing about the product behind it.
        let order: HashMap<&str, usize> = graph
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.id.as_str(), i))
            .collect();
        hidden.sort_by_key(|id| order.get(id.as_str()).copied());
        let placeholder: HashMap<String, String> = hidden
            .into_iter()
            .enumerate()
            .map(|(i, id)| (id, format!("{RESTRICTED}-{}", i + 1)))
            .collect();
        for node in &mut graph.nodes {
            if let Some(id) = placeholder.get(&node.id) {
                node.id = id.clone();
                node.name = RESTRICTED.to_owned();
                node.restricted = true;
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
        Ok(graph)
    }

    /// Walks the whole graph from `of` up to `depth` hops in `direction`
    /// (unfiltered: callers mask what the caller may not see).
    async fn walk(&self, of: &NodeRef, direction: Direction, depth: i32) -> Result<LineageGraph> {
        if !(1..=MAX_DEPTH).contains(&depth) {
            return Err(CatalogError::Validation(format!(
                "depth must be between 1 and {MAX_DEPTH}, got {depth}"
            )));
        }
        let (root, root_name) = resolve(self.db(), of).await?;
        let mut reached: HashMap<String, (NodeKind, i32)> = HashMap::new();
        let mut edges: HashMap<String, lineage_edge::Model> = HashMap::new();
        let walks: &[bool] = match direction {
            Direction::Downstream => &[true],
            Direction::Upstream => &[false],
            Direction::Both => &[false, true],
        };
        for &downstream in walks {
            let mut seen: HashSet<String> = HashSet::from([root.id.clone()]);
            let mut frontier = vec![root.id.clone()];
            for level in 1..=depth {
                if frontier.is_empty() {
                    break;
                }
                let column = if downstream {
                    lineage_edge::Column::FromId
                } else {
                    lineage_edge::Column::ToId
                };
                let found = lineage_edge::Entity::find()
                    .filter(column.is_in(frontier.clone()))
                    .all(self.db())
                    .await?;
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
                        reached.entry(next.clone()).or_insert((NodeKind::decode(kind)?, signed));
                    }
                    edges.insert(edge.id.clone(), edge);
                }
            }
        }
        reached.remove(&root.id);
        let ids: Vec<String> = reached.keys().cloned().collect();
        let names = self.names(self.db(), &ids).await?;
        let mut nodes: Vec<LineageNode> = reached
            .into_iter()
            .map(|(id, (kind, depth))| LineageNode {
                name: names.get(&id).cloned().unwrap_or_default(),
                kind,
                id,
                depth,
                restricted: false,
            })
            .collect();
        nodes.sort_by(|a, b| a.depth.cmp(&b.depth).then_with(|| a.name.cmp(&b.name)));
        let mut edges: Vec<_> = edges.into_values().collect();
        edges.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(LineageGraph {
            root: LineageNode {
                kind: root.kind,
                id: root.id,
                name: root_name,
                depth: 0,
                restricted: false,
            },
            nodes,
            edges,
        })
    }

    /// Every product and application downstream of `product`; products
    /// hidden from the caller are only counted.
    pub async fn impact(&self, principal: &Principal, product: &str) -> Result<ImpactReport> {
        let root = self.visible_product(principal, product).await?;
        let graph = self
            .walk(&NodeRef::Product(root.id.clone()), Direction::Downstream, MAX_DEPTH)
            .await?;
        let depth_of: HashMap<&str, i32> = graph.nodes.iter().map(|n| (n.id.as_str(), n.depth)).collect();
        let product_ids: Vec<&str> = graph
            .nodes
            .iter()
            .filter(|n| n.kind == NodeKind::Product)
            .map(|n| n.id.as_str())
            .collect();
        let app_ids: Vec<&str> = graph
            .nodes
            .iter()
            .filter(|n| n.kind == NodeKind::Application)
            .map(|n| n.id.as_str())
            .collect();
        let (visible, hidden): (Vec<_>, Vec<_>) = data_product::Entity::find()
            .filter(data_product::Column::Id.is_in(product_ids))
            .all(self.db())
            .await?
            .into_iter()
            .partition(|p| policy::can_see(principal, p));
        let mut products: Vec<ImpactedProduct> = visible
            .into_iter()
            .map(|p| ImpactedProduct {
                depth: depth_of[p.id.as_str()],
                product: p,
            })
            .collect();
        products.sort_by(|a, b| {
            a.depth
                .cmp(&b.depth)
                .then_with(|| a.product.qualified_name.cmp(&b.product.qualified_name))
        });
        let mut applications: Vec<ImpactedApplication> = application::Entity::find()
            .filter(application::Column::Id.is_in(app_ids))
            .all(self.db())
            .await?
            .into_iter()
            .map(|a| ImpactedApplication {
                depth: depth_of[a.id.as_str()],
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
            .filter(data_product::Column::Id.is_in(ids.to_vec()))
            .all(db)
            .await?
            .into_iter()
            .map(|p| (p.id, p.qualified_name))
            .collect();
        names.extend(
            application::Entity::find()
                .filter(application::Column::Id.is_in(ids.to_vec()))
                .all(db)
                .await?
                .into_iter()
                .map(|a| (a.id, a.name)),
        );
        Ok(names)
    }
}
