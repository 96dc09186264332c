// A time-series line chart on uPlot (canvas, ~50 kB; only the pages with
// charts load it, so it stays out of the entry chunk). It follows the
// container's width, redraws its axes for the light or dark theme, and says
// "no data" instead of drawing an empty frame. Callers pass the whole bucket
// grid (lib/buckets.ts) so the x axis is the requested window; a value with
// no neighbour to draw a line to gets a dot. `data-points` on the wrapper
// tells tests how many non-null values the chart holds. Sizes and byte rates
// (`binary`) get y ticks at powers of two, so that the axis reads 4 GiB, 8 GiB
// rather than 4.7 GiB, 9.3 GiB, and never puts half a byte on a tick.
import { useEffect, useRef } from 'react';
import { useTranslation } from 'react-i18next';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { useTheme } from '../lib/theme.js';

export interface Series {
  label: string;
  color: string;
  values: (number | null)[];
}

/** Tick steps for a byte axis: 1 B, 2 B, 4 B ... 1 KiB ... 2^60 B. */
const BINARY_INCRS = Array.from({ length: 61 }, (_, i) => 2 ** i);

/** Indices of values with no neighbour: a line cannot show them, so they get a dot. */
function isolated(u: uPlot, seriesIdx: number): number[] {
  const d = u.data[seriesIdx] as (number | null | undefined)[];
  const out: number[] = [];
  for (let i = 0; i < d.length; i++) {
    if (d[i] != null && d[i - 1] == null && d[i + 1] == null) out.push(i);
  }
  return out;
}

export function TimeChart({
  xs,
  series,
  format,
  height = 180,
  testId,
  yMin,
  binary = false,
}: {
  /** Epoch seconds. */
  xs: number[];
  series: Series[];
  format(v: number): string;
  height?: number;
  testId?: string;
  /** Lower bound of the y axis (e.g. 0 for percentages and sizes). */
  yMin?: number;
  /** The values are bytes (or bytes a second): y ticks at powers of two. */
  binary?: boolean;
}) {
  const { t } = useTranslation();
  const { resolved } = useTheme();
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  // The chart is built once per structure/theme; the latest props reach it through refs.
  const latest = useRef({ format, xs, series });
  latest.current = { format, xs, series };
  const points = series.reduce((n, s) => n + s.values.filter((v) => v !== null).length, 0);
  const labels = series.map((s) => `${s.label}:${s.color}`).join('|');

  // biome-ignore lint/correctness/useExhaustiveDependencies: labels stands for the series structure; data goes through setData below; t changes with the language, which also rebuilds
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const axis = resolved === 'dark' ? '#a1a1aa' : '#52525b';
    const grid = resolved === 'dark' ? '#27272a' : '#e4e4e7';
    const fmt = (v: number | null) => (v === null ? '—' : latest.current.format(v));
    const opts: uPlot.Options = {
      width: Math.max(el.clientWidth, 200),
      height,
      legend: { show: true, live: true },
      cursor: { drag: { x: false, y: false } },
      scales: {
        x: { time: true },
        y: { range: (_u, min, max) => [yMin ?? min, max > (yMin ?? min) ? max : (yMin ?? min) + 1] },
      },
      axes: [
        { stroke: axis, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid } },
        {
          stroke: axis,
          grid: { stroke: grid, width: 1 },
          ticks: { stroke: grid },
          size: 84,
          ...(binary ? { incrs: BINARY_INCRS } : {}),
          values: (_u, vals) => vals.map((v) => fmt(v)),
        },
      ],
      series: [
        { label: t('perf.time') },
        ...latest.current.series.map((s) => ({
          label: s.label,
          stroke: s.color,
          fill: `${s.color}1f`,
          width: 1.5,
          spanGaps: false,
          points: { show: true, size: 5, fill: s.color, filter: isolated },
          value: (_u: uPlot, v: number | null) => fmt(v),
        })),
      ],
    };
    const { xs: x0, series: s0 } = latest.current;
    const u = new uPlot(opts, [x0, ...s0.map((s) => s.values)] as uPlot.AlignedData, el);
    plot.current = u;
    const ro = new ResizeObserver(() => u.setSize({ width: Math.max(el.clientWidth, 200), height }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [resolved, height, labels, yMin, binary, t]);

  useEffect(() => {
    plot.current?.setData([xs, ...series.map((s) => s.values)] as uPlot.AlignedData);
  }, [xs, series]);

  return (
    <div className="relative" data-testid={testId} data-points={points}>
      <div ref={box} className="w-full" />
      {points === 0 ? (
        <div className="muted pointer-events-none absolute inset-0 flex items-center justify-center text-sm">
          {t('common.noData')}
        </div>
      ) : null}
    </div>
  );
}
