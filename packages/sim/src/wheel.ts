// One scheduler for the whole fleet instead of a timer per agent. Each
// telemetry stream (heartbeat, host_perf) is a wheel whose interval is cut
// into slots of one tick; the agents, in one shuffled order, are dealt out
// evenly over the slots (slot s owns order[floor(s*n/S) .. floor((s+1)*n/S))),
// so every tick publishes the same number of messages and each agent's first
// message falls at a random point of the first interval (the wheel also starts
// at a random slot, so even a fleet of one does not always wait a full
// interval). No per-agent timer state exists at all: the slot an agent sits
// in is its phase.
//
// The interval is rounded to whole ticks (30 s at 100 ms = 300 slots). A late
// tick catches up on the slots it missed, but never runs a slot twice in one
// go, so a long stall (GC, suspended laptop) costs at most one extra round.

import type { Rng } from './rng.js';

export interface Wheel {
  readonly slots: number;
  /** The slot run at tick 0. */
  readonly offset: number;
  /** The last tick whose slot was run; -1 before the first. */
  lastTick: number;
}

export function createWheel(intervalMs: number, tickMs: number, rng: Rng): Wheel {
  const slots = Math.max(1, Math.round(intervalMs / tickMs));
  return { slots, offset: Math.floor(rng() * slots), lastTick: -1 };
}

/** A random permutation of 0..n-1 (Fisher-Yates), shared by every wheel. */
export function shuffledOrder(n: number, rng: Rng): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

/** Calls `emit` for every agent whose slot came due between the wheel's last tick and `tick`. */
export function runDue(wheel: Wheel, order: Int32Array, tick: number, emit: (agent: number) => void): void {
  const n = order.length;
  const s = wheel.slots;
  const lag = Math.min(tick - wheel.lastTick, s);
  for (let t = tick - lag + 1; t <= tick; t++) {
    const slot = (t + wheel.offset) % s;
    const end = Math.floor(((slot + 1) * n) / s);
    for (let p = Math.floor((slot * n) / s); p < end; p++) emit(order[p]!);
  }
  wheel.lastTick = tick;
}
