import { describe, expect, it } from 'vitest';
import { createRng } from '../src/rng.js';
import { createWheel, runDue, shuffledOrder } from '../src/wheel.js';

describe('timer wheel', () => {
  it('rounds the interval to whole ticks', () => {
    expect(createWheel(30_000, 100, createRng(1)).slots).toBe(300);
    expect(createWheel(50, 100, createRng(1)).slots).toBe(1);
  });

  it('runs every agent exactly once per round, spread evenly over the slots', () => {
    const n = 1003;
    const order = shuffledOrder(n, createRng(7));
    const wheel = createWheel(1000, 100, createRng(2));
    const seen = new Uint8Array(n);
    const perTick: number[] = [];
    for (let t = 0; t < wheel.slots; t++) {
      let count = 0;
      runDue(wheel, order, t, (i) => {
        seen[i] = seen[i]! + 1;
        count++;
      });
      perTick.push(count);
    }
    expect(seen.every((c) => c === 1)).toBe(true);
    expect(Math.max(...perTick) - Math.min(...perTick)).toBeLessThanOrEqual(1);
  });

  it('catches up missed ticks but never runs a slot twice after a long stall', () => {
    const n = 50;
    const order = shuffledOrder(n, createRng(1));
    const wheel = createWheel(1000, 100, createRng(2));
    const seen = new Uint8Array(n);
    runDue(wheel, order, 0, (i) => {
      seen[i] = seen[i]! + 1;
    });
    runDue(wheel, order, 5, (i) => {
      seen[i] = seen[i]! + 1;
    });
    const afterCatchUp = seen.reduce((a, b) => a + b, 0);
    expect(afterCatchUp).toBe(Math.floor((6 * n) / 10));
    seen.fill(0);
    runDue(wheel, order, 500, (i) => {
      seen[i] = seen[i]! + 1;
    });
    expect(seen.every((c) => c === 1)).toBe(true);
  });

  it('starts at a random slot, so a single agent does not always wait a full interval', () => {
    const firstTicks = new Set<number>();
    for (let seed = 0; seed < 20; seed++) {
      const wheel = createWheel(1000, 100, createRng(seed));
      const order = shuffledOrder(1, createRng(seed));
      for (let t = 0; t < wheel.slots; t++) {
        let due = false;
        runDue(wheel, order, t, () => {
          due = true;
        });
        if (due) {
          firstTicks.add(t);
          break;
        }
      }
    }
    expect(firstTicks.size).toBeGreaterThan(3);
  });

  it('shuffles into a permutation', () => {
    const order = shuffledOrder(1000, createRng(3));
    expect([...order].sort((a, b) => a - b)).toEqual([...Array(1000).keys()]);
    expect(order[0] !== 0 || order[1] !== 1).toBe(true);
  });
});
