import { graphql } from '../graphql';

/** A `lineage` answer as the graph draws it ([`LineageAnswer`] in `graph.ts`). */
export const LineageFields = graphql(`
  fragment LineageFields on LineageGraph @_unmask {
    root { id name kind depth restricted }
    nodes {
      id
      name
      kind
      depth
      restricted
      entity {
        __typename
        ... on DataProduct { qualifiedName }
        ... on Application { name }
      }
    }
    edges { id kind fromId toId }
  }
`);
