import { useEffect, useMemo, useRef, useState } from 'react';
import { Background, Controls, MarkerType, Position, ReactFlow, type Edge, type Node } from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import type { LayoutRequest, LayoutResponse } from './layout.worker';
import { Loading } from '../errors';

export interface GNode {
  id: string;
  label: string;
  kind: 'PRODUCT' | 'APPLICATION';
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

/** The graph of a `lineage` answer around its root (labelled `label`);
 * edges whose ends are not both in the answer are left out. */
export function lineageGraph(l: LineageAnswer, root: Pick<GNode, 'label' | 'kind'>): { nodes: GNode[]; edges: GEdge[] } {
  const nodes: GNode[] = [
    { id: l.root.id, ...root, depth: 0, restricted: false, root: true },
    ...l.nodes.map((n) => ({
      id: n.id,
      label: (n.entity?.__typename === 'DataProduct' ? n.entity.qualifiedName : n.entity?.__typename === 'Application' ? n.entity.name : undefined) ?? n.name,
      kind: n.kind,
      depth: n.depth,
      restricted: n.restricted,
    })),
  ];
  const ids = new Set(nodes.map((n) => n.id));
  const edges: GEdge[] = l.edges.filter((e) => ids.has(e.fromId) && ids.has(e.toId)).map((e) => ({ id: e.id, source: e.fromId, target: e.toId, kind: e.kind }));
  return { nodes, edges };
}

const NO_EDGES: Edge[] = [];
let worker: Worker | null = null;
let seq = 0;
const pending = new Map<number, (r: LayoutResponse) => void>();
function layoutWorker(): Worker {
  if (!worker) {
    worker = new Worker(new URL('./layout.worker.ts', import.meta.url), { type: 'module' });
    worker.onmessage = (e: MessageEvent<LayoutResponse>) => {
      pending.get(e.data.id)?.(e.data);
      pending.delete(e.data.id);
    };
  }
  return worker;
}
// Boot the worker (and ELK's warm-up) as soon as the lineage code loads, while the data is fetched.
if (typeof window !== 'undefined') layoutWorker();

export function layout(nodes: GNode[], edges: GEdge[]): Promise<LayoutResponse> {
  const id = ++seq;
  const req: LayoutRequest = {
    id,
    direction: 'RIGHT',
    nodes: nodes.map((n) => ({ id: n.id, width: 190, height: 44 })),
    edges: edges.map((e) => ({ id: e.id, source: e.source, target: e.target })),
  };
  return new Promise((resolve) => {
    pending.set(id, resolve);
    layoutWorker().postMessage(req);
  });
}

export function LineageGraph({
  nodes,
  edges,
  onOpen,
  onLaidOut,
  height = 520,
}: {
  nodes: GNode[];
  edges: GEdge[];
  onOpen?: (n: GNode) => void;
  onLaidOut?: (info: { ms: number; nodes: number }) => void;
  height?: number;
}) {
  const [laid, setLaid] = useState<{ positions: Record<string, { x: number; y: number }>; n: number; of: GNode[] } | null>(null);
  // Positions belong to one node set: a new set waits for its own layout.
  const positions = laid && laid.of === nodes ? laid.positions : null;
  const [layoutError, setLayoutError] = useState<string | null>(null);
  const cb = useRef(onLaidOut);
  useEffect(() => {
    cb.current = onLaidOut;
  }, [onLaidOut]);

  useEffect(() => {
    let live = true;
    layout(nodes, edges).then((r) => {
      if (!live) return;
      if (r.error || !r.positions) setLayoutError(r.error ?? 'layout failed');
      else {
        setLaid((prev) => ({ positions: r.positions!, n: (prev?.n ?? 0) + 1, of: nodes }));
        cb.current?.({ ms: r.ms, nodes: nodes.length });
      }
    });
    return () => {
      live = false;
    };
  }, [nodes, edges]);

  const byId = useMemo(() => new Map(nodes.map((n) => [n.id, n])), [nodes]);
  const rfNodes: Node[] = useMemo(
    () =>
      positions
        ? nodes.map((n) => ({
            id: n.id,
            position: positions[n.id] ?? { x: 0, y: 0 },
            data: { label: n.restricted ? '🔒 restricted' : n.label },
            className: `lnode lnode-${n.kind.toLowerCase()} lnode-depth-${Math.abs(n.depth)}${n.restricted ? ' lnode-restricted' : ''}${n.root ? ' lnode-root' : ''}`,
            connectable: false,
            draggable: false,
            ariaLabel: `${n.kind === 'PRODUCT' ? 'Product' : 'Application'} ${n.restricted ? 'restricted' : n.label}, depth ${n.depth}`,
            sourcePosition: Position.Right,
            targetPosition: Position.Left,
            style: { width: 190 },
          }))
        : [],
    [nodes, positions],
  );
  const rfEdges: Edge[] = useMemo(
    () =>
      edges.map((e) => ({
        id: e.id,
        source: e.source,
        target: e.target,
        markerEnd: { type: MarkerType.ArrowClosed },
        className: `ledge ledge-${e.kind.toLowerCase()}`,
        focusable: false,
      })),
    [edges],
  );

  // Large graphs open zoomed on the root rather than fitted: only the visible part is rendered.
  const big = nodes.length > 250;
  // Large graphs: nodes first, edges in the next frame, so no single main-thread task does both.
  const [edgesFor, setEdgesFor] = useState<number | undefined>(undefined);
  useEffect(() => {
    if (!laid) return;
    if (!big) return;
    const frame = requestAnimationFrame(() => setEdgesFor(laid.n));
    return () => cancelAnimationFrame(frame);
  }, [laid, big]);
  const shownEdges = !big || edgesFor === laid?.n ? rfEdges : NO_EDGES;
  const start = useMemo(() => {
    if (!big || !positions) return undefined;
    const root = nodes.find((n) => n.root) ?? nodes[0];
    const p = positions[root.id] ?? { x: 0, y: 0 };
    const zoom = 0.75;
    return { x: -p.x * zoom + 40, y: -p.y * zoom + height / 2 - 20, zoom };
  }, [big, positions, nodes, height]);

  if (layoutError) return <p className="error" role="alert">Layout failed: {layoutError}</p>;
  return (
    <div
      className="lineage-canvas"
      style={{ height }}
      data-testid="lineage-canvas"
      data-laid-out={positions ? 'yes' : 'no'}
      onKeyDown={(e) => {
        // Nodes take focus with Tab; Enter opens the focused one, as a click does.
        if (e.key !== 'Enter' || !onOpen) return;
        const id = (e.target as HTMLElement).closest('.react-flow__node')?.getAttribute('data-id');
        const g = id ? byId.get(id) : undefined;
        if (g && !g.restricted) onOpen(g);
      }}
    >
      {!positions ? (
        <Loading label={`Laying out ${nodes.length} nodes…`} />
      ) : (
        <ReactFlow
          key={laid?.n}
          nodes={rfNodes}
          edges={shownEdges}
          fitView={!big}
          defaultViewport={start}
          minZoom={0.05}
          onlyRenderVisibleElements
          nodesDraggable={false}
          nodesConnectable={false}
          edgesFocusable={false}
          proOptions={{ hideAttribution: true }}
          onNodeClick={(_, n) => {
            const g = byId.get(n.id);
            if (g && !g.restricted && onOpen) onOpen(g);
          }}
        >
          <Background />
          <Controls showInteractive={false} />
        </ReactFlow>
      )}
    </div>
  );
}
