import { useCallback, useEffect, useRef, useState } from 'react';
import { useClient } from 'urql';
import { useVirtualizer } from '@tanstack/react-virtual';
import { graphql } from '../graphql';
import { ErrorView, type PortalError } from '../errors';
import { count } from './bits';

const TailSub = graphql(`
  subscription Tail($product: String!, $filter: ProductEventsFilter, $from: EventsFrom) {
    productEvents(product: $product, filter: $filter, from: $from) {
      __typename
      ... on KafkaRecord { partition offset key timestamp value encoding schemaVersion conforms masked }
      ... on RecordDecodeError { partition offset key timestamp message rawBase64 }
      ... on Lagged { skipped }
    }
  }
`);

type Row =
  | { t: 'rec'; n: number; partition: number; offset: number; key: string | null; timestamp: string | null; value: string; encoding: string; schemaVersion: number | null; conforms: boolean; masked: boolean }
  | { t: 'err'; n: number; partition: number; offset: number; key: string | null; timestamp: string | null; message: string; raw: string }
  | { t: 'lag'; n: number; skipped: number };

const MAX_ROWS = 5000;

export default function LiveTail({ qn }: { qn: string }) {
  const client = useClient();
  const [running, setRunning] = useState(false);
  const [paused, setPaused] = useState(false);
  const [from, setFrom] = useState<'LATEST' | 'EARLIEST'>('LATEST');
  const [keyFilter, setKeyFilter] = useState('');
  const [partFilter, setPartFilter] = useState('');
  const [fieldPath, setFieldPath] = useState('');
  const [fieldValue, setFieldValue] = useState('');
  const [text, setText] = useState('');
  const [errors, setErrors] = useState<PortalError[]>([]);
  // The record shown in full below the list (a row shows what fits).
  const [selected, setSelected] = useState<Exclude<Row, { t: 'lag' }> | null>(null);
  const [, setTick] = useState(0);

  const rows = useRef<Row[]>([]); // newest first
  const shown = useRef<Row[]>([]);
  const counts = useRef({ records: 0, decodeErrors: 0, lagged: 0, skipped: 0 });
  const seq = useRef(0);
  const sub = useRef<{ unsubscribe: () => void } | null>(null);
  const pausedRef = useRef(false);
  const dirty = useRef(false);

  const stop = useCallback(() => {
    sub.current?.unsubscribe();
    sub.current = null;
    setRunning(false);
  }, []);

  const start = () => {
    stop();
    rows.current = [];
    shown.current = [];
    counts.current = { records: 0, decodeErrors: 0, lagged: 0, skipped: 0 };
    setErrors([]);
    setSelected(null);
    const filter: { key?: string; partitions?: number[]; fieldEquals?: { path: string; value: unknown }[] } = {};
    if (keyFilter) filter.key = keyFilter;
    if (partFilter.trim()) filter.partitions = partFilter.split(',').map((s) => Number(s.trim())).filter((x) => Number.isInteger(x));
    if (fieldPath && fieldValue) {
      let value: unknown = fieldValue;
      try {
        value = JSON.parse(fieldValue);
      } catch {
        /* a plain string */
      }
      filter.fieldEquals = [{ path: fieldPath, value }];
    }
    const vars = { product: qn, filter: Object.keys(filter).length ? filter : null, from: from === 'EARLIEST' ? { position: 'EARLIEST' as const } : null };
    setRunning(true);
    sub.current = client.subscription(TailSub, vars as never).subscribe((res) => {
      if (res.error) {
        setErrors(res.error.graphQLErrors.length ? res.error.graphQLErrors.map((e) => ({ code: e.extensions?.code as string | undefined, message: e.message })) : [{ code: 'NETWORK', message: res.error.message }]);
        stop();
        return;
      }
      const ev = res.data?.productEvents;
      if (!ev) return;
      const n = ++seq.current;
      let row: Row;
      if (ev.__typename === 'KafkaRecord') {
        counts.current.records++;
        row = { t: 'rec', n, partition: ev.partition, offset: ev.offset, key: ev.key ?? null, timestamp: ev.timestamp ?? null, value: JSON.stringify(ev.value), encoding: ev.encoding, schemaVersion: ev.schemaVersion ?? null, conforms: ev.conforms, masked: ev.masked };
      } else if (ev.__typename === 'RecordDecodeError') {
        counts.current.decodeErrors++;
        row = { t: 'err', n, partition: ev.partition, offset: ev.offset, key: ev.key ?? null, timestamp: ev.timestamp ?? null, message: ev.message, raw: ev.rawBase64 };
      } else {
        counts.current.lagged++;
        counts.current.skipped += ev.skipped;
        row = { t: 'lag', n, skipped: ev.skipped };
      }
      rows.current.unshift(row);
      if (rows.current.length > MAX_ROWS) rows.current.length = MAX_ROWS;
      dirty.current = true;
    });
  };

  useEffect(() => () => sub.current?.unsubscribe(), []);
  useEffect(() => {
    pausedRef.current = paused;
  }, [paused]);
  // Repaint at most 10 times a second, whatever the record rate.
  useEffect(() => {
    const t = setInterval(() => {
      if (!dirty.current) return;
      dirty.current = false;
      if (!pausedRef.current) shown.current = rows.current.slice();
      setTick((x) => x + 1);
    }, 100);
    return () => clearInterval(t);
  }, []);

  const needle = text.toLowerCase();
  const visible = needle
    ? shown.current.filter((r) => (r.t === 'rec' ? `${r.key ?? ''} ${r.value}` : r.t === 'err' ? `${r.key ?? ''} ${r.message}` : 'lagged').toLowerCase().includes(needle))
    : shown.current;

  const parent = useRef<HTMLDivElement>(null);
  // eslint-disable-next-line react-hooks/incompatible-library
  const virt = useVirtualizer({ count: visible.length, getScrollElement: () => parent.current, estimateSize: () => 30, overscan: 12 });
  const c = counts.current;

  return (
    <section className="card" aria-labelledby="tail-h">
      <h2 id="tail-h">Live tail of {qn}</h2>
      <form
        className="tail-controls"
        onSubmit={(e) => {
          e.preventDefault();
          start();
        }}
      >
        <label className="inline">
          Start at{' '}
          <select className="input" value={from} onChange={(e) => setFrom(e.target.value as 'LATEST' | 'EARLIEST')}>
            <option value="LATEST">new records only</option>
            <option value="EARLIEST">the earliest record kept</option>
          </select>
        </label>
        <label className="inline">
          Key <input className="input short" value={keyFilter} onChange={(e) => setKeyFilter(e.target.value)} />
        </label>
        <label className="inline">
          Partitions <input className="input short" placeholder="0,1" value={partFilter} onChange={(e) => setPartFilter(e.target.value)} />
        </label>
        <label className="inline">
          Field <input className="input short" placeholder="country" value={fieldPath} onChange={(e) => setFieldPath(e.target.value)} />
        </label>
        <label className="inline">
          equals <input className="input short" placeholder='"FR"' value={fieldValue} onChange={(e) => setFieldValue(e.target.value)} />
        </label>
        <button type="submit" className="btn btn-primary" data-testid="tail-start">
          {running ? 'Restart' : 'Start'}
        </button>
        <button type="button" className="btn" disabled={!running} onClick={stop} data-testid="tail-stop">
          Stop
        </button>
        <button type="button" className="btn" aria-pressed={paused} disabled={!running} onClick={() => setPaused((p) => !p)} data-testid="tail-pause">
          {paused ? 'Resume display' : 'Pause display'}
        </button>
      </form>
      <div className="row">
        <p className="tail-counts" role="status" aria-live="off" data-testid="tail-counts">
          <span className={running ? 'dot dot-on' : 'dot'} aria-hidden="true" /> {running ? (paused ? 'Paused (still receiving)' : 'Live') : 'Stopped'} ·{' '}
          <span data-testid="tail-records">{count(c.records, 'record')}</span> ·{' '}
          <span data-testid="tail-decode-errors">{count(c.decodeErrors, 'decode error')}</span> · {count(c.lagged, 'lagged notice')} ({c.skipped} skipped)
          {rows.current.length >= MAX_ROWS && <> · showing the newest {MAX_ROWS}</>}
        </p>
        <label className="inline">
          Find in shown <input className="input short" value={text} onChange={(e) => setText(e.target.value)} />
        </label>
      </div>
      <ErrorView error={errors} />
      <div className="tail-head" aria-hidden="true">
        <span>partition/offset</span>
        <span>key</span>
        <span>time</span>
        <span>schema</span>
        <span>value</span>
      </div>
      <div ref={parent} className="tail-scroll" tabIndex={0} role="log" aria-label="Records, newest first" data-testid="tail-list">
        {visible.length === 0 && <p className="muted pad">{running ? 'Waiting for records…' : 'Press Start to follow the topic.'}</p>}
        <div style={{ height: virt.getTotalSize(), position: 'relative' }}>
          {virt.getVirtualItems().map((vi) => {
            const r = visible[vi.index];
            const style = { position: 'absolute', top: 0, left: 0, right: 0, height: vi.size, transform: `translateY(${vi.start}px)` } as const;
            if (r.t === 'lag') {
              return (
                <div key={r.n} className="tail-row tail-lag" style={style}>
                  <span className="lagged">Lagged: {r.skipped} records skipped (you fell behind; continuing from the newest)</span>
                </div>
              );
            }
            return (
              <button
                type="button"
                key={r.n}
                className={`tail-row tail-${r.t}`}
                style={style}
                aria-pressed={selected?.n === r.n}
                onClick={() => setSelected(selected?.n === r.n ? null : r)}
              >
                <span>
                  p{r.partition}@{r.offset}
                </span>
                <span className="mono">{r.key ?? '∅'}</span>
                <span>{r.timestamp ? new Date(r.timestamp).toLocaleTimeString() : ''}</span>
                {r.t === 'rec' ? (
                  <>
                    <span>
                      {r.schemaVersion != null ? `v${r.schemaVersion}` : '—'} {r.encoding === 'AVRO_CONFLUENT' ? 'avro' : r.encoding.toLowerCase()}
                      {!r.conforms && <span className="badge q-fail">non-conforming</span>}
                      {r.masked && <span className="badge" title="PII fields masked for you">PII masked</span>}
                    </span>
                    <span className="mono value" title={r.value}>{r.value}</span>
                  </>
                ) : (
                  <>
                    <span className="badge q-fail">decode error</span>
                    <span className="mono value" title={r.raw}>{r.message} · raw {r.raw.slice(0, 60)}</span>
                  </>
                )}
              </button>
            );
          })}
        </div>
      </div>
      {selected ? (
        <RecordDetail row={selected} onClose={() => setSelected(null)} />
      ) : (
        visible.length > 0 && <p className="muted small">Select a record to see it in full.</p>
      )}
    </section>
  );
}

/** One record (or decode error) in full: where it was, and its value pretty-printed. */
function RecordDetail({ row, onClose }: { row: Exclude<Row, { t: 'lag' }>; onClose: () => void }) {
  const where = `partition ${row.partition}, offset ${row.offset} · key ${row.key ?? '∅'}${row.timestamp ? ` · ${new Date(row.timestamp).toLocaleString()}` : ''}`;
  return (
    <div className="tail-detail" data-testid="tail-detail">
      <div className="row">
        <p className="small">
          {where}
          {row.t === 'rec' && <> · {row.schemaVersion != null ? `schema v${row.schemaVersion}` : 'no schema version'}{!row.conforms && ' · non-conforming'}{row.masked && ' · PII masked'}</>}
        </p>
        <button type="button" className="btn" onClick={onClose}>
          Close
        </button>
      </div>
      <pre className="mono">{row.t === 'rec' ? JSON.stringify(JSON.parse(row.value), null, 2) : `${row.message}\nraw (base64): ${row.raw}`}</pre>
    </div>
  );
}
