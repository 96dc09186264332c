// OBS_EVENTS / backend_obs_events_projector (obs.>) -> obs_events. Durable
// shape: a batch is inserted in one transaction and acked after commit.
//
// Idempotent on (pc_id, source, event_record_id): INSERT ... ON CONFLICT DO
// NOTHING, so a redelivered or replayed event is a no-op. Events without an
// event_record_id cannot be deduplicated (NULLs never collide, as upstream)
// and a redelivery of one inserts it again; agents and the watchdog always
// set one. `at` is the event's own time (the source's clock); the payload is
// kept as JSON text. The pc_id is the message's, not the subject's, as
// upstream reads it.
import { DURABLE, ObsEvent, parseRfc3339, STREAM, SUBJECT_FILTER } from '@kanade/wire';
import type { ObsEventRow } from '../store/obs-events.js';
import type { DurableProjector } from './durable.js';

/** Payloads above this are stored as null (a timeline row is not a blob store). */
const MAX_PAYLOAD_CHARS = 64 * 1024;

export const obsEventsProjector: DurableProjector<ObsEventRow> = {
  name: 'obs_events',
  stream: STREAM.OBS_EVENTS,
  durable: DURABLE.OBS_EVENTS,
  table: 'obs_events',
  filterSubject: SUBJECT_FILTER.obs,
  decode(payload) {
    const r = ObsEvent.safeParse(payload);
    if (!r.success)
      return { invalid: r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
    const e = r.data;
    const json = e.payload === null || e.payload === undefined ? null : JSON.stringify(e.payload);
    return {
      pc_id: e.pc_id,
      at: parseRfc3339(e.at),
      kind: e.kind,
      source: e.source,
      event_record_id: e.event_record_id ?? null,
      payload: json !== null && json.length <= MAX_PAYLOAD_CHARS ? json : null,
    };
  },
  apply: (store, rows) => store.obsEvents.insert(rows),
};
