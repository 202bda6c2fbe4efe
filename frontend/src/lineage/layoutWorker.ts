// The one layout worker of the page (ELK in a Web Worker), kept warm across layouts.
//
// This module is small on purpose (no ELK, no React Flow): the app shell and the product page import
// it to start the worker *before* a lineage view needs it. The worker's start-up (fetching and
// evaluating 1.4 MB of ELK, constructing it, warming its compiled Java up with small layouts) costs
// about a second of CPU; started early, it overlaps the loading of the lineage code and the data
// instead of following them.
import type { LayoutRequest, LayoutResponse } from './layout.worker';
import type { GEdge, GNode } from './graph';

let worker: Worker | null = null;
let seq = 0;
const pending = new Map<number, (r: LayoutResponse) => void>();

/** Starts the layout worker if it is not running yet (idempotent, cheap to call). */
export function startLayoutWorker(): Worker {
  if (!worker) {
    worker = new Worker(new URL('./layout.worker.ts', import.meta.url), { type: 'module', name: 'lineage-layout' });
    worker.onmessage = (e: MessageEvent<LayoutResponse>) => {
      pending.get(e.data.id)?.(e.data);
      pending.delete(e.data.id);
    };
  }
  return worker;
}

/** Runs `f` once the page is idle; returns a function that cancels it if it has not run yet. */
export function whenIdle(f: () => void): () => void {
  if ('requestIdleCallback' in window) {
    const h = window.requestIdleCallback(() => f(), { timeout: 3000 });
    return () => window.cancelIdleCallback(h);
  }
  const h = setTimeout(f, 1000);
  return () => clearTimeout(h);
}

/** Whether the app is showing a view with a lineage graph (start the worker at once). */
export function showsLineage(path: string, search: string): boolean {
  if (path === '/_bench/lineage') return true;
  if (path.startsWith('/products/')) return new URLSearchParams(search).get('tab') === 'lineage';
  // An application's page shows its lineage.
  return path.startsWith('/apps/');
}

/** Lays `nodes` out in the worker, each a `width` × `height` box; the answer holds x, y per node
 * in the order of `nodes`. */
export function layout(nodes: readonly GNode[], edges: readonly GEdge[], width: number, height: number): Promise<LayoutResponse> {
  const id = ++seq;
  const index = new Map<string, number>();
  const depth = new Int32Array(nodes.length);
  nodes.forEach((n, i) => {
    index.set(n.id, i);
    depth[i] = n.depth;
  });
  const pairs = new Uint32Array(edges.length * 2);
  let m = 0;
  for (const e of edges) {
    const s = index.get(e.source);
    const t = index.get(e.target);
    if (s === undefined || t === undefined) continue;
    pairs[m++] = s;
    pairs[m++] = t;
  }
  const req: LayoutRequest = { id, direction: 'RIGHT', n: nodes.length, width, height, depth, edges: pairs.subarray(0, m), sentAt: performance.timeOrigin + performance.now() };
  return new Promise((resolve) => {
    pending.set(id, resolve);
    startLayoutWorker().postMessage(req, [depth.buffer, pairs.buffer]);
  });
}
