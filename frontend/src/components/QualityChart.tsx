import { lazy, Suspense, useMemo } from 'react';

const Chart = lazy(() => import('./Chart'));
const COLORS = ['#1565c0', '#2e7d32', '#c62828', '#6a1b9a', '#ef6c00', '#00838f', '#5d4037'];
const SCORE: Record<string, number> = { PASS: 100, WARN: 50, FAIL: 0 };

interface Check {
  name: string;
  results: readonly { status: string; observedValue: number | null; observedAt: string }[];
}

/** Quality results over time: each check's status as 100 (pass), 50 (warn) or 0 (fail). */
export function QualityChart({ checks }: { checks: readonly Check[] }) {
  const { x, series } = useMemo(() => {
    const times = [...new Set(checks.flatMap((c) => c.results.map((r) => Math.round(new Date(r.observedAt).getTime() / 1000))))].sort((a, b) => a - b);
    const index = new Map(times.map((t, i) => [t, i]));
    const series = checks
      .filter((c) => c.results.length > 0)
      .map((c, i) => {
        const values: (number | null)[] = times.map(() => null);
        for (const r of c.results) values[index.get(Math.round(new Date(r.observedAt).getTime() / 1000))!] = SCORE[r.status] ?? null;
        return { label: c.name, color: COLORS[i % COLORS.length], values };
      });
    return { x: times, series };
  }, [checks]);
  if (x.length < 2 || series.length === 0) return null;
  return (
    <Suspense fallback={<div className="chart-placeholder" />}>
      <Chart title="Quality results over time (100 pass, 50 warn, 0 fail)" x={x} series={series} height={180} />
    </Suspense>
  );
}
