//! Lineage edges, walks and impact reports.

use std::collections::{HashMap, HashSet};

use async_graphql::{Context, Object, Result, SelectionField, Union, ID};
use chrono::{DateTime, Utc};

use crate::catalog::{self as domain_layer, EdgeKind, FieldMapping, NodeKind};
use crate::store::entities::{lineage_edge, team};

use super::super::error::GqlResult;
use super::super::loaders::*;
use super::super::{catalog, loader, principal};
use super::*;

/// A lineage endpoint.
#[derive(Union)]
pub enum LineageEntity {
    DataProduct(Box<DataProduct>),
    Application(Application),
}

async fn entity(ctx: &Context<'_>, kind: NodeKind, entity_id: &str) -> Result<Option<LineageEntity>> {
    let loader = loader(ctx);
    Ok(if kind == NodeKind::Product {
        loader
            .load_one(ProductById(entity_id.to_owned()))
            .await?
            .map(|p| LineageEntity::DataProduct(Box::new(DataProduct::from(p))))
    } else {
        loader
            .load_one(ApplicationById(entity_id.to_owned()))
            .await?
            .map(|a| LineageEntity::Application(Application(a)))
    })
}

// ------------------------------------------------------------- look-ahead
//
// Large answers (a hub's thousands of consumers) are dominated by reading
// and copying whole rows the selection never shows. The resolvers below
// look at their selection first: when every field selected on the
// entities is one a summary row serves, the catalog reads summary rows;
// any other field, anywhere, means whole rows, as before.

/// The fields of a product or application a summary row serves
/// (`summary_rows` of the catalog's lineage and impact requests).
/// Fragments are flattened without their type conditions, so this is the
/// union of both kinds' fields (a product's `name` is in its summary row
/// too).
const SUMMARY_FIELDS: &[&str] = &["__typename", "id", "name", "qualifiedName", "status"];

/// Whether every field selected on `entity` is one a summary row serves.
fn summary_serves(entity: &SelectionField<'_>) -> bool {
    entity.selection_set().all(|f| SUMMARY_FIELDS.contains(&f.name()))
}

/// The selected fields named `name` under every selection of `parent`
/// named one of `parents` (aliases and fragments included).
fn selected<'a>(parent: &SelectionField<'a>, parents: &[&str], name: &'a str) -> Vec<SelectionField<'a>> {
    parent
        .selection_set()
        .filter(|p| parents.contains(&p.name()))
        .flat_map(|p| p.selection_set().filter(move |f| f.name() == name).collect::<Vec<_>>())
        .collect()
}

/// What a `lineage` field's selection reads: (summary rows serve its
/// nodes' entities, summary edges serve its edges).
pub(crate) fn lineage_selection(lineage: &SelectionField<'_>) -> (bool, bool) {
    let rows = selected(lineage, &["nodes"], "entity").iter().all(summary_serves);
    let edges = ["fieldMappings", "createdAt"]
        .iter()
        .all(|detail| selected(lineage, &["edges"], detail).is_empty());
    (rows, edges)
}

/// What an `impact` field's selection reads: (summary rows serve its
/// products and applications, the owner teams are read).
pub(crate) fn impact_selection(impact: &SelectionField<'_>) -> (bool, bool) {
    let rows = selected(impact, &["products"], "product")
        .iter()
        .chain(&selected(impact, &["applications"], "application"))
        .all(summary_serves);
    let teams = !selected(impact, &["products", "applications"], "ownerTeam").is_empty()
        || impact.selection_set().any(|f| f.name() == "teams");
    (rows, teams)
}

/// A directed lineage edge, from upstream to downstream.
pub struct LineageEdge(pub lineage_edge::Model);

#[Object]
impl LineageEdge {
    async fn id(&self) -> ID {
        id(&self.0.id)
    }
    async fn kind(&self) -> Result<EdgeKind> {
        Ok(self.0.kind)
    }
    async fn from_id(&self) -> ID {
        id(&self.0.from_id)
    }
    async fn to_id(&self) -> ID {
        id(&self.0.to_id)
    }
    async fn from(&self, ctx: &Context<'_>) -> Result<Option<LineageEntity>> {
        entity(ctx, self.0.from_kind, &self.0.from_id).await
    }
    async fn to(&self, ctx: &Context<'_>) -> Result<Option<LineageEntity>> {
        entity(ctx, self.0.to_kind, &self.0.to_id).await
    }
    /// Field-level mappings, for product → product edges.
    async fn field_mappings(&self) -> Vec<FieldMapping> {
        serde_json::from_str(&self.0.field_mappings).unwrap_or_default()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

// Borrowed from the walk's answer: its row was read with the walk, so
// `entity` reads nothing more.
pub struct LineageNode<'a>(&'a domain_layer::LineageNode);

/// A node reached by a lineage walk.
#[Object]
impl LineageNode<'_> {
    async fn kind(&self) -> NodeKind {
        self.0.kind
    }
    /// For a restricted node, an opaque placeholder (`restricted-<n>`).
    async fn id(&self) -> ID {
        id(&self.0.id)
    }
    /// `restricted` for a restricted node.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Hops from the root: negative upstream, positive downstream.
    async fn depth(&self) -> i32 {
        self.0.depth
    }
    /// A product hidden from the caller: it exists in the graph, but who
    /// and what it is stays hidden.
    async fn restricted(&self) -> bool {
        self.0.restricted
    }
    async fn entity(&self, ctx: &Context<'_>) -> Result<Option<LineageEntity>> {
        Ok(match &self.0.entity {
            Some(domain_layer::NodeEntity::Product(p)) => {
                Some(LineageEntity::DataProduct(Box::new(DataProduct(p.clone()))))
            }
            Some(domain_layer::NodeEntity::Application(a)) => {
                Some(LineageEntity::Application(Application((**a).clone())))
            }
            None if self.0.restricted => None,
            None => entity(ctx, self.0.kind, &self.0.id).await?,
        })
    }
}

/// The part of the lineage graph reached from a root node.
pub struct LineageGraph(pub domain_layer::LineageGraph);

impl LineageGraph {
    /// The walk from `root` as the caller may see it (the `lineage` fields
    /// of the query, products and applications), with summary rows or
    /// edges when the selection reads nothing more.
    pub(crate) async fn around(
        ctx: &Context<'_>,
        root: domain_layer::NodeRef,
        direction: domain_layer::Direction,
        depth: i32,
    ) -> Result<Self> {
        let (summary_rows, summary_edges) = lineage_selection(&ctx.field());
        let graph = catalog(ctx)
            .lineage_of(principal(ctx), &root, direction, depth)
            .summary_rows(summary_rows)
            .summary_edges(summary_edges)
            .run()
            .await
            .gql()?;
        Ok(Self(graph))
    }
}

#[Object]
impl LineageGraph {
    async fn root(&self) -> LineageNode<'_> {
        LineageNode(&self.0.root)
    }
    /// Reached nodes (the root excluded), nearest first.
    async fn nodes(&self) -> Vec<LineageNode<'_>> {
        self.0.nodes.iter().map(LineageNode).collect()
    }
    async fn edges(&self) -> Vec<LineageEdge> {
        self.0.edges.iter().cloned().map(LineageEdge).collect()
    }
}

/// A team read with the impact report, else through the data loader (as
/// any nested team).
async fn owner_team(ctx: &Context<'_>, teams: &HashMap<String, team::Model>, team_id: &str) -> Result<Team> {
    match teams.get(team_id) {
        Some(team) => Ok(Team(team.clone())),
        None => team_of(ctx, team_id).await,
    }
}

/// A downstream product affected by a change (borrowed from the report,
/// with the teams read with it).
pub struct ImpactedProduct<'a>(&'a domain_layer::ImpactedProduct, &'a HashMap<String, team::Model>);

#[Object]
impl ImpactedProduct<'_> {
    async fn product(&self) -> DataProduct {
        DataProduct::from(self.0.product.clone())
    }
    async fn depth(&self) -> i32 {
        self.0.depth
    }
    async fn owner_team(&self, ctx: &Context<'_>) -> Result<Team> {
        owner_team(ctx, self.1, &self.0.product.owner_team_id).await
    }
}

/// A downstream application affected by a change (borrowed, as
/// [`ImpactedProduct`]).
pub struct ImpactedApplication<'a>(&'a domain_layer::ImpactedApplication, &'a HashMap<String, team::Model>);

#[Object]
impl ImpactedApplication<'_> {
    async fn application(&self) -> Application {
        Application(self.0.application.clone())
    }
    async fn depth(&self) -> i32 {
        self.0.depth
    }
    async fn owner_team(&self, ctx: &Context<'_>) -> Result<Team> {
        owner_team(ctx, self.1, &self.0.application.owner_team_id).await
    }
}

/// Everything downstream of a product, and the teams to notify.
pub struct ImpactReport(pub domain_layer::ImpactReport);

impl ImpactReport {
    /// The impact of a change to `product` as the caller may see it (the
    /// query's `impact` field), with summary rows when the selection reads
    /// nothing more, and the owner teams read with it when selected.
    pub(crate) async fn of(ctx: &Context<'_>, product: &str) -> Result<Self> {
        let (summary_rows, teams) = impact_selection(&ctx.field());
        let report = catalog(ctx)
            .impact_of(principal(ctx), product)
            .summary_rows(summary_rows)
            .with_teams(teams)
            .run()
            .await
            .gql()?;
        Ok(Self(report))
    }
}

#[Object]
impl ImpactReport {
    async fn product(&self) -> DataProduct {
        DataProduct::from(self.0.product.clone())
    }
    async fn products(&self) -> Vec<ImpactedProduct<'_>> {
        self.0
            .products
            .iter()
            .map(|p| ImpactedProduct(p, &self.0.teams))
            .collect()
    }
    async fn applications(&self) -> Vec<ImpactedApplication<'_>> {
        self.0
            .applications
            .iter()
            .map(|a| ImpactedApplication(a, &self.0.teams))
            .collect()
    }
    /// Impacted products hidden from the caller (counted, not listed).
    async fn restricted_products(&self) -> u64 {
        self.0.restricted_products
    }
    /// Owner teams of every impacted product and application, by name.
    async fn teams(&self, ctx: &Context<'_>) -> Result<Vec<Team>> {
        let ids: HashSet<&String> = self
            .0
            .products
            .iter()
            .map(|p| &p.product.owner_team_id)
            .chain(self.0.applications.iter().map(|a| &a.application.owner_team_id))
            .collect();
        let mut teams = Vec::with_capacity(ids.len());
        let mut missing = Vec::new();
        for id in ids {
            match self.0.teams.get(id) {
                Some(team) => teams.push(Team(team.clone())),
                None => missing.push(TeamById(id.clone())),
            }
        }
        if !missing.is_empty() {
            teams.extend(loader(ctx).load_many(missing).await?.into_values().map(Team));
        }
        teams.sort_by(|a, b| a.0.name.cmp(&b.0.name));
        Ok(teams)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use async_graphql::{Context, EmptyMutation, EmptySubscription, Object, Schema, SimpleObject, Union};

    use super::{impact_selection, lineage_selection};

    // Types shaped like the schema's (the look-ahead reads field names only).
    #[derive(SimpleObject, Default)]
    struct DataProduct {
        id: String,
        qualified_name: String,
        name: String,
        status: String,
        description: String,
    }
    #[derive(SimpleObject, Default)]
    struct Application {
        id: String,
        name: String,
        description: String,
    }
    #[derive(Union)]
    enum Entity {
        DataProduct(DataProduct),
        Application(Application),
    }
    #[derive(SimpleObject, Default)]
    struct Node {
        id: String,
        entity: Option<Entity>,
    }
    #[derive(SimpleObject, Default)]
    struct Edge {
        id: String,
        field_mappings: Vec<String>,
        created_at: String,
    }
    #[derive(SimpleObject, Default)]
    struct Graph {
        root: Node,
        nodes: Vec<Node>,
        edges: Vec<Edge>,
    }
    #[derive(SimpleObject, Default)]
    struct Team {
        name: String,
    }
    #[derive(SimpleObject, Default)]
    struct Impacted {
        product: DataProduct,
        owner_team: Team,
    }
    #[derive(SimpleObject, Default)]
    struct ImpactedApp {
        application: Application,
        owner_team: Team,
    }
    #[derive(SimpleObject, Default)]
    struct Impact {
        product: DataProduct,
        products: Vec<Impacted>,
        applications: Vec<ImpactedApp>,
        teams: Vec<Team>,
    }

    /// The decision of the last resolver run.
    type Seen = Arc<Mutex<Option<(bool, bool)>>>;

    struct Query;

    #[Object]
    impl Query {
        async fn lineage(&self, ctx: &Context<'_>) -> Graph {
            *ctx.data_unchecked::<Seen>().lock().unwrap() = Some(lineage_selection(&ctx.field()));
            Graph::default()
        }
        async fn impact(&self, ctx: &Context<'_>) -> Impact {
            *ctx.data_unchecked::<Seen>().lock().unwrap() = Some(impact_selection(&ctx.field()));
            Impact::default()
        }
    }

    async fn decision(query: &str) -> (bool, bool) {
        let seen = Seen::default();
        let schema = Schema::build(Query, EmptyMutation, EmptySubscription)
            .data(seen.clone())
            .finish();
        let response = schema.execute(query).await;
        assert!(response.errors.is_empty(), "{query}: {:?}", response.errors);
        let decision = *seen.lock().unwrap();
        decision.unwrap_or_else(|| panic!("{query}: no decision"))
    }

    #[tokio::test]
    async fn lineage_look_ahead() {
        // (query, summary rows serve it, summary edges serve it)
        let cases = [
            ("{ lineage { nodes { id } edges { id } } }", true, true),
            (
                "{ lineage { root { entity { ... on DataProduct { description } } }
                   nodes { entity { __typename ... on DataProduct { id qualifiedName name status }
                     ... on Application { id name } } } edges { id } } }",
                true,
                true,
            ),
            (
                "{ lineage { nodes { entity { ... on DataProduct { description } } } } }",
                false,
                true,
            ),
            (
                "{ lineage { nodes { entity { ... on Application { description } } } } }",
                false,
                true,
            ),
            (
                "{ lineage { nodes { ...n } } } fragment n on Node { entity { ...p } }
                 fragment p on DataProduct { qualifiedName description }",
                false,
                true,
            ),
            (
                "{ lineage { nodes { x: entity { __typename } y: entity { ... on Application { description } } } } }",
                false,
                true,
            ),
            ("{ lineage { edges { fieldMappings } } }", true, false),
            (
                "{ lineage { ...g } } fragment g on Graph { edges { at: createdAt } }",
                true,
                false,
            ),
        ];
        for (query, rows, edges) in cases {
            assert_eq!(decision(query).await, (rows, edges), "{query}");
        }
    }

    #[tokio::test]
    async fn impact_look_ahead() {
        // (query, summary rows serve it, owner teams selected)
        let cases = [
            (
                "{ impact { product { description } products { product { id qualifiedName status } }
                   applications { application { id name } } } }",
                true,
                false,
            ),
            ("{ impact { products { product { description } } } }", false, false),
            (
                "{ impact { applications { application { description } } } }",
                false,
                false,
            ),
            ("{ impact { products { ownerTeam { name } } } }", true, true),
            ("{ impact { applications { ownerTeam { name } } } }", true, true),
            ("{ impact { t: teams { name } } }", true, true),
            (
                "{ impact { ...i } } fragment i on Impact { products { product { name } } teams { name } }",
                true,
                true,
            ),
        ];
        for (query, rows, teams) in cases {
            assert_eq!(decision(query).await, (rows, teams), "{query}");
        }
    }
}
