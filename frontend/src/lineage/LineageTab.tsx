import { useMemo } from 'react';
import { useQuery } from 'urql';
import { Link, useLocation, useSearchParams } from 'wouter';
import { graphql } from '../graphql';
import { ErrorView, Loading, Empty } from '../errors';
import { LineageGraph, lineageGraph, type GNode } from './LineageGraph';
import { ProductLink } from '../components/bits';

const LineageQuery = graphql(`
  query Lineage($qn: String!, $depth: Int!, $direction: Direction!) {
    lineage(of: { product: $qn }, direction: $direction, depth: $depth) {
      root { id name kind depth restricted }
      nodes {
        id
        name
        kind
        depth
        restricted
        entity {
          __typename
          ... on DataProduct { qualifiedName status }
          ... on Application { name }
        }
      }
      edges { id kind fromId toId }
    }
  }
`);

const ImpactQuery = graphql(`
  query Impact($qn: String!) {
    impact(of: $qn) {
      products { depth product { id qualifiedName } ownerTeam { name } }
      applications { depth application { id name } ownerTeam { name } }
      restrictedProducts
      teams { name }
    }
  }
`);

export function ImpactView({ qn }: { qn: string }) {
  const [{ data, fetching, error }] = useQuery({ query: ImpactQuery, variables: { qn } });
  const imp = data?.impact;
  return (
    <section className="card" aria-labelledby="impact-h">
      <h2 id="impact-h">Downstream impact of changing {qn}</h2>
      <ErrorView error={error} />
      {fetching && !data && <Loading />}
      {imp && (
        <div data-testid="impact">
          <p>
            {imp.products.length} product{imp.products.length === 1 ? '' : 's'}, {imp.applications.length} application
            {imp.applications.length === 1 ? '' : 's'}
            {imp.restrictedProducts > 0 && <>, and {imp.restrictedProducts} restricted product{imp.restrictedProducts === 1 ? '' : 's'} you cannot see</>}; teams to
            tell: {imp.teams.length ? imp.teams.map((t) => t.name).join(', ') : 'none'}.
          </p>
          {imp.products.length + imp.applications.length > 0 && (
            <ul className="plain columns">
              {imp.products.map((p) => (
                <li key={p.product.id}>
                  <span className="muted small">depth {p.depth}</span> <ProductLink qn={p.product.qualifiedName} /> <span className="muted small">({p.ownerTeam.name})</span>
                </li>
              ))}
              {imp.applications.map((a) => (
                <li key={a.application.id}>
                  <span className="muted small">depth {a.depth}</span> app <Link href={`/apps/${encodeURIComponent(a.application.name)}`}>{a.application.name}</Link>{' '}
                  <span className="muted small">({a.ownerTeam.name})</span>
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </section>
  );
}

export default function LineageTab({ qn }: { qn: string }) {
  const [params, setParams] = useSearchParams();
  const [, navigate] = useLocation();
  const depth = Math.max(1, Math.min(100, Number(params.get('depth') ?? 1) || 1));
  const direction = (['UPSTREAM', 'DOWNSTREAM', 'BOTH'].includes(params.get('dir') ?? '') ? params.get('dir') : 'BOTH') as 'UPSTREAM' | 'DOWNSTREAM' | 'BOTH';
  const [{ data, fetching, error }] = useQuery({ query: LineageQuery, variables: { qn, depth, direction } });
  const set = (k: string, v: string) =>
    setParams((p) => {
      const n = new URLSearchParams(p);
      n.set(k, v);
      return n;
    });

  const graph = useMemo(() => {
    const l = data?.lineage;
    if (!l) return null;
    const { nodes, edges } = lineageGraph(l, { label: qn, kind: l.root.kind });
    const maxDepth = Math.max(0, ...l.nodes.map((n) => Math.abs(n.depth)));
    return { nodes, edges, maxDepth };
  }, [data, qn]);

  const open = (n: GNode) => {
    if (n.root) return;
    if (n.kind === 'PRODUCT') navigate(`/products/${encodeURIComponent(n.label)}?tab=lineage&depth=${depth}&dir=${direction}`);
    else navigate(`/apps/${encodeURIComponent(n.label)}`);
  };

  return (
    <div className="stack">
      <section className="card" aria-labelledby="lineage-h">
        <div className="row">
          <h2 id="lineage-h">Lineage</h2>
          <label className="inline">
            Direction{' '}
            <select className="input" value={direction} onChange={(e) => set('dir', e.target.value)}>
              <option value="BOTH">up- and downstream</option>
              <option value="UPSTREAM">upstream</option>
              <option value="DOWNSTREAM">downstream</option>
            </select>
          </label>
          <span>Depth {depth}</span>
          <button type="button" className="btn" disabled={depth <= 1} onClick={() => set('depth', String(depth - 1))}>
            Less
          </button>
          <button type="button" className="btn" onClick={() => set('depth', String(depth + 1))} data-testid="lineage-expand">
            Expand one level
          </button>
        </div>
        <ErrorView error={error} />
        {fetching && !data && <Loading />}
        {graph && graph.nodes.length === 1 && <Empty>No lineage recorded around this product.</Empty>}
        {graph && graph.nodes.length > 1 && (
          <>
            <p className="muted small">
              {graph.nodes.length - 1} node{graph.nodes.length === 2 ? '' : 's'} within {depth} hop{depth === 1 ? '' : 's'}
              {fetching && ' · updating…'}. Click a node to open it.
            </p>
            <LineageGraph nodes={graph.nodes} edges={graph.edges} onOpen={open} />
            <details>
              <summary>Nodes as a list</summary>
              <ul className="plain columns" data-testid="lineage-list">
                {graph.nodes
                  .filter((n) => !n.root)
                  .map((n) => (
                    <li key={n.id}>
                      <span className="muted small">{n.depth < 0 ? `↑${-n.depth}` : `↓${n.depth}`}</span>{' '}
                      {n.restricted ? (
                        <span className="restricted">restricted product</span>
                      ) : n.kind === 'PRODUCT' ? (
                        <Link href={`/products/${encodeURIComponent(n.label)}?tab=lineage&depth=${depth}&dir=${direction}`}>{n.label}</Link>
                      ) : (
                        <>app <Link href={`/apps/${encodeURIComponent(n.label)}`}>{n.label}</Link></>
                      )}
                    </li>
                  ))}
              </ul>
            </details>
          </>
        )}
      </section>
      <ImpactView qn={qn} />
    </div>
  );
}
