// The GET requests a page makes as soon as it renders, named once so that
// the page and lib/early.ts (which starts them while the app is loading)
// build byte-identical URLs. A URL that drifts only costs the head start.
import { presetWindow } from './ranges.js';

export const DASHBOARD = {
  health: '/api/health/fleet',
  versions: '/api/agents/versions',
  topCpu: '/api/perf/top?metric=cpu_pct&limit=5',
  topMem: '/api/perf/top?metric=mem_used_bytes&limit=5',
  results: '/api/results?limit=8',
  audit: '/api/audit?limit=8',
  upcoming: '/api/schedules/upcoming?limit=8',
  checks: '/api/checks?limit=1',
  freeze: '/api/freeze',
} as const;

export const FLEET_METRICS = ['cpu_pct', 'mem_used_bytes', 'mem_total_bytes'] as const;

/** A fleet series over the last 24 h in 15-minute buckets, on bucket boundaries so the series share one window. */
export function fleetPerfUrl(metric: string, now: number): string {
  const w = presetWindow('24h', now);
  const p = new URLSearchParams({
    metric,
    from: new Date(w.from).toISOString(),
    to: new Date(w.to).toISOString(),
    step: w.step,
  });
  return `/api/perf/fleet?${p}`;
}

export const VERSION = '/api/version';
export const META_KEYS = '/api/agents/meta-keys';
