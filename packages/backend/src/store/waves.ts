// `exec_waves`: the waves of a rollout, persisted with their due time so the
// wave dispatcher can publish them after a backend restart. A wave is
// `scheduled` until it is published (`published`) or abort-on-failure stops
// it (`aborted`); the transition is one UPDATE guarded by the current status.
import { toRfc3339 } from '@kanade/wire';
import type { Db } from './db.js';

export type WaveStatus = 'scheduled' | 'published' | 'aborted';

export interface WaveRow {
  exec_id: string;
  idx: number;
  group_name: string;
  subject: string;
  delay_ms: number;
  due_at: number;
  target_count: number;
  status: WaveStatus;
  published_at: number | null;
  /** The Command JSON published to `subject`. */
  command: string;
}

export interface WaveView {
  idx: number;
  group: string;
  subject: string;
  delay_ms: number;
  due_at: string;
  target_count: number;
  status: WaveStatus;
  published_at: string | null;
}

export function createWaveStore(db: Db) {
  const insert = db.prepare(
    `INSERT INTO exec_waves (exec_id, idx, group_name, subject, delay_ms, due_at, target_count, status,
       published_at, command)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const due = db.prepare<[number, number], WaveRow>(
    `SELECT * FROM exec_waves WHERE status = 'scheduled' AND due_at <= ?
     ORDER BY due_at, exec_id, idx LIMIT ?`,
  );
  const nextDue = db
    .prepare<[], number | null>("SELECT MIN(due_at) FROM exec_waves WHERE status = 'scheduled'")
    .pluck();
  const markPublished = db.prepare(
    "UPDATE exec_waves SET status = 'published', published_at = ? WHERE exec_id = ? AND idx = ? AND status = 'scheduled'",
  );
  const abortRemaining = db.prepare(
    "UPDATE exec_waves SET status = 'aborted' WHERE exec_id = ? AND status = 'scheduled'",
  );
  const publishedTarget = db
    .prepare<[string], number>(
      "SELECT COALESCE(SUM(target_count), 0) FROM exec_waves WHERE exec_id = ? AND status = 'published'",
    )
    .pluck();
  const removeForExec = db.prepare('DELETE FROM exec_waves WHERE exec_id = ?');
  const reschedule = db.prepare(
    "UPDATE exec_waves SET status = 'scheduled', published_at = NULL, due_at = ? WHERE exec_id = ? AND subject = ? AND status = 'published'",
  );
  const forExec = db.prepare<[string], WaveRow>('SELECT * FROM exec_waves WHERE exec_id = ? ORDER BY idx');

  return {
    insert(rows: readonly WaveRow[]): void {
      for (const w of rows) {
        insert.run(
          w.exec_id,
          w.idx,
          w.group_name,
          w.subject,
          w.delay_ms,
          w.due_at,
          w.target_count,
          w.status,
          w.published_at,
          w.command,
        );
      }
    },

    /** Scheduled waves due at `now`, oldest first. */
    due(now: number, limit: number): WaveRow[] {
      return due.all(now, limit);
    },

    /** The earliest due time of any scheduled wave, or null. */
    nextDueAt(): number | null {
      return nextDue.get() ?? null;
    },

    markPublished(execId: string, idx: number, at: number): boolean {
      return markPublished.run(at, execId, idx).changes === 1;
    },

    /** Stop every wave of the execution that is still scheduled; returns how many. */
    abortRemaining(execId: string): number {
      return abortRemaining.run(execId).changes;
    },

    /** Sum of the target shares of the waves already published. */
    publishedTargetCount(execId: string): number {
      return publishedTarget.get(execId) ?? 0;
    },

    /** Hand the published-at-once waves on `subjects` back to the dispatcher (their publish failed). */
    reschedule(execId: string, subjects: readonly string[], dueAt: number): void {
      for (const subj of subjects) reschedule.run(dueAt, execId, subj);
    },

    /** Undo an insert whose first Commands could not be published. */
    removeForExecution(execId: string): void {
      removeForExec.run(execId);
    },

    forExecution(execId: string): WaveView[] {
      return forExec.all(execId).map((w) => ({
        idx: w.idx,
        group: w.group_name,
        subject: w.subject,
        delay_ms: w.delay_ms,
        due_at: toRfc3339(w.due_at),
        target_count: w.target_count,
        status: w.status,
        published_at: w.published_at === null ? null : toRfc3339(w.published_at),
      }));
    },
  };
}
export type WaveStore = ReturnType<typeof createWaveStore>;
