// `obs_events`: the per-PC timeline projected from OBS_EVENTS, and the
// Events page queries. Insert is idempotent on (pc_id, source,
// event_record_id) with ON CONFLICT DO NOTHING; a NULL event_record_id never
// conflicts (SQL NULLs are distinct), so events without an id are kept as
// upstream keeps them. Lists are ordered by `at` DESC, id DESC and served
// from the (pc_id, at), (kind, at) and (at) indexes.
import { toRfc3339 } from '@kanade/wire';
import type { Db } from './db.js';
import { totalChanges } from './dialect.js';

export interface ObsEventRow {
  pc_id: string;
  at: number;
  kind: string;
  source: string;
  event_record_id: string | null;
  /** JSON text, or null. */
  payload: string | null;
}

export interface ObsEventQuery {
  pc_id?: string;
  from?: number;
  to?: number;
  kind?: string;
  source?: string;
  kinds?: string[];
  kinds_ex?: string[];
  sources?: string[];
  sources_ex?: string[];
  /** json_extract(payload, '$.logon_type') = value. */
  logon_type?: string;
  /** A validated top-level payload key and the value it must equal. */
  payload?: { key: string; value: string };
  /** PCs whose agent_meta has a value containing this text. */
  meta_any?: string;
  limit: number;
}

export interface ObsEventView {
  id: number;
  pc_id: string;
  at: string;
  kind: string;
  source: string;
  event_record_id: string | null;
  payload: unknown;
}

interface DbRow extends ObsEventRow {
  id: number;
}

function view(r: DbRow): ObsEventView {
  let payload: unknown = null;
  if (r.payload !== null) {
    try {
      payload = JSON.parse(r.payload);
    } catch {
      payload = r.payload;
    }
  }
  return {
    id: r.id,
    pc_id: r.pc_id,
    at: toRfc3339(r.at),
    kind: r.kind,
    source: r.source,
    event_record_id: r.event_record_id,
    payload,
  };
}

export const likeEscape = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/** `col IN (?, ?, ...)` for a non-empty list. */
function inList(col: string, values: readonly string[], negate: boolean): string {
  return `${col} ${negate ? 'NOT IN' : 'IN'} (${values.map(() => '?').join(', ')})`;
}

export function createObsEventStore(db: Db) {
  const insert = db.prepare(
    `INSERT INTO obs_events (pc_id, at, kind, source, event_record_id, payload)
     VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (pc_id, source, event_record_id) DO NOTHING`,
  );
  const kinds = db.prepare<[], string>('SELECT DISTINCT kind FROM obs_events ORDER BY kind').pluck();
  const sources = db.prepare<[], string>('SELECT DISTINCT source FROM obs_events ORDER BY source').pluck();
  const recent = db.prepare<[number], DbRow>('SELECT * FROM obs_events ORDER BY at DESC, id DESC LIMIT ?');
  const count = db.prepare<[], number>('SELECT COUNT(*) FROM obs_events').pluck();

  return {
    /** Insert a batch (caller owns the transaction); returns rows actually inserted. */
    insert(rows: readonly ObsEventRow[]): number {
      return totalChanges(
        rows.map((r) => insert.run(r.pc_id, r.at, r.kind, r.source, r.event_record_id, r.payload)),
      );
    },

    list(q: ObsEventQuery): ObsEventView[] {
      const parts: string[] = [];
      const params: unknown[] = [];
      const eq = (col: string, v: string | undefined) => {
        if (v === undefined) return;
        parts.push(`${col} = ?`);
        params.push(v);
      };
      eq('pc_id', q.pc_id);
      eq('kind', q.kind);
      eq('source', q.source);
      if (q.from !== undefined) {
        parts.push('at >= ?');
        params.push(q.from);
      }
      if (q.to !== undefined) {
        parts.push('at < ?');
        params.push(q.to);
      }
      for (const [col, list, negate] of [
        ['kind', q.kinds, false],
        ['kind', q.kinds_ex, true],
        ['source', q.sources, false],
        ['source', q.sources_ex, true],
      ] as const) {
        if (!list?.length) continue;
        parts.push(inList(col, list, negate));
        params.push(...list);
      }
      if (q.logon_type !== undefined) {
        parts.push("json_extract(payload, '$.logon_type') = ?");
        params.push(q.logon_type);
      }
      if (q.payload) {
        // The key is validated as an identifier by the caller, so the JSON path is safe to splice.
        parts.push(`CAST(json_extract(payload, '$.${q.payload.key}') AS TEXT) = ?`);
        params.push(q.payload.value);
      }
      if (q.meta_any !== undefined) {
        parts.push("pc_id IN (SELECT pc_id FROM agent_meta WHERE value LIKE ? ESCAPE '\\')");
        params.push(`%${likeEscape(q.meta_any)}%`);
      }
      const where = parts.length ? `WHERE ${parts.join(' AND ')}` : '';
      return db
        .prepare<unknown[], DbRow>(`SELECT * FROM obs_events ${where} ORDER BY at DESC, id DESC LIMIT ?`)
        .all(...params, q.limit)
        .map(view);
    },

    kinds: (): string[] => kinds.all(),
    sources: (): string[] => sources.all(),
    recent: (limit: number): ObsEventView[] => recent.all(limit).map(view),
    count: (): number => count.get() ?? 0,
  };
}
export type ObsEventStore = ReturnType<typeof createObsEventStore>;
