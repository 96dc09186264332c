// `execution_results`: in-flight rows from the events projector, finished
// rows from the results projector, reaped rows from the sweeper, and the
// Activity queries.
//
// The idempotency key is result_id. A result is written only while the row
// is unfinished or reaped, so a redelivered or replayed result changes
// nothing; upsert() reports, per execution, the counter deltas of the
// results it actually settled, and the caller applies them in the same
// transaction (store.executions.bump). A late real result over a reaped row
// moves the reaper's failure to success when it succeeded, so the total is
// counted once either way.
import { toRfc3339 } from '@kanade/wire';
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import { readsAreRoundTrips, totalChanges } from './dialect.js';
import type { CounterDelta } from './executions.js';

/** One finished result, normalised for the database. */
export interface ResultRow {
  result_id: string;
  request_id: string;
  exec_id: string | null;
  parent_result_id: string | null;
  pc_id: string;
  exit_code: number;
  skipped: number;
  stdout: string;
  stderr: string;
  started_at: number;
  finished_at: number;
  job_id: string | null;
  recorded_at: number;
}

/** One `events.started`: the in-flight row of a run. */
export interface InFlightRow {
  result_id: string;
  request_id: string;
  exec_id: string;
  pc_id: string;
  started_at: number;
  recorded_at: number;
  job_id: string;
  version: string;
  expires_at: number | null;
}

export const REAPED_EXIT_CODE = -1;
export const REAPED_NOTE =
  '[backend: reaped — no ExecResult before the run deadline; the agent likely died mid-run or lost its outbox]';

/** Output regex filters scan at most this many of the newest rows matching the other filters (as upstream). */
export const OUTPUT_SCAN_WINDOW = 10_000;
export const PREVIEW_CHARS = 200;

export interface ResultListQuery {
  pc_id?: string;
  job_id?: string;
  exec_id?: string;
  stdout?: string;
  stderr?: string;
  status?: 'success' | 'failure' | 'running';
  since?: number;
  limit: number;
  offset: number;
}

interface ListDbRow {
  result_id: string;
  request_id: string;
  exec_id: string | null;
  pc_id: string;
  job_id: string | null;
  version: string | null;
  exit_code: number | null;
  skipped: number;
  reaped: number;
  started_at: number;
  finished_at: number | null;
  recorded_at: number;
  stdout: string;
  stderr: string;
  stdout_len: number;
  stderr_len: number;
}

interface DetailDbRow extends Omit<ListDbRow, 'stdout_len' | 'stderr_len'> {
  expires_at: number | null;
  parent_result_id: string | null;
}

export interface ResultSummary {
  result_id: string;
  request_id: string;
  exec_id: string | null;
  pc_id: string;
  job_id: string | null;
  version: string | null;
  exit_code: number | null;
  skipped: boolean;
  reaped: boolean;
  started_at: string;
  finished_at: string | null;
  recorded_at: string;
}

export interface ResultListRow extends ResultSummary {
  stdout: string;
  stdout_truncated: boolean;
  stderr: string;
  stderr_truncated: boolean;
  /** Full text, only loaded when an output regex needs a match snippet. */
  stdout_full?: string;
  stderr_full?: string;
}

export interface ResultDetail extends ResultSummary {
  stdout: string;
  stderr: string;
  expires_at: string | null;
  parent_result_id: string | null;
}

const t = (ms: number | null) => (ms === null ? null : toRfc3339(ms));

function summary(r: Omit<ListDbRow, 'stdout' | 'stderr' | 'stdout_len' | 'stderr_len'>): ResultSummary {
  return {
    result_id: r.result_id,
    request_id: r.request_id,
    exec_id: r.exec_id,
    pc_id: r.pc_id,
    job_id: r.job_id,
    version: r.version,
    exit_code: r.exit_code,
    skipped: r.skipped === 1,
    reaped: r.reaped === 1,
    started_at: toRfc3339(r.started_at),
    finished_at: t(r.finished_at),
    recorded_at: toRfc3339(r.recorded_at),
  };
}

/** An anchored literal (`^abc$`) is matched exactly (case-sensitive), so it can use an index. */
function anchoredLiteral(pattern: string): string | undefined {
  const m = /^\^([A-Za-z0-9_-]+)\$$/.exec(pattern);
  return m?.[1];
}

/** Largest multi-row upsert: 13 parameters a row, well below PostgreSQL's 65,535. */
const MAX_CHUNK = 512;

const values = (r: ResultRow) => [
  r.result_id,
  r.request_id,
  r.exec_id,
  r.parent_result_id,
  r.pc_id,
  r.exit_code,
  r.skipped,
  r.stdout,
  r.stderr,
  r.started_at,
  r.finished_at,
  r.job_id,
  r.recorded_at,
];

function addDelta(deltas: Map<string, CounterDelta>, execId: string, success: number, failure: number) {
  const d = deltas.get(execId);
  if (d) {
    d.success += success;
    d.failure += failure;
  } else {
    deltas.set(execId, { success, failure });
  }
}

export function createResultStore(db: Db) {
  // In DO UPDATE the right-hand sides see the old row, so a reaped row comes back with reaped = 2
  // ("was reaped"): upsert() then finds those rows through the partial index
  // idx_results_was_reaped (0009) and sets them back to 0 before the transaction ends. A redelivery
  // changes no row at all (the WHERE guard fails). The ids an in-flight row already has (from its
  // started event) are left out of SET: SQLite rewrites every index on a SET column, changed or not.
  const columns = `(result_id, request_id, exec_id, parent_result_id, pc_id, exit_code, skipped,
       stdout, stderr, started_at, finished_at, job_id, recorded_at)`;
  const onConflict = `ON CONFLICT (result_id) DO UPDATE SET
       exit_code = excluded.exit_code,
       skipped = excluded.skipped,
       stdout = excluded.stdout,
       stderr = excluded.stderr,
       finished_at = excluded.finished_at,
       reaped = CASE WHEN execution_results.reaped = 1 THEN 2 ELSE 0 END,
       job_id = COALESCE(execution_results.job_id, excluded.job_id)
     WHERE execution_results.finished_at IS NULL OR execution_results.reaped = 1`;
  const placeholders = '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';
  // SQLite: one statement per result, without RETURNING, which doubled the cost of each statement
  // (about 10 us a row on this hardware, half of a burst drain); `changes` says whether it settled.
  const upsert = db.prepare(`INSERT INTO execution_results ${columns} VALUES ${placeholders} ${onConflict}`);
  const wasReaped = db
    .prepare<[], string>('SELECT result_id FROM execution_results WHERE reaped = 2')
    .pluck();
  const clearWasReaped = db.prepare('UPDATE execution_results SET reaped = 0 WHERE reaped = 2');
  // Where a read is a round trip (readsAreRoundTrips), results go in multi-row statements instead:
  // one per power-of-two chunk, so a batch is a few round trips and only a few statement texts exist.
  const batched = readsAreRoundTrips(db);
  const upsertChunk = new Map<number, Statement<unknown[], string>>();
  function chunkStatement(n: number) {
    let stmt = upsertChunk.get(n);
    if (!stmt) {
      stmt = db
        .prepare<unknown[], string>(
          `INSERT INTO execution_results ${columns} VALUES ${Array(n).fill(placeholders).join(', ')}
           ${onConflict} RETURNING result_id`,
        )
        .pluck();
      upsertChunk.set(n, stmt);
    }
    return stmt;
  }
  const insertInFlight = db.prepare(
    `INSERT INTO execution_results (result_id, request_id, exec_id, pc_id, started_at, recorded_at, job_id,
       version, expires_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (result_id) DO NOTHING`,
  );
  const overdueByDeadline = db.prepare<[number, number], { result_id: string }>(
    `SELECT result_id FROM execution_results
     WHERE finished_at IS NULL AND expires_at IS NOT NULL AND expires_at < ? LIMIT ?`,
  );
  const overdueByAge = db.prepare<[number, number], { result_id: string }>(
    `SELECT result_id FROM execution_results
     WHERE finished_at IS NULL AND expires_at IS NULL AND started_at < ? LIMIT ?`,
  );
  const reap = db.prepare<[number, number, string, string, string], { exec_id: string | null }>(
    `UPDATE execution_results SET finished_at = ?, exit_code = ?, reaped = 1,
       stderr = CASE WHEN stderr = '' THEN ? ELSE stderr || char(10) || ? END
     WHERE result_id = ? AND finished_at IS NULL
     RETURNING exec_id`,
  );
  const detail = db.prepare<[string], DetailDbRow>(
    `SELECT result_id, request_id, exec_id, pc_id, job_id, version, exit_code, skipped, reaped, started_at,
       finished_at, recorded_at, stdout, stderr, expires_at, parent_result_id
     FROM execution_results WHERE result_id = ?`,
  );
  const children = db.prepare<[string], DetailDbRow>(
    `SELECT result_id, request_id, exec_id, pc_id, job_id, version, exit_code, skipped, reaped, started_at,
       finished_at, recorded_at, stdout, stderr, expires_at, parent_result_id
     FROM execution_results WHERE parent_result_id = ? ORDER BY started_at, result_id`,
  );
  const forExec = db.prepare<[string, number, number], DetailDbRow>(
    `SELECT result_id, request_id, exec_id, pc_id, job_id, version, exit_code, skipped, reaped, started_at,
       finished_at, recorded_at, '' AS stdout, '' AS stderr, expires_at, parent_result_id
     FROM execution_results WHERE exec_id = ? ORDER BY recorded_at DESC, result_id DESC LIMIT ? OFFSET ?`,
  );
  const countForExec = db
    .prepare<[string], number>('SELECT COUNT(*) FROM execution_results WHERE exec_id = ?')
    .pluck();

  function listWhere(q: ResultListQuery): { sql: string; params: unknown[] } {
    const parts: string[] = [];
    const params: unknown[] = [];
    for (const col of ['pc_id', 'job_id', 'exec_id'] as const) {
      const pattern = q[col];
      if (!pattern) continue;
      const literal = anchoredLiteral(pattern);
      if (literal !== undefined) {
        parts.push(`${col} = ?`);
        params.push(literal);
      } else {
        parts.push(`${col} REGEXP ?`);
        params.push(pattern);
      }
    }
    if (q.status === 'running') parts.push('finished_at IS NULL');
    else if (q.status === 'success') parts.push('finished_at IS NOT NULL AND exit_code = 0');
    else if (q.status === 'failure') parts.push('finished_at IS NOT NULL AND exit_code <> 0');
    if (q.since !== undefined) {
      parts.push('started_at >= ?');
      params.push(q.since);
    }
    return { sql: parts.length ? `WHERE ${parts.join(' AND ')}` : '', params };
  }

  return {
    /**
     * Upsert finished results (caller owns the transaction). Returns how many rows changed and,
     * per execution, the counter deltas of the results settled by this call.
     */
    upsert(rows: readonly ResultRow[]): { written: number; deltas: Map<string, CounterDelta> } {
      const settled = batched
        ? upsertBatched(rows)
        : rows.filter((r) => upsert.run(...values(r)).changes > 0);
      const reaped = new Set(settled.length > 0 ? wasReaped.all() : []);
      if (reaped.size > 0) clearWasReaped.run();
      const deltas = new Map<string, CounterDelta>();
      for (const r of settled) {
        if (r.exec_id === null) continue;
        if (!reaped.has(r.result_id))
          addDelta(deltas, r.exec_id, r.exit_code === 0 ? 1 : 0, r.exit_code === 0 ? 0 : 1);
        // The reaper counted this run as a failure; a real success moves it over.
        else if (r.exit_code === 0) addDelta(deltas, r.exec_id, 1, -1);
      }
      return { written: settled.length, deltas };
    },

    /** Insert in-flight rows; an existing row (in flight or finished) is left alone. */
    insertInFlight(rows: readonly InFlightRow[]): number {
      return totalChanges(
        rows.map((r) =>
          insertInFlight.run(
            r.result_id,
            r.request_id,
            r.exec_id,
            r.pc_id,
            r.started_at,
            r.recorded_at,
            r.job_id,
            r.version,
            r.expires_at,
          ),
        ),
      );
    },

    /**
     * Finish up to `limit` orphaned in-flight rows: past expires_at, or started before `staleBefore`
     * when they have none. Returns the rows reaped and the failure deltas for their executions.
     */
    reap(
      now: number,
      staleBefore: number,
      limit: number,
    ): { reaped: number; deltas: Map<string, CounterDelta> } {
      const ids = overdueByDeadline.all(now, limit);
      if (ids.length < limit) ids.push(...overdueByAge.all(staleBefore, limit - ids.length));
      const deltas = new Map<string, CounterDelta>();
      let reaped = 0;
      for (const { result_id } of ids) {
        const row = reap.get(now, REAPED_EXIT_CODE, REAPED_NOTE, REAPED_NOTE, result_id);
        if (!row) continue;
        reaped++;
        if (row.exec_id !== null) addDelta(deltas, row.exec_id, 0, 1);
      }
      return { reaped, deltas };
    },

    get(resultId: string): ResultDetail | undefined {
      const r = detail.get(resultId);
      return r ? detailView(r) : undefined;
    },

    children(resultId: string): ResultDetail[] {
      return children.all(resultId).map(detailView);
    },

    /** The results of one execution without output, newest first. */
    forExecution(execId: string, limit: number, offset: number): { rows: ResultSummary[]; total: number } {
      return { rows: forExec.all(execId, limit, offset).map(summary), total: countForExec.get(execId) ?? 0 };
    },

    /** One page of the Activity list, newest first, with 200-character previews. */
    list(q: ResultListQuery): { rows: ResultListRow[]; total: number } {
      const base = listWhere(q);
      const outputFilter = Boolean(q.stdout || q.stderr);
      const cols = `result_id, request_id, exec_id, pc_id, job_id, version, exit_code, skipped, reaped,
        started_at, finished_at, recorded_at`;
      // Newest first, ties by result_id (the same order on SQLite and PostgreSQL). idx_results_started
      // (started_at) gives the first term; SQLite sorts only each run of equal start times, and stops
      // once the page is full (migration 0011).
      const order = 'ORDER BY started_at DESC, result_id DESC';
      let from = `execution_results ${base.sql}`;
      const params = [...base.params];
      if (outputFilter) {
        const out: string[] = [];
        if (q.stdout) {
          out.push('stdout REGEXP ?');
          params.push(q.stdout);
        }
        if (q.stderr) {
          out.push('stderr REGEXP ?');
          params.push(q.stderr);
        }
        from = `(SELECT * FROM execution_results ${base.sql} ${order} LIMIT ${OUTPUT_SCAN_WINDOW}) AS scan WHERE ${out.join(' AND ')}`;
      }
      const total =
        db
          .prepare<unknown[], number>(`SELECT COUNT(*) FROM ${from}`)
          .pluck()
          .get(...params) ?? 0;
      const text = outputFilter
        ? 'stdout, stderr'
        : `substr(stdout, 1, ${PREVIEW_CHARS}) AS stdout, substr(stderr, 1, ${PREVIEW_CHARS}) AS stderr`;
      const rows = db
        .prepare<unknown[], ListDbRow>(
          `SELECT ${cols}, ${text}, length(stdout) AS stdout_len, length(stderr) AS stderr_len
           FROM ${from} ${order} LIMIT ? OFFSET ?`,
        )
        .all(...params, q.limit, q.offset);
      return {
        total,
        rows: rows.map((r) => {
          const row: ResultListRow = {
            ...summary(r),
            stdout: r.stdout.slice(0, PREVIEW_CHARS),
            stdout_truncated: r.stdout_len > PREVIEW_CHARS,
            stderr: r.stderr.slice(0, PREVIEW_CHARS),
            stderr_truncated: r.stderr_len > PREVIEW_CHARS,
          };
          if (outputFilter) {
            row.stdout_full = r.stdout;
            row.stderr_full = r.stderr;
          }
          return row;
        }),
      };
    },
  };

  /**
   * The multi-row form of upsert: the same rows settle. One statement may not touch a row twice
   * (PostgreSQL refuses), so a result_id repeated in the batch keeps its first copy only: one after
   * it would find the row finished and change nothing, as it does one statement at a time.
   */
  function upsertBatched(rows: readonly ResultRow[]): ResultRow[] {
    const unique = new Map<string, ResultRow>();
    for (const r of rows) if (!unique.has(r.result_id)) unique.set(r.result_id, r);
    const list = [...unique.values()];
    const settled: ResultRow[] = [];
    for (let at = 0; at < list.length; ) {
      let n = MAX_CHUNK;
      while (n > list.length - at) n >>= 1;
      const chunk = list.slice(at, at + n);
      at += n;
      for (const id of chunkStatement(n).all(chunk.flatMap(values))) settled.push(unique.get(id)!);
    }
    return settled;
  }

  function detailView(r: DetailDbRow): ResultDetail {
    return {
      ...summary(r),
      stdout: r.stdout,
      stderr: r.stderr,
      expires_at: t(r.expires_at),
      parent_result_id: r.parent_result_id,
    };
  }
}
export type ResultStore = ReturnType<typeof createResultStore>;
