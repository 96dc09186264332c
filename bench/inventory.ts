// `npm run bench -- inventory [--pcs 100000] [--rows 50] [--requests 300]`:
// latency of GET /api/inventory/{manifest}/search/{field} on the built
// backend over an explode table of --pcs PCs x --rows software rows each
// (target: p99 < 200 ms for an indexed equality filter).
//
// The table is filled before the backend starts, through the same store
// functions the results projector uses (explode.ensure + explode.replace, one
// transaction per 1000 PCs), because pushing 100,000 inventory results through
// NATS would measure ingest, not search. The manifest is then uploaded through
// the API, and each query shape is timed over --requests sequential requests
// (after a warm-up), end to end over HTTP with the default page of 1000 rows.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStore, openDb } from '../packages/backend/src/store/index.js';
import { startBackend } from '../test-support/backend.js';
import { startNats } from '../test-support/nats-server.js';
import { arg, round, summarize } from './lib.js';

const JOB_ID = 'bench-software';
const SPEC = {
  field: 'software',
  table: 'bench_software',
  primary_key: ['name'],
  columns: [
    { field: 'name', index: true },
    { field: 'version' },
    { field: 'publisher', index: true },
    { field: 'size_mb', type: 'integer', index: true },
  ],
  track_history: true,
};
const MANIFEST = {
  id: JOB_ID,
  version: '1',
  execute: { shell: 'sh', script: 'true', timeout: '5m' },
  inventory: { display: [{ field: 'hostname', label: 'Host' }], explode: [SPEC] },
};
/** Installed on every PC: an equality filter on these matches the whole fleet. */
const UNIVERSAL = ['Microsoft Edge', 'Google Chrome', '7-Zip', 'Adobe Acrobat Reader', 'Microsoft Teams'];
const CATALOG = 2000;

function log(line: string) {
  process.stderr.write(`[inventory] ${line}\n`);
}

/** Deterministic pseudo-random integer in [0, n) for (a, b). */
const pick = (a: number, b: number, n: number) => (((a * 2654435761) ^ (b * 40503)) >>> 0) % n;

function rowsOf(pc: number, rows: number): (string | number)[][] {
  const out: (string | number)[][] = [];
  const seen = new Set<string>();
  for (const name of UNIVERSAL.slice(0, rows)) {
    out.push([name, `${100 + pick(pc, name.length, 30)}.0`, name.split(' ')[0]!, 100 + pick(pc, 7, 400)]);
    seen.add(name);
  }
  for (let k = 0; out.length < rows; k++) {
    const id = pick(pc, k + 17, CATALOG);
    const name = `App ${String(id).padStart(4, '0')}`;
    if (seen.has(name)) continue;
    seen.add(name);
    out.push([name, `${1 + (id % 9)}.${pick(pc, k, 20)}`, `Vendor ${id % 97}`, 1 + pick(id, pc % 5, 2000)]);
  }
  return out;
}

function fill(path: string, pcs: number, rows: number) {
  const db = openDb(path);
  const store = createStore(db);
  const now = Date.now();
  const started = performance.now();
  store.tx(() => store.explode.ensure(SPEC, JOB_ID, now));
  for (let first = 0; first < pcs; first += 1000) {
    store.tx(() => {
      for (let pc = first; pc < Math.min(pcs, first + 1000); pc++) {
        store.explode.replace(SPEC, `bench-${String(pc).padStart(6, '0')}`, JOB_ID, now, rowsOf(pc, rows));
      }
    });
    if (first % 20_000 === 0) log(`filled ${first} / ${pcs} PCs`);
  }
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return (performance.now() - started) / 1000;
}

export async function run(args: string[]) {
  const pcs = Number(arg(args, 'pcs', '100000'));
  const rows = Number(arg(args, 'rows', '50'));
  const requests = Number(arg(args, 'requests', '300'));
  const dataDir = mkdtempSync(join(tmpdir(), 'kanade-bench-inv-'));
  const dbPath = join(dataDir, 'kanade.db');
  const nats = await startNats();
  try {
    log(`filling ${pcs} PCs x ${rows} rows`);
    const fillSeconds = fill(dbPath, pcs, rows);
    const be = await startBackend({ natsUrl: nats.url, dataDir });
    try {
      const up = await be.fetch('/api/jobs', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(MANIFEST),
      });
      if (!up.ok) throw new Error(`POST /api/jobs: ${up.status} ${await up.text()}`);

      const shapes: Record<string, (i: number) => string> = {
        // Matches every PC; the first page of 1000 rows comes straight off the index.
        eq_common: (i) => `name=${encodeURIComponent(UNIVERSAL[i % UNIVERSAL.length]!)}`,
        // Matches a few hundred to a few thousand PCs.
        eq_catalog: (i) => `name=${encodeURIComponent(`App ${String((i * 37) % CATALOG).padStart(4, '0')}`)}`,
        eq_catalog_page3: (i) =>
          `name=${encodeURIComponent(`App ${String((i * 37) % CATALOG).padStart(4, '0')}`)}&offset=2000`,
        eq_and_range: (i) =>
          `publisher=${encodeURIComponent(`Vendor ${i % 97}`)}&size_mb__ge=${(i * 13) % 1500}`,
        prefix: (i) => `name__prefix=${encodeURIComponent(`App ${String(i % 20).padStart(2, '0')}`)}`,
      };
      const result: Record<string, unknown> = {};
      for (const [shape, qs] of Object.entries(shapes)) {
        for (let i = 0; i < 10; i++) await be.fetch(`/api/inventory/${JOB_ID}/search/software?${qs(i)}`);
        const samples: number[] = [];
        let rowsReturned = 0;
        for (let i = 0; i < requests; i++) {
          const t = performance.now();
          const r = await be.fetch(`/api/inventory/${JOB_ID}/search/software?${qs(i)}`);
          const body = (await r.json()) as unknown[];
          samples.push(performance.now() - t);
          if (!r.ok) throw new Error(`${shape}: HTTP ${r.status} ${JSON.stringify(body)}`);
          rowsReturned += body.length;
        }
        result[shape] = { ...summarize(samples), avg_rows: round(rowsReturned / requests) };
        log(`${shape}: ${JSON.stringify(result[shape])}`);
      }
      const eq = result.eq_common as { p99_ms: number };
      return {
        pcs,
        rows_per_pc: rows,
        table_rows: pcs * rows,
        db_mb: round(statSync(dbPath).size / 1024 / 1024),
        fill_seconds: round(fillSeconds),
        requests_per_shape: requests,
        ...result,
        target: { indexed_equality_p99_ms_below: 200, met: eq.p99_ms < 200 },
      };
    } finally {
      await be.stop();
    }
  } finally {
    await nats.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
