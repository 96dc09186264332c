// Chaos: the database is deleted with the backend stopped (the SQLite file, or
// the PostgreSQL database dropped and created empty). On the next
// start the projections are rebuilt from the streams (upstream's wipe check:
// an empty projection table resets its durable, which replays from the
// start) and come back identical, recorded_at included. Deleting the file
// loses the accounts; `kanade-backend wipe-projector` keeps them.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, removeDir, startBackend, type TestBackend } from '../../../../test-support/backend.js';
import { deleteStore, storeEnv } from '../../../../test-support/db.js';
import { startNats, type TestNats } from '../../../../test-support/nats-server.js';
import { assertAlive, count, report, scale, sql } from './support.js';

const N = scale(1_000, 20_000, 'KANADE_CHAOS_WIPE_COUNT');
const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
const ENV = { KANADE_JWT_SECRET: 'wipe-jwt-secret-0123456789abcdef' };

let nats: TestNats;
let nc: NatsConnection;
let be: TestBackend;
let dataDir: string;

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  be = await startBackend({ natsUrl: nats.url, env: ENV });
  dataDir = be.dataDir;
});
afterAll(async () => {
  await be?.kill();
  if (dataDir) removeDir(dataDir);
  await nc?.close();
  await nats?.stop();
});

async function api(method: string, path: string, body?: unknown, token?: string | null) {
  return be.fetch(path, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    ...(token !== undefined ? { token } : {}),
  });
}

async function createAccount() {
  expect(
    (await api('POST', '/api/permission-groups', { name: 'chaos-auditors', features: ['audit'] })).status,
  ).toBe(201);
  const r = await api('POST', '/api/accounts', {
    username: 'wipe-user',
    role: 'viewer',
    password: 'wipe-user-password',
    must_change_pw: false,
    permission_group: 'chaos-auditors',
  });
  expect(r.status, await r.clone().text()).toBe(201);
}

const login = async () =>
  (await api('POST', '/api/auth/login', { username: 'wipe-user', password: 'wipe-user-password' }, null))
    .status;

async function publish() {
  const js = jetstream(nc);
  const base = Date.now() - 3_600_000;
  let window: Promise<unknown>[] = [];
  for (let i = 0; i < N; i++) {
    const at = new Date(base + i * 1000).toISOString();
    const pc = `w-pc-${i % 40}`;
    window.push(
      js.publish(
        `events.started.w-exec.${pc}`,
        JSON.stringify({
          result_id: `w-run-${i}`,
          request_id: `w-req-${i}`,
          exec_id: 'w-exec',
          pc_id: pc,
          started_at: at,
          manifest_id: 'w-job',
          version: '1',
        }),
      ),
      js.publish(
        `results.w-req-${i}`,
        JSON.stringify({
          result_id: `w-res-${i}`,
          request_id: `w-req-${i}`,
          pc_id: pc,
          exit_code: i % 3,
          stdout: `out ${i}`,
          stderr: '',
          started_at: at,
          finished_at: at,
        }),
      ),
      js.publish(
        `audit.chaos.wipe.w-${i}`,
        JSON.stringify({ actor: 'chaos', action: 'wipe', target: `w-${i}`, payload: { i }, occurred_at: at }),
      ),
      js.publish(
        `obs.${pc}`,
        JSON.stringify({
          pc_id: pc,
          at,
          kind: 'chaos',
          source: 'wipe',
          event_record_id: `w-obs-${i}`,
          payload: { i },
        }),
      ),
    );
    if (window.length >= 400) {
      await Promise.all(window);
      window = [];
    }
  }
  await Promise.all(window);
}

/** The projected rows this test published, in a stable order. */
function snapshot() {
  return {
    results: sql(
      dataDir,
      `SELECT result_id, request_id, exec_id, pc_id, exit_code, stdout, started_at, finished_at, recorded_at, job_id
       FROM execution_results WHERE result_id LIKE 'w-%' ORDER BY result_id`,
    ),
    audit: sql(
      dataDir,
      "SELECT stream_seq, actor, action, target, payload, occurred_at FROM audit_log WHERE actor = 'chaos' ORDER BY stream_seq",
    ),
    obs: sql(
      dataDir,
      "SELECT pc_id, at, kind, source, event_record_id, payload FROM obs_events WHERE source = 'wipe' ORDER BY event_record_id",
    ),
  };
}

const complete = () =>
  count(dataDir, "SELECT COUNT(*) FROM execution_results WHERE result_id LIKE 'w-%'") === 2 * N &&
  count(dataDir, "SELECT COUNT(*) FROM audit_log WHERE actor = 'chaos'") === N &&
  count(dataDir, "SELECT COUNT(*) FROM obs_events WHERE source = 'wipe'") === N;

async function restart(wipe: () => unknown) {
  expect(await be.stop()).toBe(0);
  await wipe();
  const t = Date.now();
  be = await startBackend({ natsUrl: nats.url, dataDir, env: ENV });
  await eventually(async () => complete(), 60_000 + N * 20, 'projections rebuilt');
  return Date.now() - t;
}

describe('database wipe and replay', () => {
  it(`rebuilds identical projections from the streams (${N.toLocaleString()} of each)`, async () => {
    await createAccount();
    expect(await login()).toBe(200);
    await publish();
    await eventually(async () => complete(), 60_000 + N * 20, 'first projection');
    const before = snapshot();
    expect(before.results).toHaveLength(2 * N);

    // 1. The database deleted: everything is rebuilt; the accounts are gone with it.
    const deleteMs = await restart(() => deleteStore(dataDir));
    expect(snapshot()).toEqual(before);
    expect(await login()).toBe(401);
    assertAlive(be);

    // 2. wipe-projector: rebuilt again, and the account and its permission group survive.
    await createAccount();
    const store = await storeEnv(dataDir);
    const wipeMs = await restart(() => {
      const r = spawnSync(process.execPath, [MAIN, 'wipe-projector'], {
        env: { PATH: process.env.PATH ?? '', KANADE_DATA_DIR: dataDir, KANADE_NATS_URL: nats.url, ...store },
        encoding: 'utf8',
      });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain('kept 1 account(s) and 1 permission group(s)');
    });
    expect(snapshot()).toEqual(before);
    expect(await login()).toBe(200);
    const groups = (await (await api('GET', '/api/permission-groups')).json()) as { name: string }[];
    expect(groups.map((g) => g.name)).toContain('chaos-auditors');
    assertAlive(be);
    report('wipe and replay', {
      each: N,
      rebuilt_after_delete_ms: deleteMs,
      rebuilt_after_wipe_projector_ms: wipeMs,
      rows: { results: before.results.length, audit: before.audit.length, obs: before.obs.length },
      accounts_after_delete: 'lost (expected)',
      accounts_after_wipe_projector: 'kept',
    });
  }, 300_000);
});
