//! Mutation root: thin resolvers; every rule lives in the catalog.

use async_graphql::{Context, Object, Result, ID};

use crate::catalog::{
    AccessDecision, NewApplication, NewDomain, NewLineageEdge, NewTeam, RecordQualityResult, RequestAccess,
};

use crate::stream::{adopt, Live};

use super::error::GqlResult;
use super::inputs::*;
use super::objects::*;
use super::{caller, catalog};

pub struct MutationRoot;

#[Object]
impl MutationRoot {
    async fn create_team(&self, ctx: &Context<'_>, input: CreateTeamInput) -> Result<Team> {
        let input = NewTeam {
            name: input.name,
            description: input.description,
            members: input.members,
        };
        Ok(Team(catalog(ctx).create_team(caller(ctx), input).await.gql()?))
    }

    /// Adds a user (JWT subject) to a team (id or name).
    async fn add_team_member(&self, ctx: &Context<'_>, team: String, user: String) -> Result<Team> {
        Ok(Team(
            catalog(ctx).add_team_member(caller(ctx), &team, &user).await.gql()?,
        ))
    }

    async fn create_domain(&self, ctx: &Context<'_>, input: CreateDomainInput) -> Result<Domain> {
        let input = NewDomain {
            name: input.name,
            description: input.description,
            owner_team: input.owner_team,
        };
        Ok(Domain(catalog(ctx).create_domain(caller(ctx), input).await.gql()?))
    }

    /// Creates or updates a data product and registers its schema version.
    async fn publish_data_product(&self, ctx: &Context<'_>, input: PublishDataProductInput) -> Result<DataProduct> {
        Ok(DataProduct::from(
            catalog(ctx).publish_product(caller(ctx), input.into()).await.gql()?,
        ))
    }

    /// Registers the next schema version under the product's compatibility
    /// mode (INCOMPATIBLE_SCHEMA when refused).
    async fn register_schema_version(
        &self,
        ctx: &Context<'_>,
        input: RegisterSchemaVersionInput,
    ) -> Result<SchemaVersion> {
        let version = catalog(ctx)
            .register_schema_version(caller(ctx), &input.product, input.schema.into(), input.expected_version)
            .await
            .gql()?;
        Ok(SchemaVersion(version))
    }

    async fn deprecate_data_product(&self, ctx: &Context<'_>, input: DeprecateDataProductInput) -> Result<DataProduct> {
        let input = crate::catalog::Deprecate {
            product: input.product,
            reason: input.reason,
            sunset_date: input.sunset_date,
            successor: input.successor,
            expected_version: input.expected_version,
        };
        Ok(DataProduct::from(
            catalog(ctx).deprecate_product(caller(ctx), input).await.gql()?,
        ))
    }

    /// Retires a DEPRECATED (or DRAFT) product; its subscriptions end.
    async fn retire_data_product(
        &self,
        ctx: &Context<'_>,
        product: String,
        expected_version: Option<i32>,
    ) -> Result<DataProduct> {
        Ok(DataProduct::from(
            catalog(ctx)
                .retire_product(caller(ctx), &product, expected_version)
                .await
                .gql()?,
        ))
    }

    async fn create_application(&self, ctx: &Context<'_>, input: CreateApplicationInput) -> Result<Application> {
        let input = NewApplication {
            name: input.name,
            description: input.description,
            owner_team: input.owner_team,
        };
        Ok(Application(
            catalog(ctx).create_application(caller(ctx), input).await.gql()?,
        ))
    }

    /// Asks the product's owner for access on behalf of an application.
    async fn request_access(&self, ctx: &Context<'_>, input: RequestAccessInput) -> Result<AccessSubscription> {
        let input = RequestAccess {
            application: input.application,
            product: input.product,
            purpose: input.purpose,
        };
        Ok(AccessSubscription(
            catalog(ctx).request_access(caller(ctx), input).await.gql()?,
        ))
    }

    /// Approves a pending request; `piiAccess` lets the application read
    /// the PII fields of streamed records unmasked.
    async fn approve_access(
        &self,
        ctx: &Context<'_>,
        subscription: ID,
        reason: Option<String>,
        #[graphql(default = false)] pii_access: bool,
    ) -> Result<AccessSubscription> {
        decide(ctx, subscription, AccessDecision::Approve { pii_access }, reason).await
    }

    async fn reject_access(&self, ctx: &Context<'_>, subscription: ID, reason: String) -> Result<AccessSubscription> {
        decide(ctx, subscription, AccessDecision::Reject, Some(reason)).await
    }

    async fn revoke_access(
        &self,
        ctx: &Context<'_>,
        subscription: ID,
        reason: Option<String>,
    ) -> Result<AccessSubscription> {
        decide(ctx, subscription, AccessDecision::Revoke, reason).await
    }

    async fn record_quality_result(&self, ctx: &Context<'_>, input: RecordQualityResultInput) -> Result<QualityResult> {
        let input = RecordQualityResult {
            product: input.product,
            check: input.check,
            status: input.status,
            observed_value: input.observed_value,
            message: input.message,
            observed_at: input.observed_at,
        };
        Ok(QualityResult(
            catalog(ctx).record_quality_result(caller(ctx), input).await.gql()?,
        ))
    }

    async fn add_lineage_edge(&self, ctx: &Context<'_>, input: AddLineageEdgeInput) -> Result<LineageEdge> {
        let input = NewLineageEdge {
            from: input.from.into(),
            to: input.to.into(),
            field_mappings: input.field_mappings.unwrap_or_default(),
        };
        Ok(LineageEdge(
            catalog(ctx).add_lineage_edge(caller(ctx), input).await.gql()?,
        ))
    }

    async fn remove_lineage_edge(&self, ctx: &Context<'_>, id: ID) -> Result<LineageEdge> {
        Ok(LineageEdge(
            catalog(ctx).remove_lineage_edge(caller(ctx), &id).await.gql()?,
        ))
    }

    /// Publishes an existing topic of the cluster as a new data product
    /// (see `unadoptedTopics`); its schema is inferred from the topic's JSON
    /// records when not given.
    async fn adopt_topic(&self, ctx: &Context<'_>, input: AdoptTopicInput) -> Result<DataProduct> {
        let topic = input.topic.clone();
        let sample = input.sample_size;
        let product = adopt::adopt_topic(
            ctx.data_unchecked::<Live>().topics(),
            catalog(ctx),
            caller(ctx),
            &topic,
            input.into(),
            sample,
        )
        .await
        .gql()?;
        Ok(DataProduct::from(product))
    }

    /// Registers a use case of an application: records lineage from each
    /// input through the application to each output, and requests access to
    /// each input the application does not hold yet — in one transaction.
    async fn register_use_case(&self, ctx: &Context<'_>, input: RegisterUseCaseInput) -> Result<UseCaseRegistration> {
        Ok(UseCaseRegistration(
            catalog(ctx).register_use_case(caller(ctx), input.into()).await.gql()?,
        ))
    }

    /// Removes a use case and the lineage edges only it accounted for
    /// (subscriptions stay).
    async fn remove_use_case(&self, ctx: &Context<'_>, id: ID) -> Result<UseCase> {
        Ok(UseCase(catalog(ctx).remove_use_case(caller(ctx), &id).await.gql()?))
    }
}

async fn decide(
    ctx: &Context<'_>,
    subscription: ID,
    decision: AccessDecision,
    reason: Option<String>,
) -> Result<AccessSubscription> {
    let sub = catalog(ctx)
        .decide_access(caller(ctx), &subscription, decision, reason)
        .await
        .gql()?;
    Ok(AccessSubscription(sub))
}
