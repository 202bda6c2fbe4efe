import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Series {
  label: string;
  color: string;
  values: (number | null)[];
}

/** A small time-series line chart (uPlot); x in seconds since the epoch. */
export default function Chart({ title, x, series, height = 160, yLabel }: { title: string; x: number[]; series: Series[]; height?: number; yLabel?: string }) {
  const el = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const key = series.map((s) => s.label).join('|');

  useEffect(() => {
    const node = el.current;
    if (!node) return;
    const width = Math.max(240, node.clientWidth);
    const opts: uPlot.Options = {
      width,
      height,
      legend: { show: true },
      scales: {
        // A few samples still show a readable window of the last minutes.
        x: { time: true, range: (_u, min, max) => (max - min < 120 ? [max - 300, max + 5] : [min, max]) },
      },
      axes: [{ stroke: '#555' }, { stroke: '#555', label: yLabel, size: 50 }],
      series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2, spanGaps: true, points: { show: true, size: 4 } }))],
    };
    plot.current = new uPlot(opts, [x, ...series.map((s) => s.values)] as uPlot.AlignedData, node);
    const ro = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(240, node.clientWidth), height }));
    ro.observe(node);
    return () => {
      ro.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
    // Re-created only when the set of series changes; data updates go through setData below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, height, yLabel]);

  useEffect(() => {
    plot.current?.setData([x, ...series.map((s) => s.values)] as uPlot.AlignedData);
  }, [x, series]);

  return (
    <figure className="chart" data-from={x[0]}>
      <figcaption>{title}</figcaption>
      <div ref={el} role="img" aria-label={`${title}: ${series.map((s) => `${s.label} latest ${s.values[s.values.length - 1] ?? 'none'}`).join('; ')}`} />
    </figure>
  );
}
