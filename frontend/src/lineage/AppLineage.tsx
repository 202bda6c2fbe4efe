import { useMemo } from 'react';
import { useQuery } from 'urql';
import { useLocation } from 'wouter';
import { graphql } from '../graphql';
import { ErrorView, Loading, Empty } from '../errors';
import { LineageFields } from './fragment';
import { LineageGraph } from './LineageGraph';
import { lineageGraph } from './graph';

const AppLineageQuery = graphql(`
  query AppLineage($name: String!) {
    lineage(of: { application: $name }, direction: BOTH, depth: 1) { ...LineageFields }
  }
`, [LineageFields]);

export default function AppLineage({ name }: { name: string }) {
  const [{ data, fetching, error }] = useQuery({ query: AppLineageQuery, variables: { name } });
  const [, navigate] = useLocation();
  const graph = useMemo(() => {
    const l = data?.lineage;
    if (!l) return null;
    return lineageGraph(l, { label: name, kind: 'APPLICATION' });
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
