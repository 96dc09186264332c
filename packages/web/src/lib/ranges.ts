// Time-range presets of the perf charts, as upstream: each preset has a
// server-side bucket (`step`) so a chart never asks for more than a couple of
// hundred points. The window is computed inside the query function from the
// clock (upstream #493: a window in the query key mints a new key on every
// render), with the right edge on the next bucket boundary so the current,
// partial bucket is included.

export const PERF_PRESETS = {
  '1h': { spanMs: 3_600_000, step: '1m', stepMs: 60_000 },
  '6h': { spanMs: 6 * 3_600_000, step: '5m', stepMs: 5 * 60_000 },
  '24h': { spanMs: 24 * 3_600_000, step: '15m', stepMs: 15 * 60_000 },
  '7d': { spanMs: 7 * 24 * 3_600_000, step: '1h', stepMs: 3_600_000 },
  '30d': { spanMs: 30 * 24 * 3_600_000, step: '4h', stepMs: 4 * 3_600_000 },
} as const;

export type PerfPreset = keyof typeof PERF_PRESETS;
export const PRESET_NAMES = Object.keys(PERF_PRESETS) as PerfPreset[];

export function isPreset(v: string | null): v is PerfPreset {
  return v !== null && v in PERF_PRESETS;
}

/** The [from, to) window and step for a preset at time `now` (epoch ms). */
export function presetWindow(preset: PerfPreset, now: number): { from: number; to: number; step: string } {
  const p = PERF_PRESETS[preset];
  const to = (Math.floor(now / p.stepMs) + 1) * p.stepMs;
  return { from: to - p.spanMs, to, step: p.step };
}
