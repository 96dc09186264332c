// `check_status`: the compliance matrix, one row per PC per check, written
// by the results projector for jobs with a `check:` hint. The upsert is
// recency-guarded on recorded_at (the result's JetStream publish time), so a
// redelivered or out-of-order older result never overwrites a newer status.
// Rows older than the stale window are hidden from the lists, never deleted;
// DELETE /api/checks/{name} removes a retired check's rows.
import { toRfc3339 } from '@kanade/wire';
import type { Db } from './db.js';

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'unknown';

export interface CheckRow {
  pc_id: string;
  check_name: string;
  label: string | null;
  status: CheckStatus;
  detail: string | null;
  recorded_at: number;
}

export interface CheckCounts {
  check_name: string;
  label: string | null;
  ok: number;
  warn: number;
  fail: number;
  unknown: number;
}

export interface CheckListQuery {
  check?: string;
  includeOk: boolean;
  /** Rows recorded before this are stale and left out. */
  staleBefore: number;
  limit: number;
  offset: number;
}

export function createCheckStore(db: Db) {
  const prior = db.prepare<[string, string], { status: CheckStatus; recorded_at: number }>(
    'SELECT status, recorded_at FROM check_status WHERE pc_id = ? AND check_name = ?',
  );
  const upsert = db.prepare(
    `INSERT INTO check_status (pc_id, check_name, label, status, detail, recorded_at)
     VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (pc_id, check_name) DO UPDATE SET
       label = excluded.label,
       status = excluded.status,
       detail = excluded.detail,
       recorded_at = excluded.recorded_at
     WHERE excluded.recorded_at >= check_status.recorded_at`,
  );
  const counts = db.prepare<[number], CheckCounts>(
    `SELECT check_name, MAX(label) AS label,
       SUM(CASE WHEN status = 'ok' THEN 1 ELSE 0 END) AS ok,
       SUM(CASE WHEN status = 'warn' THEN 1 ELSE 0 END) AS warn,
       SUM(CASE WHEN status = 'fail' THEN 1 ELSE 0 END) AS fail,
       SUM(CASE WHEN status = 'unknown' THEN 1 ELSE 0 END) AS unknown
     FROM check_status WHERE recorded_at >= ? GROUP BY check_name ORDER BY check_name`,
  );
  const remove = db.prepare<[string]>('DELETE FROM check_status WHERE check_name = ?');

  return {
    /**
     * Upsert one status (caller owns the transaction). Returns the prior status, if any, and
     * whether this row was applied (false = an older result than the stored one).
     */
    upsert(r: CheckRow): {
      prior: { status: CheckStatus; recorded_at: number } | undefined;
      applied: boolean;
    } {
      const before = prior.get(r.pc_id, r.check_name);
      const applied =
        upsert.run(r.pc_id, r.check_name, r.label, r.status, r.detail, r.recorded_at).changes > 0;
      return { prior: before, applied };
    },

    counts: (staleBefore: number): CheckCounts[] => counts.all(staleBefore),

    list(q: CheckListQuery) {
      const parts = ['recorded_at >= ?'];
      const params: unknown[] = [q.staleBefore];
      if (q.check !== undefined) {
        parts.push('check_name = ?');
        params.push(q.check);
      }
      if (!q.includeOk) parts.push("status <> 'ok'");
      const where = `WHERE ${parts.join(' AND ')}`;
      const total =
        db
          .prepare<unknown[], number>(`SELECT COUNT(*) FROM check_status ${where}`)
          .pluck()
          .get(...params) ?? 0;
      const rows = db
        .prepare<unknown[], CheckRow>(
          `SELECT pc_id, check_name, label, status, detail, recorded_at FROM check_status ${where}
           ORDER BY check_name, pc_id LIMIT ? OFFSET ?`,
        )
        .all(...params, q.limit, q.offset)
        .map((r) => ({ ...r, recorded_at: toRfc3339(r.recorded_at) }));
      return { rows, total };
    },

    /** Delete every row of one check; returns how many. */
    remove: (checkName: string): number => remove.run(checkName).changes,
  };
}
export type CheckStore = ReturnType<typeof createCheckStore>;
