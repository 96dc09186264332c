// Seeded randomness for the simulator. A fleet built with the same seed has
// the same identities and starting values, so a benchmark run can be repeated;
// what is published later still depends on timing. mulberry32 is tiny, fast
// and good enough for telemetry noise (it is not a cryptographic generator).

export type Rng = () => number;

/** A generator of floats in [0, 1) for one 32-bit seed. */
export function createRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A stable 32-bit hash of two integers: derives per-agent names without storing them. */
export function hash32(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x7f4a7c15, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Index drawn from cumulative weights (which sum to 1). */
export function pickWeighted(rng: Rng, cumulative: readonly number[]): number {
  const x = rng();
  for (let i = 0; i < cumulative.length; i++) if (x < cumulative[i]!) return i;
  return cumulative.length - 1;
}

/** Roughly normal noise with mean 0 and standard deviation 1 (sum of three uniforms). */
export function noise(rng: Rng): number {
  return (rng() + rng() + rng() - 1.5) * 2;
}
