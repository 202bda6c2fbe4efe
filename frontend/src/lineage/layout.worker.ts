/// <reference lib="webworker" />
// Runs the ELK layered layout off the main thread.
import ELK from 'elkjs/lib/elk.bundled.js';
import type { ElkNode } from 'elkjs/lib/elk-api';

const elk = new ELK();

export interface LayoutRequest {
  id: number;
  nodes: { id: string; width: number; height: number }[];
  edges: { id: string; source: string; target: string }[];
  direction: 'RIGHT' | 'DOWN';
}
export interface LayoutResponse {
  id: number;
  positions?: Record<string, { x: number; y: number }>;
  error?: string;
  ms: number;
}

// Warm the JIT up once, so that the first real layout is not paying for it.
void elk.layout({
  id: 'warm',
  layoutOptions: { 'elk.algorithm': 'layered' },
  children: Array.from({ length: 100 }, (_, i) => ({ id: `w${i}`, width: 100, height: 40 })),
  edges: Array.from({ length: 150 }, (_, i) => ({ id: `we${i}`, sources: [`w${i % 90}`], targets: [`w${(i % 90) + 1 + (i % 9)}`] })),
});

// elk.bundled installs its own message handler when loaded in a worker: replace it.
self.onmessage = async (e: MessageEvent<LayoutRequest>) => {
  const t0 = performance.now();
  const { id, nodes, edges, direction } = e.data;
  if (id === 0) return; // warm-up message: nothing to answer
  const big = nodes.length > 250;
  const huge = nodes.length > 600;
  const graph: ElkNode = {
    id: 'root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': direction,
      'elk.layered.spacing.nodeNodeBetweenLayers': '80',
      'elk.spacing.nodeNode': '24',
      ...(big
        ? {
            'elk.layered.thoroughness': '1',
            'elk.layered.nodePlacement.strategy': 'SIMPLE',
            'elk.layered.crossingMinimization.greedySwitch.type': 'OFF',
            'elk.edgeRouting': 'POLYLINE',
            'elk.layered.layering.strategy': 'LONGEST_PATH',
            'elk.layered.cycleBreaking.strategy': 'GREEDY',
            'elk.separateConnectedComponents': 'false',
            // Past a few hundred nodes, keep the model order in each layer rather than minimise crossings:
            // 3× faster, and a graph that size is read by zooming in anyway.
            ...(huge ? { 'elk.layered.crossingMinimization.strategy': 'NONE', 'elk.nodeSize.constraints': '' } : {}),
          }
        : { 'elk.layered.nodePlacement.strategy': 'BRANDES_KOEPF', 'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES' }),
    },
    children: nodes.map((n) => ({ id: n.id, width: n.width, height: n.height })),
    edges: edges.map((ed) => ({ id: ed.id, sources: [ed.source], targets: [ed.target] })),
  };
  try {
    const out = await elk.layout(graph);
    const positions: Record<string, { x: number; y: number }> = {};
    for (const c of out.children ?? []) positions[c.id] = { x: c.x ?? 0, y: c.y ?? 0 };
    (self as unknown as Worker).postMessage({ id, positions, ms: performance.now() - t0 } satisfies LayoutResponse);
  } catch (err) {
    (self as unknown as Worker).postMessage({ id, error: String(err), ms: performance.now() - t0 } satisfies LayoutResponse);
  }
};
