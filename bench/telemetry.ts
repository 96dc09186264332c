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
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseDuration } from '@kanade/wire';
import { openDb } from '../packages/backend/src/store/db.js';
import { startBackend, type TestBackend } from '../test-support/backend.js';
import { startNats } from '../test-support/nats-server.js';
import { arg, cpuSeconds, round, rssBytes, scrape, sleep, summarize } from './lib.js';

const SIM_MAIN = join(import.meta.dirname, '../packages/sim/dist/main.js');
const HISTORY_PCS = 1000;

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

async function timed(be: TestBackend, path: string): Promise<number> {
  const t = performance.now();
  const r = await be.fetch(path);
  await r.arrayBuffer();
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return performance.now() - t;
}

export async function run(args: string[]) {
  const agents = Number(arg(args, 'agents', '100000'));
  const durationMs = parseDuration(arg(args, 'duration', '120s'));
  const heartbeat = arg(args, 'heartbeat', '30s');
  const hostPerf = arg(args, 'host-perf', '60s');
  if (!Number.isInteger(agents) || agents <= 0 || !durationMs) throw new Error('bad --agents or --duration');
  const prefix = 'bench';

  const nats = await startNats();
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dataDir = mkdtempSync(join(tmpdir(), 'kanade-bench-tel-'));
  process.stderr.write(`[telemetry] seeding 24 h of host_perf for ${HISTORY_PCS} agents...\n`);
  seedHistory(join(dataDir, 'kanade.db'), prefix, Date.now());
  const be = await startBackend({ natsUrl: nats.url, dataDir, env: { KANADE_TELEMETRY_FLUSH_MS: '1000' } });
  const pid = be.proc.pid!;
  let sim: ReturnType<typeof spawn> | undefined;
  try {
    const m0 = await metrics(be);
    const cpu0 = cpuSeconds(pid);
    const t0 = performance.now();
    process.stderr.write(`[telemetry] ${agents} simulated agents for ${durationMs / 1000} s...\n`);
    sim = spawn(
      process.execPath,
      [
        SIM_MAIN,
        '--nats',
        nats.url,
        '--agents',
        String(agents),
        '--duration',
        `${durationMs / 1000}s`,
        '--heartbeat',
        heartbeat,
        '--host-perf',
        hostPerf,
        '--prefix',
        prefix,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let summaryLine = '';
    createInterface({ input: sim.stdout! }).on('line', (l) => {
      summaryLine = l;
    });
    const simExit = new Promise<number | null>((r) => sim!.once('exit', (c) => r(c)));

    const listMs: number[] = [];
    const perfMs: number[] = [];
    let peakRss = 0;
    let done = false;
    void simExit.then(() => {
      done = true;
    });
    const from = new Date(Date.now() - 24 * 3_600_000).toISOString();
    let i = 0;
    while (!done) {
      peakRss = Math.max(peakRss, rssBytes(pid));
      listMs.push(await timed(be, '/api/agents?limit=50'));
      const pc = `${prefix}-${String(1 + (i++ % HISTORY_PCS)).padStart(6, '0')}`;
      perfMs.push(await timed(be, `/api/agents/${pc}/perf?from=${from}&step=15m`));
      await sleep(200);
    }
    if ((await simExit) !== 0) throw new Error('simulator failed');
    await sleep(1500); // the last window is flushed within a second; stats arrive every second
    const elapsed = (performance.now() - t0) / 1000;
    const cpu = cpuSeconds(pid) - cpu0;
    peakRss = Math.max(peakRss, rssBytes(pid));
    const m1 = await metrics(be);
    const simSummary = JSON.parse(summaryLine) as Record<string, number>;
    const delta = (k: keyof typeof m1, p: string) => (m1[k][p] ?? 0) - (m0[k][p] ?? 0);
    const offered = (simSummary.heartbeats_sent ?? 0) + (simSummary.host_perf_sent ?? 0);
    const received = delta('received', 'heartbeat') + delta('received', 'host_perf');
    const perProjector = Object.fromEntries(
      ['heartbeat', 'host_perf'].map((p) => [
        p,
        {
          received: delta('received', p),
          rows_written: delta('written', p),
          invalid: delta('invalid', p),
          dropped: delta('dropped', p),
          write_tx_per_sec: round(delta('flushes', p) / elapsed, 2),
        },
      ]),
    );
    return {
      agents,
      duration_s: round(elapsed, 1),
      offered_msgs_per_sec: round(offered / (simSummary.duration_s || elapsed), 0),
      offered_msgs: offered,
      received_msgs: received,
      loss_pct: round(offered > 0 ? (100 * (offered - received)) / offered : 0, 3),
      projectors: perProjector,
      backend_cpu_pct: round((100 * cpu) / elapsed, 1),
      backend_peak_rss_mb: round(peakRss / 1024 / 1024, 1),
      api_agents_limit50: summarize(listMs),
      api_agent_perf_24h: summarize(perfMs),
      simulator: simSummary,
    };
  } finally {
    sim?.kill('SIGKILL');
    await be.kill();
    rmSync(dataDir, { recursive: true, force: true });
    await nats.stop();
  }
}
