// The read-only SQL sandbox: POST /api/query on the built backend refuses
// every kind of write (each verb, stacked statements, data-modifying CTEs,
// ATTACH, PRAGMA, load_extension) with a 400 and leaves the database as it
// was; SELECT / WITH work, with the row cap flagging truncation. The runner
// itself is also driven directly on a migrated store (the SQLite file, or the
// test's PostgreSQL database) to pin the timeout: a runaway query is stopped,
// answered as a timeout, and the next query runs on a fresh worker.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { subject } from '@kanade/wire';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, removeDir, startBackend, type TestBackend } from '../../../test-support/backend.js';
import { createStoreDb, openStoreDb, storeEnv, tableSchemas } from '../../../test-support/db.js';
import { startNats, type TestNats } from '../../../test-support/nats-server.js';
import { createQueryRunner, QueryError, validateReadOnly } from '../src/services/query.js';

describe('validateReadOnly', () => {
  it.each([
    'SELECT 1',
    'select pc_id from agents where hostname = ?',
    'WITH x AS (SELECT 1 AS a) SELECT a FROM x',
    "SELECT 'delete from agents; drop table agents' AS note",
    'SELECT 1 -- ; DROP TABLE agents',
    "SELECT replace(hostname, 'a', 'b') FROM agents",
    'SELECT "update" FROM (SELECT 1 AS "update")',
    'SELECT 1;',
  ])('accepts %s', (sql) => expect(validateReadOnly(sql)).toBeUndefined());
});

let nats: TestNats;
let nc: NatsConnection;
let be: TestBackend;

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  be = await startBackend({ natsUrl: nats.url });
  nc.publish(
    subject.heartbeat('q-pc'),
    JSON.stringify({ pc_id: 'q-pc', at: new Date().toISOString(), agent_version: '1', hostname: 'q-host' }),
  );
  await eventually(async () => (await be.fetch('/api/agents/q-pc')).ok, 10_000, 'agent');
});
afterAll(async () => {
  await be?.kill();
  if (be) removeDir(be.dataDir);
  await nc?.close();
  await nats?.stop();
});

async function query(sql: string, limit?: number) {
  const r = await be.fetch('/api/query', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(limit === undefined ? { sql } : { sql, limit }),
  });
  // biome-ignore lint/suspicious/noExplicitAny: tests assert JSON bodies field by field
  return { status: r.status, body: (await r.json()) as any };
}

describe('POST /api/query', () => {
  it('runs a SELECT and reports columns, rows and truncation', async () => {
    const r = await query("SELECT pc_id, hostname, 1.5 AS x, NULL AS n FROM agents WHERE pc_id = 'q-pc'");
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      columns: ['pc_id', 'hostname', 'x', 'n'],
      rows: [['q-pc', 'q-host', 1.5, null]],
      row_count: 1,
      truncated: false,
    });
    const many = await query(
      'WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 50) SELECT i FROM c',
      10,
    );
    expect(many.body).toMatchObject({ row_count: 10, truncated: true });
    expect((await query('SELECT 1', 10_001)).status).toBe(400);
  });

  it.each([
    ['INSERT', "INSERT INTO agents (pc_id, updated_at) VALUES ('x', 0)"],
    ['UPDATE', "UPDATE agents SET hostname = 'pwned'"],
    ['DELETE', 'DELETE FROM agents'],
    ['REPLACE', "REPLACE INTO agents (pc_id, updated_at) VALUES ('x', 0)"],
    ['DROP', 'DROP TABLE agents'],
    ['CREATE', 'CREATE TABLE x (a)'],
    ['ALTER', 'ALTER TABLE agents ADD COLUMN pwned TEXT'],
    ['ATTACH', "ATTACH DATABASE '/tmp/kanade-evil.db' AS evil"],
    ['ATTACH inside a SELECT', "SELECT 1; ATTACH DATABASE ':memory:' AS m"],
    ['DETACH', 'DETACH DATABASE main'],
    ['PRAGMA', 'PRAGMA writable_schema = 1'],
    ['PRAGMA after WITH', 'WITH x AS (SELECT 1) PRAGMA query_only = 0'],
    ['VACUUM', 'VACUUM'],
    ['REINDEX', 'REINDEX'],
    ['ANALYZE', 'ANALYZE'],
    ['a stacked statement', 'SELECT 1; DELETE FROM agents'],
    ['a stacked statement behind a comment', 'SELECT 1 /* x */ ; DROP TABLE agents'],
    ['a data-modifying CTE', 'WITH x AS (SELECT 1) DELETE FROM agents'],
    [
      'an INSERT from a CTE',
      "WITH x AS (SELECT 'y' AS p) INSERT INTO agents (pc_id, updated_at) SELECT p, 0 FROM x",
    ],
    ['load_extension', "SELECT load_extension('/tmp/evil.so')"],
    ['BEGIN', 'BEGIN IMMEDIATE'],
    ['an empty query', '   '],
    ['a leading comment', '-- hi\nDELETE FROM agents'],
  ])('refuses %s with a 400', async (_what, sql) => {
    const r = await query(sql);
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('KANADE_ERR_BAD_REQUEST');
  });

  it('left the database untouched', async () => {
    const r = await query(
      "SELECT COUNT(*) AS n, MAX(hostname) AS h FROM agents WHERE pc_id IN ('q-pc', 'x', 'y')",
    );
    expect(r.body.rows).toEqual([[1, 'q-host']]);
    const db = openStoreDb(be.dataDir, { readonly: true });
    try {
      expect(tableSchemas(db).map((t) => t.name)).not.toContain('x');
    } finally {
      db.close();
    }
  });

  it('answers a SQL error with a 400 naming it', async () => {
    const r = await query('SELECT * FROM no_such_table');
    expect(r.status).toBe(400);
    expect(r.body.message).toContain('no_such_table');
  });
});

describe('query runner timeout', () => {
  it('stops a runaway query and keeps serving', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kanade-query-'));
    (await createStoreDb(dir)).close();
    const path = (await storeEnv(dir)).KANADE_POSTGRES_URL ?? join(dir, 'kanade.db');
    const runner = createQueryRunner({ path, timeoutMs: 500 });
    try {
      const started = Date.now();
      const err = await runner
        .run('WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c) SELECT COUNT(*) FROM c', 10)
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(QueryError);
      expect((err as QueryError).kind).toBe('timeout');
      expect(Date.now() - started).toBeLessThan(5000);
      expect(await runner.run('SELECT 41 + 1 AS answer', 10)).toEqual({
        columns: ['answer'],
        rows: [[42]],
        truncated: false,
      });
      // Concurrent queries beyond the pool size wait their turn.
      const all = await Promise.all([1, 2, 3, 4, 5].map((i) => runner.run(`SELECT ${i} AS i`, 1)));
      expect(all.map((r) => r.rows[0]![0])).toEqual([1, 2, 3, 4, 5]);
    } finally {
      await runner.close();
      removeDir(dir);
    }
  });
});
