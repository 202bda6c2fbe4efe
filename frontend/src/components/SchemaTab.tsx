import { useEffect, useRef } from 'react';
import { useQuery } from 'urql';
import { useSearchParams } from 'wouter';
import CodeMirror from '@uiw/react-codemirror';
import { EditorView } from '@codemirror/view';
import { EditorState } from '@codemirror/state';
import { json } from '@codemirror/lang-json';
import { MergeView } from '@codemirror/merge';
import { graphql } from '../graphql';
import { ErrorView, Loading, Empty } from '../errors';
import { fmtTime, formatLabel } from './bits';

const SchemaQuery = graphql(`
  query SchemaVersion($qn: String!, $v: Int!) {
    dataProduct(qualifiedName: $qn) {
      id
      schemaVersion(version: $v) {
        id
        version
        schemaId
        format
        definition
        createdBy
        createdAt
        fields { path name type doc nullable required default tags }
      }
    }
  }
`);

const DiffQuery = graphql(`
  query SchemaDiff($qn: String!, $from: Int!, $to: Int!) {
    schemaDiff(product: $qn, from: $from, to: $to) {
      from { version definition }
      to { version definition }
      changes {
        path
        kind
        details
        before { type }
        after { type }
      }
    }
  }
`);

export function pretty(def: string): string {
  try {
    return JSON.stringify(JSON.parse(def), null, 2);
  } catch {
    return def;
  }
}

// Read-only but focusable (keyboard users can scroll and select), with a label.
const readOnlyBase = [json(), EditorView.lineWrapping, EditorState.readOnly.of(true)];
const readOnly = (label: string) => [...readOnlyBase, EditorView.contentAttributes.of({ 'aria-label': label, tabindex: '0' })];

const definitionExtensions = readOnly('Schema definition');

function Diff({ a, b, labelA, labelB }: { a: string; b: string; labelA: string; labelB: string }) {
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!el.current) return;
    const view = new MergeView({
      a: { doc: a, extensions: readOnly(labelA) },
      b: { doc: b, extensions: readOnly(labelB) },
      parent: el.current,
      collapseUnchanged: { margin: 3, minSize: 6 },
    });
    return () => view.destroy();
  }, [a, b, labelA, labelB]);
  return <div ref={el} className="merge" data-testid="schema-merge" />;
}

export default function SchemaTab({ qn, versions }: { qn: string; versions: number[] }) {
  const [params, setParams] = useSearchParams();
  const latest = versions[versions.length - 1] ?? 1;
  const v = Number(params.get('v') ?? latest);
  const to = Number(params.get('to') ?? latest);
  const from = Number(params.get('from') ?? Math.max(1, to - 1));
  const set = (k: string, val: number) =>
    setParams((p) => {
      const n = new URLSearchParams(p);
      n.set(k, String(val));
      return n;
    }, { replace: true });

  const [{ data, fetching, error }] = useQuery({ query: SchemaQuery, variables: { qn, v } });
  const canDiff = versions.length > 1 && from !== to;
  const [diff] = useQuery({ query: DiffQuery, variables: { qn, from, to }, pause: !canDiff });
  const sv = data?.dataProduct?.schemaVersion;

  if (!versions.length) return <Empty>No schema registered.</Empty>;
  return (
    <div className="stack">
      <section className="card" aria-labelledby="schema-h">
        <div className="row">
          <h2 id="schema-h">Schema</h2>
          <label className="inline">
            Version{' '}
            <select className="input" value={v} onChange={(e) => set('v', Number(e.target.value))} data-testid="schema-version">
              {versions.map((x) => (
                <option key={x} value={x}>
                  v{x}{x === latest ? ' (latest)' : ''}
                </option>
              ))}
            </select>
          </label>
        </div>
        <ErrorView error={error} />
        {fetching && !sv && <Loading />}
        {sv && (
          <>
            <p className="muted small">
              {formatLabel(sv.format)} · schema id {sv.schemaId ?? '—'} · registered by {sv.createdBy}, {fmtTime(sv.createdAt)}
            </p>
            <div className="table-wrap" tabIndex={0} role="region" aria-label="Table (scrolls sideways)">
              {/* Stacked, one field a block, on narrow screens (styles.css); the roles keep it a table there. */}
              <table className="stacked" role="table" data-testid="field-table">
                <thead role="rowgroup">
                  <tr role="row"><th role="columnheader" scope="col">Field</th><th role="columnheader" scope="col">Type</th><th role="columnheader" scope="col">Required</th><th role="columnheader" scope="col">Doc</th><th role="columnheader" scope="col">Tags</th></tr>
                </thead>
                <tbody role="rowgroup">
                  {sv.fields.map((f) => (
                    <tr key={f.path} role="row">
                      <th role="rowheader" scope="row"><code>{f.path}</code></th>
                      <td role="cell" data-label="Type"><code>{f.type}{f.nullable ? ' | null' : ''}</code>{f.default != null && <span className="muted small"> = {f.default}</span>}</td>
                      <td role="cell" data-label="Required">{f.required ? 'yes' : 'no'}</td>
                      <td role="cell" data-label="Doc">{f.doc ?? ''}</td>
                      <td role="cell" data-label="Tags">{f.tags.map((t) => <span key={t} className={t === 'PII' ? 'tag tag-pii' : 'tag'}>{t}</span>)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <details>
              <summary>Raw definition</summary>
              <CodeMirror value={pretty(sv.definition)} extensions={definitionExtensions} basicSetup={{ lineNumbers: true, foldGutter: true }} />
            </details>
          </>
        )}
      </section>
      <section className="card" aria-labelledby="diff-h">
        <div className="row">
          <h2 id="diff-h">Compare versions</h2>
          {versions.length > 1 && (
            <>
              <label className="inline">
                From{' '}
                <select className="input" value={from} onChange={(e) => set('from', Number(e.target.value))} data-testid="diff-from">
                  {versions.map((x) => <option key={x} value={x}>v{x}</option>)}
                </select>
              </label>
              <label className="inline">
                To{' '}
                <select className="input" value={to} onChange={(e) => set('to', Number(e.target.value))} data-testid="diff-to">
                  {versions.map((x) => <option key={x} value={x}>v{x}</option>)}
                </select>
              </label>
            </>
          )}
        </div>
        {versions.length < 2 && <Empty>Only one version: nothing to compare.</Empty>}
        {versions.length > 1 && from === to && <Empty>v{from} against itself: pick two different versions.</Empty>}
        {canDiff && (
          <>
            <ErrorView error={diff.error} />
            {diff.fetching && !diff.data && <Loading />}
            {diff.data && (
              <>
                <ul className="changes" data-testid="diff-changes">
                  {diff.data.schemaDiff.changes.length === 0 && <li className="muted">No field changed.</li>}
                  {diff.data.schemaDiff.changes.map((c) => (
                    <li key={c.path + c.kind} className={`change change-${c.kind.toLowerCase()}`}>
                      <span className="badge">{c.kind}</span> <code>{c.path}</code> {c.details.join('; ')}
                    </li>
                  ))}
                </ul>
                <Diff
                  a={pretty(diff.data.schemaDiff.from.definition)}
                  b={pretty(diff.data.schemaDiff.to.definition)}
                  labelA={`Schema v${diff.data.schemaDiff.from.version}`}
                  labelB={`Schema v${diff.data.schemaDiff.to.version}`}
                />
              </>
            )}
          </>
        )}
      </section>
    </div>
  );
}
