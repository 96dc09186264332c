// `npm run bench -- retention [--rows 1000000]`: how fast the sweeper's
// retention removes expired host_perf samples, and what it costs the writer.
//
// A fresh SQLite store gets --rows samples older than the 30-day window (from
// 1,000 hosts, one per minute) and as many young ones. Then:
// (a) sweep(): batches of 10,000 with the sweeper's rests between them;
//     reported as rows/s over the whole sweep and the share of that time
//     spent inside delete transactions (the writer is free for the rest);
// (b) the same rows deleted back to back in the same batches, no rests: the
//     rate the database itself allows. The ratio (a)/(b) is the price of
//     leaving the ingest writer its turn (about 1/(1 + REST_FACTOR)).
// The sizing question is whether (a) outpaces a fleet's insert rate:
// 100,000 agents add 1,667 host_perf rows/s, 1,000,000 add 16,667.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStore, openDb, type Store } from '../packages/backend/src/store/index.js';
import { RETENTION_RULES } from '../packages/backend/src/store/retention.js';
import { BATCH_ROWS, REST_FACTOR, sweep } from '../packages/backend/src/sweeper/sweep.js';
import { arg, round } from './lib.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const HOSTS = 1000;

function log(line: string) {
  process.stderr.write(`[retention] ${line}\n`);
}

function fill(store: Store, rows: number, now: number) {
  const insert = store.db.prepare(
    `INSERT INTO host_perf_samples (pc_id, at, cpu_pct, cpu_count, mem_used_bytes, mem_total_bytes)
     VALUES (?, ?, ?, 4, ?, 17179869184)`,
  );
  // Expired rows end a day past the window; young rows start a day inside it.
  const series = (start: number, n: number) => {
    for (let done = 0; done < n; ) {
      store.tx(() => {
        for (let k = 0; k < 50_000 && done < n; k++, done++) {
          const minute = Math.floor(done / HOSTS);
          insert.run(`pc-${done % HOSTS}`, start + minute * 60_000, (done % 97) + 0.5, 8e9 + done);
        }
      });
    }
  };
  const minutes = Math.ceil(rows / HOSTS);
  series(now - 31 * DAY_MS - minutes * 60_000, rows);
  series(now - 29 * DAY_MS, rows);
}

function freshStore(rows: number, now: number) {
  const dir = mkdtempSync(join(tmpdir(), 'kanade-bench-retention-'));
  const store = createStore(openDb(join(dir, 'kanade.db')));
  fill(store, rows, now);
  return { dir, store };
}

const count = (store: Store) =>
  store.db.prepare<[], number>('SELECT COUNT(*) FROM host_perf_samples').pluck().get() ?? 0;

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const rows = Number(arg(args, 'rows', '1000000'));
  if (!Number.isInteger(rows) || rows <= 0) throw new Error('--rows must be a positive integer');
  const now = Date.now();
  const rule = RETENTION_RULES.find((r) => r.table === 'host_perf_samples')!;

  log(`filling ${rows} expired and ${rows} young host_perf samples...`);
  const a = freshStore(rows, now);
  let swept: { seconds: number; inTx: number };
  try {
    // Time inside the delete transactions, measured around each deleteBatch the sweep makes.
    let inTx = 0;
    const deleteBatch = a.store.retention.deleteBatch;
    a.store.retention.deleteBatch = (r, n, limit) => {
      const t = performance.now();
      try {
        return deleteBatch(r, n, limit);
      } finally {
        inTx += performance.now() - t;
      }
    };
    log('sweeping...');
    const t = performance.now();
    const report = await sweep(a.store, now, { budgetMs: 10 * 60_000 });
    swept = { seconds: (performance.now() - t) / 1000, inTx: inTx / 1000 };
    if (report.deleted.host_perf_samples !== rows || count(a.store) !== rows)
      throw new Error(`sweep deleted ${report.deleted.host_perf_samples} of ${rows}`);
  } finally {
    a.store.db.close();
    rmSync(a.dir, { recursive: true, force: true });
  }

  log('the same rows back to back...');
  const b = freshStore(rows, now);
  let rawSeconds: number;
  try {
    const t = performance.now();
    let deleted = 0;
    for (;;) {
      const n = b.store.tx(() => b.store.retention.deleteBatch(rule, now, BATCH_ROWS));
      deleted += n;
      if (n < BATCH_ROWS) break;
    }
    rawSeconds = (performance.now() - t) / 1000;
    if (deleted !== rows) throw new Error(`back to back deleted ${deleted} of ${rows}`);
  } finally {
    b.store.db.close();
    rmSync(b.dir, { recursive: true, force: true });
  }

  const sweepRate = rows / swept.seconds;
  return {
    store: 'sqlite',
    rows_expired: rows,
    rows_kept: rows,
    batch_rows: BATCH_ROWS,
    rest_factor: REST_FACTOR,
    sweep: {
      seconds: round(swept.seconds, 2),
      rows_per_sec: round(sweepRate, 0),
      share_in_transactions: round(swept.inTx / swept.seconds, 2),
    },
    back_to_back: { seconds: round(rawSeconds, 2), rows_per_sec: round(rows / rawSeconds, 0) },
    ratio: round(sweepRate / (rows / rawSeconds), 2),
    fleet_agents_kept_up_with: round(sweepRate * 60, 0),
  };
}
