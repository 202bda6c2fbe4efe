import { useMemo } from 'react';
import { useQuery } from 'urql';
import { useLocation } from 'wouter';
import { graphql } from '../graphql';
import { ErrorView, Loading, Empty } from '../errors';
import { LineageGraph, type GEdge, type GNode } from './LineageGraph';

const AppLineageQuery = graphql(`
  query AppLineage($name: String!) {
    lineage(of: { application: $name }, direction: BOTH, depth: 1) {
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
  }
`);

export default function AppLineage({ name }: { name: string }) {
  const [{ data, fetching, error }] = useQuery({ query: AppLineageQuery, variables: { name } });
  const [, navigate] = useLocation();
  const graph = useMemo(() => {
    const l = data?.lineage;
    if (!l) return null;
    const nodes: GNode[] = [
      { id: l.root.id, label: name, kind: 'APPLICATION', depth: 0, restricted: false, root: true },
      ...l.nodes.map((n) => ({
        id: n.id,
        label: n.entity?.__typename === 'DataProduct' ? n.entity.qualifiedName : n.entity?.__typename === 'Application' ? n.entity.name : n.name,
        kind: n.kind,
        depth: n.depth,
        restricted: n.restricted,
      })),
    ];
    const ids = new Set(nodes.map((n) => n.id));
    const edges: GEdge[] = l.edges.filter((e) => ids.has(e.fromId) && ids.has(e.toId)).map((e) => ({ id: e.id, source: e.fromId, target: e.toId, kind: e.kind }));
    return { nodes, edges };
  }, [data, name]);
  if (error) return <ErrorView error={error} />;
  if (fetching && !data) return <Loading />;
  if (!graph || graph.nodes.length < 2) return <Empty>No lineage yet: register a use case.</Empty>;
  return (
    <LineageGraph
      nodes={graph.nodes}
      edges={graph.edges}
      height={360}
      onOpen={(n) => !n.root && navigate(n.kind === 'PRODUCT' ? `/products/${encodeURIComponent(n.label)}?tab=lineage` : `/apps/${encodeURIComponent(n.label)}`)}
    />
  );
}
