// The telemetry schedule of the virtual fleet when agents may run different
// intervals (the layered agent config): agents are grouped by interval and
// each group gets its own wheel (wheel.ts) over its members, kept in the
// fleet's shuffled order. In practice a fleet has a handful of distinct
// intervals, so a tick still costs about the messages it sends. A new plan
// rebuilds the groups; the new wheels start at the current tick (no burst of
// catch-up), at a random slot as every wheel does.

import type { FleetPlan } from './config-watch.js';
import type { Rng } from './rng.js';
import { createWheel, runDue, type Wheel } from './wheel.js';

interface Group {
  wheel: Wheel;
  members: Int32Array;
  /** Seconds between two messages of a member (the wheel's real period). */
  periodSec: number;
}

export interface LiveSchedule {
  /** Run every group's due agents up to `tick`; `period` is the member's interval in seconds. */
  heartbeats(tick: number, emit: (agent: number, periodSec: number) => void): void;
  hostPerf(tick: number, emit: (agent: number) => void): void;
  /** Regroup by the plan's intervals, starting the new wheels at `tick`. */
  reconfigure(plan: FleetPlan, tick: number): void;
  /** The distinct intervals in use (ms), for the log. */
  intervals(): { heartbeatMs: number[]; hostPerfMs: number[] };
}

function groupBy(
  order: Int32Array,
  intervalOf: (agent: number) => number,
  tickMs: number,
  rng: Rng,
  tick: number,
) {
  const byInterval = new Map<number, number[]>();
  for (const agent of order) {
    const ms = intervalOf(agent);
    const list = byInterval.get(ms);
    if (list) list.push(agent);
    else byInterval.set(ms, [agent]);
  }
  const groups: Group[] = [];
  for (const [ms, members] of byInterval) {
    const wheel = createWheel(ms, tickMs, rng);
    wheel.lastTick = tick;
    groups.push({ wheel, members: Int32Array.from(members), periodSec: (wheel.slots * tickMs) / 1000 });
  }
  return groups;
}

export function createLiveSchedule(opts: {
  order: Int32Array;
  heartbeatMs: number;
  hostPerfMs: number;
  tickMs: number;
  rng: Rng;
}): LiveSchedule {
  const { order, tickMs, rng } = opts;
  let hb = groupBy(order, () => opts.heartbeatMs, tickMs, rng, -1);
  let hp = groupBy(order, () => opts.hostPerfMs, tickMs, rng, -1);

  return {
    heartbeats(tick, emit) {
      for (const g of hb) runDue(g.wheel, g.members, tick, (agent) => emit(agent, g.periodSec));
    },
    hostPerf(tick, emit) {
      for (const g of hp) runDue(g.wheel, g.members, tick, emit);
    },
    reconfigure(plan, tick) {
      hb = groupBy(order, (a) => plan.heartbeatMs[a]!, tickMs, rng, tick);
      hp = groupBy(order, (a) => plan.hostPerfMs[a]!, tickMs, rng, tick);
    },
    intervals: () => ({
      heartbeatMs: hb.map((g) => g.periodSec * 1000),
      hostPerfMs: hp.map((g) => g.periodSec * 1000),
    }),
  };
}
