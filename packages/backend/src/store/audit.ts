// audit_log: inserts from the audit projector (idempotent on stream_seq).
import type { Db } from './db.js';

export interface AuditRow {
  actor: string;
  action: string;
  target: string | null;
  /** JSON text */
  payload: string | null;
  occurred_at: number;
  stream_seq: number;
}

export function createAuditStore(db: Db) {
  const insert = db.prepare(
    `INSERT INTO audit_log (actor, action, target, payload, occurred_at, stream_seq)
     VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (stream_seq) DO NOTHING`,
  );
  const count = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM audit_log');
  return {
    insert(rows: readonly AuditRow[]): number {
      let n = 0;
      for (const r of rows)
        n += insert.run(r.actor, r.action, r.target, r.payload, r.occurred_at, r.stream_seq).changes;
      return n;
    },
    count(): number {
      return count.get()!.n;
    },
  };
}
export type AuditStore = ReturnType<typeof createAuditStore>;
