// `agent_meta`: the query-side copy of the `agent_meta` KV bucket, so the
// roster can filter and sort on operator-entered attributes in SQL. Written
// only by the agent_meta projector (projectors/agent-meta.ts): a full
// replace after every (re)attach of its watch, then a delete-then-insert per
// changed PC. The bucket stays the source of truth for reads of one PC.
import type { Db } from './db.js';

export interface MetaEntry {
  key: string;
  value: string;
}

export function createAgentMetaStore(db: Db) {
  const deletePc = db.prepare<[string]>('DELETE FROM agent_meta WHERE pc_id = ?');
  const deleteAll = db.prepare('DELETE FROM agent_meta');
  const insert = db.prepare<[string, string, string, number]>(
    'INSERT INTO agent_meta (pc_id, key, value, position) VALUES (?, ?, ?, ?) ON CONFLICT (pc_id, key) DO NOTHING',
  );
  const keys = db.prepare<[], string>('SELECT DISTINCT key FROM agent_meta ORDER BY key').pluck();

  function insertPc(pcId: string, entries: readonly MetaEntry[]) {
    entries.forEach((e, i) => {
      insert.run(pcId, e.key, e.value, i);
    });
  }

  return {
    /** Replace one PC's rows (caller owns the transaction). */
    replacePc(pcId: string, entries: readonly MetaEntry[]): void {
      deletePc.run(pcId);
      insertPc(pcId, entries);
    },

    /** Replace the whole table with a snapshot of the bucket (caller owns the transaction). */
    replaceAll(snapshot: ReadonlyMap<string, readonly MetaEntry[]>): void {
      deleteAll.run();
      for (const [pcId, entries] of snapshot) insertPc(pcId, entries);
    },

    keys: (): string[] => keys.all(),

    /** The entries of each listed PC, in the operator's order (PCs without meta are left out). */
    forPcs(pcIds: readonly string[]): Map<string, MetaEntry[]> {
      const out = new Map<string, MetaEntry[]>();
      for (let i = 0; i < pcIds.length; i += 500) {
        const chunk = pcIds.slice(i, i + 500);
        const rows = db
          .prepare<string[], { pc_id: string; key: string; value: string }>(
            `SELECT pc_id, key, value FROM agent_meta WHERE pc_id IN (${chunk.map(() => '?').join(', ')})
             ORDER BY pc_id, position`,
          )
          .all(...chunk);
        for (const r of rows) {
          const list = out.get(r.pc_id);
          if (list) list.push({ key: r.key, value: r.value });
          else out.set(r.pc_id, [{ key: r.key, value: r.value }]);
        }
      }
      return out;
    },
  };
}
export type AgentMetaStore = ReturnType<typeof createAgentMetaStore>;

export const META_OPS = ['contains', 'eq', 'neq', 'starts', 'empty', 'set', 'absent'] as const;
export type MetaOp = (typeof META_OPS)[number];

/** One `meta.<key>.<op>=<value>` roster filter. */
export interface MetaFilter {
  key: string;
  op: MetaOp;
  value: string;
}

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/**
 * The SQL condition (over `agents`) of a roster meta filter. contains / starts are
 * case-insensitive LIKEs; neq and empty also match PCs without the key; set means a
 * non-empty value.
 */
export function metaFilterSql(f: MetaFilter): { sql: string; params: unknown[] } {
  const has = (cond: string) =>
    `EXISTS (SELECT 1 FROM agent_meta m WHERE m.pc_id = agents.pc_id AND m.key = ?${cond})`;
  switch (f.op) {
    case 'eq':
      return { sql: has(' AND m.value = ?'), params: [f.key, f.value] };
    case 'neq':
      return { sql: `NOT ${has(' AND m.value = ?')}`, params: [f.key, f.value] };
    case 'contains':
      return { sql: has(" AND m.value LIKE ? ESCAPE '\\'"), params: [f.key, `%${escapeLike(f.value)}%`] };
    case 'starts':
      return { sql: has(" AND m.value LIKE ? ESCAPE '\\'"), params: [f.key, `${escapeLike(f.value)}%`] };
    case 'set':
      return { sql: has(" AND m.value <> ''"), params: [f.key] };
    case 'empty':
      return { sql: `NOT ${has(" AND m.value <> ''")}`, params: [f.key] };
    case 'absent':
      return { sql: `NOT ${has('')}`, params: [f.key] };
  }
}

/** ORDER BY expression of a `meta:<key>` roster sort (PCs without the key sort as NULL). */
export const META_SORT_SQL = '(SELECT m.value FROM agent_meta m WHERE m.pc_id = agents.pc_id AND m.key = ?)';
