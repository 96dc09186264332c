// `executions`: one row per fan-out. The exec service inserts it before the
// first Command is published (so a fast agent's result always finds it);
// the results projector and the reaper move its counters, always through
// bump() inside their own transaction; the sweeper expires stale pending
// rows; the wave dispatcher records an abort-on-failure decision.
import { toRfc3339 } from '@kanade/wire';
import type { Db } from './db.js';
import { totalChanges } from './dialect.js';

export const EXECUTION_STATUSES = ['pending', 'running', 'completed', 'expired'] as const;
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];

export interface NewExecution {
  exec_id: string;
  job_id: string;
  version: string;
  initiated_by: string;
  initiated_at: number;
  target_count: number;
  request_id: string;
  abort_on_failure_pct: number | null;
}

interface ExecutionDbRow extends NewExecution {
  success_count: number;
  failure_count: number;
  status: ExecutionStatus;
  aborted_at: number | null;
  abort_reason: string | null;
}

export interface ExecutionView {
  exec_id: string;
  job_id: string;
  version: string;
  initiated_by: string;
  initiated_at: string;
  target_count: number;
  success_count: number;
  failure_count: number;
  status: ExecutionStatus;
  abort_on_failure_pct: number | null;
  aborted_at: string | null;
  abort_reason: string | null;
}

/** Counter deltas for one execution, accumulated over a batch. */
export interface CounterDelta {
  success: number;
  failure: number;
}

function toView(r: ExecutionDbRow): ExecutionView {
  return {
    exec_id: r.exec_id,
    job_id: r.job_id,
    version: r.version,
    initiated_by: r.initiated_by,
    initiated_at: toRfc3339(r.initiated_at),
    target_count: r.target_count,
    success_count: r.success_count,
    failure_count: r.failure_count,
    status: r.status,
    abort_on_failure_pct: r.abort_on_failure_pct,
    aborted_at: r.aborted_at === null ? null : toRfc3339(r.aborted_at),
    abort_reason: r.abort_reason,
  };
}

export function createExecutionStore(db: Db) {
  const insert = db.prepare(
    `INSERT INTO executions (exec_id, job_id, version, initiated_by, initiated_at, target_count, status,
       request_id, abort_on_failure_pct)
     VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)`,
  );
  const remove = db.prepare('DELETE FROM executions WHERE exec_id = ?');
  const byId = db.prepare<[string], ExecutionDbRow>('SELECT * FROM executions WHERE exec_id = ?');
  // Status follows the counters: completed once every expected PC answered, otherwise running.
  const bump = db.prepare(
    `UPDATE executions SET
       success_count = success_count + ?,
       failure_count = failure_count + ?,
       status = CASE WHEN success_count + ? + failure_count + ? >= target_count THEN 'completed' ELSE 'running' END
     WHERE exec_id = ?`,
  );
  const markRunning = db.prepare(
    "UPDATE executions SET status = 'running' WHERE exec_id = ? AND status = 'pending'",
  );
  const expire = db.prepare(
    "UPDATE executions SET status = 'expired' WHERE status = 'pending' AND initiated_at < ?",
  );
  // A running execution whose command can no longer reach anyone: nothing in flight, no wave still to
  // fire, and its last command published before `cutoff` (the EXEC stream's max_age ago, so an agent
  // that was offline can no longer replay it). The PCs that never answered stay uncounted. The IN term
  // and `+initiated_at` keep SQLite on the small partial index of live executions (idx_executions_live)
  // instead of every row older than the cutoff; the job_id term lets the in-flight check use
  // idx_results_job_inflight instead of every result of the execution.
  const settle = db.prepare(
    `UPDATE executions SET status = 'completed'
     WHERE status IN ('running', 'pending') AND status = 'running' AND +initiated_at < ?
       AND NOT EXISTS (SELECT 1 FROM exec_waves w
                       WHERE w.exec_id = executions.exec_id AND (w.status = 'scheduled' OR w.published_at >= ?))
       AND NOT EXISTS (SELECT 1 FROM execution_results r
                       WHERE r.job_id = executions.job_id AND r.exec_id = executions.exec_id
                         AND r.finished_at IS NULL)`,
  );
  const live = db.prepare<[], { job_id: string; running: number; pending: number }>(
    `SELECT job_id,
            SUM(CASE WHEN status = 'running' THEN 1 ELSE 0 END) AS running,
            SUM(CASE WHEN status = 'pending' THEN 1 ELSE 0 END) AS pending
     FROM executions WHERE status IN ('running', 'pending') GROUP BY job_id`,
  );
  const liveForJob = db.prepare<[string], { exec_id: string }>(
    "SELECT exec_id FROM executions WHERE status IN ('running', 'pending') AND job_id = ?",
  );
  const alive = db.prepare<[number], string>('SELECT pc_id FROM agents WHERE last_heartbeat >= ?').pluck();
  const abort = db.prepare(
    `UPDATE executions SET aborted_at = ?, abort_reason = ?, target_count = ?,
       status = CASE WHEN success_count + failure_count >= ? THEN 'completed' ELSE status END
     WHERE exec_id = ?`,
  );

  return {
    insert(e: NewExecution): void {
      insert.run(
        e.exec_id,
        e.job_id,
        e.version,
        e.initiated_by,
        e.initiated_at,
        e.target_count,
        e.request_id,
        e.abort_on_failure_pct,
      );
    },

    /** Undo an insert whose Commands could not be published. */
    remove(execId: string): void {
      remove.run(execId);
    },

    get(execId: string): ExecutionView | undefined {
      const r = byId.get(execId);
      return r ? toView(r) : undefined;
    },

    /** Raw counters (wave dispatcher's abort rule). */
    counters(execId: string): { success: number; failure: number; target: number } | undefined {
      const r = byId.get(execId);
      return r ? { success: r.success_count, failure: r.failure_count, target: r.target_count } : undefined;
    },

    /** Apply accumulated counter deltas, one UPDATE per execution (caller owns the transaction). */
    bump(deltas: ReadonlyMap<string, CounterDelta>): number {
      const results = [];
      for (const [execId, d] of deltas) {
        if (d.success === 0 && d.failure === 0) continue;
        results.push(bump.run(d.success, d.failure, d.success, d.failure, execId));
      }
      return totalChanges(results);
    },

    markRunning(execIds: Iterable<string>): number {
      return totalChanges([...execIds].map((id) => markRunning.run(id)));
    },

    /** pending rows initiated before `cutoff` become expired. */
    expirePending(cutoff: number): number {
      return expire.run(cutoff).changes;
    },

    /**
     * Running executions whose last command was published before `cutoff`, with nothing in flight and no
     * wave left, become completed (see `settle` above).
     */
    settleUnanswered(cutoff: number): number {
      return settle.run(cutoff, cutoff).changes;
    },

    liveCounts(): Map<string, { running: number; pending: number }> {
      return new Map(live.all().map((r) => [r.job_id, { running: r.running, pending: r.pending }]));
    },

    liveExecIds(jobId: string): string[] {
      return liveForJob.all(jobId).map((r) => r.exec_id);
    },

    /** PCs with a heartbeat at or after `since`: the alive roster a target_count is resolved against. */
    alivePcIds(since: number): string[] {
      return alive.all(since);
    },

    /** Record an abort-on-failure decision and shrink target_count to what was actually sent. */
    abort(execId: string, at: number, reason: string, targetCount: number): void {
      abort.run(at, reason, targetCount, targetCount, execId);
    },

    list(q: { job_id?: string; status?: ExecutionStatus; limit: number; offset: number }) {
      const parts: string[] = [];
      const params: unknown[] = [];
      if (q.job_id) {
        parts.push('job_id = ?');
        params.push(q.job_id);
      }
      if (q.status) {
        parts.push('status = ?');
        params.push(q.status);
      }
      const where = parts.length ? `WHERE ${parts.join(' AND ')}` : '';
      const total = db
        .prepare<unknown[], { n: number }>(`SELECT COUNT(*) AS n FROM executions ${where}`)
        .get(...params)!.n;
      const rows = db
        .prepare<unknown[], ExecutionDbRow>(
          `SELECT * FROM executions ${where} ORDER BY initiated_at DESC, exec_id DESC LIMIT ? OFFSET ?`,
        )
        .all(...params, q.limit, q.offset);
      return { rows: rows.map(toView), total };
    },
  };
}
export type ExecutionStore = ReturnType<typeof createExecutionStore>;
