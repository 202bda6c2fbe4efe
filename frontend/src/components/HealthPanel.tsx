import { lazy, Suspense, useMemo } from 'react';
import { useSubscription } from 'urql';
import { graphql } from '../graphql';
import { ErrorView } from '../errors';
import { fmtAgo } from './bits';

const Chart = lazy(() => import('./Chart'));

const HealthSub = graphql(`
  subscription Health($product: String!) {
    productHealth(product: $product, intervalSeconds: 2) {
      at
      eventsPerSecond
      lastEventTime
      freshness
      schemaConformance
      recentRecords
      maxFreshnessSeconds
    }
  }
`);

interface Sample {
  at: string;
  eventsPerSecond: number;
  lastEventTime: string | null;
  freshness: string;
  schemaConformance: number | null;
  recentRecords: number;
  maxFreshnessSeconds: number | null;
}

interface Sla {
  tier: string;
  availabilityPercent: number | null;
  maxFreshnessSeconds: number | null;
  maxLatencyMs: number | null;
  retentionDays: number | null;
  supportHours: string | null;
  onCall: string | null;
}

/** A past interval from `liveHistory` (the server's freshness monitor). */
interface Past {
  at: string;
  eventsPerSecond: number;
  lastEventTime: string | null;
}

const MAX_POINTS = 150; // 5 minutes at one sample every 2 s
const HISTORY_SECONDS = 5 * 60;

export function HealthPanel({ qn, sla, initial, history }: { qn: string; sla: Sla | null; initial: Sample; history: readonly Past[] }) {
  const [{ data: samples, error }] = useSubscription<Sample[] | undefined, Sample[], { product: string }>(
    { query: HealthSub, variables: { product: qn } },
    (prev = [], next) => [...prev, (next as unknown as { productHealth: Sample }).productHealth].slice(-MAX_POINTS),
  );
  const list = useMemo(() => (samples && samples.length ? samples : [initial]), [samples, initial]);
  const last = list[list.length - 1];

  // The charts start with the last minutes the server remembers, then go
  // on with the live samples; the whole stays within the last 5 minutes.
  const chart = useMemo(() => {
    const firstLive = new Date(list[0].at).getTime();
    const newest = new Date(list[list.length - 1].at).getTime();
    const past = history.filter((h) => {
      const t = new Date(h.at).getTime();
      return t < firstLive && t >= newest - HISTORY_SECONDS * 1000;
    });
    const points: Past[] = [...past, ...list];
    const x = points.map((s) => new Date(s.at).getTime() / 1000);
    const eps = points.map((s) => s.eventsPerSecond);
    const fresh = points.map((s) => (s.lastEventTime ? Math.max(0, (new Date(s.at).getTime() - new Date(s.lastEventTime).getTime()) / 1000) : null));
    return { x, eps, fresh };
  }, [list, history]);
  const epsSeries = useMemo(() => [{ label: 'events/s', color: '#1565c0', values: chart.eps }], [chart]);
  const freshSeries = useMemo(() => {
    const s = [{ label: 'seconds since last event', color: '#2e7d32', values: chart.fresh as (number | null)[] }];
    if (sla?.maxFreshnessSeconds) s.push({ label: 'SLA max', color: '#c62828', values: chart.x.map(() => sla.maxFreshnessSeconds) });
    return s;
  }, [chart, sla]);

  return (
    <section className="card" aria-labelledby="health">
      <h2 id="health">SLA and live health</h2>
      <div className="sla-grid">
        <div>
          <h3>Declared</h3>
          {sla ? (
            <dl className="kv">
              <dt>Tier</dt><dd>{sla.tier}</dd>
              <dt>Max freshness</dt><dd>{sla.maxFreshnessSeconds != null ? `${sla.maxFreshnessSeconds} s` : '—'}</dd>
              <dt>Availability</dt><dd>{sla.availabilityPercent != null ? `${sla.availabilityPercent} %` : '—'}</dd>
              <dt>Max latency</dt><dd>{sla.maxLatencyMs != null ? `${sla.maxLatencyMs} ms` : '—'}</dd>
              <dt>Retention</dt><dd>{sla.retentionDays != null ? `${sla.retentionDays} days` : '—'}</dd>
              <dt>Support</dt><dd>{sla.supportHours ?? '—'} {sla.onCall && <>· on call {sla.onCall}</>}</dd>
            </dl>
          ) : (
            <p className="muted">No SLA declared.</p>
          )}
        </div>
        <div>
          <h3>Measured live</h3>
          <dl className="kv" data-testid="live-health">
            <dt>Freshness</dt>
            <dd>
              <span className={`badge fresh-${last.freshness.toLowerCase()}`}>{last.freshness}</span> last event {fmtAgo(last.lastEventTime)}
            </dd>
            <dt>Events/s</dt><dd>{last.eventsPerSecond.toFixed(2)} <span className="muted small">(last minute)</span></dd>
            <dt>Schema conformance</dt><dd>{last.schemaConformance == null ? '— (no recent record)' : `${(last.schemaConformance * 100).toFixed(1)} %`}</dd>
            <dt>Recent records</dt><dd>{last.recentRecords}</dd>
          </dl>
        </div>
      </div>
      <ErrorView error={error} />
      <div className="charts">
        <Suspense fallback={<div className="chart-placeholder" />}>
          <Chart title="Events per second" x={chart.x} series={epsSeries} />
          <Chart title="Freshness (seconds since the last event)" x={chart.x} series={freshSeries} />
        </Suspense>
      </div>
    </section>
  );
}
