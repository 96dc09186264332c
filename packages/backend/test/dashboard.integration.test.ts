// The backend's two dashboard routes. The built backend on a real
// nats-server serves the built SPA at / (history fallback, cache headers,
// never shadowing /api, /metrics or /health) and streams live events on
// /api/stream from real NATS messages. In-process, on a real broker and a
// real store: the live service batches and caps a burst, starts its
// subscriptions with the first browser and drops them with the last, the
// stream sends heartbeat comments and forgets a browser that leaves, and the
// SPA route answers 503 with instructions when the build is missing.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { subject } from '@kanade/wire';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { removeDir, startBackend, type TestBackend } from '../../../test-support/backend.js';
import { createStoreDb } from '../../../test-support/db.js';
import { startNats, type TestNats } from '../../../test-support/nats-server.js';
import { defaultWebDist, spaRoutes } from '../src/http/routes/spa.js';
import { streamRoutes } from '../src/http/routes/stream.js';
import type { Services } from '../src/services/index.js';
import { createLiveService, type LiveEvent, MAX_ITEMS } from '../src/services/live.js';
import { createStore, type Store } from '../src/store/index.js';

let nats: TestNats;
let nc: NatsConnection;
let be: TestBackend;
const enc = new TextEncoder();
const NOW = '2026-05-01T10:00:00Z';

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  be = await startBackend({ natsUrl: nats.url });
});
afterAll(async () => {
  await be?.kill();
  if (be) removeDir(be.dataDir);
  await nc?.close();
  await nats?.stop();
});

interface Sse {
  events: { event: string; data: unknown }[];
  comments: string[];
  next(event: string, timeoutMs?: number): Promise<unknown>;
  close(): void;
}

/** Reads an event stream in the background, keeping every event and comment. */
async function openStream(url: string, token: string): Promise<Sse> {
  const ctl = new AbortController();
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: ctl.signal });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const s: Sse = {
    events: [],
    comments: [],
    async next(event, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const i = s.events.findIndex((e) => e.event === event);
        if (i >= 0) return s.events.splice(i, 1)[0]!.data;
        if (Date.now() > deadline) throw new Error(`no ${event} event within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close: () => ctl.abort(),
  };
  void (async () => {
    let buf = '';
    try {
      for await (const chunk of res.body!.pipeThrough(new TextDecoderStream())) {
        buf += chunk;
        let end = buf.indexOf('\n\n');
        while (end >= 0) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) s.comments.push(line.slice(1).trim());
            else if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
          }
          if (data.length) s.events.push({ event, data: JSON.parse(data.join('\n')) });
          end = buf.indexOf('\n\n');
        }
      }
    } catch {
      // aborted by close()
    }
  })();
  return s;
}

function result(requestId: string, execId: string, pcId: string, exitCode: number) {
  return {
    result_id: `r-${requestId}`,
    request_id: requestId,
    exec_id: execId,
    pc_id: pcId,
    exit_code: exitCode,
    stdout: 'out',
    stderr: '',
    started_at: NOW,
    finished_at: NOW,
    manifest_id: 'job-a',
  };
}

describe('the dashboard at /', () => {
  const dist = defaultWebDist()!;
  const hashed = readdirSync(join(dist, 'assets')).find((f) => f.endsWith('.js'))!;

  it('serves index.html for / and for client-side routes, never cached', async () => {
    for (const path of ['/', '/agents', '/agents/pc-1?range=7d', '/dashboard/']) {
      const r = await fetch(be.url + path);
      expect(r.status, path).toBe(200);
      expect(r.headers.get('content-type')).toMatch(/^text\/html/);
      expect(r.headers.get('cache-control')).toBe('no-cache');
      expect(await r.text()).toContain('<div id="root">');
    }
  });

  it('serves hashed assets with a long immutable cache, compressed, and 404s a missing one', async () => {
    const r = await fetch(`${be.url}/assets/${hashed}`, { headers: { 'accept-encoding': 'gzip' } });
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(r.headers.get('content-type')).toMatch(/javascript/);
    expect(r.headers.get('content-encoding')).toBe('gzip');
    const missing = await fetch(`${be.url}/assets/index-0000000.js`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).not.toContain('<div id="root">');
  });

  it('keeps /api/*, /metrics and /health to themselves', async () => {
    expect((await fetch(`${be.url}/api/nope`)).status).toBe(401);
    const nope = await be.fetch('/api/nope');
    expect(nope.status).toBe(404);
    expect(await nope.json()).toMatchObject({ code: 'KANADE_ERR_NOT_FOUND' });
    expect((await be.fetch('/api')).status).toBe(404);
    expect((await fetch(`${be.url}/metrics`)).status).toBe(401);
    expect(await (await fetch(`${be.url}/health`)).text()).toBe('ok');
    expect((await be.fetch('/api/agents?limit=1')).headers.get('content-type')).toMatch(/json/);
  });

  it('does not serve files outside the build', async () => {
    const r = await fetch(`${be.url}/..%2f..%2fpackage.json`);
    expect(await r.text()).toContain('<div id="root">');
  });
});

describe('GET /api/stream', () => {
  it('refuses a caller without a token', async () => {
    const r = await fetch(`${be.url}/api/stream`);
    expect(r.status).toBe(401);
    expect(await r.json()).toMatchObject({ code: 'KANADE_ERR_UNAUTHORIZED' });
  });

  it('pushes counters at once, then started, finished, execution progress and audit events from NATS', async () => {
    const s = await openStream(`${be.url}/api/stream`, be.token);
    onTestFinished(() => s.close());
    expect(await s.next('counters')).toMatchObject({ known: 0, active: 0, stale: 0 });

    const started = {
      result_id: 'r-1',
      request_id: 'q-1',
      exec_id: 'ex-1',
      pc_id: 'pc-1',
      started_at: NOW,
      manifest_id: 'job-a',
      version: '3',
    };
    nc.publish(subject.eventsStarted('ex-1', 'pc-1'), enc.encode(JSON.stringify(started)));
    nc.publish(subject.results('q-1'), enc.encode(JSON.stringify(result('q-1', 'ex-1', 'pc-1', 2))));
    nc.publish(subject.results('bad'), enc.encode('{not json'));
    nc.publish(
      subject.audit('operator', 'exec', 'job-a'),
      enc.encode(
        JSON.stringify({
          actor: 'operator',
          action: 'exec',
          target: 'job-a',
          payload: { secret: 1 },
          occurred_at: NOW,
        }),
      ),
    );

    expect(await s.next('started')).toEqual({
      items: [expect.objectContaining({ exec_id: 'ex-1', pc_id: 'pc-1', manifest_id: 'job-a' })],
      dropped: 0,
    });
    expect(await s.next('results')).toEqual({
      items: [expect.objectContaining({ result_id: 'r-q-1', exec_id: 'ex-1', exit_code: 2 })],
      dropped: 0,
    });
    expect(await s.next('executions')).toEqual({
      items: [{ exec_id: 'ex-1', started: 1, finished: 1, failed: 1 }],
      dropped: 0,
    });
    const audit = (await s.next('audit')) as { items: Record<string, unknown>[] };
    expect(audit.items).toEqual([{ actor: 'operator', action: 'exec', target: 'job-a', occurred_at: NOW }]);
  });
});

describe('GET /api/stream for a page-restricted account', () => {
  it('opens, and carries only the events of pages the account may open', async () => {
    const created = await be.fetch('/api/accounts', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        username: 'auditor',
        role: 'viewer',
        password: 'auditor-password',
        allowed_features: ['audit'],
        must_change_pw: false,
      }),
    });
    expect(created.status).toBe(201);
    const login = await be.fetch('/api/auth/login', {
      method: 'POST',
      token: null,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'auditor', password: 'auditor-password' }),
    });
    const { token } = (await login.json()) as { token: string };
    const s = await openStream(`${be.url}/api/stream`, token);
    onTestFinished(() => s.close());
    await s.next('counters');
    nc.publish(subject.results('q-r'), enc.encode(JSON.stringify(result('q-r', 'ex-r', 'pc-9', 0))));
    nc.publish(
      subject.audit('admin', 'account.create', 'x'),
      enc.encode(JSON.stringify({ actor: 'admin', action: 'account.create', target: 'x', occurred_at: NOW })),
    );
    expect(await s.next('audit')).toMatchObject({ items: [expect.objectContaining({ target: 'x' })] });
    await new Promise((r) => setTimeout(r, 1500));
    expect(s.events.filter((e) => ['results', 'started', 'executions'].includes(e.event))).toEqual([]);
  });
});

describe('live service and stream, in process', () => {
  let dir: string;
  let app: FastifyInstance;
  let live: ReturnType<typeof createLiveService>;
  let store: Store;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kanade-live-'));
    store = createStore(await createStoreDb(dir));
    live = createLiveService({ nc, store, log: pino({ level: 'silent' }), now: Date.now, windowMs: 100 });
    app = Fastify();
    await app.register(streamRoutes, { services: { live } as unknown as Services, heartbeatMs: 100 });
    await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await app?.close();
    store?.db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('holds NATS subscriptions only while a browser is connected', async () => {
    expect(live.stats()).toMatchObject({ clients: 0, subscriptions: 0 });
    const seen: LiveEvent[] = [];
    const off = live.subscribe((e) => seen.push(e));
    expect(live.stats()).toMatchObject({ clients: 1, subscriptions: 3 });
    expect(seen[0]?.event).toBe('counters');
    off();
    off();
    expect(live.stats()).toMatchObject({ clients: 0, subscriptions: 0 });
  });

  it('sends a burst as one capped batch per window and counts the rest as dropped', async () => {
    const seen: LiveEvent[] = [];
    const off = live.subscribe((e) => seen.push(e));
    onTestFinished(off);
    await nc.flush();
    const n = MAX_ITEMS + 50;
    for (let i = 0; i < n; i++) {
      nc.publish(
        subject.results(`b-${i}`),
        enc.encode(JSON.stringify(result(`b-${i}`, 'ex-burst', `pc-${i}`, 0))),
      );
    }
    await nc.flush();
    const deadline = Date.now() + 5000;
    const total = () =>
      seen
        .filter((e) => e.event === 'results')
        .reduce((sum, e) => {
          const d = e.data as { items: unknown[]; dropped: number };
          return sum + d.items.length + d.dropped;
        }, 0);
    while (total() < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const batches = seen.filter((e) => e.event === 'results').map((e) => e.data as { items: unknown[] });
    expect(total()).toBe(n);
    for (const b of batches) expect(b.items.length).toBeLessThanOrEqual(MAX_ITEMS);
    expect(batches.length).toBeLessThan(10);
    const progress = seen
      .filter((e) => e.event === 'executions')
      .flatMap((e) => (e.data as { items: { exec_id: string; finished: number }[] }).items)
      .filter((p) => p.exec_id === 'ex-burst')
      .reduce((sum, p) => sum + p.finished, 0);
    expect(progress).toBe(n);
  });

  it('sends heartbeat comments and lets go of a browser that disconnects', async () => {
    const addr = app.server.address() as { port: number };
    const s = await openStream(`http://127.0.0.1:${addr.port}/api/stream`, 'unused');
    await s.next('counters');
    await new Promise((r) => setTimeout(r, 350));
    expect(s.comments.filter((c) => c === 'heartbeat').length).toBeGreaterThanOrEqual(2);
    expect(live.stats().clients).toBe(1);
    s.close();
    const deadline = Date.now() + 5000;
    while (live.stats().clients > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(live.stats()).toMatchObject({ clients: 0, subscriptions: 0 });
  });
});

describe('SPA route without a build', () => {
  it('answers non-API paths with a 503 that says how to build, and still 404s API paths', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kanade-nodist-'));
    const app = Fastify();
    onTestFinished(async () => {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    });
    await app.register(spaRoutes, { distDir: join(dir, 'dist') });
    const r = await app.inject('/agents');
    expect(r.statusCode).toBe(503);
    expect(r.body).toContain('npm run build');
    expect((await app.inject('/api/agents')).statusCode).toBe(404);

    mkdirSync(join(dir, 'dist'));
    writeFileSync(join(dir, 'dist', 'index.html'), '<div id="root"></div>');
    expect((await app.inject('/agents')).statusCode).toBe(200);
  });
});
