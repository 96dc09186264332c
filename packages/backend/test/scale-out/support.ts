// Shared helpers of the scale-out tests (replicas, clustered broker,
// failover): they run only under `npm run test:postgres`, which hands the
// admin URL of a throwaway PostgreSQL server in KANADE_TEST_POSTGRES_URL;
// every test file creates its own database there, and all the replicas of
// that file use it, as replicas behind a load balancer share one database.
// Replicas also share the static API token and the session key
// (KANADE_JWT_SECRET), as docs/configuration.md asks of a replica set.
import type { ExecResult } from '@kanade/wire';
import { eventually, startBackend, type TestBackend } from '../../../../test-support/backend.js';
import { createDatabase } from '../../../../test-support/postgres.js';
import { createSimulator, pcIdOf, type Simulator } from '../../../sim/src/index.js';
import { count, metrics, projectorMetric } from '../chaos/support.js';

export const PG_ADMIN = process.env.KANADE_TEST_POSTGRES_URL || undefined;
export const NO_PG = !PG_ADMIN;

export const TOKEN = 'scale-out-static-token-0123456789';
export const JWT_SECRET = 'scale-out-jwt-secret-0123456789abcdef';

/** A fresh database on the run's PostgreSQL server for this file. */
export async function newDatabase(): Promise<string> {
  if (!PG_ADMIN)
    throw new Error('KANADE_TEST_POSTGRES_URL is not set: run these with `npm run test:postgres`');
  return createDatabase(PG_ADMIN);
}

export async function startReplica(natsUrl: string, postgresUrl: string, env: Record<string, string> = {}) {
  return startBackend({
    natsUrl,
    env: {
      KANADE_POSTGRES_URL: postgresUrl,
      KANADE_AUTH_STATIC_TOKEN: TOKEN,
      KANADE_JWT_SECRET: JWT_SECRET,
      ...env,
    },
  });
}

export async function post(be: TestBackend, path: string, body: unknown, token?: string) {
  return be.fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    ...(token ? { token } : {}),
  });
}

export async function createJob(be: TestBackend, id: string, script = 'echo hello') {
  const r = await post(be, '/api/jobs', {
    id,
    version: '1.0.0',
    execute: { shell: 'sh', script, timeout: '30s' },
  });
  if (r.status !== 200) throw new Error(`create job ${id}: HTTP ${r.status} ${await r.text()}`);
}

/**
 * POST /api/exec/{job} to `pcs`. While the broker fails over (a node down, a stream electing a new
 * leader) the API answers 503 and asks to retry: so does this, for up to `retryMs`, and says for how
 * long it got 503s.
 */
export async function exec(be: TestBackend, jobId: string, pcs: string[], retryMs = 0) {
  const start = Date.now();
  let unavailable = 0;
  for (;;) {
    const r = await post(be, `/api/exec/${jobId}`, { target: { pcs } });
    if (r.status === 200) {
      const body = (await r.json()) as { exec_id: string; target_count: number };
      return { ...body, unavailable, unavailableMs: unavailable ? Date.now() - start : 0 };
    }
    const text = await r.text();
    if (r.status !== 503 || Date.now() - start > retryMs)
      throw new Error(
        `exec ${jobId}: HTTP ${r.status} ${text}\n${be.logs
          .filter((l) => l.includes('"level":50'))
          .slice(-3)
          .join('\n')}`,
      );
    unavailable++;
    await sleep(250);
  }
}

export interface ExecutionRow {
  status: string;
  target_count: number;
  success_count: number;
  failure_count: number;
}

export async function execution(be: TestBackend, execId: string): Promise<ExecutionRow> {
  return (await be.json<{ execution: ExecutionRow }>(`/api/executions/${execId}`)).execution;
}

/** A simulated fleet answering commands, online in `be` (every replica sees the same agents table). */
export async function fleet(
  natsUrl: string,
  be: TestBackend,
  n: number,
  prefix: string,
  opts: { heartbeatMs?: number; hostPerfMs?: number; runMs?: number } = {},
): Promise<{ sim: Simulator; pcs: string[] }> {
  const sim = createSimulator({
    natsUrl,
    agents: n,
    prefix,
    heartbeatMs: opts.heartbeatMs ?? 1000,
    hostPerfMs: opts.hostPerfMs ?? 3_600_000,
    commands: { runMs: opts.runMs ?? 100, failureRate: 0.1 },
  });
  await sim.start();
  await eventually(
    async () => {
      const r = await be.fetch(`/api/agents?q=^${prefix}-&status=online&limit=1`);
      return Number(r.headers.get('x-total-count')) === n;
    },
    30_000,
    `${n} ${prefix} agents online`,
  );
  return { sim, pcs: Array.from({ length: n }, (_, i) => pcIdOf(sim.fleet, i)) };
}

/**
 * Wait until every virtual agent of `prefix` has been heard from after `since` (epoch ms). A simulator
 * connected to a node that was killed misses the commands published while it reconnects (virtual
 * agents have no durable to replay from, sim/src/commands.ts); a heartbeat after the kill shows it
 * is back, with its subscriptions.
 */
export async function heardFromAll(be: TestBackend, prefix: string, n: number, since: number) {
  await eventually(
    async () =>
      count(
        be.dataDir,
        'SELECT COUNT(*) AS n FROM agents WHERE pc_id LIKE ? AND last_heartbeat > ?',
        `${prefix}-%`,
        since,
      ) === n,
    30_000,
    `a heartbeat from all ${n} ${prefix} agents after ${new Date(since).toISOString()}`,
  );
}

/** Per-result-id row counts of an execution, and how its counters compare. */
export function resultFacts(dataDir: string, execId: string) {
  const rows = count(
    dataDir,
    'SELECT COUNT(*) AS n FROM execution_results WHERE exec_id = ? AND finished_at IS NOT NULL',
    execId,
  );
  const pcs = count(
    dataDir,
    'SELECT COUNT(DISTINCT pc_id) AS n FROM execution_results WHERE exec_id = ? AND finished_at IS NOT NULL',
    execId,
  );
  const ok = count(
    dataDir,
    'SELECT COUNT(*) AS n FROM execution_results WHERE exec_id = ? AND finished_at IS NOT NULL AND exit_code = 0',
    execId,
  );
  return { rows, pcs, ok, failed: rows - ok };
}

/** Projector counters of each replica. */
export async function projectorCounts(replicas: TestBackend[], projector: string) {
  const out: { received: number; written: number; dropped: number }[] = [];
  for (const be of replicas) {
    const m = await metrics(be);
    out.push({
      received: projectorMetric(m, 'received', projector),
      written: projectorMetric(m, 'written', projector),
      dropped: projectorMetric(m, 'dropped', projector),
    });
  }
  return out;
}

/** What a scenario did and found, one line, like the chaos suite prints. */
export function report(scenario: string, facts: Record<string, unknown>) {
  const parts = Object.entries(facts).map(
    ([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`,
  );
  process.stdout.write(`[scale-out] ${scenario}: ${parts.join(' ')}\n`);
}

export interface SseClient {
  /** result_ids seen in `results` events. */
  results: Set<string>;
  events: number;
  close(): void;
}

/** An SSE client of GET /api/stream on `be`, collecting the result ids it is sent. */
export async function sse(be: TestBackend): Promise<SseClient> {
  const ac = new AbortController();
  const r = await fetch(`${be.url}/api/stream`, {
    headers: { authorization: `Bearer ${TOKEN}` },
    signal: ac.signal,
  });
  if (r.status !== 200 || !r.body) throw new Error(`GET /api/stream: HTTP ${r.status}`);
  const client: SseClient = { results: new Set(), events: 0, close: () => ac.abort() };
  const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
  void (async () => {
    let buf = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buf += value;
        for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (!event || !data) continue;
          client.events++;
          if (event === 'results') {
            const body = JSON.parse(data) as { items: Pick<ExecResult, 'result_id'>[] };
            for (const item of body.items) client.results.add(item.result_id);
          }
        }
      }
    } catch {
      // aborted by close()
    }
  })();
  return client;
}

export async function login(be: TestBackend, username: string, password: string) {
  return be.fetch('/api/auth/login', {
    method: 'POST',
    token: null,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
}

export async function createAccount(be: TestBackend, username: string, password: string) {
  const r = await post(be, '/api/accounts', { username, role: 'viewer', password, must_change_pw: false });
  if (r.status !== 201) throw new Error(`create account ${username}: HTTP ${r.status} ${await r.text()}`);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Share of `part` in `total`, in whole percent. */
export const pct = (part: number, total: number) => (total ? Math.round((100 * part) / total) : 0);
