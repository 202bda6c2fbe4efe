import { useEffect, useMemo, useRef, useState } from 'react';
import { useClient, useQuery, type CombinedError } from 'urql';
import { Link, useLocation, useSearchParams } from 'wouter';
import { graphql } from '../graphql';
import { ErrorView, Loading, Empty } from '../errors';
import { LineageFields } from './fragment';
import { LineageGraph, type ExpandState } from './LineageGraph';
import { answerKey, applyExpansions, expandState, keyTarget, lineageGraph, nodeKey, outward, type GNode, type LineageAnswer } from './graph';
import { count, ProductLink } from '../components/bits';

const LineageQuery = graphql(`
  query Lineage($qn: String!, $depth: Int!, $direction: Direction!) {
    lineage(of: { product: $qn }, direction: $direction, depth: $depth) { ...LineageFields }
  }
`, [LineageFields]);

/** One node's own lineage, one hop away from the root, on the side away from the root. */
const LineageExpandQuery = graphql(`
  query LineageExpand($of: LineageNodeInput!, $direction: Direction!) {
    lineage(of: $of, direction: $direction, depth: 1) { ...LineageFields }
  }
`, [LineageFields]);

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
            {count(imp.products.length, 'product')}, {count(imp.applications.length, 'application')}
            {imp.restrictedProducts > 0 && <>, and {count(imp.restrictedProducts, 'restricted product')} you cannot see</>}; teams to
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

type Client = ReturnType<typeof useClient>;
const NO_ANSWERS: ReadonlyMap<string, LineageAnswer> = new Map();
const NO_FAILURES: ReadonlyMap<string, CombinedError> = new Map();

/**
 * The answers of the expanded nodes (`expand=` in the URL, one query per expanded node, never one
 * per node of the graph), kept for the session's client: collapsing and expanding again asks nothing.
 */
function useExpansions(client: Client) {
  const [store, setStore] = useState<{ client: Client; answers: ReadonlyMap<string, LineageAnswer>; failed: ReadonlyMap<string, CombinedError> }>({
    client,
    answers: NO_ANSWERS,
    failed: NO_FAILURES,
  });
  const inflight = useRef(new Set<string>());
  const mine = store.client === client;
  const answers = mine ? store.answers : NO_ANSWERS;
  const failed = mine ? store.failed : NO_FAILURES;
  const ask = (wanted: ReturnType<typeof applyExpansions>['wanted']) => {
    for (const w of wanted) {
      const ak = answerKey(w.key, w.direction);
      if (inflight.current.has(ak) || failed.has(ak)) continue;
      inflight.current.add(ak);
      void client
        .query(LineageExpandQuery, { of: keyTarget(w.key), direction: w.direction })
        .toPromise()
        .then((r) => {
          inflight.current.delete(ak);
          setStore((s) => {
            const base = s.client === client ? s : { client, answers: NO_ANSWERS, failed: NO_FAILURES };
            if (r.data) return { ...base, answers: new Map(base.answers).set(ak, r.data.lineage) };
            return { ...base, failed: new Map(base.failed).set(ak, r.error!) };
          });
        });
    }
  };
  const retry = (ak: string) =>
    setStore((s) => {
      if (!s.failed.has(ak)) return s;
      const failed = new Map(s.failed);
      failed.delete(ak);
      return { ...s, failed };
    });
  return { answers, failed, ask, retry };
}

export default function LineageTab({ qn }: { qn: string }) {
  const [params, setParams] = useSearchParams();
  const [, navigate] = useLocation();
  const client = useClient();
  const depth = Math.max(1, Math.min(100, Number(params.get('depth') ?? 1) || 1));
  const direction = (['UPSTREAM', 'DOWNSTREAM', 'BOTH'].includes(params.get('dir') ?? '') ? params.get('dir') : 'BOTH') as 'UPSTREAM' | 'DOWNSTREAM' | 'BOTH';
  const expandParam = params.getAll('expand').join('\n');
  const [{ data, fetching, error }] = useQuery({ query: LineageQuery, variables: { qn, depth, direction } });
  const { answers, failed, ask, retry } = useExpansions(client);
  const [focus, setFocus] = useState<string | undefined>(undefined);
  const set = (k: string, v: string) =>
    setParams((p) => {
      const n = new URLSearchParams(p);
      n.set(k, v);
      return n;
    });

  const base = useMemo(() => {
    const l = data?.lineage;
    if (!l) return null;
    const g = lineageGraph(l, { label: qn, kind: l.root.kind });
    return { graph: g, ids: new Set(g.nodes.map((n) => n.id)) };
  }, [data, qn]);
  const keys = useMemo(() => (expandParam ? expandParam.split('\n') : []), [expandParam]);
  const expanded = useMemo(() => (base ? applyExpansions(base.graph, keys, answers) : null), [base, keys, answers]);
  // Ask for the expanded nodes now in the graph whose answers are missing (one query per node).
  useEffect(() => {
    if (expanded?.wanted.length) ask(expanded.wanted);
    // `ask` is a fresh closure over the same client and failures each render.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [expanded, failed]);

  const graph = expanded?.graph;
  const states = useMemo(() => {
    const m = new Map<string, ExpandState>();
    if (!expanded || !base) return m;
    const busy = new Set(expanded.wanted.filter((w) => !failed.has(answerKey(w.key, w.direction))).map((w) => w.key));
    for (const n of expanded.graph.nodes) {
      const s = expandState(n, depth, base.ids, expanded.applied, busy);
      if (s) m.set(n.id, s);
    }
    return m;
  }, [expanded, base, failed, depth]);
  const failures = expanded ? expanded.wanted.flatMap((w) => (failed.has(answerKey(w.key, w.direction)) ? [{ key: w.key, error: failed.get(answerKey(w.key, w.direction))! }] : [])) : [];

  const toggle = (n: GNode) => {
    const key = nodeKey(n);
    if (!key || !base || !expanded) return;
    setFocus(n.id);
    if (expanded.applied.has(key)) {
      // Collapse: drop the key, and the expansions only reachable through it.
      const rest = keys.filter((k) => k !== key);
      const after = applyExpansions(base.graph, rest, answers);
      const keep = rest.filter((k) => after.applied.has(k) || after.wanted.some((w) => w.key === k));
      setParams((p) => {
        const next = new URLSearchParams(p);
        next.delete('expand');
        for (const k of keep) next.append('expand', k);
        return next;
      });
    } else {
      retry(answerKey(key, outward(n)));
      if (!keys.includes(key))
        setParams((p) => {
          const next = new URLSearchParams(p);
          next.append('expand', key);
          return next;
        });
    }
  };

  const open = (n: GNode) => {
    if (n.root) return;
    if (n.kind === 'PRODUCT') navigate(`/products/${encodeURIComponent(n.label)}?tab=lineage&depth=${depth}&dir=${direction}`);
    else navigate(`/apps/${encodeURIComponent(n.label)}`);
  };
  const toggleLabel = (n: GNode, s: ExpandState) => `${s === 'collapse' ? 'Collapse' : 'Expand'} the lineage of ${n.label}`;

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
        {failures.map((f) => (
          <ErrorView key={f.key} error={f.error} title={`Could not expand ${f.key.replace(/^app:/, '')}:`} />
        ))}
        {fetching && !data && <Loading />}
        {graph && graph.nodes.length === 1 && <Empty>No lineage recorded around this product.</Empty>}
        {graph && graph.nodes.length > 1 && (
          <>
            <p className="muted small" data-testid="lineage-summary">
              {count(graph.nodes.length - 1, 'node')} within {count(depth, 'hop')}
              {expanded.applied.size > 0 && `, ${count(expanded.applied.size, 'node')} expanded`}
              {(fetching || states.size > 0 && [...states.values()].includes('busy')) && ' · updating…'}. Click a node to open it; + shows the next hop
              of a node at the edge.
            </p>
            <LineageGraph nodes={graph.nodes} edges={graph.edges} onOpen={open} states={states} onToggle={toggle} focus={focus} />
            <details>
              <summary>Nodes as a list</summary>
              <ul className="plain columns" data-testid="lineage-list">
                {graph.nodes
                  .filter((n) => !n.root)
                  .map((n) => {
                    const s = states.get(n.id);
                    return (
                      <li key={n.id}>
                        <span className="muted small">{n.depth < 0 ? `↑${-n.depth}` : `↓${n.depth}`}</span>{' '}
                        {n.restricted ? (
                          <span className="restricted">restricted product</span>
                        ) : n.kind === 'PRODUCT' ? (
                          <Link href={`/products/${encodeURIComponent(n.label)}?tab=lineage&depth=${depth}&dir=${direction}`}>{n.label}</Link>
                        ) : (
                          <>app <Link href={`/apps/${encodeURIComponent(n.label)}`}>{n.label}</Link></>
                        )}
                        {s && (
                          <>
                            {' '}
                            <button type="button" className="btn btn-small" disabled={s === 'busy'} aria-expanded={s !== 'expand'} onClick={() => toggle(n)} aria-label={toggleLabel(n, s)}>
                              {s === 'collapse' ? 'collapse' : 'expand'}
                            </button>
                          </>
                        )}
                      </li>
                    );
                  })}
              </ul>
            </details>
          </>
        )}
      </section>
      <ImpactView qn={qn} />
    </div>
  );
}
