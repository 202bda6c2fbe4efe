//! Lineage edges, walks and impact reports.

use async_graphql::{Context, Object, Result, Union, ID};
use chrono::{DateTime, Utc};

use crate::catalog::{self as domain_layer, EdgeKind, FieldMapping, NodeKind};
use crate::store::entities::lineage_edge;

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
            .map(|p| LineageEntity::DataProduct(Box::new(DataProduct(p))))
    } else {
        loader
            .load_one(ApplicationById(entity_id.to_owned()))
            .await?
            .map(|a| LineageEntity::Application(Application(a)))
    })
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
                Some(LineageEntity::DataProduct(Box::new(DataProduct((**p).clone()))))
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
    /// The walk from `root` as the caller may see it (the `lineage` field of
    /// products and applications).
    pub(super) async fn around(
        ctx: &Context<'_>,
        root: domain_layer::NodeRef,
        direction: domain_layer::Direction,
        depth: i32,
    ) -> Result<Self> {
        let graph = catalog(ctx)
            .lineage(principal(ctx), &root, direction, depth)
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

/// A downstream product affected by a change.
pub struct ImpactedProduct(pub domain_layer::ImpactedProduct);

#[Object]
impl ImpactedProduct {
    async fn product(&self) -> DataProduct {
        DataProduct(self.0.product.clone())
    }
    async fn depth(&self) -> i32 {
        self.0.depth
    }
    async fn owner_team(&self, ctx: &Context<'_>) -> Result<Team> {
        team_of(ctx, &self.0.product.owner_team_id).await
    }
}

/// A downstream application affected by a change.
pub struct ImpactedApplication(pub domain_layer::ImpactedApplication);

#[Object]
impl ImpactedApplication {
    async fn application(&self) -> Application {
        Application(self.0.application.clone())
    }
    async fn depth(&self) -> i32 {
        self.0.depth
    }
    async fn owner_team(&self, ctx: &Context<'_>) -> Result<Team> {
        team_of(ctx, &self.0.application.owner_team_id).await
    }
}

/// Everything downstream of a product, and the teams to notify.
pub struct ImpactReport(pub domain_layer::ImpactReport);

#[Object]
impl ImpactReport {
    async fn product(&self) -> DataProduct {
        DataProduct(self.0.product.clone())
    }
    async fn products(&self) -> Vec<ImpactedProduct> {
        self.0.products.iter().cloned().map(ImpactedProduct).collect()
    }
    async fn applications(&self) -> Vec<ImpactedApplication> {
        self.0.applications.iter().cloned().map(ImpactedApplication).collect()
    }
    /// Impacted products hidden from the caller (counted, not listed).
    async fn restricted_products(&self) -> u64 {
        self.0.restricted_products
    }
    /// Owner teams of every impacted product and application, by name.
    async fn teams(&self, ctx: &Context<'_>) -> Result<Vec<Team>> {
        let ids = self
            .0
            .products
            .iter()
            .map(|p| p.product.owner_team_id.clone())
            .chain(self.0.applications.iter().map(|a| a.application.owner_team_id.clone()))
            .map(TeamById);
        let mut teams: Vec<Team> = loader(ctx).load_many(ids).await?.into_values().map(Team).collect();
        teams.sort_by(|a, b| a.0.name.cmp(&b.0.name));
        Ok(teams)
    }
}
