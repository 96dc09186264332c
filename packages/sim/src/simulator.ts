// The programmatic simulator used by the CLI, benchmarks and tests: one NATS
// connection, one fleet model and one interval timer that ticks the wheels
// (see wheel.ts). Each tick reads the clock once, formats `at` once and
// publishes the agents whose slot is due, so cost grows with the message rate,
// not with the number of agents.

import { toRfc3339 } from '@kanade/wire';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats } from './connection.js';
import { createFleet, type Fleet } from './fleet.js';
import { createTelemetryPublisher, type TelemetryPublisher } from './telemetry.js';
import { createWheel, runDue, shuffledOrder } from './wheel.js';

export interface SimulatorOptions {
  natsUrl: string;
  agents: number;
  /** Upstream default 30 s. */
  heartbeatMs?: number;
  /** Upstream default 60 s. */
  hostPerfMs?: number;
  /** Also publish process_perf with each host_perf (upstream's investigation mode). */
  processPerf?: boolean;
  /** Processes per process_perf message; upstream's default top_n is 20. */
  processTopN?: number;
  seed?: number;
  prefix?: string;
  /** Scheduler resolution; defaults to 100 ms (or the shortest interval, if shorter). */
  tickMs?: number;
  log?: (line: string) => void;
}

/** The CLI prints this as its last stdout line, hence the snake_case keys. */
export interface Summary {
  agents: number;
  duration_s: number;
  heartbeats_sent: number;
  host_perf_sent: number;
  process_perf_sent: number;
  msgs_per_sec: number;
  publish_errors: number;
  dropped_disconnected: number;
}

export interface Simulator {
  readonly fleet: Fleet;
  /** Connects (retrying until the broker answers) and starts publishing. */
  start(): Promise<void>;
  /** Stops publishing, flushes (at most 2 s) and closes. Safe to call at any time, more than once. */
  stop(): Promise<Summary>;
  stats(): Summary;
  /** Publishes one heartbeat for agent `i` now, outside the schedule. Needs start(). */
  publishHeartbeat(i: number): boolean;
  /** Publishes one host_perf (and process_perf when enabled) for agent `i` now. Needs start(). */
  publishHostPerf(i: number): boolean;
}

const FLUSH_TIMEOUT_MS = 2000;

function positive(name: string, v: number): number {
  if (!Number.isFinite(v) || v <= 0) throw new RangeError(`${name} must be positive, got ${v}`);
  return v;
}

export function createSimulator(opts: SimulatorOptions): Simulator {
  const heartbeatMs = positive('heartbeatMs', opts.heartbeatMs ?? 30_000);
  const hostPerfMs = positive('hostPerfMs', opts.hostPerfMs ?? 60_000);
  const tickMs = positive('tickMs', opts.tickMs ?? Math.min(100, heartbeatMs, hostPerfMs));
  const topN = opts.processPerf ? Math.max(1, Math.floor(opts.processTopN ?? 10)) : 0;
  const log = opts.log ?? (() => {});
  const fleet = createFleet({ agents: opts.agents, seed: opts.seed, prefix: opts.prefix });
  const order = shuffledOrder(fleet.size, fleet.rng);
  const hbWheel = createWheel(heartbeatMs, tickMs, fleet.rng);
  const hpWheel = createWheel(hostPerfMs, tickMs, fleet.rng);
  const hbDtSec = (hbWheel.slots * tickMs) / 1000;

  let state: 'idle' | 'starting' | 'running' | 'stopped' = 'idle';
  let nc: NatsConnection | undefined;
  let pub: TelemetryPublisher | undefined;
  let connected = false;
  let timer: NodeJS.Timeout | undefined;
  let startedAt = 0;
  let stoppedAt = 0;
  let at = '';
  // Created once: the wheels call these for every due agent.
  const emitHeartbeat = (i: number) => void pub!.heartbeat(i, at, hbDtSec);
  const emitHostPerf = (i: number) => void pub!.hostPerf(i, at, topN);

  function tick(): void {
    const t = Math.floor((performance.now() - startedAt) / tickMs);
    if (t <= hbWheel.lastTick && t <= hpWheel.lastTick) return;
    at = toRfc3339(Date.now());
    runDue(hbWheel, order, t, emitHeartbeat);
    runDue(hpWheel, order, t, emitHostPerf);
  }

  const currentState = () => state;

  function stats(): Summary {
    const c = pub?.counters;
    const end = state === 'stopped' ? stoppedAt : performance.now();
    const durationS = startedAt > 0 ? (end - startedAt) / 1000 : 0;
    const sent = c ? c.heartbeats + c.hostPerf + c.processPerf : 0;
    return {
      agents: fleet.size,
      duration_s: Math.round(durationS * 10) / 10,
      heartbeats_sent: c?.heartbeats ?? 0,
      host_perf_sent: c?.hostPerf ?? 0,
      process_perf_sent: c?.processPerf ?? 0,
      msgs_per_sec: durationS > 0 ? Math.round((sent / durationS) * 10) / 10 : 0,
      publish_errors: c?.publishErrors ?? 0,
      dropped_disconnected: c?.droppedDisconnected ?? 0,
    };
  }

  function running(i: number): TelemetryPublisher {
    if (state !== 'running' || !pub) throw new Error('simulator is not running');
    if (!Number.isInteger(i) || i < 0 || i >= fleet.size) throw new RangeError(`no agent ${i}`);
    return pub;
  }

  return {
    fleet,
    stats,
    async start() {
      if (state !== 'idle') throw new Error(`simulator cannot start: it is ${state}`);
      state = 'starting';
      const conn = await connectNats({
        url: opts.natsUrl,
        name: `kanade-sim/${fleet.prefix}`,
        log,
        onConnectedChange(c) {
          connected = c;
          if (pub) pub.connected = c;
        },
      });
      // stop() may have run while the first connect was pending.
      if (currentState() === 'stopped') {
        await conn.close();
        return;
      }
      nc = conn;
      pub = createTelemetryPublisher(conn, fleet);
      pub.connected = connected;
      state = 'running';
      log(
        `connected to ${opts.natsUrl}: ${fleet.size} agents, heartbeat every ${hbWheel.slots * tickMs} ms, ` +
          `host_perf every ${hpWheel.slots * tickMs} ms${topN > 0 ? ` with top-${topN} process_perf` : ''}, ` +
          `tick ${tickMs} ms`,
      );
      startedAt = performance.now();
      tick();
      timer = setInterval(tick, tickMs);
    },
    async stop() {
      if (state === 'stopped') return stats();
      const wasRunning = state === 'running';
      state = 'stopped';
      stoppedAt = performance.now();
      clearInterval(timer);
      if (wasRunning && nc) {
        let timeout: NodeJS.Timeout | undefined;
        await Promise.race([
          nc.flush().catch(() => {}),
          new Promise<void>((resolve) => {
            timeout = setTimeout(resolve, FLUSH_TIMEOUT_MS);
          }),
        ]);
        clearTimeout(timeout);
        await nc.close().catch(() => {});
      }
      return stats();
    },
    publishHeartbeat(i) {
      return running(i).heartbeat(i, toRfc3339(Date.now()), hbDtSec);
    },
    publishHostPerf(i) {
      return running(i).hostPerf(i, toRfc3339(Date.now()), topN);
    },
  };
}
