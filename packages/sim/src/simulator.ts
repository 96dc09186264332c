// The programmatic simulator used by the CLI, benchmarks and tests: one NATS
// connection, one fleet model and one interval timer that ticks the wheels
// (see wheel.ts). Each tick reads the clock once, formats `at` once and
// publishes the agents whose slot is due, so cost grows with the message rate,
// not with the number of agents. With `commands` set, the same connection
// also answers commands for the whole fleet (commands.ts).

import { toRfc3339 } from '@kanade/wire';
import type { NatsConnection } from '@nats-io/transport-node';
import { type CommandResponder, type CommandsOptions, startCommandResponder } from './commands.js';
import { type FleetConfigWatch, type FleetPlan, watchFleetConfig } from './config-watch.js';
import { connectNats } from './connection.js';
import { createFleet, type Fleet } from './fleet.js';
import { createLiveSchedule } from './live-schedule.js';
import { createTelemetryPublisher, type TelemetryPublisher } from './telemetry.js';
import { shuffledOrder } from './wheel.js';

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
  /** Answer commands (started events and results) as agents do; off when absent. */
  commands?: CommandsOptions;
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
  /** Command messages addressed to at least one virtual agent. */
  commands_received: number;
  /** Results acknowledged by JetStream. */
  results_sent: number;
}

export interface Simulator {
  readonly fleet: Fleet;
  /** Connects (retrying until the broker answers) and starts publishing. */
  start(): Promise<void>;
  /** Stops publishing (results still due are dropped), flushes (at most 2 s) and closes. Safe to call at any time, more than once. */
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
  // Intervals per agent follow the layered agent config (config-watch.ts, live-schedule.ts).
  const schedule = createLiveSchedule({ order, heartbeatMs, hostPerfMs, tickMs, rng: fleet.rng });
  const hbDtSec = (Math.max(1, Math.round(heartbeatMs / tickMs)) * tickMs) / 1000;
  let plan: FleetPlan | undefined;
  let configWatch: FleetConfigWatch | undefined;
  let lastTick = -1;
  let nowMs = 0;

  let state: 'idle' | 'starting' | 'running' | 'stopped' = 'idle';
  let nc: NatsConnection | undefined;
  let pub: TelemetryPublisher | undefined;
  let responder: CommandResponder | undefined;
  let connected = false;
  let timer: NodeJS.Timeout | undefined;
  let startedAt = 0;
  let stoppedAt = 0;
  let at = '';
  // Created once: the wheels call these for every due agent.
  const topNOf = (i: number) => (plan ? (nowMs < plan.perfUntil[i]! ? plan.topN[i]! : 0) : topN);
  const emitHeartbeat = (i: number, dtSec: number) => void pub!.heartbeat(i, at, dtSec);
  const emitHostPerf = (i: number) => void pub!.hostPerf(i, at, topNOf(i));

  function tick(): void {
    const t = Math.floor((performance.now() - startedAt) / tickMs);
    if (t <= lastTick) return;
    lastTick = t;
    nowMs = Date.now();
    at = toRfc3339(nowMs);
    schedule.heartbeats(t, emitHeartbeat);
    schedule.hostPerf(t, emitHostPerf);
  }

  const currentState = () => state;

  function stats(): Summary {
    const c = pub?.counters;
    const end = state === 'stopped' ? stoppedAt : performance.now();
    const durationS = startedAt > 0 ? (end - startedAt) / 1000 : 0;
    const sent = c ? c.heartbeats + c.hostPerf + c.processPerf : 0;
    const cc = responder?.counters;
    return {
      agents: fleet.size,
      duration_s: Math.round(durationS * 10) / 10,
      heartbeats_sent: c?.heartbeats ?? 0,
      host_perf_sent: c?.hostPerf ?? 0,
      process_perf_sent: c?.processPerf ?? 0,
      msgs_per_sec: durationS > 0 ? Math.round((sent / durationS) * 10) / 10 : 0,
      publish_errors: (c?.publishErrors ?? 0) + (cc?.publishErrors ?? 0),
      dropped_disconnected: c?.droppedDisconnected ?? 0,
      commands_received: cc?.commandsReceived ?? 0,
      results_sent: cc?.resultsSent ?? 0,
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
      pub = createTelemetryPublisher(conn, fleet, opts.commands !== undefined);
      pub.connected = connected;
      if (opts.commands) {
        responder = startCommandResponder(conn, fleet, opts.commands, log);
        await responder.ready;
        // stop() may have run while the group memberships were loading.
        if (currentState() === 'stopped') {
          await conn.close();
          return;
        }
      }
      configWatch = watchFleetConfig({
        nc: conn,
        fleet,
        local: { heartbeatMs, hostPerfMs, topN },
        log,
        onChange(next) {
          plan = next;
          schedule.reconfigure(next, lastTick);
          const iv = schedule.intervals();
          log(
            `intervals now: heartbeat ${iv.heartbeatMs.join('/')} ms, host_perf ${iv.hostPerfMs.join('/')} ms`,
          );
        },
      });
      state = 'running';
      log(
        `connected to ${opts.natsUrl}: ${fleet.size} agents, heartbeat every ${hbDtSec * 1000} ms, ` +
          `host_perf every ${schedule.intervals().hostPerfMs.join('/')} ms${topN > 0 ? ` with top-${topN} process_perf` : ''}, ` +
          `tick ${tickMs} ms${opts.commands ? ', answering commands' : ''}`,
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
      responder?.stop();
      configWatch?.stop();
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
      return running(i).hostPerf(i, toRfc3339(Date.now()), topNOf(i));
    },
  };
}
