import { memo, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Background, Controls, Handle, MarkerType, Position, ReactFlow, useReactFlow, type Edge, type Node, type NodeProps, type NodeTypes } from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { layout } from './layoutWorker';
import type { WorkerBoot } from './layout.worker';
import type { GEdge, GNode } from './graph';
import { Loading } from '../errors';

export type { GEdge, GNode } from './graph';

/** Every node's box (the layout and the drawing agree on it). */
const W = 190;
const H = 44;
/** More nodes than this: the view opens on the root rather than fitted, so only what is in view renders. */
const BIG = 250;
/** Where React Flow's 6 px handles sit (its CSS centres them on the left and right borders): given
 * up front, edges can be drawn without first measuring every node in the DOM. */
const HANDLES: NonNullable<Node['handles']> = [
  { type: 'target', position: Position.Left, x: -3, y: H / 2 - 3, width: 6, height: 6 },
  { type: 'source', position: Position.Right, x: W - 3, y: H / 2 - 3, width: 6, height: 6 },
];

/** What a node offers besides opening it. */
export type ExpandState = 'expand' | 'collapse' | 'busy';

interface NodeData extends Record<string, unknown> {
  g: GNode;
  state?: ExpandState;
  toggle: (g: GNode) => void;
}

const LineageNode = memo(function LineageNode({ data }: NodeProps<Node<NodeData>>) {
  const { g, state, toggle } = data;
  const name = g.restricted ? 'restricted' : g.label;
  return (
    <>
      <Handle type="target" position={Position.Left} isConnectable={false} />
      <span className="lnode-label" title={g.restricted ? undefined : g.label}>
        {g.restricted ? '🔒 restricted' : g.label}
      </span>
      {state && (
        <button
          type="button"
          className={`lnode-toggle nodrag nopan lnode-toggle-${g.depth < 0 ? 'up' : 'down'}`}
          aria-label={state === 'collapse' ? `Collapse the lineage of ${name}` : `Expand the lineage of ${name}`}
          aria-expanded={state !== 'expand'}
          aria-busy={state === 'busy' || undefined}
          disabled={state === 'busy'}
          data-testid="lineage-node-toggle"
          onClick={(e) => {
            e.stopPropagation();
            toggle(g);
          }}
          // Enter and Space act on the button, not on the node around it.
          onKeyDown={(e) => e.stopPropagation()}
        >
          <svg viewBox="0 0 12 12" width="12" height="12" aria-hidden="true" focusable="false">
            <path d={state === 'collapse' ? 'M2 6h8' : 'M2 6h8M6 2v8'} stroke="currentColor" strokeWidth="2" />
          </svg>
        </button>
      )}
      <Handle type="source" position={Position.Right} isConnectable={false} />
    </>
  );
});
const NODE_TYPES: NodeTypes = { lineage: LineageNode };

/** After a new layout of a graph already on screen: fit small graphs, centre large ones on `focus`. */
function Refit({ n, big, focus }: { n: number; big: boolean; focus?: { x: number; y: number } }) {
  const rf = useReactFlow();
  const first = useRef(n);
  useEffect(() => {
    if (n === first.current) return;
    if (!big) void rf.fitView();
    else if (focus) void rf.setCenter(focus.x + W / 2, focus.y + H / 2, { zoom: rf.getZoom() });
    // Only when a new layout arrives.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [n]);
  return null;
}

/** Large graphs open zoomed on the root (only what is in view is rendered); small ones are fitted. */
function openingView(nodes: readonly GNode[], xy: Float64Array, height: number): Laid['view'] {
  if (nodes.length <= BIG) return undefined;
  const i = Math.max(0, nodes.findIndex((n) => n.root));
  const zoom = 0.75;
  return { x: -xy[2 * i] * zoom + 40, y: -xy[2 * i + 1] * zoom + height / 2 - 20, zoom };
}

interface Laid {
  of: readonly GNode[];
  edges: readonly GEdge[];
  xy: Float64Array;
  /** How many layouts this component has shown. */
  n: number;
  /** The opening view of a large graph (zoomed on the root); none: fitted. */
  view?: { x: number; y: number; zoom: number };
}

export function LineageGraph({
  nodes,
  edges,
  onOpen,
  onLaidOut,
  states,
  onToggle,
  focus,
  height = 520,
}: {
  nodes: GNode[];
  edges: GEdge[];
  onOpen?: (n: GNode) => void;
  onLaidOut?: (info: { ms: number; queuedMs: number; nodes: number; boot: WorkerBoot }) => void;
  /** Expand/collapse controls by node id. */
  states?: ReadonlyMap<string, ExpandState>;
  onToggle?: (n: GNode) => void;
  /** The node to keep in view when a large graph is laid out again (the one just expanded). */
  focus?: string;
  height?: number;
}) {
  // The last laid-out graph stays on screen while a changed one is laid out.
  const [laid, setLaid] = useState<Laid | null>(null);
  const [layoutError, setLayoutError] = useState<string | null>(null);
  const cb = useRef(onLaidOut);
  const toggleRef = useRef(onToggle);
  const heightRef = useRef(height);
  useEffect(() => {
    cb.current = onLaidOut;
    toggleRef.current = onToggle;
    heightRef.current = height;
  }, [onLaidOut, onToggle, height]);
  const toggle = useCallback((g: GNode) => toggleRef.current?.(g), []);

  useEffect(() => {
    let live = true;
    layout(nodes, edges, W, H).then((r) => {
      if (!live) return;
      if (r.error || !r.xy) setLayoutError(r.error ?? 'layout failed');
      else {
        const xy = r.xy;
        setLayoutError(null);
        setLaid((prev) => ({ of: nodes, edges, xy, n: (prev?.n ?? 0) + 1, view: prev ? prev.view : openingView(nodes, xy, heightRef.current) }));
        cb.current?.({ ms: r.ms, queuedMs: r.queuedMs, nodes: nodes.length, boot: r.boot });
      }
    });
    return () => {
      live = false;
    };
  }, [nodes, edges]);

  const shown = laid?.of;
  const byId = useMemo(() => new Map((shown ?? []).map((n) => [n.id, n])), [shown]);
  const rfNodes: Node<NodeData>[] = useMemo(() => {
    if (!laid) return [];
    const { of, xy } = laid;
    return of.map((g, i) => ({
      id: g.id,
      type: 'lineage',
      position: { x: xy[2 * i], y: xy[2 * i + 1] },
      // Known size and handles: React Flow renders only the nodes in view and draws the edges at
      // once, instead of first rendering every node to measure it.
      width: W,
      height: H,
      measured: { width: W, height: H },
      handles: HANDLES,
      data: { g, state: states?.get(g.id), toggle },
      className: `lnode lnode-${g.kind.toLowerCase()} lnode-depth-${Math.abs(g.depth)}${g.restricted ? ' lnode-restricted' : ''}${g.root ? ' lnode-root' : ''}`,
      connectable: false,
      draggable: false,
      ariaLabel: `${g.kind === 'PRODUCT' ? 'Product' : 'Application'} ${g.restricted ? 'restricted' : g.label}, depth ${g.depth}`,
    }));
  }, [laid, states, toggle]);
  const rfEdges: Edge[] = useMemo(
    () =>
      (laid?.edges ?? []).map((e) => ({
        id: e.id,
        source: e.source,
        target: e.target,
        markerEnd: { type: MarkerType.ArrowClosed },
        className: `ledge ledge-${e.kind.toLowerCase()}`,
        focusable: false,
      })),
    [laid],
  );

  // Large graphs open zoomed on the root rather than fitted: only the visible part is rendered.
  const big = (shown?.length ?? 0) > BIG;
  // In a large graph laid out again, keep the node just expanded in view (else the root).
  const focusAt = useMemo(() => {
    if (!laid) return undefined;
    let i = focus ? laid.of.findIndex((n) => n.id === focus) : -1;
    if (i < 0) i = laid.of.findIndex((n) => n.root);
    return i < 0 ? undefined : { x: laid.xy[2 * i], y: laid.xy[2 * i + 1] };
  }, [laid, focus]);

  if (layoutError) return <p className="error" role="alert">Layout failed: {layoutError}</p>;
  const current = laid?.of === nodes;
  return (
    <div
      className="lineage-canvas"
      style={{ height }}
      data-testid="lineage-canvas"
      data-laid-out={current ? 'yes' : 'no'}
      aria-busy={laid && !current ? true : undefined}
      onKeyDown={(e) => {
        // Nodes take focus with Tab; Enter opens the focused one, as a click does.
        if (e.key !== 'Enter' || !onOpen) return;
        const el = e.target as HTMLElement;
        if (!el.classList.contains('react-flow__node')) return;
        const g = byId.get(el.getAttribute('data-id') ?? '');
        if (g && !g.restricted) onOpen(g);
      }}
    >
      {!laid ? (
        <Loading label={`Laying out ${nodes.length} nodes…`} />
      ) : (
        <ReactFlow
          nodes={rfNodes}
          edges={rfEdges}
          nodeTypes={NODE_TYPES}
          fitView={!laid.view}
          defaultViewport={laid.view}
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
          <Refit n={laid.n} big={big} focus={focusAt} />
          <Background />
          <Controls showInteractive={false} />
        </ReactFlow>
      )}
    </div>
  );
}
