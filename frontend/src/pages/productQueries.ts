import { graphql } from '../graphql';

export const ProductQuery = graphql(`
  query Product($qn: String!) {
    dataProduct(qualifiedName: $qn) {
      id
      qualifiedName
      name
      displayName
      description
      domain { name ownerTeam { name } }
      ownerTeam { name members }
      contacts { name email role }
      tags
      status
      deprecation { reason sunsetDate successor { qualifiedName displayName } }
      qualityClass
      visibility
      compatibility
      version
      topic { name partitions retentionMs cleanupPolicy }
      topicStatus { exists partitions drift { setting expected actual } }
      live { eventsPerSecond lastEventTime freshness schemaConformance recentRecords maxFreshnessSeconds at }
      liveHistory(minutes: 5) { at eventsPerSecond lastEventTime }
      sla { tier availabilityPercent maxFreshnessSeconds maxLatencyMs retentionDays supportHours onCall }
      schema { version format }
      schemaVersions { version createdAt createdBy }
      qualityChecks {
        id
        name
        kind
        description
        threshold
        latestResult { status observedValue observedAt message }
        results(limit: 20) { id status observedValue observedAt }
      }
      qualityScore
      subscriberCount
      subscriptions { id status piiAccess application { name ownerTeam { name } } }
      useCases { id name kind description application { name } inputs { qualifiedName } outputs { qualifiedName } }
      createdAt
      updatedAt
    }
  }
`);
