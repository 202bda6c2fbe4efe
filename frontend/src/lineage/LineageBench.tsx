import { useMemo, useState } from 'react';
import { useSearchParams } from 'wouter';
import { LineageGraph } from './LineageGraph';
import type { GEdge, GNode } from './graph';

/** A generated graph for the benchmark: /_bench/lineage?nodes=1000&edges=2000. */
export default function LineageBench() {
  const [params] = useSearchParams();
  const n = Number(params.get('nodes') ?? 1000);
  const m = Number(params.get('edges') ?? 2000);
  const [info, setInfo] = useState<string>('');
  const { nodes, edges } = useMemo(() => {
    const g = generate(n, m);
    performance.mark('lineage-data-ready');
    return g;
  }, [n, m]);
  return (
    <section className="page">
      <h1>Lineage benchmark graph</h1>
      <p data-testid="bench-info">
        {n} nodes, {m} edges {info}
      </p>
      <LineageGraph nodes={nodes} edges={edges} height={700} onLaidOut={(i) => {
          performance.mark('lineage-laid-out');
          // The worker's start-up relative to the data (negative: before it existed).
          const ready = performance.timeOrigin + (performance.getEntriesByName('lineage-data-ready')[0]?.startTime ?? 0);
          const at = (t: number) => Math.round(t - ready);
          setInfo(
            `· layout ${Math.round(i.ms)} ms in the worker (${Math.round(i.queuedMs)} ms of it waiting for the worker to start)` +
              ` · worker created ${at(i.boot.started)} ms, ELK evaluated ${at(i.boot.evaluated)} ms, warm-up rounds done ${i.boot.warm.map(at).join(', ') || 'none'} ms after the data`,
          );
        }} />
    </section>
  );
}

function generate(n: number, m: number): { nodes: GNode[]; edges: GEdge[] } {
  // A layered DAG like a real mesh's lineage: 25 levels, most edges to the next level, some skipping one.
  let seed = 42;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const layers = 25;
  const per = Math.ceil(n / layers);
  const nodes: GNode[] = Array.from({ length: n }, (_, i) => ({
    id: `n${i}`,
    label: i % 5 === 4 ? `app-${i}` : `domain${i % 7}.product-${i}`,
    kind: i % 5 === 4 ? 'APPLICATION' : 'PRODUCT',
    depth: Math.floor(i / per),
    restricted: i % 50 === 49,
  }));
  const edges: GEdge[] = [];
  const seen = new Set<string>();
  while (edges.length < m) {
    const a = Math.floor(rnd() * (n - per));
    const la = Math.floor(a / per);
    const lb = Math.min(layers - 1, la + (rnd() < 0.85 ? 1 : 2));
    const b = Math.min(n - 1, lb * per + Math.floor(rnd() * per));
    const k = `${a}-${b}`;
    if (a === b || seen.has(k)) continue;
    seen.add(k);
    edges.push({ id: `e${edges.length}`, source: `n${a}`, target: `n${b}`, kind: 'DERIVED_FROM' });
  }
  return { nodes, edges };
}
