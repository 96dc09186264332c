// AUDIT / backend_audit_projector -> audit_log. Durable shape. Idempotent on
// the stream sequence (UNIQUE), so a redelivered or replayed event is a no-op.
// `occurred_at` is the event's own time; the payload is kept as JSON text.
import { AuditEvent, DURABLE, parseRfc3339, STREAM } from '@kanade/wire';
import type { AuditRow } from '../store/audit.js';
import type { DurableProjector } from './durable.js';

export const auditProjector: DurableProjector<AuditRow> = {
  name: 'audit',
  stream: STREAM.AUDIT,
  durable: DURABLE.AUDIT,
  table: 'audit_log',
  decode(payload, meta) {
    const r = AuditEvent.safeParse(payload);
    if (!r.success)
      return { invalid: r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
    const e = r.data;
    return {
      actor: e.actor,
      action: e.action,
      target: e.target ?? null,
      payload: e.payload === null || e.payload === undefined ? null : JSON.stringify(e.payload),
      occurred_at: parseRfc3339(e.occurred_at),
      stream_seq: meta.seq,
    };
  },
  apply: (store, rows) => store.audit.insert(rows),
};
