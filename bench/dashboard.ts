// `npm run bench -- dashboard [--agents 100000] [--samples 5]`: the dashboard
// in headless Chromium against a real stack (nats-server, the built backend
// serving the built SPA, the fleet simulator at upstream cadence: 30 s
// heartbeats, 60 s host_perf) with 100,000 agents by default. Each sample is
// a cold navigation in a fresh browser context (empty HTTP cache, only the
// session token in localStorage) and measures, inside the page, the time
// from navigation start to the first rendered Agents row and to a fully
// drawn Dashboard (every card present, both fleet charts holding data) —
// the same selectors the e2e test times. Also reports the gzipped size of
// the JS entry chunk (and of everything index.html loads up front).
// Targets (issue #7): first rows < 1 s, Dashboard < 2 s, entry < 250 kB gz.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { launchChromium } from '../e2e/support/browser.js';
import { startStack } from '../e2e/support/stack.js';
import { AGENTS_FIRST_ROW, DASHBOARD_DRAWN, timeUntil } from '../e2e/support/timing.js';
import { eventually } from '../test-support/backend.js';
import { arg, round, summarize } from './lib.js';

const DIST = join(import.meta.dirname, '../packages/web/dist');
const TARGETS = { agents_first_row_ms: 1000, dashboard_drawn_ms: 2000, entry_gzip_kb: 250 };

function size(file: string) {
  const body = readFileSync(join(DIST, file));
  return { bytes: body.length, gzip_bytes: gzipSync(body).length };
}

/** The entry chunk (index.html's module script) and everything index.html preloads with it. */
export function bundleSizes() {
  const html = readFileSync(join(DIST, 'index.html'), 'utf8');
  const entry = /<script type="module"[^>]*src="\/([^"]+\.js)"/.exec(html)?.[1];
  if (!entry) throw new Error('no module script in packages/web/dist/index.html (run npm run build)');
  const preloads = [...html.matchAll(/<link rel="modulepreload"[^>]*href="\/([^"]+\.js)"/g)].map(
    (m) => m[1]!,
  );
  const all = [entry, ...preloads].map(size);
  const kb = (n: number) => round(n / 1024, 1);
  const e = size(entry);
  return {
    entry_chunk: { file: entry, kb: kb(e.bytes), gzip_kb: kb(e.gzip_bytes) },
    initial_js: {
      files: 1 + preloads.length,
      kb: kb(all.reduce((s, x) => s + x.bytes, 0)),
      gzip_kb: kb(all.reduce((s, x) => s + x.gzip_bytes, 0)),
    },
  };
}

export async function run(args: string[]) {
  const agents = Number(arg(args, 'agents', '100000'));
  const samples = Number(arg(args, 'samples', '5'));
  if (!Number.isInteger(agents) || agents <= 0 || !Number.isInteger(samples) || samples <= 0)
    throw new Error('bad --agents or --samples');
  const bundle = bundleSizes();

  process.stderr.write(`[dashboard] starting the stack with ${agents} simulated agents...\n`);
  const stack = await startStack({ agents });
  const browser = await launchChromium();
  try {
    // The fleet charts need a host_perf sample from the fleet (one every 60 s per agent).
    await eventually(
      async () => {
        const r = (await stack.backend.json('/api/perf/top?metric=cpu_pct&limit=1')) as { rows: unknown[] };
        return r.rows.length > 0;
      },
      120_000,
      'fleet host_perf samples',
    );
    const token = stack.backend.token;
    const cold = async (path: string, selectors: string[]) => {
      const context = await browser.newContext({
        baseURL: stack.backend.url,
        viewport: { width: 1400, height: 900 },
      });
      try {
        await context.addInitScript(`localStorage.setItem('kanade_token', ${JSON.stringify(token)});`);
        const page = await context.newPage();
        return await timeUntil(page, path, '__kanadeBench', selectors);
      } finally {
        await context.close();
      }
    };
    const firstRow: number[] = [];
    const drawn: number[] = [];
    for (let i = 0; i < samples; i++) {
      firstRow.push(await cold('/agents', AGENTS_FIRST_ROW));
      drawn.push(await cold('/dashboard', DASHBOARD_DRAWN));
      process.stderr.write(
        `[dashboard] sample ${i + 1}/${samples}: agents first row ${Math.round(firstRow[i]!)} ms, dashboard drawn ${Math.round(drawn[i]!)} ms\n`,
      );
    }
    const rowStats = summarize(firstRow);
    const drawnStats = summarize(drawn);
    return {
      agents,
      samples,
      agents_first_row: { ...rowStats, all_ms: firstRow.map((x) => Math.round(x)) },
      dashboard_drawn: { ...drawnStats, all_ms: drawn.map((x) => Math.round(x)) },
      ...bundle,
      targets: TARGETS,
      meets_targets: {
        agents_first_row: rowStats.p50_ms < TARGETS.agents_first_row_ms,
        dashboard_drawn: drawnStats.p50_ms < TARGETS.dashboard_drawn_ms,
        entry_chunk: bundle.entry_chunk.gzip_kb < TARGETS.entry_gzip_kb,
      },
    };
  } finally {
    await browser.close();
    await stack.stop();
  }
}
