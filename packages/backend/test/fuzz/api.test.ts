// API fuzzing: every operation of the backend's OpenAPI document (and every
// route the document hides) receives generated hostile requests as an admin,
// so authentication is never what rejects them: wrong types, boundaries,
// SQL injection on every filter and on /api/query, regex bombs, oversized
// bodies and unexpected content types. Required: no 5xx, no hang, the
// backend alive, and no write on a rejected request. Writes are detected by a
// fingerprint of every JetStream stream's last sequence (KV buckets, object
// stores, EXEC, AUDIT ...) and of every row of the non-projection tables,
// taken after every mutating request (they run one at a time; reads run
// concurrently in between); a rejected request followed by a difference is
// replayed, so background work (watchdog, scheduler) is not mistaken for a
// write. 1,500 requests here; `npm run chaos -- api-fuzz` sends 100,000
// (KANADE_FUZZ_API_COUNT overrides). Two more tests: every injection string
// and regex bomb on every query parameter plus write attempts on /api/query,
// and the requests that once failed (the defects this suite found).
import { createHash } from 'node:crypto';
import { jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, removeDir, startBackend, type TestBackend } from '../../../../test-support/backend.js';
import { openStoreDb, tableSchemas } from '../../../../test-support/db.js';
import { startNats, type TestNats } from '../../../../test-support/nats-server.js';
import type { Db } from '../../src/store/db.js';
import { routeTable } from '../auth-harness.js';
import { assertAlive, count, FULL, report, scale, sleep } from '../chaos/support.js';
import {
  type FuzzRequest,
  fuzzRequest,
  type Operation,
  operations,
  REGEX_BOMBS,
  SQL_INJECTION,
} from './api-cases.js';
import { rng } from './wire-cases.js';

const COUNT = scale(1_500, 100_000, 'KANADE_FUZZ_API_COUNT');
const SEED = Number(process.env.KANADE_FUZZ_SEED) || 7;
const BATCH = 32;
const ACCEPTED_AFTER_MS = 250;
const TIMEOUT_MS = 30_000;
/**
 * Streams written whatever the requests do: on the backend's own schedule (lease, replica presence,
 * watchdog), and the shared login throttle, which records every rejected login by design.
 */
const BACKGROUND_STREAMS = new Set([
  'KV_scheduler_lease',
  'KV_backend_replicas',
  'KV_backend_login_throttle',
  'OBS_EVENTS',
]);
/** Projections fed asynchronously from streams already in the fingerprint (audit), or by the backend's timers. */
const BACKGROUND_TABLES = new Set(['audit_log', 'sqlite_sequence', 'obs_events', 'schema_migrations']);
// The test's own 30 s heartbeats rewrite these columns of `agents`; the rest of each row (and which rows
// exist) is what a rejected request must not change.
const TABLE_SELECT: Record<string, string> = {
  agents: 'SELECT pc_id, hostname, os_family, agent_version, last_logon_user FROM agents ORDER BY pc_id',
};

let nats: TestNats;
let nc: NatsConnection;
let be: TestBackend;
let db: Db;
let ops: Operation[];
let heartbeats: NodeJS.Timeout | undefined;

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  be = await startBackend({
    natsUrl: nats.url,
    env: { KANADE_JWT_SECRET: 'fuzz-jwt-secret-0123456789abcdef' },
  });
  db = openStoreDb(be.dataDir, { readonly: true });
  await seed();
  const doc = await be.json<Record<string, unknown>>('/api/docs');
  ops = operations(doc, await routeTable(nats.url));
}, 120_000);
afterAll(async () => {
  clearInterval(heartbeats);
  db?.close();
  await be?.kill();
  if (be) removeDir(be.dataDir);
  await nc?.close();
  await nats?.stop();
});

/** Rows for the filters to chew on, with long runs of `a` for the regex bombs to backtrack over. */
async function seed() {
  const at = new Date().toISOString();
  const bomb = `${'a'.repeat(48)}!`;
  const beat = () => {
    for (let i = 0; i < 20; i++) {
      const pc = `fz${i}`;
      nc.publish(
        `heartbeat.${pc}`,
        JSON.stringify({
          pc_id: pc,
          at: new Date().toISOString(),
          agent_version: bomb,
          hostname: bomb,
          last_logon_user: bomb,
        }),
      );
    }
  };
  beat();
  // The agents stay online: otherwise /api/health/fleet answers its designed 503 ("every known agent is
  // offline") after two minutes, which is not what this test looks for.
  heartbeats = setInterval(beat, 30_000);
  const js = jetstream(nc);
  for (let i = 0; i < 20; i++) {
    await js.publish(
      `results.req-${i}`,
      JSON.stringify({
        result_id: `fz-res-${i}`,
        request_id: `req-${i}`,
        exec_id: `fz-exec-${i}`,
        pc_id: `fz${i}`,
        exit_code: i % 2,
        stdout: bomb,
        stderr: bomb,
        started_at: at,
        finished_at: at,
      }),
    );
    await js.publish(
      `obs.fz${i}`,
      JSON.stringify({
        pc_id: `fz${i}`,
        at,
        kind: bomb,
        source: bomb,
        event_record_id: `e${i}`,
        payload: { m: bomb },
      }),
    );
  }
  await eventually(
    async () =>
      count(be.dataDir, 'SELECT COUNT(*) FROM agents') === 20 &&
      count(be.dataDir, 'SELECT COUNT(*) FROM execution_results') === 20 &&
      count(be.dataDir, 'SELECT COUNT(*) FROM obs_events') === 20,
    20_000,
    'seed rows',
  );
}

/** What a request could have written: every stream's last sequence and every row of the state tables. */
let fingerprintTotalMs = 0;
async function fingerprint(): Promise<{ streams: Record<string, number>; tables: Record<string, string> }> {
  const t0 = Date.now();
  const jsz = (await (await fetch(`${nats.monitorUrl}/jsz?streams=true`)).json()) as {
    account_details?: { stream_detail?: { name: string; state: { last_seq: number } }[] }[];
  };
  const streams: Record<string, number> = {};
  for (const a of jsz.account_details ?? [])
    for (const s of a.stream_detail ?? [])
      if (!BACKGROUND_STREAMS.has(s.name)) streams[s.name] = s.state.last_seq;
  const tables: Record<string, string> = {};
  for (const t of tableSchemas(db)) {
    const h = createHash('sha256').update(t.sql);
    if (!BACKGROUND_TABLES.has(t.name))
      for (const row of db.prepare(TABLE_SELECT[t.name] ?? `SELECT * FROM "${t.name}"`).iterate())
        h.update(JSON.stringify(row));
    tables[t.name] = h.digest('hex');
  }
  fingerprintTotalMs += Date.now() - t0;
  return { streams, tables };
}

function diff(
  a: Awaited<ReturnType<typeof fingerprint>>,
  b: Awaited<ReturnType<typeof fingerprint>>,
): string[] {
  const out: string[] = [];
  for (const k of new Set([...Object.keys(a.streams), ...Object.keys(b.streams)]))
    if (a.streams[k] !== b.streams[k]) out.push(`stream ${k}: ${a.streams[k]} -> ${b.streams[k]}`);
  for (const k of new Set([...Object.keys(a.tables), ...Object.keys(b.tables)]))
    if (a.tables[k] !== b.tables[k]) out.push(`table ${k} changed`);
  return out;
}

/**
 * Refused outright. A 408 is not a refusal: /api/run dispatched the command and gave up waiting for
 * its result. A failed login is audited on purpose (the AUDIT stream moves, nothing else).
 */
function isRejection(o: Outcome): boolean {
  return o.status >= 400 && o.status !== 408 && !o.unsent;
}

/** The differences a refused request must not cause (a failed sign-in is audited by design). */
function unexpected(q: FuzzRequest, d: string[]): string[] {
  return q.op.path.startsWith('/api/auth/') ? d.filter((x) => !x.startsWith('stream AUDIT:')) : d;
}

interface Outcome {
  req: FuzzRequest;
  status: number;
  ms: number;
  body: string;
  /** The client refused to send it (e.g. a header fetch will not encode). */
  unsent?: string;
}

/** How long a request may take: /api/run waits for its result up to timeout_secs (default 60) + 10 s by design. */
function patience(req: FuzzRequest): number {
  if (req.op.path !== '/api/run' || typeof req.body !== 'string') return TIMEOUT_MS;
  let secs = 60;
  try {
    const t = (JSON.parse(req.body) as { timeout_secs?: unknown }).timeout_secs;
    if (typeof t === 'number' && Number.isFinite(t)) secs = t;
  } catch {
    // not JSON: refused at once
  }
  return Math.max(TIMEOUT_MS, Math.min(secs, 600) * 1000 + 10_000 + TIMEOUT_MS);
}

async function send(req: FuzzRequest): Promise<Outcome> {
  const started = Date.now();
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), patience(req));
  try {
    const res = await be.fetch(req.url, {
      method: req.method,
      headers: req.headers,
      ...(req.body !== undefined ? { body: req.body as BodyInit } : {}),
      signal: abort.signal,
    });
    let body = '';
    if ((res.headers.get('content-type') ?? '').startsWith('text/event-stream')) await res.body?.cancel();
    else body = await res.text();
    return { req, status: res.status, ms: Date.now() - started, body };
  } catch (err) {
    const e = err as Error;
    if (e.name === 'AbortError') return { req, status: 0, ms: Date.now() - started, body: 'timed out' };
    return { req, status: -1, ms: Date.now() - started, body: '', unsent: e.message };
  } finally {
    clearTimeout(timer);
  }
}

const describeReq = (o: Outcome) => {
  const sent = typeof o.req.body === 'string' ? ` ${o.req.body.slice(0, 160)}` : '';
  return `${o.req.method} ${o.req.url.slice(0, 200)}${sent} [${o.req.kind}] -> ${o.status} ${o.body.slice(0, 200)}`;
};

describe('API fuzzing', () => {
  it(
    `answers every hostile request without a 5xx, a hang or a write (${COUNT.toLocaleString()} requests)`,
    async () => {
      const r = rng(SEED);
      const statuses: Record<string, number> = {};
      const kinds: Record<string, number> = {};
      const serverErrors: string[] = [];
      const hangs: string[] = [];
      const writes: string[] = [];
      const leaks: string[] = [];
      let unsent = 0;
      let checked = 0;
      let slowest = 0;
      let slow = 0;
      const started = Date.now();
      const perOp = new Map<string, { n: number; ms: number }>();
      const record = (o: Outcome) => {
        const k = `${o.req.method} ${o.req.op.path}`;
        const e = perOp.get(k) ?? { n: 0, ms: 0 };
        e.n++;
        e.ms += o.ms;
        perOp.set(k, e);
        statuses[o.status] = (statuses[o.status] ?? 0) + 1;
        kinds[o.req.kind] = (kinds[o.req.kind] ?? 0) + 1;
        slowest = Math.max(slowest, o.ms);
        if (o.ms > 5_000) slow++;
        if (o.unsent) unsent++;
        else if (o.status === 0) hangs.push(describeReq(o));
        else if (o.status >= 500) serverErrors.push(describeReq(o));
        if (/\$argon2/.test(o.body)) leaks.push(describeReq(o));
      };
      let sent = 0;
      let op = 0;
      let last = await fingerprint();
      const waiting: Promise<void>[] = [];
      while (sent < COUNT) {
        const batch: FuzzRequest[] = [];
        for (let i = 0; i < BATCH && sent < COUNT; i++, sent++)
          batch.push(fuzzRequest(ops[op++ % ops.length]!, r));
        // Reads run concurrently; then each mutation alone, with a fingerprint after it.
        const reads = batch.filter((q) => q.method === 'GET');
        for (let i = 0; i < reads.length; i += 8)
          for (const o of await Promise.all(reads.slice(i, i + 8).map(send))) record(o);
        const afterReads = await fingerprint();
        const readsChanged = diff(last, afterReads).length > 0;
        last = afterReads;
        if (readsChanged) {
          // Something wrote meanwhile (a waiting /api/run, a timer): replay the reads one by one.
          for (const q of reads) {
            const again = await send(q);
            const now = await fingerprint();
            const d = diff(last, now);
            last = now;
            if (d.length) writes.push(`${describeReq(again)} wrote: ${d.join(', ')}`);
          }
        }
        for (const q of batch.filter((x) => x.method !== 'GET')) {
          // A request still running after a moment was accepted (validation answers at once) and is
          // waiting for an agent (POST /api/run): let it finish in the background, unchecked.
          const pending = send(q);
          const o = await Promise.race([pending, sleep(ACCEPTED_AFTER_MS).then(() => undefined)]);
          if (!o) {
            waiting.push(pending.then(record));
            continue;
          }
          record(o);
          const now = await fingerprint();
          const d = unexpected(q, diff(last, now));
          last = now;
          if (!isRejection(o)) continue;
          checked++;
          if (!d.length) continue;
          // Background timers also write: a rejected request is blamed only if it writes again when replayed.
          const again = await send(q);
          const after = await fingerprint();
          const d2 = unexpected(q, diff(last, after));
          last = after;
          if (isRejection(again) && d2.length) writes.push(`${describeReq(again)} wrote: ${d2.join(', ')}`);
        }
        while (waiting.length > 32) await waiting.shift();
        if (sent % 5000 < BATCH) assertAlive(be);
      }
      await Promise.all(waiting);
      assertAlive(be);
      expect((await be.fetch('/health')).status).toBe(200);
      report('api fuzz', {
        requests: COUNT,
        operations: ops.length,
        seconds: ((Date.now() - started) / 1000).toFixed(1),
        statuses,
        kinds,
        unsent,
        slowest_ms: slowest,
        over_5s: slow,
        rejected_mutations_checked: checked,
        server_errors: serverErrors.length,
        hangs: hangs.length,
        writes_on_rejected: writes.length,
        fingerprint_s: (fingerprintTotalMs / 1000).toFixed(1),
        slowest_operations: [...perOp]
          .sort((a, b) => b[1].ms - a[1].ms)
          .slice(0, 8)
          .map(([k, v]) => `${k} ${v.n}x ${Math.round(v.ms / v.n)}ms`),
      });
      for (const line of [...serverErrors, ...hangs, ...writes, ...leaks].slice(0, 200))
        process.stdout.write(`[chaos] api fuzz finding: ${line}\n`);
      expect(serverErrors.slice(0, 20)).toEqual([]);
      expect(hangs.slice(0, 20)).toEqual([]);
      expect(writes.slice(0, 20)).toEqual([]);
      expect(leaks.slice(0, 20)).toEqual([]);
    },
    120_000 + COUNT * 20,
  );

  it('refuses SQL injection and regex bombs on every filter, and writes through /api/query', async () => {
    const before = await fingerprint();
    const users = count(be.dataDir, 'SELECT COUNT(*) FROM users');
    const failures: string[] = [];
    const queryOps = ops.filter((o) => o.method === 'get' && o.params.some((p) => p.in === 'query'));
    for (const o of queryOps) {
      for (const p of o.params.filter((x) => x.in === 'query')) {
        for (const inj of [...SQL_INJECTION, ...REGEX_BOMBS]) {
          const path = o.path.replace(/\{[^}]+\}/g, 'fz1');
          const res = await send({
            op: o,
            method: 'GET',
            url: `${path}?${encodeURIComponent(p.name)}=${encodeURIComponent(inj)}`,
            headers: {},
            kind: 'sqlInjection',
          });
          if (res.status >= 500 || res.status === 0) failures.push(describeReq(res));
          // A tautology must not widen a filter: it matches nothing or is refused.
          if (res.status === 200 && inj.includes("'1'='1") && /"password_hash"/.test(res.body))
            failures.push(describeReq(res));
        }
      }
    }
    const attacks = [
      'SELECT 1; DROP TABLE users',
      'SELECT 1; DELETE FROM users',
      'WITH x AS (DELETE FROM users RETURNING 1) SELECT * FROM x',
      "SELECT * FROM users WHERE username = '' OR 1=1; UPDATE users SET role = 'viewer'",
      "ATTACH DATABASE '/tmp/kanade-pwn.db' AS pwn",
      "SELECT load_extension('/tmp/x')",
      'PRAGMA writable_schema = 1',
      'VACUUM INTO "/tmp/kanade-copy.db"',
      'SELECT * FROM users /* ; DELETE FROM users */',
      "SELECT 'a' || (SELECT sql FROM sqlite_master) --",
      // Runs into the 15 s budget (408): only in the full run.
      ...(FULL
        ? ['WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT COUNT(*) FROM c']
        : []),
      'SELECT randomblob(2000000000)',
      'SELECT zeroblob(2000000000)',
      "SELECT printf('%.*c', 2000000000, 'x')",
      'REPLACE INTO users (username) VALUES (1)',
      'select 1 union select password_hash from users',
    ];
    const answers: Record<string, number> = {};
    for (const sqlText of attacks) {
      const res = await send({
        op: ops[0]!,
        method: 'POST',
        url: '/api/query',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ sql: sqlText }),
        kind: 'query',
      });
      answers[sqlText.slice(0, 40)] = res.status;
      if (res.status >= 500 || res.status === 0) failures.push(describeReq(res));
    }
    expect(count(be.dataDir, 'SELECT COUNT(*) FROM users')).toBe(users);
    const after = await fingerprint();
    // Accepted /api/query calls are audited (AUDIT moves); nothing else may change.
    const changed = diff(before, after).filter((d) => !d.startsWith('stream AUDIT:'));
    report('sql injection', { filters: queryOps.length, query_answers: answers, failures: failures.length });
    expect(failures).toEqual([]);
    expect(changed).toEqual([]);
  }, 300_000);

  it('answers what the fuzzer once broke with a 4xx (regressions)', async () => {
    const cases: [method: string, url: string, expected: number][] = [
      // A schedule id NATS refuses as a KV key was a KV error, a 500.
      ['GET', "/api/schedules/'%20OR%201=1/yaml", 400],
      ['GET', '/api/schedules/%3E/status', 400],
      ['GET', '/api/schedules/a%2Cb/coverage', 400],
      ['GET', '/api/schedules/x%20y/preview', 400],
      ['POST', '/api/schedules/a%2Cb/enable', 400],
      ['POST', '/api/schedules/nul%00byte/disable', 400],
      ['DELETE', '/api/schedules/%E6%97%A5', 400],
      // A bundle key outside Latin-1 was a 502 from the object store client.
      ['GET', '/api/collect/bundles/pc/%F0%9F%9A%80.zip', 404],
      ['DELETE', '/api/collect/bundles/%E6%97%A5%E6%9C%AC', 404],
      // A catastrophic-backtracking filter over a long run of `a` froze the API.
      ['GET', '/api/results?stdout=(a%2B)%2B%24', 200],
      ['GET', '/api/agents?q=(a%7Ca)%2B%24', 200],
      ['GET', '/api/audit?payload=(x%2Bx%2B)%2By', 200],
      ['GET', '/api/results?stdout=(a)%5C1', 400],
    ];
    const got: string[] = [];
    for (const [method, url, expected] of cases) {
      const started = Date.now();
      const res = await be.fetch(url, { method, signal: AbortSignal.timeout(10_000) });
      if (res.status !== expected || Date.now() - started > 5_000)
        got.push(`${method} ${url} -> ${res.status} in ${Date.now() - started} ms ${await res.text()}`);
    }
    expect(got).toEqual([]);
  });
});
