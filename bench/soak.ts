// `npm run bench -- soak --agents 50000 --duration 30m`: the real backend
// (child process) under steady telemetry from the fleet simulator (another
// child process, upstream cadence: 30 s heartbeats, 60 s host_perf, and it
// answers commands) plus one exec to the whole fleet every minute. Every
// `--sample` (10 s) it records the backend's RSS and CPU, and its event-loop
// lag from /metrics (prom-client's kanade_nodejs_eventloop_lag_*; the
// histogram is reset on every scrape, so each sample covers the interval
// since the previous one, and its 10 ms sampling resolution is included).
//
// Reports telemetry loss (sent by the simulator vs received by the
// projectors), result loss (fleet size per exec vs results counted), RSS
// growth from minute 5 (or a third of the run, if shorter) to the end (the
// medians of the minute after that point and of the last minute), and the
// lag percentiles. Writes bench/results/soak-<time>.csv and a .png plot
// of RSS and lag over time; the PNG is encoded here (node:zlib, a 3x5 pixel
// font) so no image tool or package is needed.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { deflateSync } from 'node:zlib';
import { parseDuration } from '@kanade/wire';
import { startBackend, type TestBackend } from '../test-support/backend.js';
import { startNats } from '../test-support/nats-server.js';
import { arg, cpuSeconds, percentile, round, rssBytes, scrape, sleep } from './lib.js';

const SIM_MAIN = join(import.meta.dirname, '../packages/sim/dist/main.js');
const EXEC_EVERY_MS = 60_000;

interface Sample {
  t_s: number;
  rss_mb: number;
  heap_used_mb: number;
  cpu_pct: number;
  lag_p50_ms: number;
  lag_p99_ms: number;
  lag_max_ms: number;
  telemetry_received: number;
  results_written: number;
  execs: number;
}

function gauge(text: string, name: string): number {
  const m = new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : Number.NaN;
}

async function api(be: TestBackend, method: string, path: string, body?: unknown) {
  const r = await be.fetch(path, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(60_000),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path}: HTTP ${r.status} ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

export async function run(args: string[]) {
  const agents = Number(arg(args, 'agents', '50000'));
  const durationMs = parseDuration(arg(args, 'duration', '30m'));
  const sampleMs = parseDuration(arg(args, 'sample', '10s'));
  if (!Number.isInteger(agents) || agents <= 0 || !durationMs || !sampleMs)
    throw new Error('bad --agents, --duration or --sample');
  const warmupMs = Math.min(5 * 60_000, Math.floor(durationMs / 3));

  const nats = await startNats();
  const dataDir = mkdtempSync(join(tmpdir(), 'kanade-soak-'));
  let be: TestBackend | undefined;
  let sim: ReturnType<typeof spawn> | undefined;
  try {
    const backend = await startBackend({
      natsUrl: nats.url,
      dataDir,
      env: { KANADE_TELEMETRY_FLUSH_MS: '1000' },
    });
    be = backend;
    const pid = backend.proc.pid!;
    await api(backend, 'POST', '/api/jobs', {
      id: 'soak',
      version: '1',
      execute: { shell: 'sh', script: 'echo soak', timeout: '5m' },
    });
    process.stderr.write(
      `[soak] ${agents} simulated agents for ${durationMs / 1000} s, an exec every minute\n`,
    );
    sim = spawn(
      process.execPath,
      [
        SIM_MAIN,
        ...['--nats', nats.url, '--agents', String(agents), '--duration', `${durationMs / 1000}s`],
        ...['--prefix', 'soak', '--run-time', '2s', '--progress', '60s'],
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let summaryLine = '';
    createInterface({ input: sim.stdout! }).on('line', (l) => {
      summaryLine = l;
    });
    let simDone = false;
    const simExit = new Promise<number | null>((r) =>
      sim!.once('exit', (c) => {
        simDone = true;
        r(c);
      }),
    );

    const t0 = Date.now();
    const samples: Sample[] = [];
    const execs: { exec_id: string; at: number }[] = [];
    const execErrors: string[] = [];
    let nextExec = t0 + EXEC_EVERY_MS;
    let cpuPrev = cpuSeconds(pid);
    let tPrev = performance.now();
    await (await backend.fetch('/metrics')).text(); // reset the lag histogram
    while (!simDone) {
      await Promise.race([sleep(sampleMs), simExit]);
      if (simDone) break;
      // No exec in the last 30 s: the simulator stops at the end and its runs take ~2 s.
      if (Date.now() >= nextExec && Date.now() < t0 + durationMs - 30_000) {
        nextExec += EXEC_EVERY_MS;
        try {
          const r = await api(backend, 'POST', '/api/exec/soak', { target: { all: true } });
          execs.push({ exec_id: r.exec_id as string, at: Date.now() });
        } catch (err) {
          execErrors.push((err as Error).message);
        }
      }
      const text = await (await backend.fetch('/metrics')).text();
      const cpu = cpuSeconds(pid);
      const now = performance.now();
      const received = scrape(text, 'kanade_projector_received_total');
      const written = scrape(text, 'kanade_projector_written_total');
      const s: Sample = {
        t_s: round((Date.now() - t0) / 1000, 1),
        rss_mb: round(rssBytes(pid) / 1024 / 1024, 1),
        heap_used_mb: round(gauge(text, 'kanade_nodejs_heap_size_used_bytes') / 1024 / 1024, 1),
        cpu_pct: round(((cpu - cpuPrev) / ((now - tPrev) / 1000)) * 100, 1),
        lag_p50_ms: round(gauge(text, 'kanade_nodejs_eventloop_lag_p50_seconds') * 1000, 2),
        lag_p99_ms: round(gauge(text, 'kanade_nodejs_eventloop_lag_p99_seconds') * 1000, 2),
        lag_max_ms: round(gauge(text, 'kanade_nodejs_eventloop_lag_max_seconds') * 1000, 2),
        telemetry_received: (received.heartbeat ?? 0) + (received.host_perf ?? 0),
        results_written: written.results ?? 0,
        execs: execs.length,
      };
      cpuPrev = cpu;
      tPrev = now;
      samples.push(s);
      if (samples.length % Math.max(1, Math.round(60_000 / sampleMs)) === 0)
        process.stderr.write(
          `[soak] ${Math.round(s.t_s)} s: rss ${s.rss_mb} MB, lag p99 ${s.lag_p99_ms} ms, cpu ${s.cpu_pct} %, ${execs.length} execs\n`,
        );
    }
    if ((await simExit) !== 0) throw new Error('simulator failed');

    // Results of the last exec (runs take ~2 s) and the last telemetry window.
    const settle = Date.now() + 120_000;
    let rows: { s: number; f: number; target: number }[] = [];
    for (;;) {
      rows = await Promise.all(
        execs.map(async (e) => {
          const d = (await api(backend, 'GET', `/api/executions/${e.exec_id}`)) as {
            execution: { success_count: number; failure_count: number; target_count: number };
          };
          return {
            s: d.execution.success_count,
            f: d.execution.failure_count,
            target: d.execution.target_count,
          };
        }),
      );
      if (rows.every((r) => r.s + r.f >= r.target) || Date.now() > settle) break;
      await sleep(2000);
    }
    await sleep(2000);
    const text = await (await backend.fetch('/metrics')).text();
    const received = scrape(text, 'kanade_projector_received_total');
    const simSummary = JSON.parse(summaryLine) as Record<string, number>;
    const offered = (simSummary.heartbeats_sent ?? 0) + (simSummary.host_perf_sent ?? 0);
    const got = (received.heartbeat ?? 0) + (received.host_perf ?? 0);
    const expectedResults = rows.reduce((n, r) => n + r.target, 0);
    const countedResults = rows.reduce((n, r) => n + r.s + r.f, 0);

    // RSS moves with every exec burst and GC: compare the median of the minute after the warm-up with
    // the median of the last minute rather than two single samples.
    const last = samples[samples.length - 1]!;
    const median = (xs: number[]) =>
      percentile(
        [...xs].sort((a, b) => a - b),
        50,
      );
    const rssIn = (from: number, to: number) =>
      samples.filter((s) => s.t_s * 1000 >= from && s.t_s * 1000 < to).map((s) => s.rss_mb);
    const baseRss = median(rssIn(warmupMs, warmupMs + 60_000));
    const endRss = median(rssIn(last.t_s * 1000 - 60_000, Number.POSITIVE_INFINITY));
    const lagP99 = samples.map((s) => s.lag_p99_ms).sort((a, b) => a - b);
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const dir = join(import.meta.dirname, 'results');
    mkdirSync(dir, { recursive: true });
    const csv = join(dir, `soak-${stamp}.csv`);
    const png = join(dir, `soak-${stamp}.png`);
    const cols = Object.keys(samples[0]!) as (keyof Sample)[];
    writeFileSync(
      csv,
      `${cols.join(',')}\n${samples.map((s) => cols.map((c) => s[c]).join(',')).join('\n')}\n`,
    );
    writeFileSync(
      png,
      plot(
        `SOAK ${agents} AGENTS ${Math.round(durationMs / 60_000)} MIN`,
        samples.map((s) => s.t_s / 60),
        [
          { label: 'RSS MB', values: samples.map((s) => s.rss_mb), color: [31, 119, 180] },
          { label: 'LAG P99 MS', values: samples.map((s) => s.lag_p99_ms), color: [214, 39, 40] },
        ],
      ),
    );
    return {
      agents,
      duration_s: durationMs / 1000,
      samples: samples.length,
      telemetry: {
        offered,
        received: got,
        loss_pct: offered ? round((1 - got / offered) * 100, 3) : 0,
      },
      results: {
        execs: execs.length,
        exec_errors: execErrors.length,
        expected: expectedResults,
        counted: countedResults,
        loss_pct: expectedResults ? round((1 - countedResults / expectedResults) * 100, 3) : 0,
      },
      rss: {
        baseline_from_s: warmupMs / 1000,
        baseline_median_mb: baseRss,
        end_median_mb: endRss,
        end_mb: last.rss_mb,
        peak_mb: Math.max(...samples.map((s) => s.rss_mb)),
        growth_pct: round((endRss / baseRss - 1) * 100, 1),
      },
      event_loop_lag_ms: {
        p99_median_interval: percentile(lagP99, 50),
        p99_worst_interval: lagP99[lagP99.length - 1] ?? Number.NaN,
        max: Math.max(...samples.map((s) => s.lag_max_ms)),
        note: 'includes the 10 ms sampling resolution of monitorEventLoopDelay',
      },
      cpu_pct_mean: round(samples.reduce((n, s) => n + s.cpu_pct, 0) / samples.length, 1),
      csv,
      png,
    };
  } finally {
    sim?.kill('SIGKILL');
    await be?.kill();
    await nats.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

// ---- A minimal line chart as PNG: RGB canvas, Bresenham lines, a 3x5 font, zlib + CRC32. ----

type Rgb = [number, number, number];

const FONT: Record<string, string> = {
  '0': '111101101101111',
  '1': '010110010010111',
  '2': '111001111100111',
  '3': '111001111001111',
  '4': '101101111001001',
  '5': '111100111001111',
  '6': '111100111101111',
  '7': '111001001001001',
  '8': '111101111101111',
  '9': '111101111001111',
  '.': '000000000000010',
  '-': '000000111000000',
  ' ': '000000000000000',
  A: '010101111101101',
  B: '110101110101110',
  C: '011100100100011',
  D: '110101101101110',
  E: '111100110100111',
  G: '011100101101011',
  I: '111010010010111',
  K: '101101110101101',
  L: '100100100100111',
  M: '101111111101101',
  N: '110101101101101',
  O: '010101101101010',
  P: '110101110100100',
  R: '110101110101101',
  S: '011100010001110',
  T: '111010010010010',
  U: '101101101101111',
};

function plot(
  title: string,
  xs: number[],
  series: { label: string; values: number[]; color: Rgb }[],
): Buffer {
  const W = 900;
  const panelH = 270;
  const H = 40 + series.length * (panelH + 30);
  const px = Buffer.alloc(W * H * 3, 255);
  const set = (x: number, y: number, c: Rgb) => {
    if (x < 0 || y < 0 || x >= W || y >= H) return;
    const i = (Math.round(y) * W + Math.round(x)) * 3;
    px[i] = c[0];
    px[i + 1] = c[1];
    px[i + 2] = c[2];
  };
  const line = (x0: number, y0: number, x1: number, y1: number, c: Rgb) => {
    const n = Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0), 1);
    for (let k = 0; k <= n; k++) set(x0 + ((x1 - x0) * k) / n, y0 + ((y1 - y0) * k) / n, c);
  };
  const text = (s: string, x: number, y: number, c: Rgb, scale = 2) => {
    for (const ch of s.toUpperCase()) {
      const g = FONT[ch] ?? FONT[' ']!;
      for (let r = 0; r < 5; r++)
        for (let col = 0; col < 3; col++)
          if (g[r * 3 + col] === '1')
            for (let dy = 0; dy < scale; dy++)
              for (let dx = 0; dx < scale; dx++) set(x + col * scale + dx, y + r * scale + dy, c);
      x += 4 * scale;
    }
  };
  const grey: Rgb = [200, 200, 200];
  const black: Rgb = [0, 0, 0];
  text(title, 60, 12, black, 3);
  const xMax = Math.max(...xs, 1e-9);
  series.forEach((s, i) => {
    const top = 40 + i * (panelH + 30) + 20;
    const left = 70;
    const right = W - 20;
    const bottom = top + panelH - 30;
    const finite = s.values.filter(Number.isFinite);
    const yMax = Math.max(...finite, 1e-9) * 1.1;
    line(left, bottom, right, bottom, black);
    line(left, top, left, bottom, black);
    for (let k = 0; k <= 4; k++) {
      const y = bottom - ((bottom - top) * k) / 4;
      line(left + 1, y, right, y, grey);
      text(String(round((yMax * k) / 4, yMax < 10 ? 1 : 0)), 4, y - 4, black);
    }
    for (let k = 0; k <= 5; k++) {
      const x = left + ((right - left) * k) / 5;
      text(String(round((xMax * k) / 5, 1)), x - 8, bottom + 6, black);
    }
    text(s.label, left + 10, top - 16, s.color);
    text('MINUTES', (left + right) / 2 - 28, bottom + 18, black);
    let prev: [number, number] | undefined;
    s.values.forEach((v, k) => {
      if (!Number.isFinite(v)) return;
      const p: [number, number] = [
        left + (xs[k]! / xMax) * (right - left),
        bottom - (v / yMax) * (bottom - top),
      ];
      if (prev) {
        line(prev[0], prev[1], p[0], p[1], s.color);
        line(prev[0], prev[1] + 1, p[0], p[1] + 1, s.color);
      }
      prev = p;
    });
  });
  return encodePng(W, H, px);
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** 8-bit RGB PNG, filter 0 on every row. */
function encodePng(w: number, h: number, rgb: Buffer): Buffer {
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) rgb.copy(raw, y * (w * 3 + 1) + 1, y * w * 3, (y + 1) * w * 3);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
