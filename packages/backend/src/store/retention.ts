// Retention deletes for the sweeper, with upstream's windows (cleanup.rs):
// each call deletes at most `limit` of the oldest-eligible rows of one table,
// selected by key, so a tick holds the write lock for one bounded batch at a
// time. Tables created by later migrations (obs_events, inventory_history)
// are listed already and skipped until they exist.
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import { tableExistsQuery } from './dialect.js';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface RetentionRule {
  table: string;
  /** The key that identifies a row (several columns for composite keys). */
  key: readonly string[];
  /** The epoch-ms column compared with the cutoff. */
  column: string;
  maxAgeMs: number;
}

export const RETENTION_RULES: readonly RetentionRule[] = [
  { table: 'execution_results', key: ['result_id'], column: 'started_at', maxAgeMs: 90 * DAY_MS },
  { table: 'exec_waves', key: ['exec_id', 'idx'], column: 'due_at', maxAgeMs: 90 * DAY_MS },
  { table: 'executions', key: ['exec_id'], column: 'initiated_at', maxAgeMs: 90 * DAY_MS },
  { table: 'host_perf_samples', key: ['pc_id', 'at'], column: 'at', maxAgeMs: 30 * DAY_MS },
  { table: 'process_perf_samples', key: ['pc_id', 'at', 'pid'], column: 'at', maxAgeMs: 7 * DAY_MS },
  { table: 'audit_log', key: ['id'], column: 'occurred_at', maxAgeMs: 365 * DAY_MS },
  { table: 'obs_events', key: ['id'], column: 'at', maxAgeMs: 90 * DAY_MS },
  { table: 'inventory_history', key: ['id'], column: 'observed_at', maxAgeMs: 90 * DAY_MS },
];

export function createRetentionStore(db: Db) {
  const tableExists = tableExistsQuery(db);
  const statements = new Map<string, Statement<[number, number]>>();

  function statement(rule: RetentionRule) {
    let stmt = statements.get(rule.table);
    if (!stmt) {
      const key = rule.key.length === 1 ? rule.key[0]! : `(${rule.key.join(', ')})`;
      stmt = db.prepare<[number, number]>(
        `DELETE FROM ${rule.table} WHERE ${key} IN (
           SELECT ${rule.key.join(', ')} FROM ${rule.table} WHERE ${rule.column} < ? LIMIT ?)`,
      );
      statements.set(rule.table, stmt);
    }
    return stmt;
  }

  return {
    /** The rules whose table exists in this database. */
    activeRules(): RetentionRule[] {
      return RETENTION_RULES.filter((r) => tableExists(r.table));
    },

    /** Delete at most `limit` rows of `rule.table` older than `now - maxAgeMs`; returns how many. */
    deleteBatch(rule: RetentionRule, now: number, limit: number): number {
      return statement(rule).run(now - rule.maxAgeMs, limit).changes;
    },
  };
}
export type RetentionStore = ReturnType<typeof createRetentionStore>;
