import { useMemo, useState } from 'react';
import { useSearchParams } from 'wouter';
import { LineageGraph, type GEdge, type GNode } from './LineageGraph';

/** A generated graph for the benchmark: /_bench/lineage?nodes=1000&edges=2000. */
export default function LineageBench() {
  const [params] = useSearchParams();
  const n = Number(params.get('nodes') ?? 1000);
  const m = Number(params.get('edges') ?? 2000);
  const [info, setInfo] = useState<string>('');
  const { nodes, edges } = useMemo(() => generate(n, m), [n, m]);
  return (
    <section className="page">
      <h1>Lineage benchmark graph</h1>
      <p data-testid="bench-info">
        {n} nodes, {m} edges {info}
      </p>
      <LineageGraph nodes={nodes} edges={edges} height={700} onLaidOut={(i) => setInfo(`· layout ${Math.round(i.ms)} ms in the worker`)} />
    </section>
  );
}

function generate(n: number, m: number): { nodes: GNode[]; edges: GEdge[] } {
  let seed = 42;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const nodes: GNode[] = Array.from({ length: n }, (_, i) => ({
    id: `n${i}`,
    label: i % 5 === 4 ? `app-${i}` : `domain${i % 7}.product-${i}`,
    kind: i % 5 === 4 ? 'APPLICATION' : 'PRODUCT',
    depth: 0,
    restricted: i % 50 === 49,
  }));
  const edges: GEdge[] = [];
  const seen = new Set<string>();
  // A DAG: edges go from a lower index to a higher one, mostly nearby (layers).
  while (edges.length < m) {
    const a = Math.floor(rnd() * (n - 1));
    const b = Math.min(n - 1, a + 1 + Math.floor(rnd() * 40));
    const k = `${a}-${b}`;
    if (seen.has(k)) continue;
    seen.add(k);
    edges.push({ id: `e${edges.length}`, source: `n${a}`, target: `n${b}`, kind: 'DERIVED_FROM' });
  }
  return { nodes, edges };
}
