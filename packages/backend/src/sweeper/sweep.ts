// One sweep of the sweeper (upstream cleanup.rs), with one `now` for every
// step:
// 1. executions still pending an hour after they were initiated -> expired
//    (nobody answered: agents offline, or a target that matched nothing);
// 2. orphaned in-flight results are reaped: past their expires_at, or,
//    without one, 24 h after they started. Each reaped row finishes with
//    exit_code -1, and its execution's failure counter moves in the same
//    transaction, so the execution can complete; a late real result still
//    overwrites the row (see store/results.ts);
// 3. executions still running when their command left the EXEC stream
//    (max_age, 7 days after the last publish) -> completed, once nothing is
//    in flight: no agent can replay the command any more, so the PCs that
//    never answered never will. Upstream leaves them running for ever, which
//    keeps them in the job's live count and in every later kill;
// 4. retention: rows older than each table's window are deleted in batches
//    of 10,000, one batch per table in turn, until every table is caught up
//    or the sweep's time budget is spent. After each batch the sweep rests
//    three times as long as the batch took, so retention holds the database's
//    write lock at most a quarter of the time and the ingest writer and the
//    HTTP event loop keep their turn. A fixed number of batches per sweep
//    (upstream's shape) cannot keep up with a large fleet: 100,000 agents add
//    1,667 host_perf rows a second, 500,000 per 5-minute sweep.

import { ALL_STREAMS, STREAM } from '@kanade/wire';
import type { Store } from '../store/index.js';
import type { RetentionRule } from '../store/retention.js';

export const PENDING_EXPIRY_MS = 60 * 60 * 1000;
export const REAP_FALLBACK_MS = 24 * 60 * 60 * 1000;
/** How long agents can replay a command: the EXEC stream's max_age. */
export const REPLAY_WINDOW_MS = ALL_STREAMS.find((s) => s.name === STREAM.EXEC)!.maxAgeMs;
export const BATCH_ROWS = 10_000;
/** Batches of reaping per sweep (orphaned runs are few; the next sweep takes the rest). */
export const MAX_REAP_BATCHES = 10;
/** Rest after a retention batch, as a multiple of the time it took (3: at most 25 % of the writer). */
export const REST_FACTOR = 3;

export interface SweepOptions {
  /** Stop starting retention batches after this long (the sweeper passes most of its interval). */
  budgetMs?: number;
}

export interface SweepReport {
  expired: number;
  reaped: number;
  /** Running executions completed because their command can no longer be replayed. */
  settled: number;
  deleted: Record<string, number>;
}

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));
const rest = (ms: number) =>
  ms < 1 ? yieldToLoop() : new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function sweep(store: Store, now: number, opts: SweepOptions = {}): Promise<SweepReport> {
  const started = performance.now();
  const budgetMs = opts.budgetMs ?? 60_000;
  const report: SweepReport = { expired: 0, reaped: 0, settled: 0, deleted: {} };
  report.expired = store.tx(() => store.executions.expirePending(now - PENDING_EXPIRY_MS));

  for (let batch = 0; batch < MAX_REAP_BATCHES; batch++) {
    const n = store.tx(() => {
      const { reaped, deltas } = store.results.reap(now, now - REAP_FALLBACK_MS, BATCH_ROWS);
      store.executions.bump(deltas);
      return reaped;
    });
    report.reaped += n;
    if (n < BATCH_ROWS) break;
    await yieldToLoop();
  }

  // After reaping, which settles the counters of what was in flight.
  report.settled = store.tx(() => store.executions.settleUnanswered(now - REPLAY_WINDOW_MS));

  // Round robin: every table gets a batch before any gets a second one.
  let behind: RetentionRule[] = store.retention.activeRules();
  while (behind.length > 0) {
    const next: RetentionRule[] = [];
    for (const rule of behind) {
      const t = performance.now();
      const n = store.tx(() => store.retention.deleteBatch(rule, now, BATCH_ROWS));
      if (n > 0) report.deleted[rule.table] = (report.deleted[rule.table] ?? 0) + n;
      if (n === BATCH_ROWS) next.push(rule);
      await rest((performance.now() - t) * REST_FACTOR);
    }
    if (performance.now() - started >= budgetMs) break;
    behind = next;
  }
  return report;
}
