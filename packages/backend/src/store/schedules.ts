// What the scheduler and the schedule views read from `execution_results`
// and `agents`: successful completions per PC (the reconcile shapes'
// cooldown), unfinished runs (max_concurrent), the full agent roster, and the
// latest result per PC for status and coverage. Read-only: the projectors
// write these tables. Finalize children (parent_result_id set) are left out
// everywhere; they are part of their parent run.
import type { Db } from './db.js';

export interface LatestResult {
  job_id: string;
  pc_id: string;
  exit_code: number | null;
  skipped: number;
  started_at: number;
  finished_at: number | null;
  version: string | null;
}

export interface LastRun {
  pc_id: string;
  exit_code: number | null;
  started_at: number;
  finished_at: number | null;
}

const IN_CHUNK = 500;

export function createScheduleStore(db: Db) {
  const completionsAll = db.prepare<[string], { pc_id: string; finished_at: number }>(
    `SELECT pc_id, MAX(finished_at) AS finished_at FROM execution_results
     WHERE job_id = ? AND exit_code = 0 AND finished_at IS NOT NULL AND parent_result_id IS NULL
     GROUP BY pc_id`,
  );
  const completionsSince = db.prepare<[string, number], { pc_id: string; finished_at: number }>(
    `SELECT pc_id, MAX(finished_at) AS finished_at FROM execution_results
     WHERE job_id = ? AND exit_code = 0 AND finished_at >= ? AND parent_result_id IS NULL
     GROUP BY pc_id`,
  );
  const inFlight = db
    .prepare<[string], number>(
      'SELECT COUNT(*) FROM execution_results WHERE job_id = ? AND finished_at IS NULL AND parent_result_id IS NULL',
    )
    .pluck();
  const allPcs = db.prepare<[], string>('SELECT pc_id FROM agents').pluck();
  const lastRun = db.prepare<[string], LastRun>(
    `SELECT pc_id, exit_code, started_at, finished_at FROM execution_results
     WHERE job_id = ? AND finished_at IS NOT NULL AND parent_result_id IS NULL
     ORDER BY finished_at DESC LIMIT 1`,
  );
  const recent = db.prepare<[string, number], { ok: number | null; fail: number | null }>(
    `SELECT SUM(CASE WHEN exit_code = 0 THEN 1 ELSE 0 END) AS ok,
            SUM(CASE WHEN exit_code <> 0 AND skipped = 0 THEN 1 ELSE 0 END) AS fail
     FROM execution_results
     WHERE job_id = ? AND finished_at >= ? AND parent_result_id IS NULL`,
  );

  return {
    /** Latest successful finish per PC of the job, at or after `since` (null = ever). */
    completions(jobId: string, since: number | null): { pcId: string; finishedAt: number }[] {
      const rows = since === null ? completionsAll.all(jobId) : completionsSince.all(jobId, since);
      return rows.map((r) => ({ pcId: r.pc_id, finishedAt: r.finished_at }));
    },

    /** Runs of the job started (events.started) and not finished. */
    inFlight(jobId: string): number {
      return inFlight.get(jobId) ?? 0;
    },

    /** Every registered agent, alive or not (the roster of `target.all`). */
    allPcIds(): string[] {
      return allPcs.all();
    },

    lastRun(jobId: string): LastRun | undefined {
      return lastRun.get(jobId);
    },

    /** Successful and failed (not skipped) runs of the job finished at or after `since`. */
    recentCounts(jobId: string, since: number): { ok: number; fail: number } {
      const r = recent.get(jobId, since);
      return { ok: r?.ok ?? 0, fail: r?.fail ?? 0 };
    },

    /** The newest run per (job, PC) of these jobs: one windowed query per 500 jobs. */
    latestPerPc(jobIds: readonly string[]): LatestResult[] {
      const out: LatestResult[] = [];
      for (let i = 0; i < jobIds.length; i += IN_CHUNK) {
        const chunk = jobIds.slice(i, i + IN_CHUNK);
        const rows = db
          .prepare<string[], LatestResult>(
            `SELECT job_id, pc_id, exit_code, skipped, started_at, finished_at, version FROM (
               SELECT job_id, pc_id, exit_code, skipped, started_at, finished_at, version,
                      ROW_NUMBER() OVER (PARTITION BY job_id, pc_id ORDER BY started_at DESC, result_id DESC) AS rn
               FROM execution_results
               WHERE job_id IN (${chunk.map(() => '?').join(', ')}) AND parent_result_id IS NULL
             ) latest WHERE rn = 1`,
          )
          .all(...chunk);
        out.push(...rows);
      }
      return out;
    },
  };
}
export type ScheduleStore = ReturnType<typeof createScheduleStore>;
