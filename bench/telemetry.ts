// `npm run bench -- telemetry --agents 100000 --duration 120s`: the real
// backend (child process) fed by the fleet simulator (another child process)
// at upstream cadence (30 s heartbeat, 60 s host_perf), while this process
// measures API latency. Reports offered and received msgs/s, loss, write
// transactions per second per projector, backend CPU and peak RSS, and the
// p50/p99 of `/api/agents?limit=50` and of a 24 h `/api/agents/{pc}/perf`.
//
// So that the perf query reads a real day of data, 24 h of one-minute
// samples for 1,000 of the simulated agents are written into the database
// before the backend starts.
//
// `--store postgres --replicas N` (issue #10) runs that single-node SQLite
// measurement first and then, in the same run, the same fleet and offered
// rate against N backend replicas sharing one throwaway PostgreSQL server
// (test-support/postgres.ts) and one broker (a fresh one, so the second phase
// starts from the same empty state). Per replica it reports the rows it wrote
// (its /metrics projector counters), its share of the writes, write tx/s,
// CPU and peak RSS; for the set: loss, duplicates (every message delivered to
// exactly one replica, and host_perf rows against distinct keys in
// PostgreSQL), the CPU of the PostgreSQL server and of the broker, and the
// set's rows/s as a ratio of the SQLite node's. The API probes run in both
// phases (round-robin over the replicas), so both carry the same read load.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseDuration } from '@kanade/wire';
import { openDb } from '../packages/backend/src/store/db.js';
import { startBackend, type TestBackend } from '../test-support/backend.js';
import { startNats } from '../test-support/nats-server.js';
import { startPostgres } from '../test-support/postgres.js';
import { arg, cpuSeconds, round, rssBytes, scrape, sleep, summarize, treeCpuSeconds } from './lib.js';

const SIM_MAIN = join(import.meta.dirname, '../packages/sim/dist/main.js');
const HISTORY_PCS = 1000;
const PREFIX = 'bench';
const PROJECTORS = ['heartbeat', 'host_perf'] as const;
/** Replicas share the API token and the session key, as docs/scale-out.md asks of a replica set. */
const TOKEN = 'bench-telemetry-static-token-0123456789';
const JWT_SECRET = 'bench-telemetry-jwt-secret-0123456789abcdef';

function seedHistory(dbPath: string, prefix: string, now: number) {
  const db = openDb(dbPath);
  const insert = db.prepare(
    `INSERT INTO host_perf_samples (pc_id, at, cpu_pct, cpu_count, mem_used_bytes, mem_total_bytes,
       disk_read_bytes_per_sec, disk_written_bytes_per_sec, net_rx_bytes_per_sec, net_tx_bytes_per_sec)
     VALUES (?, ?, ?, 8, ?, 16000000000, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
  );
  const start = now - 24 * 3_600_000;
  for (let p = 1; p <= HISTORY_PCS; p++) {
    const pc = `${prefix}-${String(p).padStart(6, '0')}`;
    db.transaction(() => {
      for (let t = start; t < now; t += 60_000) {
        const x = (t / 60_000 + p) % 100;
        insert.run(pc, t - (t % 1000), x, 4e9 + x * 1e7, x * 100, x * 200, x * 1000, x * 500);
      }
    })();
  }
  db.close();
}

/** The same day of history in PostgreSQL, in one server-side statement (1.44 M rows). */
function seedHistoryPostgres(url: string, prefix: string, now: number) {
  const db = openDb({ sqlitePath: '', postgresUrl: url });
  const start = now - 24 * 3_600_000;
  const first = start - (start % 1000);
  db.exec(
    `INSERT INTO host_perf_samples (pc_id, at, cpu_pct, cpu_count, mem_used_bytes, mem_total_bytes,
       disk_read_bytes_per_sec, disk_written_bytes_per_sec, net_rx_bytes_per_sec, net_tx_bytes_per_sec)
     SELECT '${prefix}-' || lpad(CAST(p AS TEXT), 6, '0'), t, x, 8, 4e9 + x * 1e7, 16000000000,
       x * 100, x * 200, x * 1000, x * 500
     FROM generate_series(1, ${HISTORY_PCS}) AS p,
          generate_series(${first}, ${now - 1}, 60000) AS t,
          LATERAL (SELECT CAST((t / 60000 + p) % 100 AS DOUBLE PRECISION) AS x) AS v
     ON CONFLICT DO NOTHING`,
  );
  db.close();
}

async function metrics(be: TestBackend) {
  const text = await (await be.fetch('/metrics')).text();
  return {
    received: scrape(text, 'kanade_projector_received_total'),
    written: scrape(text, 'kanade_projector_written_total'),
    flushes: scrape(text, 'kanade_projector_flushes_total'),
    invalid: scrape(text, 'kanade_projector_invalid_total'),
    dropped: scrape(text, 'kanade_projector_dropped_total'),
  };
}
type Metrics = Awaited<ReturnType<typeof metrics>>;

async function timed(be: TestBackend, path: string): Promise<number> {
  const t = performance.now();
  const r = await be.fetch(path);
  await r.arrayBuffer();
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return performance.now() - t;
}

interface Load {
  agents: number;
  durationMs: number;
  heartbeat: string;
  hostPerf: string;
}

const sum = (m: Metrics, k: keyof Metrics) => PROJECTORS.reduce((n, p) => n + (m[k][p] ?? 0), 0);

/**
 * One measurement: the simulated fleet against `backends` on broker `natsUrl`, API probes
 * round-robin over them. `others` are processes whose CPU is reported too (broker, PostgreSQL).
 */
async function drive(natsUrl: string, backends: TestBackend[], load: Load, others: Record<string, number>) {
  const pids = backends.map((be) => be.proc.pid!);
  const m0 = await Promise.all(backends.map(metrics));
  const cpu0 = pids.map(cpuSeconds);
  const others0 = Object.fromEntries(Object.entries(others).map(([k, pid]) => [k, treeCpuSeconds(pid)]));
  const t0 = performance.now();
  process.stderr.write(
    `[telemetry] ${load.agents} simulated agents for ${load.durationMs / 1000} s against ${backends.length} backend(s)...\n`,
  );
  const sim = spawn(
    process.execPath,
    [
      SIM_MAIN,
      '--nats',
      natsUrl,
      '--agents',
      String(load.agents),
      '--duration',
      `${load.durationMs / 1000}s`,
      '--heartbeat',
      load.heartbeat,
      '--host-perf',
      load.hostPerf,
      '--prefix',
      PREFIX,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    let summaryLine = '';
    createInterface({ input: sim.stdout! }).on('line', (l) => {
      summaryLine = l;
    });
    const simExit = new Promise<number | null>((r) => sim.once('exit', (c) => r(c)));
    const listMs: number[] = [];
    const perfMs: number[] = [];
    const peakRss = pids.map(() => 0);
    let done = false;
    void simExit.then(() => {
      done = true;
    });
    const from = new Date(Date.now() - 24 * 3_600_000).toISOString();
    let i = 0;
    while (!done) {
      pids.forEach((pid, k) => {
        peakRss[k] = Math.max(peakRss[k]!, rssBytes(pid));
      });
      const be = backends[i % backends.length]!;
      listMs.push(await timed(be, '/api/agents?limit=50'));
      const pc = `${PREFIX}-${String(1 + (i++ % HISTORY_PCS)).padStart(6, '0')}`;
      perfMs.push(await timed(be, `/api/agents/${pc}/perf?from=${from}&step=15m`));
      await sleep(200);
    }
    if ((await simExit) !== 0) throw new Error('simulator failed');
    const simSummary = JSON.parse(summaryLine) as Record<string, number>;
    const offered = (simSummary.heartbeats_sent ?? 0) + (simSummary.host_perf_sent ?? 0);
    // The last window is flushed within a second and stats arrive every second; a replica set on
    // PostgreSQL may need a little longer: wait until the counters stand still (everything received
    // is written, or, when messages were lost, nothing moved for a second), at most 30 s.
    await sleep(1500);
    let m1 = await Promise.all(backends.map(metrics));
    const drainEnd = Date.now() + 30_000;
    const moved = (ms: Metrics[], k: keyof Metrics) =>
      ms.reduce((n, m, i) => n + sum(m, k) - sum(m0[i]!, k), 0);
    for (let lastWritten = -1, lastReceived = -1; Date.now() < drainEnd; ) {
      const written = moved(m1, 'written');
      const received = moved(m1, 'received');
      if (written === lastWritten && (received >= offered || received === lastReceived)) break;
      lastWritten = written;
      lastReceived = received;
      await sleep(1000);
      m1 = await Promise.all(backends.map(metrics));
    }
    const elapsed = (performance.now() - t0) / 1000;
    const cpu = pids.map((pid, k) => cpuSeconds(pid) - cpu0[k]!);
    pids.forEach((pid, k) => {
      peakRss[k] = Math.max(peakRss[k]!, rssBytes(pid));
    });
    const othersCpu = Object.fromEntries(
      Object.entries(others).map(([k, pid]) => [
        `${k}_cpu_pct`,
        round((100 * (treeCpuSeconds(pid) - others0[k]!)) / elapsed, 1),
      ]),
    );
    const delta = (k: number, key: keyof Metrics, p: string) => (m1[k]![key][p] ?? 0) - (m0[k]![key][p] ?? 0);
    const total = (key: keyof Metrics, p: string) => backends.reduce((n, _, k) => n + delta(k, key, p), 0);
    return {
      elapsed,
      offered,
      simSummary,
      total,
      delta,
      cpu,
      peakRss,
      othersCpu,
      listMs,
      perfMs,
    };
  } finally {
    sim.kill('SIGKILL');
  }
}

type Drive = Awaited<ReturnType<typeof drive>>;

function common(d: Drive, agents: number) {
  const received = PROJECTORS.reduce((n, p) => n + d.total('received', p), 0);
  const rows = PROJECTORS.reduce((n, p) => n + d.total('written', p), 0);
  return {
    agents,
    duration_s: round(d.elapsed, 1),
    offered_msgs_per_sec: round(d.offered / (d.simSummary.duration_s || d.elapsed), 0),
    offered_msgs: d.offered,
    received_msgs: received,
    loss_pct: round(d.offered > 0 ? (100 * Math.max(0, d.offered - received)) / d.offered : 0, 3),
    rows_written: rows,
    rows_per_sec: round(rows / d.elapsed, 0),
  };
}

/** The single-node SQLite measurement (the bench's original behaviour). */
async function sqliteNode(load: Load) {
  const nats = await startNats();
  const dataDir = mkdtempSync(join(tmpdir(), 'kanade-bench-tel-'));
  let be: TestBackend | undefined;
  try {
    process.stderr.write(`[telemetry] seeding 24 h of host_perf for ${HISTORY_PCS} agents (SQLite)...\n`);
    seedHistory(join(dataDir, 'kanade.db'), PREFIX, Date.now());
    // KANADE_POSTGRES_URL='' keeps this node on SQLite whatever the caller's environment says.
    be = await startBackend({
      natsUrl: nats.url,
      dataDir,
      env: { KANADE_TELEMETRY_FLUSH_MS: '1000', KANADE_POSTGRES_URL: '' },
    });
    const d = await drive(nats.url, [be], load, { broker: nats.proc.pid! });
    return {
      ...common(d, load.agents),
      projectors: Object.fromEntries(
        PROJECTORS.map((p) => [
          p,
          {
            received: d.delta(0, 'received', p),
            rows_written: d.delta(0, 'written', p),
            invalid: d.delta(0, 'invalid', p),
            dropped: d.delta(0, 'dropped', p),
            write_tx_per_sec: round(d.delta(0, 'flushes', p) / d.elapsed, 2),
          },
        ]),
      ),
      backend_cpu_pct: round((100 * d.cpu[0]!) / d.elapsed, 1),
      backend_peak_rss_mb: round(d.peakRss[0]! / 1024 / 1024, 1),
      ...d.othersCpu,
      api_agents_limit50: summarize(d.listMs),
      api_agent_perf_24h: summarize(d.perfMs),
      simulator: d.simSummary,
    };
  } finally {
    await be?.kill();
    rmSync(dataDir, { recursive: true, force: true });
    await nats.stop();
  }
}

/** N replicas on one PostgreSQL database and one broker. */
async function postgresReplicas(load: Load, replicas: number) {
  const nats = await startNats();
  const pg = await startPostgres();
  const backends: TestBackend[] = [];
  const dirs: string[] = [];
  try {
    const url = await pg.createDatabase();
    process.stderr.write(`[telemetry] seeding 24 h of host_perf for ${HISTORY_PCS} agents (PostgreSQL)...\n`);
    seedHistoryPostgres(url, PREFIX, Date.now());
    for (let r = 0; r < replicas; r++) {
      const dataDir = mkdtempSync(join(tmpdir(), 'kanade-bench-tel-'));
      dirs.push(dataDir);
      backends.push(
        await startBackend({
          natsUrl: nats.url,
          dataDir,
          env: {
            KANADE_TELEMETRY_FLUSH_MS: '1000',
            KANADE_POSTGRES_URL: url,
            KANADE_AUTH_STATIC_TOKEN: TOKEN,
            KANADE_JWT_SECRET: JWT_SECRET,
          },
        }),
      );
    }
    const postmaster = pg.postmasterPid();
    if (postmaster === undefined) throw new Error('PostgreSQL is not running');
    const phaseStart = Date.now();
    const d = await drive(nats.url, backends, load, { broker: nats.proc.pid!, postgres: postmaster });
    const base = common(d, load.agents);
    const perReplica = Object.fromEntries(
      backends.map((_, k) => {
        const rows = PROJECTORS.reduce((n, p) => n + d.delta(k, 'written', p), 0);
        const flushes = PROJECTORS.reduce((n, p) => n + d.delta(k, 'flushes', p), 0);
        return [
          `replica_${k + 1}`,
          {
            received: PROJECTORS.reduce((n, p) => n + d.delta(k, 'received', p), 0),
            rows_written: rows,
            heartbeat_rows: d.delta(k, 'written', 'heartbeat'),
            host_perf_rows: d.delta(k, 'written', 'host_perf'),
            share_pct: round(base.rows_written ? (100 * rows) / base.rows_written : 0, 1),
            write_tx_per_sec: round(flushes / d.elapsed, 2),
            rows_per_sec: round(rows / d.elapsed, 0),
            cpu_pct: round((100 * d.cpu[k]!) / d.elapsed, 1),
            peak_rss_mb: round(d.peakRss[k]! / 1024 / 1024, 1),
          },
        ];
      }),
    );
    // No record written twice: each message reached exactly one replica, and PostgreSQL holds one
    // row per (pc_id, at) of this phase, as many as the replicas say they wrote.
    const db = openDb({ sqlitePath: '', postgresUrl: url }, { migrate: false });
    const facts = db
      .prepare<[number], { rows: number; keys: number }>(
        `SELECT COUNT(*) AS rows, COUNT(DISTINCT pc_id || '|' || CAST(at AS TEXT)) AS keys
         FROM host_perf_samples WHERE at >= ?`,
      )
      .get(phaseStart - 1000)!;
    // Storage per host_perf row (table, primary key and indexes), for the sizing model.
    const size = db
      .prepare<[], { bytes: number; rows: number }>(
        `SELECT pg_total_relation_size('host_perf_samples') AS bytes, COUNT(*) AS rows FROM host_perf_samples`,
      )
      .get()!;
    db.close();
    const hostPerfWritten = d.total('written', 'host_perf');
    return {
      replicas,
      ...base,
      per_replica: perReplica,
      duplicates: {
        delivered_beyond_offered: Math.max(0, base.received_msgs - base.offered_msgs),
        host_perf_rows_in_postgres: Number(facts.rows),
        host_perf_distinct_keys: Number(facts.keys),
        host_perf_rows_reported_by_replicas: hostPerfWritten,
        host_perf_sent: d.simSummary.host_perf_sent ?? 0,
        duplicate_rows: Number(facts.rows) - Number(facts.keys),
      },
      ...d.othersCpu,
      host_perf_bytes_per_row: round(Number(size.bytes) / Math.max(1, Number(size.rows)), 0),
      api_agents_limit50: summarize(d.listMs),
      api_agent_perf_24h: summarize(d.perfMs),
      simulator: d.simSummary,
    };
  } finally {
    for (const be of backends) await be.kill();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    await pg.stop();
    await nats.stop();
  }
}

export async function run(args: string[]) {
  const agents = Number(arg(args, 'agents', '100000'));
  const durationMs = parseDuration(arg(args, 'duration', '120s'));
  const store = arg(args, 'store', 'sqlite');
  const replicas = Number(arg(args, 'replicas', '2'));
  if (!Number.isInteger(agents) || agents <= 0 || !durationMs) throw new Error('bad --agents or --duration');
  if (store !== 'sqlite' && store !== 'postgres') throw new Error('--store is sqlite or postgres');
  if (!Number.isInteger(replicas) || replicas < 1) throw new Error('bad --replicas');
  const load: Load = {
    agents,
    durationMs,
    heartbeat: arg(args, 'heartbeat', '30s'),
    hostPerf: arg(args, 'host-perf', '60s'),
  };
  const sqlite = await sqliteNode(load);
  if (store === 'sqlite') return sqlite;
  const postgres = await postgresReplicas(load, replicas);
  const shares = Object.values(postgres.per_replica).map((r) => r.share_pct);
  const ratio = round(sqlite.rows_per_sec ? postgres.rows_per_sec / sqlite.rows_per_sec : 0, 2);
  return {
    agents,
    replicas,
    sqlite_single_node: sqlite,
    postgres_replicas: postgres,
    postgres_vs_sqlite_rate_ratio: ratio,
    targets: {
      every_share_40_to_60_pct: shares.every((s) => s >= 40 && s <= 60),
      no_duplicates:
        postgres.duplicates.delivered_beyond_offered === 0 &&
        postgres.duplicates.duplicate_rows === 0 &&
        postgres.duplicates.host_perf_rows_in_postgres ===
          postgres.duplicates.host_perf_rows_reported_by_replicas,
      no_loss: postgres.loss_pct === 0 && sqlite.loss_pct === 0,
      rate_ratio_at_least_0_7: ratio >= 0.7,
    },
  };
}
