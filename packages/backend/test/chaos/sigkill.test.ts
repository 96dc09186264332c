// Chaos: the backend is SIGKILLed twice while it projects a stream of
// results, audit events and obs events (published straight to JetStream, as
// agents and other backends do), and restarted each time. Afterwards every
// row exists exactly once and every execution's counters equal the number of
// its results: the durable loop acks only after commit, and every write is
// idempotent. Some results are also published twice on purpose (an agent
// resending after a lost ack). 3,000 of each here; `npm run chaos` runs
// 50,000 of each.
import { jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, removeDir, startBackend, type TestBackend } from '../../../../test-support/backend.js';
import { startNats, type TestNats } from '../../../../test-support/nats-server.js';
import { assertAlive, count, report, scale, sql, unacked } from './support.js';

const TOTAL = scale(3_000, 50_000, 'KANADE_CHAOS_SIGKILL_COUNT');
const PCS = 100;
const EXECS = Math.ceil(TOTAL / PCS);

let nats: TestNats;
let nc: NatsConnection;
let be: TestBackend;
let dataDir: string;

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  be = await startBackend({ natsUrl: nats.url });
  dataDir = be.dataDir;
});
afterAll(async () => {
  await be?.kill();
  if (dataDir) removeDir(dataDir);
  await nc?.close();
  await nats?.stop();
});

async function api(method: string, path: string, body?: unknown) {
  const r = await be.fetch(path, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

const pcOf = (p: number) => `k-pc-${p}`;
const fails = (p: number) => p % 7 === 0;

/** Publishes every message through JetStream (acked by the stream), a window of 500 at a time. */
async function publishAll(execIds: string[]): Promise<{ resent: number }> {
  const js = jetstream(nc);
  const at = new Date().toISOString();
  let window: Promise<unknown>[] = [];
  let resent = 0;
  const flush = async () => {
    await Promise.all(window);
    window = [];
  };
  for (let i = 0; i < TOTAL; i++) {
    const e = Math.floor(i / PCS);
    const p = i % PCS;
    const result = JSON.stringify({
      result_id: `k-res-${e}-${p}`,
      request_id: `k-req-${e}`,
      exec_id: execIds[e],
      pc_id: pcOf(p),
      exit_code: fails(p) ? 1 : 0,
      stdout: `run ${i}`,
      stderr: '',
      started_at: at,
      finished_at: at,
    });
    window.push(js.publish(`results.k-req-${e}`, result));
    // An agent that lost the ack sends the same result again, past the duplicate window (no msg id).
    if (i % 50 === 0) {
      window.push(js.publish(`results.k-req-${e}`, result));
      resent++;
    }
    window.push(
      js.publish(
        `audit.chaos.kill.k-${i}`,
        JSON.stringify({ actor: 'chaos', action: 'kill', target: `k-${i}`, payload: { i }, occurred_at: at }),
      ),
    );
    window.push(
      js.publish(
        `obs.${pcOf(p)}`,
        JSON.stringify({
          pc_id: pcOf(p),
          at,
          kind: 'chaos',
          source: 'sigkill',
          event_record_id: `k-obs-${i}`,
          payload: { i },
        }),
      ),
    );
    if (window.length >= 500) await flush();
  }
  await flush();
  return { resent };
}

const projected = () => ({
  results: count(dataDir, "SELECT COUNT(*) FROM execution_results WHERE result_id LIKE 'k-res-%'"),
  audit: count(dataDir, "SELECT COUNT(*) FROM audit_log WHERE actor = 'chaos'"),
  obs: count(dataDir, "SELECT COUNT(*) FROM obs_events WHERE source = 'sigkill'"),
});
const progress = () => {
  const p = projected();
  return p.results + p.audit + p.obs;
};

describe('backend SIGKILL during durable ingest', () => {
  it(
    `keeps every result, audit and obs event exactly once across two kills (${TOTAL.toLocaleString()} of each)`,
    async () => {
      await api('POST', '/api/jobs', {
        id: 'chaos-kill',
        version: '1',
        execute: { shell: 'sh', script: 'true', timeout: '1h' },
      });
      const pcs = Array.from({ length: PCS }, (_, p) => pcOf(p));
      const execIds: string[] = [];
      for (let e = 0; e < EXECS; e++) {
        const r = await api('POST', '/api/exec/chaos-kill', { target: { pcs } });
        expect(r.target_count).toBe(PCS);
        execIds.push(r.exec_id as string);
      }

      const started = Date.now();
      const publishing = publishAll(execIds);
      const kills: { at_rows: number; restart_ms: number }[] = [];
      for (const share of [1 / 3, 2 / 3]) {
        const atRows = await eventually(
          async () => {
            const n = progress();
            return n >= 3 * TOTAL * share ? n : undefined;
          },
          120_000 + TOTAL * 10,
          `${Math.round(share * 100)}% projected`,
        );
        await be.kill();
        const t = Date.now();
        be = await startBackend({ natsUrl: nats.url, dataDir });
        kills.push({ at_rows: atRows, restart_ms: Date.now() - t });
      }
      const { resent } = await publishing;
      const published = Date.now();
      await eventually(
        async () => {
          const p = projected();
          return p.results === TOTAL && p.audit === TOTAL && p.obs === TOTAL;
        },
        120_000 + TOTAL * 10,
        'every row projected',
      );
      // Every message acked: nothing can be redelivered and counted again later.
      await eventually(async () => (await unacked(nc)) === 0, 30_000, 'every message acked');
      const p = projected();
      expect(p).toEqual({ results: TOTAL, audit: TOTAL, obs: TOTAL });
      const audit = sql<{ n: number; seqs: number; targets: number }>(
        dataDir,
        "SELECT COUNT(*) AS n, COUNT(DISTINCT stream_seq) AS seqs, COUNT(DISTINCT target) AS targets FROM audit_log WHERE actor = 'chaos'",
      )[0]!;
      expect(audit).toEqual({ n: TOTAL, seqs: TOTAL, targets: TOTAL });

      // Counters: every execution counted each of its results exactly once.
      const wrong = sql<{ exec_id: string; s: number; f: number; results: number; ok: number }>(
        dataDir,
        `SELECT e.exec_id, e.success_count AS s, e.failure_count AS f,
           (SELECT COUNT(*) FROM execution_results r WHERE r.exec_id = e.exec_id) AS results,
           (SELECT COUNT(*) FROM execution_results r WHERE r.exec_id = e.exec_id AND r.exit_code = 0) AS ok
         FROM executions e WHERE e.job_id = 'chaos-kill'`,
      ).filter((r) => r.s + r.f !== r.results || r.s !== r.ok);
      const totals = sql<{ s: number; f: number; completed: number }>(
        dataDir,
        `SELECT SUM(success_count) AS s, SUM(failure_count) AS f,
           SUM(CASE WHEN status = 'completed' THEN 1 ELSE 0 END) AS completed
         FROM executions WHERE job_id = 'chaos-kill'`,
      )[0]!;
      assertAlive(be);
      report('sigkill', {
        each: TOTAL,
        executions: EXECS,
        results_resent: resent,
        kills,
        publish_s: ((published - started) / 1000).toFixed(1),
        drain_s: ((Date.now() - published) / 1000).toFixed(1),
        counters: totals,
        wrong_counters: wrong.length,
      });
      expect(wrong.slice(0, 10)).toEqual([]);
      expect(totals.s + totals.f).toBe(TOTAL);
      expect(totals.completed).toBe(EXECS);
    },
    600_000 + TOTAL * 30,
  );
});
