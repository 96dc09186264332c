// `kanade-backend migrate-store` end to end: a real SQLite installation filled
// through the running backend (a simulated fleet's heartbeats, host_perf and
// command results, an execution, an account, the audit trail) is copied by the
// BUILT command into a fresh PostgreSQL database; a backend started on that
// database then answers /api/agents, /api/results, /api/accounts and the
// execution exactly as the SQLite one did, and the migrated account can log
// in. Also: every table's row count matches, the password of the URL never
// reaches the output, a non-empty target is refused unless --force (which
// leaves no duplicate), and the copied identity ids do not collide with new
// rows. It needs PostgreSQL, so it lives in scale-out/ and runs only under
// `npm run test:postgres` (KANADE_TEST_POSTGRES_URL).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, removeDir, startBackend, type TestBackend } from '../../../../test-support/backend.js';
import { startNats, type TestNats } from '../../../../test-support/nats-server.js';
import { createDatabase } from '../../../../test-support/postgres.js';
import { createSimulator, pcIdOf, type Simulator } from '../../../sim/src/index.js';
import { type Db, openDb } from '../../src/store/db.js';

const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
const PG_ADMIN = process.env.KANADE_TEST_POSTGRES_URL || undefined;
const TOKEN = 'migrate-store-static-token-0123456789';
const JWT_SECRET = 'migrate-store-jwt-secret-0123456789abcdef';
const PASSWORD = 'Pg-Secret-7f3a9c';
const AGENTS = 12;

let nats: TestNats;
let sim: Simulator | undefined;
let source: TestBackend | undefined;
let target: TestBackend | undefined;
let sqlitePath = '';
let targetUrl = '';
const dirs: string[] = [];
/** What the SQLite backend answered, to compare with the PostgreSQL one. */
const before: Record<string, unknown> = {};
let execId = '';
let pcs: string[] = [];

const PATHS = (now = Date.now()) => [
  `/api/agents?limit=1000`,
  `/api/results?limit=1000`,
  `/api/accounts`,
  `/api/executions/${execId}`,
  `/api/agents/${pcs[0]}/perf?from=${new Date(now - 3_600_000).toISOString()}&to=${new Date(now + 60_000).toISOString()}`,
];

async function post(be: TestBackend, path: string, body: unknown, token?: string | null) {
  return be.fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    ...(token !== undefined ? { token } : {}),
  });
}

function migrate(...args: string[]) {
  const r = spawnSync(process.execPath, [MAIN, 'migrate-store', ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', KANADE_DATA_DIR: dirs[0]! },
    timeout: 120_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Row count of every table but the migrations' bookkeeping. */
function counts(db: Db): Record<string, number> {
  const tables =
    db.dialect === 'postgres'
      ? db
          .prepare<[], string>(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
          )
          .pluck()
          .all()
      : db
          .prepare<[], string>(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
          )
          .pluck()
          .all();
  const out: Record<string, number> = {};
  for (const t of tables.filter((t) => t !== 'schema_migrations').sort())
    out[t] = Number(db.prepare<[], number>(`SELECT COUNT(*) FROM "${t}"`).pluck().get());
  return out;
}

function withDb<T>(target: string | { sqlitePath: string; postgresUrl: string }, fn: (db: Db) => T): T {
  const db = openDb(target, { migrate: false });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  if (!PG_ADMIN)
    throw new Error(
      'KANADE_TEST_POSTGRES_URL is not set: this test needs PostgreSQL; run `npm run test:postgres`',
    );
  nats = await startNats();
  // KANADE_POSTGRES_URL='' keeps this backend on its SQLite file even under test:postgres.
  source = await startBackend({
    natsUrl: nats.url,
    env: { KANADE_POSTGRES_URL: '', KANADE_AUTH_STATIC_TOKEN: TOKEN, KANADE_JWT_SECRET: JWT_SECRET },
  });
  dirs.push(source.dataDir);
  sqlitePath = join(source.dataDir, 'kanade.db');

  sim = createSimulator({
    natsUrl: nats.url,
    agents: AGENTS,
    prefix: 'mig',
    heartbeatMs: 500,
    hostPerfMs: 500,
    commands: { runMs: 50, failureRate: 0.25 },
  });
  await sim.start();
  const be = source;
  await eventually(
    async () => {
      const r = await be.fetch('/api/agents?q=^mig-&status=online&limit=1');
      return Number(r.headers.get('x-total-count')) === AGENTS;
    },
    30_000,
    'the fleet online',
  );
  expect(
    (
      await post(be, '/api/jobs', {
        id: 'migjob',
        version: '1.0.0',
        execute: { shell: 'sh', script: 'echo hi', timeout: '30s' },
      })
    ).status,
  ).toBe(200);
  pcs = Array.from({ length: AGENTS }, (_, i) => pcIdOf(sim!.fleet, i));
  const ex = await post(be, '/api/exec/migjob', { target: { pcs } });
  expect(ex.status).toBe(200);
  execId = ((await ex.json()) as { exec_id: string }).exec_id;
  await eventually(
    async () => {
      const e = (
        await be.json<{ execution: { success_count: number; failure_count: number } }>(
          `/api/executions/${execId}`,
        )
      ).execution;
      return e.success_count + e.failure_count === AGENTS;
    },
    30_000,
    'every result projected',
  );
  const acc = await post(be, '/api/accounts', {
    username: 'carol',
    role: 'operator',
    password: 'carol-password-123',
    must_change_pw: false,
  });
  expect(acc.status).toBe(201);
  expect(
    (await post(be, '/api/auth/login', { username: 'carol', password: 'carol-password-123' }, null)).status,
  ).toBe(200);
  await sim.stop();
  sim = undefined;
  await new Promise((r) => setTimeout(r, 1500)); // the last telemetry window is flushed
  for (const p of PATHS()) before[p] = await be.json(p);
  expect(await be.stop()).toBe(0);

  const url = new URL(await createDatabase(PG_ADMIN));
  url.password = PASSWORD; // trust auth ignores it; the command must not print it
  targetUrl = url.toString();
}, 180_000);

afterAll(async () => {
  await target?.kill();
  await source?.kill();
  await sim?.stop();
  for (const d of dirs) removeDir(d);
  await nats?.stop();
});

describe('kanade-backend migrate-store', () => {
  it('refuses a missing source and a target that is not a PostgreSQL URL', () => {
    const missing = migrate('--from', join(dirs[0]!, 'nope.db'), '--to', targetUrl);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('no SQLite database');
    const notPg = migrate('--from', sqlitePath, '--to', 'mysql://x');
    expect(notPg.status).toBe(2);
    expect(notPg.stderr).toContain('--to');
  });

  it('copies every table, in batches, with matching row counts and no password in the output', () => {
    const r = migrate('--from', sqlitePath, '--to', targetUrl, '--batch', '7');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('row counts verified');
    expect(r.stdout).not.toContain(PASSWORD);
    const src = withDb(sqlitePath, counts);
    const dst = withDb({ sqlitePath, postgresUrl: targetUrl }, counts);
    expect(dst).toEqual(src);
    // The fleet's data really is there (not a copy of empty tables).
    expect(src.agents).toBe(AGENTS);
    expect(src.execution_results).toBe(AGENTS);
    expect(src.users).toBeGreaterThanOrEqual(1);
    expect(src.host_perf_samples).toBeGreaterThanOrEqual(AGENTS);
    expect(src.audit_log).toBeGreaterThan(0);
  });

  it('refuses the now non-empty target unless --force, which replaces it without duplicates', () => {
    const refused = migrate('--from', sqlitePath, '--to', targetUrl);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain('not empty');
    expect(refused.stderr + refused.stdout).not.toContain(PASSWORD);
    const forced = migrate('--from', sqlitePath, '--to', targetUrl, '--force');
    expect(forced.status).toBe(0);
    expect(withDb({ sqlitePath, postgresUrl: targetUrl }, counts)).toEqual(withDb(sqlitePath, counts));
  });

  it('serves the same agents, results, accounts and execution from PostgreSQL; the account logs in', async () => {
    target = await startBackend({
      natsUrl: nats.url,
      env: { KANADE_POSTGRES_URL: targetUrl, KANADE_AUTH_STATIC_TOKEN: TOKEN, KANADE_JWT_SECRET: JWT_SECRET },
    });
    dirs.push(target.dataDir);
    for (const p of Object.keys(before)) expect(await target.json(p), p).toEqual(before[p]);
    const login = await post(
      target,
      '/api/auth/login',
      { username: 'carol', password: 'carol-password-123' },
      null,
    );
    expect(login.status).toBe(200);
    // New rows get ids after the copied ones (the identity sequences were moved on).
    const maxAuditId = () =>
      withDb({ sqlitePath, postgresUrl: targetUrl }, (db) =>
        Number(db.prepare('SELECT MAX(id) FROM audit_log').pluck().get()),
      );
    const copiedMax = maxAuditId();
    const acc = await post(target, '/api/accounts', {
      username: 'dave',
      role: 'viewer',
      password: 'dave-password-123',
      must_change_pw: false,
    });
    expect(acc.status).toBe(201);
    await eventually(async () => maxAuditId() > copiedMax, 15_000, 'a new audit row after the copied ones');
  }, 60_000);
});
