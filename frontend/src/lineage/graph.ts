// The lineage graph as the portal draws it, built from `lineage` answers: the answer around the
// page's root, then the one-hop answers around the nodes the reader expanded.

export interface GNode {
  id: string;
  label: string;
  kind: 'PRODUCT' | 'APPLICATION';
  /** Hops from the root: negative upstream, positive downstream. */
  depth: number;
  restricted: boolean;
  root?: boolean;
}
export interface GEdge {
  id: string;
  source: string;
  target: string;
  kind: string;
}
export interface Graph {
  nodes: GNode[];
  edges: GEdge[];
}

/** A `lineage` query's answer, as far as the graph needs it. */
export interface LineageAnswer {
  root: { id: string };
  nodes: readonly {
    id: string;
    name: string;
    kind: GNode['kind'];
    depth: number;
    restricted: boolean;
    entity?: { __typename?: string; qualifiedName?: string; name?: string } | null;
  }[];
  edges: readonly { id: string; fromId: string; toId: string; kind: string }[];
}

function label(n: LineageAnswer['nodes'][number]): string {
  const e = n.entity;
  return (e?.__typename === 'DataProduct' ? e.qualifiedName : e?.__typename === 'Application' ? e.name : undefined) ?? n.name;
}

/** The graph of a `lineage` answer around its root (labelled `label`);
 * edges whose ends are not both in the answer are left out. */
export function lineageGraph(l: LineageAnswer, root: Pick<GNode, 'label' | 'kind'>): Graph {
  const nodes: GNode[] = [
    { id: l.root.id, ...root, depth: 0, restricted: false, root: true },
    ...l.nodes.map((n) => ({ id: n.id, label: label(n), kind: n.kind, depth: n.depth, restricted: n.restricted })),
  ];
  const ids = new Set(nodes.map((n) => n.id));
  const edges: GEdge[] = l.edges.filter((e) => ids.has(e.fromId) && ids.has(e.toId)).map((e) => ({ id: e.id, source: e.fromId, target: e.toId, kind: e.kind }));
  return { nodes, edges };
}

/** How a node is named in the URL (`expand=`): a product by its qualified name, an application as
 * `app:<name>`. Restricted nodes have no key (nothing can be asked about them). */
export function nodeKey(n: GNode): string | null {
  if (n.restricted || n.root) return null;
  return n.kind === 'APPLICATION' ? `app:${n.label}` : n.label;
}

/** What the `lineage` query's `of` argument is for a key. */
export function keyTarget(key: string): { product: string } | { application: string } {
  return key.startsWith('app:') ? { application: key.slice(4) } : { product: key };
}

/** The direction a node is expanded in: away from the root. */
export function outward(n: GNode): 'UPSTREAM' | 'DOWNSTREAM' {
  return n.depth < 0 ? 'UPSTREAM' : 'DOWNSTREAM';
}

/**
 * Adds a one-hop answer around `at` (a node of `g`) to `g`: the neighbours on its outward side, with
 * their depth counted from the page's root, and the answer's edges between nodes then in the graph.
 *
 * Restricted nodes are opaque placeholders numbered per answer (`restricted-1` in two answers may be
 * two products), so they are renamed `<placeholder>@<tag>`, unless one of their edges is already in
 * the graph (edge ids are real even to a hidden product): then they are the node at that end.
 */
export function mergeExpansion(g: Graph, at: GNode, l: LineageAnswer, tag: string): Graph {
  const sign = at.depth < 0 ? -1 : 1;
  const byId = new Map(g.nodes.map((n) => [n.id, n]));
  const edgeById = new Map(g.edges.map((e) => [e.id, e]));
  const idOf = new Map<string, string>([[l.root.id, at.id]]);
  for (const n of l.nodes) {
    if (!n.restricted) continue;
    let known: string | undefined;
    for (const e of l.edges) {
      const k = edgeById.get(e.id);
      if (!k) continue;
      known = e.fromId === n.id ? k.source : e.toId === n.id ? k.target : undefined;
      if (known) break;
    }
    idOf.set(n.id, known && byId.get(known)?.restricted ? known : `${n.id}@${tag}`);
  }
  const nodes = g.nodes.slice();
  for (const n of l.nodes) {
    if (Math.sign(n.depth) !== sign) continue;
    const id = idOf.get(n.id) ?? n.id;
    if (byId.has(id)) continue;
    const node: GNode = { id, label: label(n), kind: n.kind, depth: at.depth + n.depth, restricted: n.restricted };
    nodes.push(node);
    byId.set(id, node);
  }
  const edges = g.edges.slice();
  for (const e of l.edges) {
    if (edgeById.has(e.id)) continue;
    const source = idOf.get(e.fromId) ?? e.fromId;
    const target = idOf.get(e.toId) ?? e.toId;
    if (!byId.has(source) || !byId.has(target)) continue;
    const edge = { id: e.id, source, target, kind: e.kind };
    edges.push(edge);
    edgeById.set(e.id, edge);
  }
  return { nodes, edges };
}

export interface Expanded {
  graph: Graph;
  /** Keys merged into the graph. */
  applied: Set<string>;
  /** Keys whose node is in the graph but whose answer has not arrived: node and direction to ask. */
  wanted: { key: string; node: GNode; direction: 'UPSTREAM' | 'DOWNSTREAM' }[];
}

/** The key of an answer: the node's key and the direction it was asked in. */
export const answerKey = (key: string, direction: string) => `${direction}:${key}`;

/**
 * Applies the expansions `keys` (in the URL's order) to `base`, with the answers at hand. A key whose
 * node only appears through another expansion is applied after it; a key whose node never appears
 * (its parent was collapsed, or the direction changed) is left out.
 */
export function applyExpansions(base: Graph, keys: readonly string[], answers: ReadonlyMap<string, LineageAnswer>): Expanded {
  let graph = base;
  const applied = new Set<string>();
  const wanted: Expanded['wanted'] = [];
  let rest = [...new Set(keys)];
  for (let progress = true; progress && rest.length; ) {
    progress = false;
    const byKey = new Map<string, GNode>();
    for (const n of graph.nodes) {
      const k = nodeKey(n);
      if (k !== null && !byKey.has(k)) byKey.set(k, n);
    }
    const next: string[] = [];
    for (const key of rest) {
      const node = byKey.get(key);
      if (!node) {
        next.push(key);
        continue;
      }
      const direction = outward(node);
      const answer = answers.get(answerKey(key, direction));
      if (answer) {
        graph = mergeExpansion(graph, node, answer, key);
        applied.add(key);
        progress = true;
      } else {
        wanted.push({ key, node, direction });
      }
    }
    rest = next;
  }
  return { graph, applied, wanted };
}

/**
 * What a node offers: `expand` at the edge of what is shown (the base walk's outermost hop, or a
 * node an expansion brought in), `collapse` once expanded, nothing inside the base walk, on the root
 * or on a restricted node.
 */
export function expandState(n: GNode, baseDepth: number, baseIds: ReadonlySet<string>, applied: ReadonlySet<string>, busy: ReadonlySet<string>): 'expand' | 'collapse' | 'busy' | null {
  const key = nodeKey(n);
  if (key === null) return null;
  if (busy.has(key)) return 'busy';
  if (applied.has(key)) return 'collapse';
  if (baseIds.has(n.id) && Math.abs(n.depth) < baseDepth) return null;
  return 'expand';
}
