// One sweep of the sweeper (upstream cleanup.rs), with one `now` for every
// step:
// 1. executions still pending an hour after they were initiated -> expired
//    (nobody answered: agents offline, or a target that matched nothing);
// 2. orphaned in-flight results are reaped: past their expires_at, or,
//    without one, 24 h after they started. Each reaped row finishes with
//    exit_code -1, and its execution's failure counter moves in the same
//    transaction, so the execution can complete; a late real result still
//    overwrites the row (see store/results.ts);
// 3. retention: rows older than each table's window are deleted in batches
//    of 10,000, at most 10 batches per table per sweep, yielding between
//    batches so the HTTP event loop and the ingest writer get their turn.
import type { Store } from '../store/index.js';

export const PENDING_EXPIRY_MS = 60 * 60 * 1000;
export const REAP_FALLBACK_MS = 24 * 60 * 60 * 1000;
export const BATCH_ROWS = 10_000;
export const MAX_BATCHES = 10;

export interface SweepReport {
  expired: number;
  reaped: number;
  deleted: Record<string, number>;
}

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export async function sweep(store: Store, now: number): Promise<SweepReport> {
  const report: SweepReport = { expired: 0, reaped: 0, deleted: {} };
  report.expired = store.tx(() => store.executions.expirePending(now - PENDING_EXPIRY_MS));

  for (let batch = 0; batch < MAX_BATCHES; batch++) {
    const n = store.tx(() => {
      const { reaped, deltas } = store.results.reap(now, now - REAP_FALLBACK_MS, BATCH_ROWS);
      store.executions.bump(deltas);
      return reaped;
    });
    report.reaped += n;
    if (n < BATCH_ROWS) break;
    await yieldToLoop();
  }

  for (const rule of store.retention.activeRules()) {
    let total = 0;
    for (let batch = 0; batch < MAX_BATCHES; batch++) {
      const n = store.tx(() => store.retention.deleteBatch(rule, now, BATCH_ROWS));
      total += n;
      if (n < BATCH_ROWS) break;
      await yieldToLoop();
    }
    if (total > 0) report.deleted[rule.table] = total;
  }
  return report;
}
