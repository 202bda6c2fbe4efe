/// <reference lib="webworker" />
// Runs the ELK layered layout off the main thread.
//
// The graph crosses the thread boundary as typed arrays (transferred, not copied): node i is ELK
// child `i`, edges are pairs of node indices, and the answer is x, y per node in the same order.
import ELK from 'elkjs/lib/elk.bundled.js';
import type { ElkNode } from 'elkjs/lib/elk-api';

/** Wall-clock times (ms since the epoch) of the worker's start-up, for the benchmark's breakdown. */
const boot: WorkerBoot = { started: performance.timeOrigin, evaluated: performance.timeOrigin + performance.now(), warm: [] };
const elk = new ELK();

export interface LayoutRequest {
  id: number;
  direction: 'RIGHT' | 'DOWN';
  /** Node count; every node is `width` × `height`. */
  n: number;
  width: number;
  height: number;
  /** Hops from the root per node (negative upstream): the layer of each node in large graphs. */
  depth: Int32Array;
  /** Edges as (source index, target index) pairs. */
  edges: Uint32Array;
  /** When it was sent (`performance.timeOrigin + performance.now()`). */
  sentAt: number;
}
export interface LayoutResponse {
  id: number;
  /** x, y of node i at 2i, 2i + 1. */
  xy?: Float64Array;
  error?: string;
  /** From the request being sent to the answer (queue included). */
  ms: number;
  /** Time the request waited before its layout began (the worker starting, warm-up rounds, an
   * earlier layout still running). */
  queuedMs: number;
  boot: WorkerBoot;
}
export interface WorkerBoot {
  /** The worker was created. */
  started: number;
  /** Its script (ELK included) was fetched and evaluated. */
  evaluated: number;
  /** Each warm-up round ended. */
  warm: number[];
}

/** More nodes than this: the options for large graphs (cheap layering from the known depths). */
const BIG = 250;
/** More nodes than this: no crossing minimisation either. */
const HUGE = 600;

function options(n: number, direction: LayoutRequest['direction']): Record<string, string> {
  const common = {
    'elk.algorithm': 'layered',
    'elk.direction': direction,
    'elk.layered.spacing.nodeNodeBetweenLayers': '80',
    'elk.spacing.nodeNode': '24',
  };
  if (n <= BIG) {
    return { ...common, 'elk.layered.nodePlacement.strategy': 'BRANDES_KOEPF', 'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES' };
  }
  return {
    ...common,
    // Layers come from the nodes' hops from the root (given as x positions): no layering problem to
    // solve, and far fewer long edges (dummy nodes) than longest-path layering, so every later phase
    // has less to do. Edges against that order (a cross-link back towards the root) are reversed.
    'elk.layered.layering.strategy': 'INTERACTIVE',
    'elk.layered.cycleBreaking.strategy': 'INTERACTIVE',
    'elk.layered.thoroughness': '1',
    'elk.layered.nodePlacement.strategy': 'SIMPLE',
    'elk.layered.crossingMinimization.greedySwitch.type': 'OFF',
    'elk.edgeRouting': 'POLYLINE',
    'elk.separateConnectedComponents': 'false',
    // Past a few hundred nodes, keep the model order (nearest first) in each layer rather than
    // minimise crossings: several times faster, and a graph that size is read by zooming in anyway.
    ...(n > HUGE ? { 'elk.layered.crossingMinimization.strategy': 'NONE', 'elk.nodeSize.constraints': '' } : {}),
  };
}

function elkGraph(req: Omit<LayoutRequest, 'id' | 'sentAt'>): ElkNode {
  const { n, width, height, depth, edges, direction } = req;
  let min = 0;
  for (let i = 0; i < n; i++) min = Math.min(min, depth[i]);
  const inLayer = new Map<number, number>();
  const children: ElkNode[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const k = inLayer.get(depth[i]) ?? 0;
    inLayer.set(depth[i], k + 1);
    const along = (depth[i] - min) * (width + 80);
    const across = k * (height + 24);
    children[i] = direction === 'RIGHT' ? { id: String(i), width, height, x: along, y: across } : { id: String(i), width, height, x: across, y: along };
  }
  const m = edges.length >> 1;
  const elkEdges = new Array(m);
  for (let j = 0; j < m; j++) elkEdges[j] = { id: `e${j}`, sources: [String(edges[2 * j])], targets: [String(edges[2 * j + 1])] };
  return { id: 'root', layoutOptions: options(n, direction), children, edges: elkEdges };
}

// ELK is compiled Java, and its first large layout runs mostly unoptimised code. Small layouts first
// get it optimised far sooner than one large one does: in Node, the benchmark's 1,000 nodes cold take
// 3.1 s of CPU, but 0.5-0.7 s of three to five 40-node layouts and then 1.65-1.8 s (2.3 s in all).
// So a large request is preceded by at least MIN_WARM small layouts, and while the worker has nothing
// to do it runs such layouts on its own (up to WARM_ROUNDS, one at a time, stopping as soon as a
// request arrives: a request never waits for more than one small layout it did not need).
const MIN_WARM = 4;
const WARM_ROUNDS = 12;
let rounds = 0;
let requests = 0;
const yieldToMessages = () => new Promise((r) => setTimeout(r, 0));
async function warmRound() {
  const n = rounds < 6 ? 40 : 120;
  const depth = new Int32Array(n).map((_, i) => Math.floor(i / 6));
  const pairs: number[] = [];
  // (Every target below n: an edge to a missing node makes ELK throw during the import, and that
  // round would warm nothing up.)
  for (let i = 0; i + 6 < n; i++) pairs.push(i, Math.min(n - 1, i + 6 + ((i * 7 + rounds) % 6 === 0 ? 1 : 0)), i, Math.min(n - 1, i + 12 - ((i + rounds) % 5)));
  const g = elkGraph({ n, width: 190, height: 44, depth, edges: new Uint32Array(pairs), direction: 'RIGHT' });
  g.layoutOptions = options(HUGE + 1, 'RIGHT');
  await elk.layout(g).catch(() => undefined);
  rounds++;
  boot.warm.push(performance.timeOrigin + performance.now());
}
const idle = (async () => {
  // Requests sent before the worker started are taken first.
  await yieldToMessages();
  while (rounds < WARM_ROUNDS && requests === 0) {
    await warmRound();
    await yieldToMessages();
  }
})();

// elk.bundled installs its own message handler when loaded in a worker: replace it.
self.onmessage = async (e: MessageEvent<LayoutRequest>) => {
  requests++;
  await idle;
  if (e.data.n > BIG) while (rounds < MIN_WARM) await warmRound();
  const t0 = performance.now();
  const arrived = Math.min(t0, e.data.sentAt - performance.timeOrigin);
  const { id } = e.data;
  const post = (r: LayoutResponse, transfer: Transferable[] = []) => (self as unknown as Worker).postMessage(r, transfer);
  try {
    const out = await elk.layout(elkGraph(e.data));
    const xy = new Float64Array(2 * e.data.n);
    for (const c of out.children ?? []) {
      const i = Number(c.id);
      xy[2 * i] = c.x ?? 0;
      xy[2 * i + 1] = c.y ?? 0;
    }
    post({ id, xy, ms: performance.now() - arrived, queuedMs: t0 - arrived, boot }, [xy.buffer]);
  } catch (err) {
    post({ id, error: String(err), ms: performance.now() - arrived, queuedMs: t0 - arrived, boot });
  }
};
