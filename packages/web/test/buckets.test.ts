// Sparse perf buckets laid on the full window grid.
import { describe, expect, it } from 'vitest';
import { onGrid } from '../src/lib/buckets.js';

describe('onGrid', () => {
  it('places each bucket in its slot and leaves empty buckets null', () => {
    const g = onGrid({
      from: '2026-05-01T10:00:00Z',
      to: '2026-05-01T10:05:00Z',
      step_seconds: 60,
      points: [
        { at: '2026-05-01T10:01:00Z', v: 1 },
        { at: '2026-05-01T10:04:00Z', v: 4 },
      ],
    });
    expect(g.xs).toEqual([0, 60, 120, 180, 240].map((s) => Date.parse('2026-05-01T10:00:00Z') / 1000 + s));
    expect(g.values((p) => p.v)).toEqual([null, 1, null, null, 4]);
  });

  it('ignores points outside the window and copes with an empty one', () => {
    const g = onGrid({
      from: '2026-05-01T10:00:00Z',
      to: '2026-05-01T10:00:00Z',
      step_seconds: 60,
      points: [{ at: '2026-05-01T10:01:00Z', v: 1 }],
    });
    expect(g.xs).toEqual([]);
    expect(g.values((p) => p.v)).toEqual([]);
  });
});
