// Store behaviour against a real SQLite file: upstream's heartbeat merge
// rules, per-host perf buckets, duplicate samples, the fleet rollup. With
// KANADE_TEST_POSTGRES_URL (an admin URL, set by `npm run test:postgres`)
// the same tests run against PostgreSQL, one fresh database per test.
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HeartbeatRow } from '../src/store/agents.js';
import { createStore, openDb, type Store } from '../src/store/index.js';
import type { HostPerfRow } from '../src/store/perf.js';

const T0 = Date.UTC(2026, 4, 1, 10, 0, 0);

function beat(patch: Partial<HeartbeatRow> = {}): HeartbeatRow {
  return {
    pc_id: 'pc1',
    last_heartbeat: T0,
    agent_version: '1.0.0',
    hostname: 'host1',
    os_family: 'linux',
    agent_cpu_pct: 1,
    agent_rss_bytes: 100,
    agent_disk_read_bytes: 1,
    agent_disk_written_bytes: 2,
    quarantined_versions: null,
    last_logon_user: 'alice',
    last_logon_display_name: 'Alice',
    command_keys: null,
    enforcing: null,
    command_protocols: null,
    ...patch,
  };
}

function sample(at: number, cpu: number | null, pcId = 'pc1'): HostPerfRow {
  return {
    pc_id: pcId,
    at,
    cpu_pct: cpu,
    cpu_count: 4,
    mem_used_bytes: 1000,
    mem_total_bytes: 4000,
    swap_used_bytes: null,
    swap_total_bytes: null,
    disk_read_bytes_per_sec: 10,
    disk_written_bytes_per_sec: 20,
    net_rx_bytes_per_sec: 30,
    net_tx_bytes_per_sec: 40,
  };
}

const ADMIN_URL = process.env.KANADE_TEST_POSTGRES_URL;

/** A new empty database on the PostgreSQL server of ADMIN_URL; resolves to its URL. */
async function freshPostgres(admin: string): Promise<string> {
  const name = `kanade_store_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return url.toString();
}

let store: Store;
beforeEach(async () => {
  const sqlitePath = join(mkdtempSync(join(tmpdir(), 'kanade-store-')), 'k.db');
  const postgresUrl = ADMIN_URL ? await freshPostgres(ADMIN_URL) : undefined;
  store = createStore(openDb({ sqlitePath, postgresUrl }));
});
afterEach(() => {
  store.db.close();
});

describe('heartbeat upsert', () => {
  it('keeps hostname and os_family when a beat omits them', () => {
    store.tx(() => store.agents.upsertHeartbeats([beat()], T0));
    store.tx(() =>
      store.agents.upsertHeartbeats(
        [beat({ hostname: null, os_family: null, last_heartbeat: T0 + 30_000 })],
        T0,
      ),
    );
    const a = store.agents.get('pc1', T0 + 30_000)!;
    expect(a.hostname).toBe('host1');
    expect(a.os_family).toBe('linux');
    expect(a.last_heartbeat).toBe(new Date(T0 + 30_000).toISOString());
  });

  it('changes the display name only when the beat names a user', () => {
    store.tx(() => store.agents.upsertHeartbeats([beat()], T0));
    store.tx(() =>
      store.agents.upsertHeartbeats([beat({ last_logon_user: null, last_logon_display_name: null })], T0),
    );
    expect(store.agents.get('pc1', T0)).toMatchObject({
      last_logon_user: 'alice',
      last_logon_display_name: 'Alice',
    });
    store.tx(() =>
      store.agents.upsertHeartbeats([beat({ last_logon_user: 'bob', last_logon_display_name: null })], T0),
    );
    expect(store.agents.get('pc1', T0)).toMatchObject({
      last_logon_user: 'bob',
      last_logon_display_name: null,
    });
  });

  it('keeps three-state fields on silence but takes explicit [] and false', () => {
    store.tx(() => store.agents.upsertHeartbeats([beat({ command_keys: '["k:1"]', enforcing: 1 })], T0));
    store.tx(() => store.agents.upsertHeartbeats([beat()], T0));
    expect(store.agents.get('pc1', T0)).toMatchObject({ command_keys: ['k:1'], enforcing: true });
    store.tx(() => store.agents.upsertHeartbeats([beat({ command_keys: '[]', enforcing: 0 })], T0));
    expect(store.agents.get('pc1', T0)).toMatchObject({ command_keys: [], enforcing: false });
  });

  it('replaces quarantined versions and omits them when empty', () => {
    store.tx(() => store.agents.upsertHeartbeats([beat({ quarantined_versions: '["0.9.0"]' })], T0));
    expect(store.agents.get('pc1', T0)!.quarantined_versions).toEqual(['0.9.0']);
    store.tx(() => store.agents.upsertHeartbeats([beat()], T0));
    expect(store.agents.get('pc1', T0)).not.toHaveProperty('quarantined_versions');
  });
});

describe('agent list', () => {
  beforeEach(() => {
    const rows = Array.from({ length: 30 }, (_, i) =>
      beat({
        pc_id: `pc${String(i).padStart(2, '0')}`,
        hostname: `h${i}`,
        agent_version: i % 3 === 0 ? '2.0.0' : '1.0.0',
        last_heartbeat: i < 20 ? T0 : T0 - 10 * 60_000,
        quarantined_versions: i === 5 ? '["1.5.0"]' : null,
      }),
    );
    store.tx(() => store.agents.upsertHeartbeats(rows, T0));
  });
  const base = { sort: 'pc_id' as const, dir: 'asc' as const, limit: 10, offset: 0, now: T0 + 1000 };

  it('pages and counts online/offline with the 2-minute threshold', () => {
    const r = store.agents.list(base);
    expect(r.rows.map((a) => a.pc_id)).toEqual(Array.from({ length: 10 }, (_, i) => `pc0${i}`));
    expect({ total: r.total, online: r.online, offline: r.offline }).toEqual({
      total: 30,
      online: 20,
      offline: 10,
    });
    const off = store.agents.list({ ...base, status: 'offline', limit: 100 });
    expect(off.total).toBe(10);
    expect(off.rows.every((a) => !a.online)).toBe(true);
    expect(off.online).toBe(20);
  });

  it('filters by regex on pc_id/hostname and version, and by quarantined version', () => {
    expect(store.agents.list({ ...base, q: '^H2\\d$', limit: 100 }).total).toBe(10);
    expect(store.agents.list({ ...base, version: '^2\\.', limit: 100 }).total).toBe(10);
    expect(store.agents.list({ ...base, quarantined: '1.5.0' }).rows.map((a) => a.pc_id)).toEqual(['pc05']);
    expect(store.agents.list({ ...base, quarantined: '1_5%0' }).total).toBe(0);
  });

  it('sorts descending with pc_id as tie-breaker', () => {
    const r = store.agents.list({ ...base, sort: 'agent_version', dir: 'desc', limit: 3 });
    expect(r.rows.map((a) => [a.agent_version, a.pc_id])).toEqual([
      ['2.0.0', 'pc27'],
      ['2.0.0', 'pc24'],
      ['2.0.0', 'pc21'],
    ]);
  });

  it('reports versions with total and active, busiest first', () => {
    expect(store.agents.versions(T0 + 1000)).toEqual([
      { version: '1.0.0', total: 20, active: 13 },
      { version: '2.0.0', total: 10, active: 7 },
    ]);
  });
});

describe('host perf', () => {
  it('averages known samples into buckets and leaves empty buckets out', () => {
    const written = store.tx(() =>
      store.perf.insertHostPerf([
        sample(T0, 10),
        sample(T0 + 60_000, 30),
        sample(T0 + 120_000, null),
        sample(T0 + 300_000, 50),
        sample(T0 + 360_000, 70),
        sample(T0 + 900_000, 5),
      ]),
    );
    expect(written).toBe(6);
    const points = store.perf.hostPerf('pc1', T0, T0 + 15 * 60_000, 5 * 60_000);
    expect(points.map((p) => [p.at, p.cpu_pct])).toEqual([
      [new Date(T0).toISOString(), 20],
      [new Date(T0 + 300_000).toISOString(), 60],
    ]);
    expect(points[0]!.mem_total_bytes).toBe(4000);
  });

  it('drops a duplicate (pc_id, at) sample and keeps the first', () => {
    store.tx(() => store.perf.insertHostPerf([sample(T0, 10)]));
    const n = store.tx(() => store.perf.insertHostPerf([sample(T0, 99), sample(T0, 98)]));
    expect(n).toBe(0);
    expect(store.perf.hostPerf('pc1', T0, T0 + 1000, 1000)[0]!.cpu_pct).toBe(10);
  });

  it('rolls inserted samples (not duplicates) into fleet minutes', () => {
    store.tx(() =>
      store.perf.insertHostPerf([
        sample(T0, 10, 'a'),
        sample(T0 + 1000, 30, 'b'),
        sample(T0 + 61_000, 80, 'a'),
      ]),
    );
    store.tx(() => store.perf.insertHostPerf([sample(T0, 90, 'a')]));
    const avg = store.perf.fleet('cpu_pct', 'avg', T0, T0 + 120_000, 60_000);
    expect(avg).toEqual([
      { at: new Date(T0).toISOString(), value: 20 },
      { at: new Date(T0 + 60_000).toISOString(), value: 80 },
    ]);
    expect(store.perf.fleet('cpu_pct', 'max', T0, T0 + 120_000, 120_000)).toEqual([
      { at: new Date(T0).toISOString(), value: 80 },
    ]);
  });

  it('ranks hosts by their average over the window', () => {
    store.tx(() => store.agents.upsertHeartbeats([beat({ pc_id: 'b', hostname: 'hb' })], T0));
    store.tx(() =>
      store.perf.insertHostPerf([
        sample(T0, 10, 'a'),
        sample(T0 + 1000, 50, 'a'),
        sample(T0, 40, 'b'),
        sample(T0, 5, 'c'),
      ]),
    );
    expect(store.perf.top('cpu_pct', T0, 2)).toEqual([
      { pc_id: 'b', hostname: 'hb', value: 40 },
      { pc_id: 'a', hostname: null, value: 30 },
    ]);
  });
});
