// audit_log: inserts from the audit projector (idempotent on stream_seq) and
// the filtered, paged query behind GET /api/audit. Regex filters use the
// REGEXP function db.ts registers (patterns are validated by the route).
import type { Db } from './db.js';
import { totalChanges } from './dialect.js';

export interface AuditRow {
  actor: string;
  action: string;
  target: string | null;
  /** JSON text */
  payload: string | null;
  occurred_at: number;
  stream_seq: number;
}

export interface AuditQuery {
  /** exact match on the actor tier */
  actor?: string | undefined;
  /** case-insensitive regular expressions */
  action?: string | undefined;
  target?: string | undefined;
  payload?: string | undefined;
  /** epoch ms, inclusive */
  since?: number | undefined;
  limit: number;
  offset: number;
}

export interface AuditListRow {
  id: number;
  actor: string;
  action: string;
  target: string | null;
  payload: string | null;
  occurred_at: number;
}

export function createAuditStore(db: Db) {
  const insert = db.prepare(
    `INSERT INTO audit_log (actor, action, target, payload, occurred_at, stream_seq)
     VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (stream_seq) DO NOTHING`,
  );
  const count = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM audit_log');
  return {
    insert(rows: readonly AuditRow[]): number {
      return totalChanges(
        rows.map((r) => insert.run(r.actor, r.action, r.target, r.payload, r.occurred_at, r.stream_seq)),
      );
    },
    count(): number {
      return count.get()!.n;
    },
    /** Newest first; `total` counts every row matching the filters. */
    list(q: AuditQuery): { rows: AuditListRow[]; total: number } {
      const where: string[] = [];
      const params: Record<string, unknown> = { limit: q.limit, offset: q.offset };
      if (q.actor !== undefined) {
        where.push('actor = @actor');
        params.actor = q.actor;
      }
      for (const col of ['action', 'target', 'payload'] as const) {
        if (q[col] === undefined) continue;
        where.push(`${col} REGEXP @${col}`);
        params[col] = q[col];
      }
      if (q.since !== undefined) {
        where.push('occurred_at >= @since');
        params.since = q.since;
      }
      const filter = where.length ? `WHERE ${where.join(' AND ')}` : '';
      const rows = db
        .prepare<Record<string, unknown>, AuditListRow>(
          `SELECT id, actor, action, target, payload, occurred_at FROM audit_log ${filter}
           ORDER BY occurred_at DESC, id DESC LIMIT @limit OFFSET @offset`,
        )
        .all(params);
      const { limit: _l, offset: _o, ...countParams } = params;
      const total = db
        .prepare<Record<string, unknown>, { n: number }>(`SELECT COUNT(*) AS n FROM audit_log ${filter}`)
        .get(countParams)!.n;
      return { rows, total };
    },
  };
}
export type AuditStore = ReturnType<typeof createAuditStore>;
