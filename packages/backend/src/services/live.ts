// Live events behind the dashboard's Server-Sent Events stream
// (GET /api/stream, http/routes/stream.ts). One set of core NATS
// subscriptions (results.>, events.started.>, audit.>) and one counters timer
// serve every connected browser of this backend process, and exist only while
// at least one browser is connected.
//
// Why core subscriptions and not JetStream consumers: a browser that is not
// watching needs no replay (it reloads from the API when it connects), and a
// plain subscription costs the broker no consumer state. No queue group: each
// backend replica serves its own browsers, so each needs every message.
//
// Why batching: a fan-out to 100,000 PCs produces 200,000 messages in
// minutes. Messages are gathered for WINDOW_MS and sent as one event per type
// with at most MAX_ITEMS items (the rest counted in `dropped`); execution
// progress is summed per exec_id per window. A browser therefore gets a few
// small events per second whatever the fleet does, and refetches what it
// shows. Fleet counters (known / active / stale, the 2-minute rule) are one
// indexed COUNT every COUNTERS_MS, shared by all browsers.

import { AuditEvent, EventStarted, ExecResult, SUBJECT_FILTER, toRfc3339 } from '@kanade/wire';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Store } from '../store/index.js';

export const WINDOW_MS = 1000;
export const COUNTERS_MS = 5000;
export const MAX_ITEMS = 200;

export interface LiveEvent {
  event: 'counters' | 'results' | 'started' | 'audit' | 'executions';
  data: unknown;
}
export type LiveListener = (e: LiveEvent) => void;

interface Progress {
  exec_id: string;
  started: number;
  finished: number;
  failed: number;
}

/** Items of one type for the current window, capped. */
function batch<T>() {
  let items: T[] = [];
  let dropped = 0;
  return {
    add(item: T) {
      if (items.length < MAX_ITEMS) items.push(item);
      else dropped++;
    },
    take(): { items: T[]; dropped: number } | undefined {
      if (items.length === 0 && dropped === 0) return undefined;
      const out = { items, dropped };
      items = [];
      dropped = 0;
      return out;
    },
  };
}

export function createLiveService(deps: {
  nc: NatsConnection;
  store: Store;
  log: Logger;
  now: () => number;
  windowMs?: number;
  countersMs?: number;
}) {
  const windowMs = deps.windowMs ?? WINDOW_MS;
  const countersMs = deps.countersMs ?? COUNTERS_MS;
  const listeners = new Set<LiveListener>();
  const results = batch<Record<string, unknown>>();
  const started = batch<Record<string, unknown>>();
  const audit = batch<Record<string, unknown>>();
  let progress = new Map<string, Progress>();
  let subs: Subscription[] = [];
  let flushTimer: ReturnType<typeof setInterval> | undefined;
  let countersTimer: ReturnType<typeof setInterval> | undefined;
  let invalid = 0;

  function emit(e: LiveEvent) {
    for (const l of listeners) {
      try {
        l(e);
      } catch (err) {
        deps.log.warn({ err: (err as Error).message }, 'live listener failed');
      }
    }
  }

  function counters(): LiveEvent {
    const now = deps.now();
    const { known, active } = deps.store.agents.counts(now);
    return { event: 'counters', data: { known, active, stale: known - active, observed_at: toRfc3339(now) } };
  }

  function progressOf(execId: string): Progress {
    let p = progress.get(execId);
    if (!p) {
      p = { exec_id: execId, started: 0, finished: 0, failed: 0 };
      progress.set(execId, p);
    }
    return p;
  }

  function decode(data: string): unknown {
    try {
      return JSON.parse(data);
    } catch {
      return undefined;
    }
  }

  function onResult(data: string) {
    const r = ExecResult.safeParse(decode(data));
    if (!r.success) {
      invalid++;
      return;
    }
    const v = r.data;
    results.add({
      result_id: v.result_id,
      request_id: v.request_id,
      exec_id: v.exec_id ?? null,
      pc_id: v.pc_id,
      manifest_id: v.manifest_id ?? null,
      exit_code: v.exit_code,
      skipped: v.skipped ?? false,
      started_at: v.started_at,
      finished_at: v.finished_at,
    });
    if (v.exec_id) {
      const p = progressOf(v.exec_id);
      p.finished++;
      if (v.exit_code !== 0 && !v.skipped) p.failed++;
    }
  }

  function onStarted(data: string) {
    const r = EventStarted.safeParse(decode(data));
    if (!r.success) {
      invalid++;
      return;
    }
    const v = r.data;
    started.add({
      result_id: v.result_id,
      request_id: v.request_id,
      exec_id: v.exec_id,
      pc_id: v.pc_id,
      manifest_id: v.manifest_id,
      version: v.version,
      started_at: v.started_at,
    });
    progressOf(v.exec_id).started++;
  }

  function onAudit(data: string) {
    const r = AuditEvent.safeParse(decode(data));
    if (!r.success) {
      invalid++;
      return;
    }
    const v = r.data;
    audit.add({ actor: v.actor, action: v.action, target: v.target ?? null, occurred_at: v.occurred_at });
  }

  function flush() {
    for (const [event, b] of [
      ['started', started],
      ['results', results],
      ['audit', audit],
    ] as const) {
      const data = b.take();
      if (data) emit({ event, data });
    }
    if (progress.size > 0) {
      const all = [...progress.values()];
      progress = new Map();
      emit({
        event: 'executions',
        data: { items: all.slice(0, MAX_ITEMS), dropped: Math.max(0, all.length - MAX_ITEMS) },
      });
    }
  }

  function start() {
    const on = (subject: string, handle: (data: string) => void) =>
      deps.nc.subscribe(subject, { callback: (err, msg) => (err ? undefined : handle(msg.string())) });
    subs = [
      on(SUBJECT_FILTER.results, onResult),
      on(SUBJECT_FILTER.eventsStarted, onStarted),
      on(SUBJECT_FILTER.audit, onAudit),
    ];
    flushTimer = setInterval(flush, windowMs);
    countersTimer = setInterval(() => {
      try {
        emit(counters());
      } catch (err) {
        deps.log.warn({ err: (err as Error).message }, 'live counters failed');
      }
    }, countersMs);
  }

  function stop() {
    for (const s of subs) s.unsubscribe();
    subs = [];
    clearInterval(flushTimer);
    clearInterval(countersTimer);
    flushTimer = countersTimer = undefined;
    results.take();
    started.take();
    audit.take();
    progress = new Map();
  }

  return {
    /** Adds a browser; the first one starts the subscriptions. Returns the unsubscribe function. */
    subscribe(listener: LiveListener): () => void {
      if (listeners.size === 0) start();
      listeners.add(listener);
      try {
        listener(counters());
      } catch (err) {
        deps.log.warn({ err: (err as Error).message }, 'live counters failed');
      }
      return () => {
        if (!listeners.delete(listener)) return;
        if (listeners.size === 0) stop();
      };
    },
    /** Connected browsers, open NATS subscriptions and undecodable messages seen (for tests). */
    stats() {
      return { clients: listeners.size, subscriptions: subs.length, invalid };
    },
  };
}
export type LiveService = ReturnType<typeof createLiveService>;
