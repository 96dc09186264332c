// EVENTS / backend_events_projector (events.started.>) -> in-flight rows of
// execution_results, and the execution pending -> running. Durable shape.
//
// Idempotent on result_id: INSERT ... ON CONFLICT DO NOTHING, so a
// redelivered event, or one that arrives after its result (a fast run), never
// touches an existing row. expires_at = recorded_at + timeout +
// max(2 min, timeout / 2) from the job's manifest (upstream's rule; the
// reaper finishes rows that outlive it); NULL when the manifest is unknown,
// and the reaper's 24 h fallback applies.
import {
  checkShape,
  DURABLE,
  EVENT_STARTED_SHAPE,
  type EventStarted,
  parseDuration,
  parseRfc3339,
  STREAM,
  SUBJECT_FILTER,
} from '@kanade/wire';
import type { InFlightRow } from '../store/results.js';
import type { DurableProjector } from './durable.js';
import { manifestCacheFor } from './manifest-cache.js';

const MIN_GRACE_MS = 2 * 60 * 1000;

export interface StartedRow extends InFlightRow {
  manifest_id: string;
}

/** The deadline of an in-flight row given the manifest's timeout in ms. */
export function expiresAt(recordedAt: number, timeoutMs: number): number {
  return recordedAt + timeoutMs + Math.max(MIN_GRACE_MS, Math.floor(timeoutMs / 2));
}

export const eventsProjector: DurableProjector<StartedRow> = {
  name: 'events',
  stream: STREAM.EVENTS,
  durable: DURABLE.EVENTS,
  table: 'execution_results',
  filterSubject: SUBJECT_FILTER.eventsStarted,
  decode(payload, meta) {
    // The shape checker gives the zod schema's verdict at a fraction of its cost (wire/src/shape.ts).
    const problem = checkShape(EVENT_STARTED_SHAPE, payload);
    if (problem !== null) return { invalid: problem };
    const e = payload as EventStarted;
    const startedAt = parseRfc3339(e.started_at);
    return {
      result_id: e.result_id,
      request_id: e.request_id,
      exec_id: e.exec_id,
      pc_id: e.pc_id,
      started_at: startedAt,
      recorded_at: meta.publishedAt,
      job_id: e.manifest_id,
      version: e.version,
      expires_at: null,
      manifest_id: e.manifest_id,
    };
  },
  // The run timeouts behind expires_at, loaded before a backlog's first batch needs them.
  warm: (ctx) => manifestCacheFor(ctx.nc, ctx.log).ready(),
  async prepare(rows, ctx) {
    const cache = manifestCacheFor(ctx.nc, ctx.log);
    const timeouts = new Map<string, number | undefined>();
    for (const id of new Set(rows.map((r) => r.manifest_id))) {
      const m = await cache.get(id);
      timeouts.set(id, m ? parseDuration(m.execute.timeout) : undefined);
    }
    for (const r of rows) {
      const timeoutMs = timeouts.get(r.manifest_id);
      r.expires_at = timeoutMs === undefined ? null : expiresAt(r.recorded_at, timeoutMs);
    }
    return rows;
  },
  apply(store, rows) {
    const written = store.results.insertInFlight(rows);
    store.executions.markRunning(new Set(rows.map((r) => r.exec_id)));
    return written;
  },
};
