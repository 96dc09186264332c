// The one loop behind every telemetry projector (heartbeat, host_perf,
// process_perf). Why this shape (see the seed's host_perf projector):
//
// - Core NATS, not JetStream: a missed sample is a gap in a chart, and an ack
//   per message from every PC of the fleet would cost more than it is worth.
// - A queue group (`kanade-backend`) so several backend replicas split the load.
// - Micro-batching: messages are decoded and buffered, and one transaction per
//   window writes them (every `flushIntervalMs`, or as soon as `flushMax`
//   entries are buffered). The timer fires unconditionally, so the first
//   message after an idle period never waits for a second one.
// - Keyed projectors (heartbeat) keep only the newest entry per key.
// - A message that does not decode is counted and logged with its subject and
//   never touches the window; a failed flush is logged, counted as dropped, and
//   the window is discarded (lossy by design, the next window carries on).

import { BACKEND_QUEUE_GROUP } from '@kanade/wire';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Store } from '../store/index.js';
import { ProjectorStats } from './stats.js';

export interface TelemetryProjector<R> {
  name: string;
  subject: string;
  /** A row, or a reason the message is invalid. */
  decode(payload: unknown, subject: string): R | { invalid: string };
  /** When set, a window keeps only the newest row per key (by `order`). */
  key?: (row: R) => string;
  order?: (row: R) => number;
  /** Write one window; returns rows written. Runs inside a transaction. */
  write(store: Store, rows: R[], now: number): number;
}

export interface TelemetryOptions {
  nc: NatsConnection;
  store: Store;
  log: Logger;
  flushIntervalMs: number;
  flushMax: number;
}

export interface RunningProjector {
  stats: ProjectorStats;
  /** Write what is buffered now. */
  flush(): void;
  /** Unsubscribe, then write what is buffered. */
  stop(): Promise<void>;
}

const decoder = new TextDecoder();
const LOG_WINDOW_MS = 10_000;
const LOG_PER_WINDOW = 5;

/**
 * Largest magnitude a stored gauge keeps. The wire allows any f64 (up to 1.8e308), but fleet sums
 * and averages of such values overflow: PostgreSQL raises an error (failing the whole window) and
 * SQLite yields Infinity. 1e18 (an exabyte, or an exabyte per second) is beyond any real host.
 */
export const GAUGE_LIMIT = 1e18;

/** `v` clamped to +-GAUGE_LIMIT; null when absent. */
export function gauge(v: number | null | undefined): number | null {
  if (v === null || v === undefined) return null;
  return v > GAUGE_LIMIT ? GAUGE_LIMIT : v < -GAUGE_LIMIT ? -GAUGE_LIMIT : v;
}

export function isInvalid<R>(v: R | { invalid: string }): v is { invalid: string } {
  return (
    typeof v === 'object' &&
    v !== null &&
    'invalid' in v &&
    typeof (v as { invalid: unknown }).invalid === 'string'
  );
}

/** Logs the first few invalid messages of every 10 s window, then a summary of the rest. */
export function invalidLogger(log: Logger, projector: string) {
  let windowStart = 0;
  let logged = 0;
  let suppressed = 0;
  return (subject: string, reason: string) => {
    const now = Date.now();
    if (now - windowStart > LOG_WINDOW_MS) {
      if (suppressed > 0) log.warn({ projector, suppressed }, 'more invalid messages were rejected');
      windowStart = now;
      logged = 0;
      suppressed = 0;
    }
    if (logged < LOG_PER_WINDOW) {
      logged++;
      log.warn({ projector, subject, reason: reason.slice(0, 300) }, 'rejected invalid message');
    } else {
      suppressed++;
    }
  };
}

export function startTelemetryProjector<R>(
  spec: TelemetryProjector<R>,
  opts: TelemetryOptions,
): RunningProjector {
  const stats = new ProjectorStats(spec.name);
  const logInvalid = invalidLogger(opts.log, spec.name);
  const keyed = spec.key ? new Map<string, R>() : undefined;
  let list: R[] = [];

  const size = () => (keyed ? keyed.size : list.length);

  function flush() {
    const rows = keyed ? [...keyed.values()] : list;
    if (rows.length === 0) return;
    if (keyed) keyed.clear();
    else list = [];
    const started = performance.now();
    try {
      const written = opts.store.tx(() => spec.write(opts.store, rows, Date.now()));
      stats.written(written);
      stats.flushed((performance.now() - started) / 1000);
    } catch (err) {
      stats.flushFailed();
      stats.dropped(rows.length);
      opts.log.warn(
        { projector: spec.name, err: (err as Error).message, rows: rows.length },
        'flush failed; window dropped',
      );
    }
  }

  function onMessage(subject: string, data: Uint8Array) {
    stats.received();
    let payload: unknown;
    try {
      payload = JSON.parse(decoder.decode(data));
    } catch {
      stats.invalid();
      logInvalid(subject, 'not JSON');
      return;
    }
    let row: R | { invalid: string };
    try {
      row = spec.decode(payload, subject);
    } catch (err) {
      row = { invalid: (err as Error).message };
    }
    if (isInvalid(row)) {
      stats.invalid();
      logInvalid(subject, row.invalid);
      return;
    }
    if (keyed) {
      const k = spec.key!(row);
      const prev = keyed.get(k);
      if (prev === undefined || !spec.order || spec.order(row) >= spec.order(prev)) keyed.set(k, row);
    } else {
      list.push(row);
    }
    if (size() >= opts.flushMax) flush();
  }

  const sub: Subscription = opts.nc.subscribe(spec.subject, {
    queue: BACKEND_QUEUE_GROUP,
    callback: (err, msg) => {
      if (err) {
        opts.log.warn({ projector: spec.name, err: err.message }, 'subscription error');
        return;
      }
      onMessage(msg.subject, msg.data);
    },
  });
  const timer = setInterval(flush, opts.flushIntervalMs);
  opts.log.info({ projector: spec.name, subject: spec.subject }, 'telemetry projector started');

  return {
    stats,
    flush,
    async stop() {
      clearInterval(timer);
      // Drain delivers what the client already holds; a broker that is down must not hold up shutdown.
      await Promise.race([sub.drain().catch(() => undefined), new Promise((r) => setTimeout(r, 2000))]);
      if (!sub.isClosed()) {
        try {
          sub.unsubscribe();
        } catch {
          // the connection is already closed; nothing more will arrive
        }
      }
      flush();
    },
  };
}
