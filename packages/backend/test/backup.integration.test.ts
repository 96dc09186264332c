// `kanade-backend backup <file>` against the built backend while it runs and
// writes: the copy is a sound database with the accounts and executions in
// it, an existing file is only replaced with --force, and a backend started
// on the copy has them back. On PostgreSQL the command refuses and points to
// pg_dump, without printing the URL's password.
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, startBackend, type TestBackend } from '../../../test-support/backend.js';
import { testPostgresUrl } from '../../../test-support/db.js';
import { startNats, type TestNats } from '../../../test-support/nats-server.js';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const onPostgres = Boolean(testPostgresUrl());

let nats: TestNats;
let nc: NatsConnection;
let be: TestBackend;
let restored: TestBackend | undefined;
let other: TestNats | undefined;
let dir: string;

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  be = await startBackend({ natsUrl: nats.url });
  dir = mkdtempSync(join(tmpdir(), 'kanade-backup-'));
});
afterAll(async () => {
  await restored?.kill();
  if (restored) removeDir(restored.dataDir);
  await other?.stop();
  await be?.kill();
  if (be) removeDir(be.dataDir);
  if (dir) removeDir(dir);
  await nc?.close();
  await nats?.stop();
});

/** `kanade-backend backup ...` with the backend's own data directory; never throws. */
async function backup(args: string[], env: Record<string, string> = {}) {
  try {
    const r = await promisify(execFile)(process.execPath, [MAIN, 'backup', ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: dir, KANADE_DATA_DIR: be.dataDir, ...env },
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function post(path: string, body: unknown) {
  return be.fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

describe.skipIf(onPostgres)('backup on SQLite', () => {
  let execId: string;
  const copy = () => join(dir, 'kanade-copy.db');

  it('copies the database while the backend writes, and only replaces a file with --force', async () => {
    expect(
      (await post('/api/accounts', { username: 'vera', role: 'operator', password: 'vera-password-1' }))
        .status,
    ).toBe(201);
    expect(
      (
        await post('/api/jobs', {
          id: 'backup-job',
          version: '1.0.0',
          execute: { shell: 'sh', script: 'echo hi', timeout: '30s' },
        })
      ).status,
    ).toBe(200);
    const exec = await post('/api/exec/backup-job', { target: { pcs: ['pc-away'] } });
    expect(exec.status).toBe(200);
    execId = ((await exec.json()) as { exec_id: string }).exec_id;

    // Audit events keep the backend's writer busy during the copy.
    const js = jetstream(nc);
    let writing = true;
    let published = 0;
    const load = (async () => {
      while (writing) {
        const body = {
          actor: 'tester',
          action: 'load',
          target: `t${published}`,
          payload: {},
          occurred_at: new Date().toISOString(),
        };
        await js.publish('audit.tester.load', JSON.stringify(body));
        published++;
      }
    })();
    await new Promise((r) => setTimeout(r, 300));
    const r = await backup([copy()]);
    writing = false;
    await load;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^backed up .*kanade\.db to .*kanade-copy\.db: \d+ bytes, \d+ pages, \d+ ms\n$/);
    expect(published).toBeGreaterThan(0);
    expect(existsSync(`${copy()}.partial`)).toBe(false);

    const db = new Database(copy(), { readonly: true });
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(db.prepare("SELECT role FROM users WHERE username = 'vera'").get()).toEqual({
        role: 'operator',
      });
      expect(db.prepare('SELECT status FROM executions WHERE exec_id = ?').get(execId)).toEqual({
        status: 'pending',
      });
    } finally {
      db.close();
    }

    const again = await backup([copy()]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/exists; pass --force/);
    expect((await backup([copy(), '--force'])).code).toBe(0);
    expect((await backup([])).code).toBe(2);
    expect((await backup([join(dir, 'no-such-dir', 'x.db')])).stderr).toMatch(/does not exist/);
  });

  it('brings the accounts and executions back in a backend started on the copy', async () => {
    // A restore onto another machine: its own data directory and broker (the backup's database only).
    other = await startNats();
    const dataDir = mkdtempSync(join(tmpdir(), 'kanade-restored-'));
    copyFileSync(copy(), join(dataDir, 'kanade.db'));
    restored = await startBackend({ natsUrl: other.url, dataDir });
    const accounts = await restored.json<{ username: string }[]>('/api/accounts');
    expect(accounts.map((a) => a.username)).toContain('vera');
    const e = await restored.json<{ execution: { exec_id: string; job_id: string } }>(
      `/api/executions/${execId}`,
    );
    expect(e.execution).toMatchObject({ exec_id: execId, job_id: 'backup-job' });
  });
});

describe.skipIf(!onPostgres)('backup on PostgreSQL', () => {
  it('refuses and points to pg_dump, without the password', async () => {
    const url = 'postgres://kanade:s3cret-pw@127.0.0.1:1/kanade';
    const r = await backup([join(dir, 'x.db')], { KANADE_POSTGRES_URL: url });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/pg_dump/);
    expect(r.stderr).not.toContain('s3cret-pw');
    expect(existsSync(join(dir, 'x.db'))).toBe(false);
  });
});
