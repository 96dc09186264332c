// The fire policy of the reconcile shapes, pinned like upstream's
// `policy.rs` tests: cooldown boundaries (elapsed >= cooldown re-arms), the
// once_per_target roster of all members vs. the alive dispatch set (#912),
// the dispatch-mark suppression window and its boundary, marks settled by a
// completion, and the max_concurrent cap.
import { describe, expect, it } from 'vitest';
import {
  type Completion,
  capToSlots,
  decideFire,
  type FireAction,
  suppressDispatched,
  suppressionWindowMs,
  unsettledMarks,
} from '../src/scheduler/policy.js';

const T0 = 1_700_000_000_000;
const t = (secs: number) => T0 + secs * 1000;
const done = (pcId: string, secs: number): Completion => ({ pcId, finishedAt: t(secs) });
const MIN = 60_000;
const pcs = (...ids: string[]): FireAction => ({ kind: 'pcs', pcs: ids });
const SKIP: FireAction = { kind: 'skip' };
const WHOLE: FireAction = { kind: 'whole_target' };

describe('every_tick and event', () => {
  it('every_tick always fires the whole target, even with nobody expected', () => {
    expect(decideFire('every_tick', null, ['a'], ['a'], [done('a', 0)], t(100))).toEqual(WHOLE);
    expect(decideFire('every_tick', null, [], [], [], t(0))).toEqual(WHOLE);
  });

  it('event triggers never fire on the backend', () => {
    expect(decideFire('event', null, ['a'], ['a'], [], t(0))).toEqual(SKIP);
  });
});

describe('once_per_pc', () => {
  const decide = (cooldown: number | null, expected: string[], completions: Completion[], now: number) =>
    decideFire('once_per_pc', cooldown, expected, expected, completions, now);

  it('without a cooldown: fires every PC that never succeeded, then skips it forever', () => {
    expect(decide(null, ['a', 'b', 'c'], [], t(0))).toEqual(pcs('a', 'b', 'c'));
    expect(decide(null, ['a', 'b', 'c'], [done('a', 0)], t(100))).toEqual(pcs('b', 'c'));
    expect(decide(null, ['a', 'b'], [done('a', 0), done('b', 1)], t(10_000_000))).toEqual(SKIP);
    expect(decide(null, [], [], t(0))).toEqual(SKIP);
  });

  it('cooldown boundaries: one second short stays quiet, exactly the cooldown re-arms', () => {
    expect(decide(MIN, ['a'], [done('a', 100)], t(110))).toEqual(SKIP);
    expect(decide(MIN, ['a'], [done('a', 100)], t(159))).toEqual(SKIP);
    expect(decide(MIN, ['a'], [done('a', 100)], t(160))).toEqual(pcs('a'));
    expect(decide(MIN, ['a', 'b'], [done('a', 100), done('b', 200)], t(500))).toEqual(pcs('a', 'b'));
    expect(decide(MIN, ['a', 'b'], [done('a', 100), done('b', 150)], t(170))).toEqual(pcs('a'));
  });

  it('uses the newest success of each PC and ignores PCs outside the target', () => {
    expect(decide(MIN, ['a'], [done('a', 0), done('a', 150), done('a', 50)], t(170))).toEqual(SKIP);
    expect(decide(null, ['a', 'b'], [done('a', 0), done('b', 1), done('ghost', 2)], t(100))).toEqual(SKIP);
  });
});

describe('once_per_target', () => {
  it('fires the whole target until any member succeeds (once)', () => {
    expect(decideFire('once_per_target', null, ['a', 'b'], ['a', 'b'], [], t(0))).toEqual(WHOLE);
    expect(decideFire('once_per_target', null, ['a', 'b'], ['a', 'b'], [done('a', 0)], t(100))).toEqual(SKIP);
  });

  it('cooldown boundaries on the newest member completion', () => {
    const roster = ['a', 'b'];
    expect(decideFire('once_per_target', MIN, roster, roster, [done('a', 100)], t(159))).toEqual(SKIP);
    expect(decideFire('once_per_target', MIN, roster, roster, [done('a', 100)], t(160))).toEqual(WHOLE);
    expect(
      decideFire('once_per_target', MIN, roster, roster, [done('a', 0), done('b', 200)], t(259)),
    ).toEqual(SKIP);
  });

  it('#912: a member that succeeded and went offline keeps the target muted (roster, not alive set)', () => {
    // b succeeded, then dropped out of the alive set; the roster still holds it.
    expect(decideFire('once_per_target', null, ['a'], ['a', 'b'], [done('b', 0)], t(100))).toEqual(SKIP);
    // With the alive set as roster (the old behaviour) the same state would re-fire.
    expect(decideFire('once_per_target', null, ['a'], ['a'], [done('b', 0)], t(100))).toEqual(WHOLE);
  });

  it('a completion by a PC no longer in the roster does not count', () => {
    expect(decideFire('once_per_target', null, ['a', 'b'], ['a', 'b'], [done('ghost', 0)], t(100))).toEqual(
      WHOLE,
    );
  });

  it('waits while no member is alive, even when armed', () => {
    expect(decideFire('once_per_target', null, [], ['a', 'b'], [], t(0))).toEqual(SKIP);
  });
});

describe('dispatch-mark suppression', () => {
  const W = 5 * MIN;

  it('window: clamp(jitter + timeout + 90 s, 90 s, 30 min) plus the retry budget', () => {
    expect(suppressionWindowMs(0, 0)).toBe(90_000);
    expect(suppressionWindowMs(30_000, 60_000)).toBe(180_000);
    expect(suppressionWindowMs(0, 3_600_000)).toBe(30 * MIN);
    expect(suppressionWindowMs(0, 60_000, { max: 3, backoffMs: 30_000 })).toBe(150_000 + 3 * 90_000);
  });

  it('drops PCs dispatched within the window; elapsed >= window re-arms', () => {
    const marks = new Map([
      ['a', t(0)],
      ['b', t(100)],
    ]);
    expect(suppressDispatched(pcs('a', 'b', 'c'), marks, undefined, W, t(299))).toEqual(pcs('c'));
    expect(suppressDispatched(pcs('a', 'b', 'c'), marks, undefined, W, t(300))).toEqual(pcs('a', 'c'));
    expect(suppressDispatched(pcs('b'), marks, undefined, W, t(399))).toEqual(SKIP);
    expect(suppressDispatched(pcs('b'), marks, undefined, W, t(400))).toEqual(pcs('b'));
  });

  it('holds a whole-target fire while the target mark is fresh', () => {
    expect(suppressDispatched(WHOLE, new Map(), t(0), W, t(299))).toEqual(SKIP);
    expect(suppressDispatched(WHOLE, new Map(), t(0), W, t(300))).toEqual(WHOLE);
    expect(suppressDispatched(WHOLE, new Map(), undefined, W, t(1))).toEqual(WHOLE);
    expect(suppressDispatched(SKIP, new Map(), undefined, W, t(1))).toEqual(SKIP);
  });

  it('a success at or after a mark settles it, so the cooldown decides from then on', () => {
    const marks = new Map([
      ['a', t(10)],
      ['b', t(10)],
    ]);
    const live = unsettledMarks(marks, t(10), [done('a', 12), done('b', 9)]);
    expect([...live.pcMarks]).toEqual([['b', t(10)]]);
    expect(live.targetMark).toBeUndefined();
    expect(unsettledMarks(new Map(), t(10), [done('a', 9)]).targetMark).toBe(t(10));
    expect(unsettledMarks(new Map(), t(10), []).targetMark).toBe(t(10));
  });
});

describe('max_concurrent', () => {
  it('keeps the first free slots of a per-PC fire and holds a whole-target fire until a slot frees', () => {
    expect(capToSlots(pcs('a', 'b', 'c', 'd'), 3, 1)).toEqual(pcs('a', 'b'));
    expect(capToSlots(pcs('a', 'b'), 3, 3)).toEqual(SKIP);
    expect(capToSlots(pcs('a', 'b'), 3, 5)).toEqual(SKIP);
    expect(capToSlots(WHOLE, 2, 1)).toEqual(WHOLE);
    expect(capToSlots(WHOLE, 2, 2)).toEqual(SKIP);
    expect(capToSlots(pcs('a'), undefined, 100)).toEqual(pcs('a'));
  });
});
