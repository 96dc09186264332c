// `inventory_facts` (the latest facts per inventory job per PC) and
// `inventory_history` (what changed between scans), written by the results
// projector's inventory hint (projectors/hints/inventory.ts), and the reads
// behind /api/inventory. JSON columns are returned as text where upstream
// returns text (history before/after/identity) and parsed where it returns
// values (facts, display, summary).
import { toRfc3339 } from '@kanade/wire';
import type { Db } from './db.js';
import { jsonNumber } from './dialect.js';
import { filterSql, type SearchFilter } from './explode.js';

export interface FactsRow {
  pc_id: string;
  job_id: string;
  facts_json: string;
  display_json: string | null;
  summary_json: string | null;
  collected_at: number | null;
  recorded_at: number;
}

export interface HistoryEvent {
  field_path: string;
  change_kind: 'added' | 'removed' | 'changed';
  identity_json: string | null;
  before_json: string | null;
  after_json: string | null;
}

export interface HistoryRowView extends HistoryEvent {
  id: number;
  pc_id: string;
  job_id: string;
  observed_at: string;
}

export interface HistoryQuery {
  pc_id?: string;
  field?: string;
  kind?: 'added' | 'removed' | 'changed';
  since?: number;
  until?: number;
  /** Validated identity keys and the values they must equal. */
  identity: [string, string][];
  limit: number;
  offset: number;
}

const parse = (text: string | null): unknown => {
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
};
const time = (ms: number | null) => (ms === null ? null : toRfc3339(ms));

/** `json_extract(col, '$.key') = value` for a value that may be stored as a JSON number or string. */
function jsonEquals(col: string, key: string, value: string): { sql: string; params: unknown[] } {
  const expr = `json_extract(${col}, '$.${key}')`;
  const n = Number(value);
  if (value.trim() !== '' && Number.isFinite(n))
    return { sql: `(${expr} = ? OR ${expr} = ?)`, params: [value, n] };
  return { sql: `${expr} = ?`, params: [value] };
}

export function createInventoryStore(db: Db) {
  const prior = db.prepare<[string, string], { facts_json: string; recorded_at: number }>(
    'SELECT facts_json, recorded_at FROM inventory_facts WHERE pc_id = ? AND job_id = ?',
  );
  const upsert = db.prepare(
    `INSERT INTO inventory_facts (pc_id, job_id, facts_json, display_json, summary_json, collected_at, recorded_at)
     VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (pc_id, job_id) DO UPDATE SET
       facts_json = excluded.facts_json,
       display_json = excluded.display_json,
       summary_json = excluded.summary_json,
       collected_at = excluded.collected_at,
       recorded_at = excluded.recorded_at
     WHERE excluded.recorded_at >= inventory_facts.recorded_at`,
  );
  const insertEvent = db.prepare(
    `INSERT INTO inventory_history (pc_id, job_id, field_path, identity_json, change_kind, before_json, after_json, observed_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const pcCounts = db.prepare<[], { job_id: string; n: number }>(
    'SELECT job_id, COUNT(*) AS n FROM inventory_facts GROUP BY job_id',
  );
  const forPc = db.prepare<[string], FactsRow>(
    'SELECT * FROM inventory_facts WHERE pc_id = ? ORDER BY job_id',
  );

  return {
    /** The stored facts of one PC for one job (read before an upsert, for the history diff). */
    prior: (pcId: string, jobId: string) => prior.get(pcId, jobId),

    /** Upsert facts (caller owns the transaction); false when a newer row is already stored. */
    upsertFacts(r: FactsRow): boolean {
      return (
        upsert.run(
          r.pc_id,
          r.job_id,
          r.facts_json,
          r.display_json,
          r.summary_json,
          r.collected_at,
          r.recorded_at,
        ).changes > 0
      );
    },

    insertHistory(pcId: string, jobId: string, observedAt: number, events: readonly HistoryEvent[]): void {
      for (const e of events) {
        insertEvent.run(
          pcId,
          jobId,
          e.field_path,
          e.identity_json,
          e.change_kind,
          e.before_json,
          e.after_json,
          observedAt,
        );
      }
    },

    /** Number of PCs with facts, per job. */
    pcCounts(): Map<string, number> {
      return new Map(pcCounts.all().map((r) => [r.job_id, r.n]));
    },

    /** Every job's facts for one PC. */
    forPc(pcId: string) {
      return forPc.all(pcId).map((r) => ({
        job_id: r.job_id,
        facts: parse(r.facts_json),
        display: parse(r.display_json) ?? [],
        summary: parse(r.summary_json),
        collected_at: time(r.collected_at),
        recorded_at: toRfc3339(r.recorded_at),
      }));
    },

    /** One job's facts across the fleet, with the PCs' last logon, paged by pc_id. */
    byJob(jobId: string, q: { pcLike?: string; limit: number; offset: number }) {
      const where = ['f.job_id = ?'];
      const params: unknown[] = [jobId];
      if (q.pcLike !== undefined) {
        where.push("f.pc_id LIKE ? ESCAPE '\\'");
        params.push(`%${q.pcLike.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
      }
      const sqlWhere = where.join(' AND ');
      const total =
        db
          .prepare<unknown[], number>(`SELECT COUNT(*) FROM inventory_facts f WHERE ${sqlWhere}`)
          .pluck()
          .get(...params) ?? 0;
      const rows = db
        .prepare<
          unknown[],
          FactsRow & { last_logon_user: string | null; last_logon_display_name: string | null }
        >(
          `SELECT f.*, a.last_logon_user, a.last_logon_display_name FROM inventory_facts f
           LEFT JOIN agents a ON a.pc_id = f.pc_id
           WHERE ${sqlWhere} ORDER BY f.pc_id LIMIT ? OFFSET ?`,
        )
        .all(...params, q.limit, q.offset);
      return {
        total,
        display: parse(rows[0]?.display_json ?? null),
        summary: parse(rows[0]?.summary_json ?? null),
        rows: rows.map((r) => ({
          pc_id: r.pc_id,
          facts: parse(r.facts_json),
          collected_at: time(r.collected_at),
          recorded_at: toRfc3339(r.recorded_at),
          last_logon_user: r.last_logon_user,
          last_logon_display_name: r.last_logon_display_name,
        })),
      };
    },

    /**
     * Filter one job's top-level scalar facts with the explode filter syntax. `fields` are
     * validated identifiers (the manifest's display fields), so `$.field` paths are safe.
     * A numeric filter value compares numerically with numeric facts and as text with text facts.
     */
    searchScalars(
      jobId: string,
      fields: readonly string[],
      filters: readonly SearchFilter[],
      limit: number,
      offset: number,
    ): Record<string, unknown>[] {
      const where = ['job_id = ?'];
      const params: unknown[] = [jobId];
      for (const f of filters) {
        const expr = `json_extract(facts_json, '$.${f.column}')`;
        if (typeof f.value === 'number') {
          const num = filterSql(jsonNumber(db, 'facts_json', f.column), f);
          const text = filterSql(expr, { ...f, value: String(f.value) });
          where.push(
            `((json_type(facts_json, '$.${f.column}') IN ('integer', 'real') AND ${num.sql}) OR ` +
              `(json_type(facts_json, '$.${f.column}') = 'text' AND ${text.sql}))`,
          );
          params.push(num.param, text.param);
        } else {
          const w = filterSql(expr, f);
          where.push(w.sql);
          params.push(w.param);
        }
      }
      const select = fields.map((f) => `json_extract(facts_json, '$.${f}') AS "${f}"`);
      const rows = db
        .prepare<unknown[], Record<string, unknown> & { collected_at: number | null }>(
          `SELECT pc_id, collected_at${select.length ? `, ${select.join(', ')}` : ''} FROM inventory_facts
           WHERE ${where.join(' AND ')} ORDER BY pc_id LIMIT ? OFFSET ?`,
        )
        .all(...params, limit, offset);
      return rows.map((r) => ({ ...r, collected_at: time(r.collected_at) }));
    },

    /** History rows of one job, newest first (per PC, or fleet-wide with filters). */
    history(jobId: string, q: HistoryQuery): HistoryRowView[] {
      const where = ['job_id = ?'];
      const params: unknown[] = [jobId];
      const add = (sql: string, ...p: unknown[]) => {
        where.push(sql);
        params.push(...p);
      };
      if (q.pc_id !== undefined) add('pc_id = ?', q.pc_id);
      if (q.field !== undefined) add('field_path = ?', q.field);
      if (q.kind !== undefined) add('change_kind = ?', q.kind);
      if (q.since !== undefined) add('observed_at >= ?', q.since);
      if (q.until !== undefined) add('observed_at < ?', q.until);
      for (const [key, value] of q.identity) {
        const j = jsonEquals('identity_json', key, value);
        add(j.sql, ...j.params);
      }
      return db
        .prepare<
          unknown[],
          HistoryEvent & { id: number; pc_id: string; job_id: string; observed_at: number }
        >(
          `SELECT id, pc_id, job_id, field_path, identity_json, change_kind, before_json, after_json, observed_at
           FROM inventory_history WHERE ${where.join(' AND ')} ORDER BY observed_at DESC, id DESC LIMIT ? OFFSET ?`,
        )
        .all(...params, q.limit, q.offset)
        .map((r) => ({ ...r, observed_at: toRfc3339(r.observed_at) }));
    },

    /** The earliest matching history row per PC, oldest first. */
    firstSeen(jobId: string, q: Omit<HistoryQuery, 'pc_id' | 'kind' | 'until'>) {
      const where = ['job_id = ?'];
      const params: unknown[] = [jobId];
      if (q.field !== undefined) {
        where.push('field_path = ?');
        params.push(q.field);
      }
      if (q.since !== undefined) {
        where.push('observed_at >= ?');
        params.push(q.since);
      }
      for (const [key, value] of q.identity) {
        const j = jsonEquals('identity_json', key, value);
        where.push(j.sql);
        params.push(...j.params);
      }
      return db
        .prepare<unknown[], { pc_id: string; first_seen_at: number }>(
          `SELECT pc_id, MIN(observed_at) AS first_seen_at FROM inventory_history WHERE ${where.join(' AND ')}
           GROUP BY pc_id ORDER BY first_seen_at, pc_id LIMIT ? OFFSET ?`,
        )
        .all(...params, q.limit, q.offset)
        .map((r) => ({ pc_id: r.pc_id, first_seen_at: toRfc3339(r.first_seen_at) }));
    },
  };
}
export type InventoryStore = ReturnType<typeof createInventoryStore>;
