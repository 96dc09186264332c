// The built backend as a real process on a real nats-server: telemetry from a
// simulated fleet lands in the store and comes back out of /api, bad messages are
// counted without hurting the good ones around them, and nothing is lost
// across a restart or a SIGTERM with a window still buffered.

import { join } from 'node:path';
import { createSimulator } from '@kanade/sim';
import { subject } from '@kanade/wire';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { eventually, removeDir, startBackend, type TestBackend } from '../../../test-support/backend.js';
import { openStoreDb } from '../../../test-support/db.js';
import { startNats, type TestNats } from '../../../test-support/nats-server.js';

let nats: TestNats;
let nc: NatsConnection;
let be: TestBackend;
const enc = new TextEncoder();
const pub = (subj: string, body: unknown) =>
  nc.publish(
    subj,
    typeof body === 'string' || body instanceof Uint8Array ? body : enc.encode(JSON.stringify(body)),
  );

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

async function metric(b: TestBackend, name: string, projector: string): Promise<number> {
  const text = await (await b.fetch('/metrics')).text();
  const m = new RegExp(`^${name}\\{projector="${projector}"\\} (\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

describe('auth', () => {
  it('serves /health and /api/version without a token', async () => {
    expect(await (await fetch(`${be.url}/health`)).text()).toBe('ok');
    expect(await (await fetch(`${be.url}/api/version`)).json()).toEqual({ version: expect.any(String) });
  });

  it.each([
    '/api/agents',
    '/api/agents/x',
    '/api/perf/fleet',
    '/api/health/fleet',
    '/api/jetstream/status',
    '/metrics',
    '/api/nope',
  ])('answers 401 on %s without a valid token', async (path) => {
    expect((await be.fetch(path, { token: null })).status).toBe(401);
    const r = await be.fetch(path, { token: 'wrong' });
    expect(r.status).toBe(401);
    expect(await r.json()).toMatchObject({ code: 'KANADE_ERR_UNAUTHORIZED' });
  });

  it('keeps the generated token in an owner-only file', async () => {
    const { statSync } = await import('node:fs');
    expect(statSync(join(be.dataDir, 'admin-token')).mode & 0o777).toBe(0o600);
  });
});

describe('bad query parameters', () => {
  it.each([
    ['/api/agents?limit=0', 'limit'],
    ['/api/agents?limit=abc', 'limit'],
    ['/api/agents?q=((', 'q'],
    ['/api/agents?status=maybe', 'status'],
    ['/api/agents?sort=password', 'sort'],
    ['/api/agents/x/perf?from=yesterday', 'from'],
    ['/api/agents/x/perf?step=5', 'step'],
    ['/api/agents/x/perf?from=2026-01-01T00:00:00Z&to=2026-12-01T00:00:00Z&step=1s', 'step'],
    ['/api/perf/fleet?metric=evil', 'metric'],
    ['/api/perf/fleet?step=30s', 'step'],
    ['/api/perf/top?limit=51', 'limit'],
  ])('%s -> 400 naming %s', async (path, param) => {
    const r = await be.fetch(path);
    expect(r.status).toBe(400);
    const body = (await r.json()) as { code: string; message: string };
    expect(body.code).toBe('KANADE_ERR_BAD_REQUEST');
    expect(body.message).toContain(param);
  });

  it('answers 404 for an unknown agent', async () => {
    expect((await be.fetch('/api/agents/nobody')).status).toBe(404);
  });
});

describe('telemetry ingest', () => {
  it('shows 1,000 simulated agents with correct counts and headers', async () => {
    const sim = createSimulator({
      natsUrl: nats.url,
      agents: 1000,
      heartbeatMs: 1000,
      hostPerfMs: 2000,
      prefix: 'sim',
    });
    onTestFinished(async () => {
      await sim.stop();
    });
    await sim.start();
    const stale = new Date(Date.now() - 10 * 60_000).toISOString();
    for (let i = 0; i < 25; i++) {
      pub(subject.heartbeat(`old-${i}`), {
        pc_id: `old-${i}`,
        at: stale,
        agent_version: '0.1.0',
        hostname: `old${i}`,
      });
    }
    await nc.flush();
    const r = await eventually(
      async () => {
        const res = await be.fetch('/api/agents?q=^(sim|old)-&limit=50&offset=100');
        return res.headers.get('x-total-count') === '1025' && res.headers.get('x-online-count') === '1000'
          ? res
          : undefined;
      },
      20_000,
      '1,025 agents',
    );
    expect(r.headers.get('x-offline-count')).toBe('25');
    const page = (await r.json()) as { pc_id: string; online: boolean; hostname: string }[];
    expect(page).toHaveLength(50);
    const all = await be.json<{ pc_id: string }[]>('/api/agents?q=^(sim|old)-&limit=2000');
    const ids = all.map((a) => a.pc_id);
    expect(ids).toEqual([...ids].sort());
    expect(page.map((a) => a.pc_id)).toEqual(ids.slice(100, 150));

    const online = await be.fetch('/api/agents?status=online&q=^sim-&limit=1');
    expect(online.headers.get('x-total-count')).toBe('1000');
    const offline = await be.fetch('/api/agents?status=offline&q=^(sim|old)-&limit=100');
    expect(offline.headers.get('x-total-count')).toBe('25');
    expect(((await offline.json()) as { online: boolean }[]).every((a) => !a.online)).toBe(true);

    const versions =
      await be.json<{ version: string; total: number; active: number }[]>('/api/agents/versions');
    expect(versions.reduce((n, v) => n + v.total, 0)).toBeGreaterThanOrEqual(1025);

    await eventually(
      async () => (await metric(be, 'kanade_projector_written_total', 'host_perf')) >= 1000,
      20_000,
      'host_perf rows',
    );
    const top = await be.json<{ rows: { pc_id: string }[] }>('/api/perf/top?limit=5');
    expect(top.rows).toHaveLength(5);
    const fleet = await be.json<{ points: { value: number }[] }>(
      '/api/perf/fleet?step=1m&from=' + new Date(Date.now() - 600_000).toISOString(),
    );
    expect(fleet.points.length).toBeGreaterThan(0);
    expect(fleet.points.every((p) => p.value >= 0 && p.value <= 100)).toBe(true);
  });

  it('averages known host_perf samples into the right buckets and drops duplicates', async () => {
    const t0 = Date.UTC(2026, 4, 1, 10, 0, 0);
    const cpu = [10, 30, 50, 70, 90, 20];
    for (let i = 0; i < cpu.length; i++) {
      pub(subject.hostPerf('perf-1'), {
        pc_id: 'perf-1',
        at: new Date(t0 + i * 60_000).toISOString(),
        cpu_pct: cpu[i],
        mem_used_bytes: 100 * i,
        mem_total_bytes: 1000,
      });
    }
    // a re-published sample with the same second and other values: the first one wins
    pub(subject.hostPerf('perf-1'), { pc_id: 'perf-1', at: new Date(t0 + 500).toISOString(), cpu_pct: 99 });
    await nc.flush();
    const q = `/api/agents/perf-1/perf?from=${new Date(t0).toISOString()}&to=${new Date(t0 + 6 * 60_000).toISOString()}&step=3m`;
    const perf = await eventually(
      async () => {
        const p = await be.json<{
          step_seconds: number;
          points: { at: string; cpu_pct: number; mem_used_bytes: number }[];
        }>(q);
        return p.points.length === 2 ? p : undefined;
      },
      10_000,
      'perf buckets',
    );
    expect(perf.step_seconds).toBe(180);
    expect(perf.points).toMatchObject([
      { at: new Date(t0).toISOString(), cpu_pct: 30, mem_used_bytes: 100 },
      { at: new Date(t0 + 180_000).toISOString(), cpu_pct: 60, mem_used_bytes: 400 },
    ]);
  });

  it('counts malformed messages and stores the valid ones around them', async () => {
    const before = await metric(be, 'kanade_projector_invalid_total', 'heartbeat');
    const bad: (string | Uint8Array | object | null)[] = [
      'not json',
      '{"pc_id": "x"',
      new Uint8Array([0xff, 0xfe, 0x00, 0x01]),
      { pc_id: 42, at: new Date().toISOString(), agent_version: '1' },
      { pc_id: 'bad-at', at: 'tomorrow', agent_version: '1' },
      { pc_id: 'bad.dot', at: new Date().toISOString(), agent_version: '1' },
      { pc_id: 'huge', at: new Date().toISOString(), agent_version: 'x'.repeat(100_000) },
      [1, 2, 3],
      null,
    ];
    for (let i = 0; i < bad.length; i++) {
      pub(subject.heartbeat(`good-${i}`), {
        pc_id: `good-${i}`,
        at: new Date().toISOString(),
        agent_version: '1.2.3',
      });
      const b = bad[i];
      pub('heartbeat.bad', b === null ? 'null' : (b as never));
    }
    pub('host_perf.bad', { pc_id: 'hp', at: new Date().toISOString(), cpu_pct: 'hot' });
    pub('process_perf.bad', { pc_id: 'pp', at: new Date().toISOString(), processes: 'many' });
    await nc.flush();
    await eventually(
      async () => (await metric(be, 'kanade_projector_invalid_total', 'heartbeat')) - before === bad.length,
      10_000,
      'invalid counter',
    );
    const good = await be.fetch('/api/agents?q=^good-&limit=100');
    expect(good.headers.get('x-total-count')).toBe(String(bad.length));
    expect(await metric(be, 'kanade_projector_invalid_total', 'host_perf')).toBeGreaterThanOrEqual(1);
    expect(await metric(be, 'kanade_projector_invalid_total', 'process_perf')).toBeGreaterThanOrEqual(1);
    expect(be.logs.some((l) => l.includes('rejected invalid message') && l.includes('heartbeat.bad'))).toBe(
      true,
    );
    expect(be.proc.exitCode).toBeNull();
  });

  it('reports the latest process snapshot', async () => {
    const at = new Date().toISOString();
    pub(subject.processPerf('proc-1'), {
      pc_id: 'proc-1',
      at,
      processes: [
        { pid: 1, name: 'init', cpu_pct: 0.5, rss_bytes: 1000 },
        { pid: 42, name: 'chrome', cpu_pct: 35.5, rss_bytes: 9_000_000, disk_read_bytes_per_sec: 12 },
      ],
    });
    await nc.flush();
    const r = await eventually(async () => {
      const p = await be.json<{ latest_at: string | null; processes: { pid: number }[] }>(
        '/api/agents/proc-1/processes',
      );
      return p.latest_at ? p : undefined;
    });
    expect(r.processes.map((p) => p.pid)).toEqual([42, 1]);
  });
});

describe('lifecycle', () => {
  it('flushes a buffered window on SIGTERM and exits 0; data survives a restart', async () => {
    // Its own broker: backends on one broker share the telemetry queue group and would split these messages.
    const own = await startNats();
    const nc2 = await connect({ servers: own.url });
    const b = await startBackend({ natsUrl: own.url, env: { KANADE_TELEMETRY_FLUSH_MS: '600000' } });
    onTestFinished(async () => {
      await b.kill();
      removeDir(b.dataDir);
      await nc2.close();
      await own.stop();
    });
    const pub = (subj: string, body: unknown) => nc2.publish(subj, JSON.stringify(body));
    const before = await metric(b, 'kanade_projector_received_total', 'heartbeat');
    pub(subject.heartbeat('flush-me'), {
      pc_id: 'flush-me',
      at: new Date().toISOString(),
      agent_version: '9.9.9',
      hostname: 'fm',
    });
    await nc2.flush();
    await eventually(
      async () => (await metric(b, 'kanade_projector_received_total', 'heartbeat')) > before,
      10_000,
      'receipt',
    );
    expect((await b.fetch('/api/agents/flush-me')).status).toBe(404);
    expect(await b.stop('SIGTERM')).toBe(0);

    const db = openStoreDb(b.dataDir, { readonly: true });
    expect(db.prepare('SELECT hostname FROM agents WHERE pc_id = ?').get('flush-me')).toEqual({
      hostname: 'fm',
    });
    db.close();

    const again = await startBackend({ natsUrl: own.url, dataDir: b.dataDir });
    onTestFinished(() => again.kill());
    expect(again.token).toBe(b.token);
    const a = await again.json<{ agent_version: string }>('/api/agents/flush-me');
    expect(a.agent_version).toBe('9.9.9');
  });
});
