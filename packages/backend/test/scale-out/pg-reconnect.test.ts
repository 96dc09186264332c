// PostgreSQL goes away under a running backend and comes back: the backend
// keeps running and reconnects by itself (store/pg/bridge-worker.ts). While
// the database is down, results wait unacked in JetStream and are projected
// exactly once after it returns (counters exact, redelivered results not
// counted twice); telemetry windows are dropped and counted as failed
// flushes; the API answers 503 KANADE_ERR_UNAVAILABLE (not 500) and
// /api/health/fleet reports the database; the connection URL's password never
// reaches the log. This test starts its own PostgreSQL server (it stops and
// restarts it), so it never disturbs the run's shared one; like the rest of
// scale-out/ it runs only under `npm run test:postgres`.
import { jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, removeDir, type TestBackend } from '../../../../test-support/backend.js';
import { startNats, type TestNats } from '../../../../test-support/nats-server.js';
import { startPostgres, type TestPostgres } from '../../../../test-support/postgres.js';
import { assertAlive, count, metrics, projectorMetric, unacked } from '../chaos/support.js';
import { createJob, execution, NO_PG, post, report, startReplica } from './support.js';

const N = 400;
const PASSWORD = 'pg-reconnect-secret-pw-7731';

let pg: TestPostgres;
let nats: TestNats;
let nc: NatsConnection;
let be: TestBackend;

beforeAll(async () => {
  if (NO_PG) return;
  pg = await startPostgres();
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  // Trust auth ignores the password, but the backend still holds it in its URL: it must never log it.
  const url = new URL(await pg.createDatabase());
  url.password = PASSWORD;
  be = await startReplica(nats.url, url.toString());
}, 120_000);
afterAll(async () => {
  await be?.kill();
  if (be) removeDir(be.dataDir);
  await nc?.close();
  await nats?.stop();
  await pg?.stop();
});

const pcOf = (i: number) => `pgr-${i}`;
/** Results 0..N-1 of the execution: every seventh fails. */
const exitOf = (i: number) => (i % 7 === 0 ? 3 : 0);

async function publishResults(execId: string, requestId: string, from: number, to: number) {
  const js = jetstream(nc);
  const at = new Date().toISOString();
  const acks: Promise<unknown>[] = [];
  for (let i = from; i < to; i++)
    acks.push(
      js.publish(
        `results.${requestId}`,
        JSON.stringify({
          result_id: `${execId}-${i}`,
          request_id: requestId,
          exec_id: execId,
          pc_id: pcOf(i),
          exit_code: exitOf(i),
          stdout: `out ${i}`,
          stderr: '',
          started_at: at,
          finished_at: at,
        }),
      ),
    );
  await Promise.all(acks);
}

function heartbeats(tag: string, n: number) {
  const at = new Date().toISOString();
  for (let i = 0; i < n; i++)
    nc.publish(
      `heartbeat.pgr-hb-${tag}-${i}`,
      JSON.stringify({ pc_id: `pgr-hb-${tag}-${i}`, at, agent_version: '1' }),
    );
}

const rows = (execId: string) =>
  count(
    be.dataDir,
    'SELECT COUNT(*) FROM execution_results WHERE exec_id = ? AND finished_at IS NOT NULL',
    execId,
  );

describe.skipIf(NO_PG)('PostgreSQL restarts under a running backend', () => {
  it('fails fast and cleanly while it is down, then projects everything exactly once without a backend restart', async () => {
    await createJob(be, 'pgr-job');
    const r = await post(be, '/api/exec/pgr-job', {
      target: { pcs: Array.from({ length: N }, (_, i) => pcOf(i)) },
    });
    expect(r.status).toBe(200);
    const { exec_id: execId } = (await r.json()) as { exec_id: string };
    const requestId = `req-${execId}`;

    // Half the results before the outage.
    await publishResults(execId, requestId, 0, N / 2);
    await eventually(
      async () => {
        const e = await execution(be, execId);
        return e.success_count + e.failure_count === N / 2;
      },
      30_000,
      'first half counted',
    );
    heartbeats('before', 20);
    await eventually(
      async () => count(be.dataDir, "SELECT COUNT(*) FROM agents WHERE pc_id LIKE 'pgr-hb-before-%'") === 20,
      20_000,
      'heartbeats before',
    );

    const m0 = await metrics(be);
    await pg.pause();
    const downAt = Date.now();

    // The API: 503 KANADE_ERR_UNAVAILABLE naming PostgreSQL, at once (no long hang).
    const t = Date.now();
    const api = await be.fetch(`/api/executions/${execId}`);
    const apiMs = Date.now() - t;
    expect(api.status).toBe(503);
    const apiBody = (await api.json()) as { code: string; message: string };
    expect(apiBody.code).toBe('KANADE_ERR_UNAVAILABLE');
    expect(apiBody.message).toMatch(/PostgreSQL unavailable/);
    expect(apiMs).toBeLessThan(2_000);
    const health = await be.fetch('/api/health/fleet');
    expect(health.status).toBe(503);
    const healthBody = (await health.json()) as { status: string; reasons: string[] };
    expect(healthBody.status).toBe('degraded');
    expect(healthBody.reasons.join('\n')).toMatch(/database unreachable: PostgreSQL unavailable/);

    // While it is down: the second half, the first half again (a redelivery must not count twice), telemetry.
    await publishResults(execId, requestId, N / 2, N);
    await publishResults(execId, requestId, 0, N / 4);
    const during = await eventually(
      async () => {
        heartbeats('during', 20);
        const m = await metrics(be);
        const resultErrors =
          projectorMetric(m, 'flush_errors', 'results') - projectorMetric(m0, 'flush_errors', 'results');
        const hbErrors =
          projectorMetric(m, 'flush_errors', 'heartbeat') - projectorMetric(m0, 'flush_errors', 'heartbeat');
        const dropped =
          projectorMetric(m, 'dropped', 'heartbeat') - projectorMetric(m0, 'dropped', 'heartbeat');
        const held = await unacked(nc);
        return resultErrors > 0 && hbErrors > 0 && dropped > 0 && held > 0
          ? { resultErrors, hbErrors, dropped, held }
          : undefined;
      },
      30_000,
      'failed flushes counted, telemetry dropped, results held in JetStream',
    );
    assertAlive(be);
    await new Promise((r) => setTimeout(r, 3_000));
    const downMs = Date.now() - downAt;

    await pg.resume();
    const upAt = Date.now();
    const back = await eventually(
      async () => {
        const e = await execution(be, execId);
        return e.success_count + e.failure_count === N ? e : undefined;
      },
      60_000,
      'every result counted after PostgreSQL is back',
    );
    const recoveredMs = Date.now() - upAt;
    await eventually(async () => (await unacked(nc)) === 0, 30_000, 'every durable message acked');

    const failures = Array.from({ length: N }, (_, i) => i).filter((i) => exitOf(i) !== 0).length;
    expect(back).toMatchObject({ success_count: N - failures, failure_count: failures, status: 'completed' });
    expect(rows(execId)).toBe(N);
    expect(
      count(be.dataDir, 'SELECT COUNT(DISTINCT result_id) FROM execution_results WHERE exec_id = ?', execId),
    ).toBe(N);
    // Counters stay exact afterwards (nothing left to redeliver).
    await new Promise((r) => setTimeout(r, 2_000));
    expect(await execution(be, execId)).toMatchObject({
      success_count: N - failures,
      failure_count: failures,
    });

    // The same backend serves again, and new telemetry is written again.
    expect((await be.fetch(`/api/executions/${execId}`)).status).toBe(200);
    heartbeats('after', 20);
    await eventually(
      async () => count(be.dataDir, "SELECT COUNT(*) FROM agents WHERE pc_id LIKE 'pgr-hb-after-%'") === 20,
      20_000,
      'heartbeats after',
    );
    assertAlive(be);
    expect(be.logs.filter((l) => l.includes(PASSWORD))).toEqual([]);
    report('pg reconnect', {
      results: N,
      redelivered: N / 4,
      down_ms: downMs,
      api_503_ms: apiMs,
      ...during,
      recovered_ms: recoveredMs,
    });
  }, 240_000);
});
