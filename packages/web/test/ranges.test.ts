// Perf range presets: upstream's preset -> bucket table, and a window that
// only moves when a bucket boundary is crossed.
import { describe, expect, it } from 'vitest';
import { PERF_PRESETS, presetWindow } from '../src/lib/ranges.js';

describe('perf presets', () => {
  it('map 1h/6h/24h/7d/30d to 1m/5m/15m/1h/4h buckets', () => {
    expect(Object.fromEntries(Object.entries(PERF_PRESETS).map(([k, v]) => [k, v.step]))).toEqual({
      '1h': '1m',
      '6h': '5m',
      '24h': '15m',
      '7d': '1h',
      '30d': '4h',
    });
  });

  it('ends the window on the next bucket boundary and keeps it within one bucket', () => {
    const t = Date.parse('2026-05-01T10:07:30Z');
    const w = presetWindow('24h', t);
    expect(new Date(w.to).toISOString()).toBe('2026-05-01T10:15:00.000Z');
    expect(w.to - w.from).toBe(24 * 3_600_000);
    expect(presetWindow('24h', t + 60_000)).toEqual(w);
    expect(presetWindow('24h', Date.parse('2026-05-01T10:15:00Z')).to).toBe(
      Date.parse('2026-05-01T10:30:00Z'),
    );
  });

  it('never asks for more than a few hundred buckets', () => {
    for (const p of Object.values(PERF_PRESETS)) expect(p.spanMs / p.stepMs).toBeLessThanOrEqual(200);
  });
});
