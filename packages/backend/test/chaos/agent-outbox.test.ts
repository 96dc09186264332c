// Chaos: real agents (the built kanade-agent, as child processes) are
// running commands when the broker goes down. Their results land in the
// on-disk outbox; one agent is SIGKILLed and restarted while the broker is
// still down; then the broker returns. Every result is delivered exactly
// once: one message per agent on each request's subject in the RESULTS
// stream, one row per agent and exec in the database, and counters that add
// up. One round of 3 execs here; `npm run chaos` runs 5 rounds of 10.
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STREAM } from '@kanade/wire';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, removeDir, startBackend, type TestBackend } from '../../../../test-support/backend.js';
import { startNats, type TestNats } from '../../../../test-support/nats-server.js';
import {
  type AgentProcess,
  assertAlive,
  count,
  report,
  scale,
  sleep,
  sql,
  startAgentProcess,
  unacked,
} from './support.js';

const ROUNDS = scale(1, 5, 'KANADE_CHAOS_OUTBOX_ROUNDS');
const EXECS = scale(3, 10, 'KANADE_CHAOS_OUTBOX_EXECS');

let nats: TestNats;
let nc: NatsConnection;
let be: TestBackend;
const dir = mkdtempSync(join(tmpdir(), 'kanade-outbox-'));
const agents = new Map<string, AgentProcess>();

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url, maxReconnectAttempts: -1 });
  be = await startBackend({ natsUrl: nats.url });
});
afterAll(async () => {
  for (const a of agents.values()) await a.kill();
  await be?.kill();
  if (be) removeDir(be.dataDir);
  await nc?.close();
  await nats?.stop();
  removeDir(dir);
});

async function post(path: string, body: unknown) {
  const r = await be.fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await r.text();
  if (r.status !== 200) throw new Error(`${path}: ${r.status} ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

const outboxResults = (pc: string) => {
  try {
    return readdirSync(join(dir, pc, 'outbox')).filter((f) => f.includes('-result-')).length;
  } catch {
    return 0;
  }
};

describe('agent outbox through a broker outage and an agent restart', () => {
  it(
    `delivers every result exactly once (${ROUNDS} round(s) of ${EXECS} execs to 2 agents)`,
    async () => {
      await post('/api/jobs', {
        id: 'chaos-outbox',
        version: '1',
        execute: { shell: 'sh', script: 'sleep 2; echo done', timeout: '1m' },
      });
      const pcs = ['ob-a', 'ob-b'];
      for (const pc of pcs) agents.set(pc, startAgentProcess(nats.url, pc, join(dir, pc)));
      await eventually(
        async () => {
          const r = await be.fetch('/api/agents?q=^ob-&status=online&limit=1');
          return Number(r.headers.get('x-total-count')) === pcs.length;
        },
        30_000,
        'agents online',
      );

      const execs: { exec_id: string; request_id: string }[] = [];
      const rounds: Record<string, unknown>[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const mine: string[] = [];
        for (let i = 0; i < EXECS; i++) {
          const r = await post('/api/exec/chaos-outbox', { target: { pcs } });
          mine.push(r.exec_id as string);
        }
        // Every run has started (its started event is in) before the broker goes.
        const inFlight = () =>
          count(
            be.dataDir,
            `SELECT COUNT(*) FROM execution_results WHERE exec_id IN (${mine.map(() => '?').join(',')})`,
            ...mine,
          );
        await eventually(async () => inFlight() === EXECS * pcs.length, 30_000, 'every run started');
        await nats.kill();
        const down = Date.now();
        await eventually(
          async () => pcs.every((pc) => outboxResults(pc) === EXECS),
          60_000,
          'every result waiting in an outbox',
        );
        const queued = Object.fromEntries(pcs.map((pc) => [pc, outboxResults(pc)]));
        // One agent dies hard with a full outbox and comes back while the broker is still down.
        await agents.get('ob-a')!.kill();
        agents.set('ob-a', startAgentProcess(nats.url, 'ob-a', join(dir, 'ob-a')));
        await sleep(1_000);
        await nats.restart();
        const outageMs = Date.now() - down;
        await eventually(async () => pcs.every((pc) => outboxResults(pc) === 0), 60_000, 'outboxes drained');
        for (const e of mine) {
          const rid = sql<{ request_id: string }>(
            be.dataDir,
            'SELECT request_id FROM executions WHERE exec_id = ?',
            e,
          )[0];
          execs.push({ exec_id: e, request_id: rid!.request_id });
        }
        rounds.push({ round, outage_ms: outageMs, queued_in_outboxes: queued });
      }

      // Exactly once in the database ...
      await eventually(
        async () =>
          count(
            be.dataDir,
            "SELECT COUNT(*) FROM executions WHERE job_id = 'chaos-outbox' AND success_count = 2 AND failure_count = 0",
          ) === execs.length,
        60_000,
        'every exec counted 2 successes',
      );
      await eventually(async () => (await unacked(nc)) === 0, 30_000, 'every durable message acked');
      const rows = sql<{ n: number; distinct_runs: number; finished: number }>(
        be.dataDir,
        `SELECT COUNT(*) AS n, COUNT(DISTINCT exec_id || '/' || pc_id) AS distinct_runs,
         SUM(CASE WHEN finished_at IS NOT NULL AND exit_code = 0 THEN 1 ELSE 0 END) AS finished
       FROM execution_results WHERE job_id = 'chaos-outbox'`,
      )[0]!;
      // ... and in the stream: one message per agent on each request's subject.
      const jsm = await jetstreamManager(nc);
      const info = await jsm.streams.info(STREAM.RESULTS, { subjects_filter: 'results.>' });
      const perSubject = info.state.subjects ?? {};
      const wrong = execs.filter((e) => perSubject[`results.${e.request_id}`] !== pcs.length);
      assertAlive(be);
      report('agent outbox', {
        rounds,
        execs: execs.length,
        results_expected: execs.length * pcs.length,
        result_rows: rows,
        subjects_with_wrong_count: wrong.length,
      });
      expect(rows).toEqual({
        n: execs.length * pcs.length,
        distinct_runs: execs.length * pcs.length,
        finished: execs.length * pcs.length,
      });
      expect(wrong).toEqual([]);
    },
    300_000 + ROUNDS * 60_000,
  );
});
