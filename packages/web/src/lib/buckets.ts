// Perf endpoints return only the buckets that have samples (bucket k starts
// at from + k * step). Charts need the whole window: this lays the points on
// the full bucket grid with null where there was no data, so a gap shows as a
// gap instead of a line drawn across it.

export interface Bucketed<P extends { at: string }> {
  from: string;
  to: string;
  step_seconds: number;
  points: P[];
}

/** Bucket start times (epoch seconds) and, per point field, the aligned values. */
export function onGrid<P extends { at: string }>(
  r: Bucketed<P>,
): { xs: number[]; values(pick: (p: P) => number | null): (number | null)[] } {
  const from = Date.parse(r.from) / 1000;
  const to = Date.parse(r.to) / 1000;
  const step = r.step_seconds;
  const n = step > 0 && to > from ? Math.ceil((to - from) / step) : 0;
  const xs = Array.from({ length: n }, (_, k) => from + k * step);
  const slot = r.points.map((p) => Math.round((Date.parse(p.at) / 1000 - from) / step));
  return {
    xs,
    values(pick) {
      const out: (number | null)[] = new Array(n).fill(null);
      r.points.forEach((p, i) => {
        const k = slot[i]!;
        if (k >= 0 && k < n) out[k] = pick(p);
      });
      return out;
    },
  };
}
