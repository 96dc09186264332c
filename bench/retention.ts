// `npm run bench -- retention [--rows 1000000] [--store sqlite|postgres]`: how
// fast the sweeper's retention removes expired host_perf samples, and what it
// costs the writer.
//
// A fresh store gets --rows samples older than the 30-day window (from 1,000
// hosts, one per minute) and as many young ones. Then:
// (a) sweep(): batches of 10,000 with the sweeper's rests between them;
//     reported as rows/s over the whole sweep and the share of that time
//     spent inside delete transactions, BEGIN to COMMIT (the writer is free
//     for the rest); on SQLite most of a transaction is its COMMIT, which
//     writes the pages the delete dirtied to the WAL, so the log also gives
//     the time in the DELETE statements alone;
// (b) the same rows deleted back to back in the same batches, no rests: the
//     rate the database itself allows. The ratio (a)/(b) is the price of
//     leaving the ingest writer its turn (about 1/(1 + REST_FACTOR)).
// The sizing question is whether (a) outpaces a fleet's insert rate:
// 100,000 agents add 1,667 host_perf rows/s, 1,000,000 add 16,667.
//
// --store sqlite (the default) uses a SQLite file in a temp dir.
// --store postgres starts a throwaway PostgreSQL server
// (test-support/postgres.ts), runs (a) in a fresh database and (b) in the
// same database dropped and created again, and stops the server at the end,
// also when the bench fails. Its fill sends multi-row INSERTs (1,000 rows a
// statement, 50 statements a transaction: one round trip through the bridge),
// then VACUUM ANALYZE and CHECKPOINT, so the deletes meet a table in the state
// autovacuum keeps a long-lived one in (statistics, hint bits) and do not pay
// for writing out the fill. Besides the result, the log (stderr) gives the
// CPU seconds of the PostgreSQL server and of this process in each phase.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Statement } from 'better-sqlite3';
import { createStore, openDb, type Store } from '../packages/backend/src/store/index.js';
import { RETENTION_RULES } from '../packages/backend/src/store/retention.js';
import { BATCH_ROWS, REST_FACTOR, sweep } from '../packages/backend/src/sweeper/sweep.js';
import { recreateDatabase, startPostgres, type TestPostgres } from '../test-support/postgres.js';
import { arg, round, treeCpuSeconds } from './lib.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const HOSTS = 1000;
/** Rows per multi-row INSERT on PostgreSQL (4 parameters each, far below its 65,535). */
const PG_INSERT_ROWS = 1000;
/** Multi-row INSERTs per fill transaction on PostgreSQL (the bridge sends them in one round trip). */
const PG_INSERTS_PER_TX = 50;

type StoreName = 'sqlite' | 'postgres';

function log(line: string) {
  process.stderr.write(`[retention] ${line}\n`);
}

/** Sample number `done` of a series starting at `start`: pc_id, at, cpu_pct, mem_used_bytes. */
function sample(start: number, done: number): [string, number, number, number] {
  const minute = Math.floor(done / HOSTS);
  return [`pc-${done % HOSTS}`, start + minute * 60_000, (done % 97) + 0.5, 8e9 + done];
}

/** Expired rows end a day past the window; young rows start a day inside it. */
function seriesStarts(rows: number, now: number): [number, number] {
  const minutes = Math.ceil(rows / HOSTS);
  return [now - 31 * DAY_MS - minutes * 60_000, now - 29 * DAY_MS];
}

const COLUMNS = 'host_perf_samples (pc_id, at, cpu_pct, cpu_count, mem_used_bytes, mem_total_bytes)';
const ROW = '(?, ?, ?, 4, ?, 17179869184)';

/** SQLite: one prepared INSERT per row, 50,000 rows a transaction. */
function fillSqlite(store: Store, rows: number, now: number) {
  const insert = store.db.prepare(`INSERT INTO ${COLUMNS} VALUES ${ROW}`);
  const series = (start: number, n: number) => {
    for (let done = 0; done < n; ) {
      store.tx(() => {
        for (let k = 0; k < 50_000 && done < n; k++, done++) insert.run(...sample(start, done));
      });
    }
  };
  for (const start of seriesStarts(rows, now)) series(start, rows);
}

/** PostgreSQL: multi-row INSERTs, so that 2 million rows are not 2 million statements. */
function fillPostgres(store: Store, rows: number, now: number) {
  const inserts = new Map<number, Statement<unknown[]>>();
  const insertOf = (n: number) => {
    let stmt = inserts.get(n);
    if (!stmt) {
      stmt = store.db.prepare<unknown[]>(`INSERT INTO ${COLUMNS} VALUES ${Array(n).fill(ROW).join(', ')}`);
      inserts.set(n, stmt);
    }
    return stmt;
  };
  const series = (start: number, n: number) => {
    for (let done = 0; done < n; ) {
      store.tx(() => {
        for (let k = 0; k < PG_INSERTS_PER_TX && done < n; k++) {
          const m = Math.min(PG_INSERT_ROWS, n - done);
          const values: unknown[] = [];
          for (let i = 0; i < m; i++, done++) values.push(...sample(start, done));
          insertOf(m).run(...values);
        }
      });
    }
  };
  for (const start of seriesStarts(rows, now)) series(start, rows);
  // Outside a transaction (VACUUM refuses to run in one); the server was started as superuser.
  store.db.exec('VACUUM ANALYZE host_perf_samples');
  store.db.exec('CHECKPOINT');
}

interface Fresh {
  store: Store;
  dispose(): Promise<void>;
}

/** Where the stores live: a temp dir per store (SQLite) or one throwaway server (PostgreSQL). */
interface Engine {
  fresh(rows: number, now: number): Promise<Fresh>;
  /** CPU seconds of the database server so far (0 for SQLite, which runs in this process). */
  serverCpu(): number;
  stop(): Promise<void>;
}

function sqliteEngine(): Engine {
  return {
    async fresh(rows, now) {
      const dir = mkdtempSync(join(tmpdir(), 'kanade-bench-retention-'));
      let store: Store | undefined;
      try {
        store = createStore(openDb(join(dir, 'kanade.db')));
        fillSqlite(store, rows, now);
      } catch (err) {
        store?.db.close();
        rmSync(dir, { recursive: true, force: true });
        throw err;
      }
      const s = store;
      return {
        store: s,
        async dispose() {
          s.db.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
    serverCpu: () => 0,
    async stop() {},
  };
}

async function postgresEngine(): Promise<Engine> {
  log('starting a throwaway PostgreSQL server...');
  const server: TestPostgres = await startPostgres();
  /** One database, dropped and created again for each fresh store. */
  let url: string | undefined;
  return {
    async fresh(rows, now) {
      if (url) await recreateDatabase(server.url, url);
      else url = await server.createDatabase();
      const db = openDb({ sqlitePath: '', postgresUrl: url });
      try {
        const store = createStore(db);
        fillPostgres(store, rows, now);
        return {
          store,
          async dispose() {
            db.close();
          },
        };
      } catch (err) {
        db.close();
        throw err;
      }
    },
    serverCpu() {
      const postmaster = server.postmasterPid();
      return postmaster === undefined ? 0 : treeCpuSeconds(postmaster);
    },
    stop: () => server.stop(),
  };
}

const count = (store: Store) =>
  store.db.prepare<[], number>('SELECT COUNT(*) FROM host_perf_samples').pluck().get() ?? 0;

/** CPU seconds of the server and of this process (every thread, the PostgreSQL bridge's included). */
function cpuNow(engine: Engine) {
  const u = process.cpuUsage();
  return { server: engine.serverCpu(), self: (u.user + u.system) / 1e6 };
}

function logCpu(
  phase: string,
  store: StoreName,
  seconds: number,
  from: ReturnType<typeof cpuNow>,
  engine: Engine,
) {
  const to = cpuNow(engine);
  const self = round(to.self - from.self, 1);
  if (store === 'postgres')
    log(
      `${phase}: ${round(seconds, 2)} s; CPU: PostgreSQL server ${round(to.server - from.server, 1)} s, bench process ${self} s`,
    );
  else log(`${phase}: ${round(seconds, 2)} s; CPU: bench process (SQLite in it) ${self} s`);
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const rows = Number(arg(args, 'rows', '1000000'));
  const store = arg(args, 'store', 'sqlite') as StoreName;
  if (!Number.isInteger(rows) || rows <= 0) throw new Error('--rows must be a positive integer');
  if (store !== 'sqlite' && store !== 'postgres') throw new Error('--store is sqlite or postgres');
  const now = Date.now();
  const rule = RETENTION_RULES.find((r) => r.table === 'host_perf_samples')!;

  const engine = store === 'postgres' ? await postgresEngine() : sqliteEngine();
  let swept: { seconds: number; inTx: number };
  let rawSeconds: number;
  try {
    log(`filling ${rows} expired and ${rows} young host_perf samples (${store})...`);
    let t = performance.now();
    const a = await engine.fresh(rows, now);
    log(`filled in ${round((performance.now() - t) / 1000, 1)} s`);
    try {
      // Time inside each whole transaction that deleted (with its BEGIN and COMMIT: how long the sweep
      // holds the write lock) and, for the log, inside the DELETE statements alone.
      let inStatements = 0;
      let inTx = 0;
      let deleting = false;
      const deleteBatch = a.store.retention.deleteBatch;
      a.store.retention.deleteBatch = (r, n, limit) => {
        deleting = true;
        const t = performance.now();
        try {
          return deleteBatch(r, n, limit);
        } finally {
          inStatements += performance.now() - t;
        }
      };
      const tx = a.store.tx;
      a.store.tx = <T>(fn: () => T): T => {
        deleting = false;
        const t = performance.now();
        try {
          return tx(fn);
        } finally {
          if (deleting) inTx += performance.now() - t;
        }
      };
      log('sweeping...');
      const cpu = cpuNow(engine);
      t = performance.now();
      const report = await sweep(a.store, now, { budgetMs: 10 * 60_000 });
      swept = { seconds: (performance.now() - t) / 1000, inTx: inTx / 1000 };
      logCpu('sweep', store, swept.seconds, cpu, engine);
      log(
        `sweep: ${round(swept.inTx, 2)} s in whole delete transactions, ${round(inStatements / 1000, 2)} s of it in the DELETE statements`,
      );
      if (report.deleted.host_perf_samples !== rows || count(a.store) !== rows)
        throw new Error(`sweep deleted ${report.deleted.host_perf_samples} of ${rows}`);
    } finally {
      await a.dispose();
    }

    log('the same rows back to back...');
    const b = await engine.fresh(rows, now);
    try {
      const cpu = cpuNow(engine);
      t = performance.now();
      let deleted = 0;
      for (;;) {
        const n = b.store.tx(() => b.store.retention.deleteBatch(rule, now, BATCH_ROWS));
        deleted += n;
        if (n < BATCH_ROWS) break;
      }
      rawSeconds = (performance.now() - t) / 1000;
      logCpu('back to back', store, rawSeconds, cpu, engine);
      if (deleted !== rows) throw new Error(`back to back deleted ${deleted} of ${rows}`);
    } finally {
      await b.dispose();
    }
  } finally {
    await engine.stop();
  }

  const sweepRate = rows / swept.seconds;
  return {
    store,
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
