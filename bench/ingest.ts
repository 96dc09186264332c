// `npm run bench -- ingest --samples 1000000`: a burst of host_perf samples
// through NATS into SQLite by the real backend (its host_perf projector in the
// ingest worker), next to a raw better-sqlite3 batched insert of the identical
// rows into the identical table, measured in the same run. The ratio is the
// projector's cost on top of SQLite itself (decode, validate, rollup, batching).
//
// Core NATS is lossy by design, so the publisher paces itself: it never gets
// more than `--window` samples ahead of what is already in the database, which
// keeps the broker's per-client buffer far from its slow-consumer limit.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import Database from 'better-sqlite3';
import { openDb } from '../packages/backend/src/store/db.js';
import { startBackend } from '../test-support/backend.js';
import { startNats } from '../test-support/nats-server.js';
import { arg, cpuSeconds, round, sleep } from './lib.js';

const PCS = 10_000;
const T0 = Date.UTC(2026, 0, 1);

interface Sample {
  pc_id: string;
  at: string;
  atMs: number;
  cpu_pct: number;
  cpu_count: number;
  mem_used_bytes: number;
  mem_total_bytes: number;
  swap_used_bytes: number;
  swap_total_bytes: number;
  disk_read_bytes_per_sec: number;
  disk_written_bytes_per_sec: number;
  net_rx_bytes_per_sec: number;
  net_tx_bytes_per_sec: number;
}

function sample(i: number): Sample {
  const atMs = T0 + Math.floor(i / PCS) * 60_000;
  const x = (i * 2654435761) % 1000;
  return {
    pc_id: `bench-${String(i % PCS).padStart(5, '0')}`,
    at: new Date(atMs).toISOString(),
    atMs,
    cpu_pct: x / 10,
    cpu_count: 8,
    mem_used_bytes: 4_000_000_000 + x * 1_000_000,
    mem_total_bytes: 16_000_000_000,
    swap_used_bytes: x * 1000,
    swap_total_bytes: 2_000_000_000,
    disk_read_bytes_per_sec: x * 1.5,
    disk_written_bytes_per_sec: x * 2.5,
    net_rx_bytes_per_sec: x * 10.25,
    net_tx_bytes_per_sec: x * 3.75,
  };
}

/** The baseline: the same rows into the same schema with one prepared INSERT, 10,000 per transaction. */
function rawInsert(n: number, batch: number): { seconds: number; rows: number } {
  const dir = mkdtempSync(join(tmpdir(), 'kanade-bench-raw-'));
  try {
    const db = openDb(join(dir, 'raw.db'));
    const insert = db.prepare(
      `INSERT INTO host_perf_samples (pc_id, at, cpu_pct, cpu_count, mem_used_bytes, mem_total_bytes,
         swap_used_bytes, swap_total_bytes, disk_read_bytes_per_sec, disk_written_bytes_per_sec,
         net_rx_bytes_per_sec, net_tx_bytes_per_sec)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (pc_id, at) DO NOTHING`,
    );
    const started = performance.now();
    let rows = 0;
    for (let i = 0; i < n; i += batch) {
      const rowsOf = Array.from({ length: Math.min(batch, n - i) }, (_, k) => sample(i + k));
      db.transaction(() => {
        for (const s of rowsOf) {
          rows += insert.run(
            s.pc_id,
            s.atMs,
            s.cpu_pct,
            s.cpu_count,
            s.mem_used_bytes,
            s.mem_total_bytes,
            s.swap_used_bytes,
            s.swap_total_bytes,
            s.disk_read_bytes_per_sec,
            s.disk_written_bytes_per_sec,
            s.net_rx_bytes_per_sec,
            s.net_tx_bytes_per_sec,
          ).changes;
        }
      })();
    }
    const seconds = (performance.now() - started) / 1000;
    db.close();
    return { seconds, rows };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(args: string[]) {
  const n = Number(arg(args, 'samples', '1000000'));
  const window = Number(arg(args, 'window', '100000'));
  if (!Number.isInteger(n) || n <= 0) throw new Error('--samples must be a positive integer');

  process.stderr.write(`[ingest] raw batched insert of ${n} rows...\n`);
  const raw = rawInsert(n, 10_000);

  const nats = await startNats();
  const be = await startBackend({ natsUrl: nats.url, env: { KANADE_TELEMETRY_FLUSH_MS: '1000' } });
  const nc = await connect({ servers: nats.url });
  const reader = new Database(join(be.dataDir, 'kanade.db'), { readonly: true });
  // The per-minute rollup counts exactly the inserted samples and is ~100 rows, so polling it is nearly free
  // (a COUNT(*) over the growing sample table would steal CPU from the system under test).
  const count = reader.prepare<[], { n: number }>(
    'SELECT COALESCE(SUM(samples), 0) AS n FROM fleet_perf_minutes',
  );
  try {
    process.stderr.write(`[ingest] publishing ${n} samples through NATS to the backend...\n`);
    const cpu0 = cpuSeconds(be.proc.pid!);
    const started = performance.now();
    let published = 0;
    let stored = 0;
    while (published < n) {
      const upto = Math.min(n, stored + window);
      for (; published < upto; published++) {
        const { atMs: _at, ...body } = sample(published);
        nc.publish(`host_perf.${body.pc_id}`, JSON.stringify(body));
      }
      await nc.flush();
      await sleep(20);
      stored = count.get()!.n;
    }
    for (let i = 0; stored < n; i++) {
      if (i > 600) throw new Error(`only ${stored} of ${n} samples arrived within 60 s of the last publish`);
      await sleep(100);
      stored = count.get()!.n;
    }
    const seconds = (performance.now() - started) / 1000;
    const cpu = cpuSeconds(be.proc.pid!) - cpu0;
    const projectorRate = n / seconds;
    const rawRate = raw.rows / raw.seconds;
    process.stderr.write(
      `[ingest] projector ${round(projectorRate, 0)} rows/s, raw ${round(rawRate, 0)} rows/s, ratio ${round(projectorRate / rawRate, 2)}\n`,
    );
    return {
      samples: n,
      projector: {
        seconds: round(seconds, 2),
        rows_per_sec: round(projectorRate, 0),
        backend_cpu_seconds: round(cpu, 2),
      },
      raw_batched_insert: { seconds: round(raw.seconds, 2), rows_per_sec: round(rawRate, 0) },
      ratio_projector_to_raw: round(projectorRate / rawRate, 3),
    };
  } finally {
    reader.close();
    await nc.close();
    await be.kill();
    rmSync(be.dataDir, { recursive: true, force: true });
    await nats.stop();
  }
}
