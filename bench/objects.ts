// `npm run bench -- objects [--mb 200] [--runs 3]`: a file of --mb MiB is
// uploaded through the backend (POST /api/app-packages/..., streamed into
// the object store) and put directly into the same object store with
// nats.js (Objm.put from a file stream, same 128 KiB chunks, node:crypto
// hashing as the backend uses), alternately, --runs times each, in the same
// run on the same broker. Reported: the median MB/s of both, their ratio
// (target >= 0.5), the download rate through the backend, and the growth of
// the backend's resident memory over its idle baseline while it moves the
// bytes (target < 64 MB), sampled from /proc every 20 ms.
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, createReadStream, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { OBJ } from '@kanade/wire';
import { Objm, setSha256Backend } from '@nats-io/obj';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startBackend, type TestBackend } from '../test-support/backend.js';
import { startNats, type TestNats } from '../test-support/nats-server.js';
import { arg, round, rssBytes, sleep } from './lib.js';

const MiB = 1024 * 1024;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function writeFile(path: string, mb: number): string {
  const fd = openSync(path, 'w');
  const hash = createHash('sha256');
  for (let i = 0; i < mb; i++) {
    const chunk = randomBytes(MiB);
    hash.update(chunk);
    writeSync(fd, chunk);
  }
  closeSync(fd);
  return hash.digest('hex');
}

function upload(be: TestBackend, path: string, file: string, size: number, sha256: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${be.url}${path}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${be.token}`,
        'content-type': 'application/octet-stream',
        'content-length': String(size),
        'x-kanade-sha256': sha256,
      },
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () =>
        res.statusCode === 201 ? resolve() : reject(new Error(`upload: ${res.statusCode} ${body}`)),
      );
    });
    req.on('error', reject);
    createReadStream(file).pipe(req);
  });
}

async function download(be: TestBackend, path: string, sha256: string): Promise<void> {
  const r = await be.fetch(path);
  if (!r.ok || !r.body) throw new Error(`download: ${r.status}`);
  const hash = createHash('sha256');
  for await (const chunk of r.body) hash.update(chunk);
  if (hash.digest('hex') !== sha256) throw new Error('download: digest mismatch');
}

export async function run(args: string[]) {
  const mb = Number(arg(args, 'mb', '200'));
  const runs = Number(arg(args, 'runs', '3'));
  if (!Number.isInteger(mb) || mb <= 0 || !Number.isInteger(runs) || runs <= 0)
    throw new Error('--mb and --runs must be positive integers');
  const dir = mkdtempSync(join(tmpdir(), 'kanade-bench-objects-'));
  const file = join(dir, 'payload.bin');
  const size = mb * MiB;
  let nats: TestNats | undefined;
  let be: TestBackend | undefined;
  let nc: NatsConnection | undefined;
  try {
    process.stderr.write(`[objects] writing a ${mb} MiB file...\n`);
    const sha256 = writeFile(file, mb);
    nats = await startNats();
    be = await startBackend({ natsUrl: nats.url });
    nc = await connect({ servers: nats.url });
    setSha256Backend('native');
    const store = await new Objm(nc).open(OBJ.APP_PACKAGES);
    const pid = be.proc.pid!;
    await sleep(2000);
    const baseline = rssBytes(pid);
    let peak = baseline;
    const direct: number[] = [];
    const viaBackend: number[] = [];
    const downloads: number[] = [];
    for (let i = 0; i < runs; i++) {
      let t = performance.now();
      const name = `direct-${i}`;
      const info = await store.put(
        { name },
        Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>,
      );
      direct.push(size / MiB / ((performance.now() - t) / 1000));
      if (info.size !== size) throw new Error(`direct put stored ${info.size} bytes`);
      await store.delete(name);

      const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(pid))), 20);
      try {
        t = performance.now();
        await upload(be, `/api/app-packages/bench/${i}`, file, size, sha256);
        viaBackend.push(size / MiB / ((performance.now() - t) / 1000));
        t = performance.now();
        await download(be, `/api/app-packages/bench/${i}`, sha256);
        downloads.push(size / MiB / ((performance.now() - t) / 1000));
      } finally {
        clearInterval(sampler);
      }
      const del = await be.fetch(`/api/app-packages/bench/${i}`, { method: 'DELETE' });
      if (del.status !== 204) throw new Error(`delete: ${del.status}`);
      process.stderr.write(
        `[objects] run ${i + 1}: direct ${round(direct[i]!)} MB/s, backend upload ${round(viaBackend[i]!)} MB/s, download ${round(downloads[i]!)} MB/s\n`,
      );
    }
    const ratio = median(viaBackend) / median(direct);
    const growth = (peak - baseline) / MiB;
    return {
      size_mb: mb,
      runs,
      direct_put_mb_per_sec: round(median(direct)),
      backend_upload_mb_per_sec: round(median(viaBackend)),
      backend_download_mb_per_sec: round(median(downloads)),
      ratio_backend_to_direct: round(ratio, 3),
      backend_rss_baseline_mb: round(baseline / MiB),
      backend_rss_growth_mb: round(growth),
      targets: { ratio_min: 0.5, rss_growth_max_mb: 64 },
      pass: ratio >= 0.5 && growth < 64,
    };
  } finally {
    await nc?.close();
    await be?.kill();
    if (be) rmSync(be.dataDir, { recursive: true, force: true });
    await nats?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
