// The backend on a 3-node nats-server cluster (test-support/nats-cluster.ts)
// with KANADE_NATS_REPLICAS=3 and PostgreSQL: resources bootstrapped as R1
// are raised to R3 and the change is logged; every stream, KV bucket and
// object store (also those created later, on first use) has 3 replicas;
// exec and results work, and keep working with one node killed. Asking for
// 3 replicas from a single server is a clear startup error.
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, removeDir, startBackend, type TestBackend } from '../../../../test-support/backend.js';
import { startNatsCluster, type TestNatsCluster } from '../../../../test-support/nats-cluster.js';
import { startNats } from '../../../../test-support/nats-server.js';
import type { Simulator } from '../../../sim/src/index.js';
import { bootstrapJetStream } from '../../src/nats/bootstrap.js';
import {
  createJob,
  exec,
  execution,
  fleet,
  heardFromAll,
  NO_PG,
  newDatabase,
  report,
  resultFacts,
  startReplica,
} from './support.js';

const AGENTS = 20;

let cluster: TestNatsCluster;
let nc: NatsConnection;
let pg: string;
let be: TestBackend;
let sim: Simulator;
let pcs: string[];

beforeAll(async () => {
  if (NO_PG) return;
  cluster = await startNatsCluster(3);
  nc = await connect({ servers: cluster.urls });
  pg = await newDatabase();
}, 60_000);
afterAll(async () => {
  await sim?.stop();
  await be?.kill();
  if (be) removeDir(be.dataDir);
  await nc?.close();
  await cluster?.stop();
});

async function replicasOfEveryStream(): Promise<Record<string, number>> {
  const jsm = await jetstreamManager(nc);
  const out: Record<string, number> = {};
  for await (const s of jsm.streams.list()) out[s.config.name] = s.config.num_replicas;
  return out;
}

async function execCompletes(what: string) {
  const e = await exec(be, 'hello', pcs, 30_000);
  let last: unknown;
  const done = await eventually(
    async () => {
      const x = await execution(be, e.exec_id);
      last = { ...x, stored: resultFacts(be.dataDir, e.exec_id), sim: sim.stats() };
      return x.status === 'completed' ? x : undefined;
    },
    60_000,
    `${what}: execution completed`,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; last seen ${JSON.stringify(last)}`);
  });
  const facts = resultFacts(be.dataDir, e.exec_id);
  expect(facts.rows).toBe(AGENTS);
  expect(facts.pcs).toBe(AGENTS);
  expect(done.success_count).toBe(facts.ok);
  expect(done.failure_count).toBe(facts.failed);
  return { ...facts, unavailableMs: e.unavailableMs };
}

describe.skipIf(NO_PG)('backend on a 3-node NATS cluster', () => {
  it('raises R1 resources to R3, logs the change, and gives everything 3 replicas', async () => {
    // An installation that ran with one replica so far.
    await bootstrapJetStream(nc, 1);
    expect(Object.values(await replicasOfEveryStream()).every((n) => n === 1)).toBe(true);

    be = await startReplica(cluster.url, pg, {
      KANADE_NATS_REPLICAS: '3',
      KANADE_SCHEDULER_POLL_CRON: '* * * * * *',
    });
    const ready = JSON.parse(be.logs.find((l) => l.includes('"JetStream ready"'))!) as {
      replicas: number;
      updated: string[];
      changes: string[];
    };
    expect(ready.replicas).toBe(3);
    expect(ready.changes).toContain('RESULTS num_replicas 1 -> 3');
    expect(ready.changes).toContain('KV_agents_state num_replicas 1 -> 3');
    expect(ready.changes).toContain('OBJ_result_output num_replicas 1 -> 3');

    await createJob(be, 'hello');
    // Buckets made on first use (the scheduler lease at startup, group definitions on their first write).
    const def = await be.fetch('/api/group-defs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'everyone', members: ['clu-0'] }),
    });
    expect(def.status, await def.clone().text()).toBeLessThan(300);
    const all = await eventually(
      async () => {
        const r = await replicasOfEveryStream();
        return r.KV_scheduler_lease && r.KV_group_defs ? r : undefined;
      },
      20_000,
      'lazy buckets',
    );
    const notR3 = Object.entries(all).filter(([, n]) => n !== 3);
    expect(notR3).toEqual([]);
    report('cluster/replicas', {
      resources: Object.keys(all).length,
      all_r3: notR3.length === 0,
      raised_from_r1: ready.updated.length,
    });
  }, 120_000);

  it('runs exec with results, and keeps working when a node is killed', async () => {
    ({ sim, pcs } = await fleet(cluster.url, be, AGENTS, 'clu'));
    const before = await execCompletes('healthy cluster');

    const leader = await cluster.metaLeader();
    const victim = cluster.nodes.find((n) => n.name === leader)!;
    await victim.kill();
    const killed = Date.now();
    await heardFromAll(be, 'clu', AGENTS, killed + 1000);
    const after = await execCompletes('one node down');
    const recoveredMs = Date.now() - killed;
    const api = await be.fetch('/api/agents?limit=1');
    expect(api.status).toBe(200);
    const newLeader = await eventually(
      async () => {
        const now = await cluster.metaLeader();
        return now && now !== leader ? now : undefined;
      },
      30_000,
      'a new meta leader',
    );

    await victim.start();
    await execCompletes('node back');
    report('cluster/node-killed', {
      killed: leader,
      new_meta_leader: newLeader,
      exec_before: `${before.rows}/${AGENTS}`,
      exec_with_node_down: `${after.rows}/${AGENTS}`,
      exec_503_for_ms: after.unavailableMs,
      exec_completed_ms_after_kill: recoveredMs,
    });
  }, 180_000);

  it('refuses replicas = 3 on a single, non-clustered server with a clear error', async () => {
    const single = await startNats();
    try {
      const outcome = await startBackend({
        natsUrl: single.url,
        env: { KANADE_POSTGRES_URL: pg, KANADE_NATS_REPLICAS: '3' },
      }).then(
        (b) => b.kill().then(() => 'started'),
        (err: Error) => err.message,
      );
      expect(outcome).toMatch(/backend exited with 1 before listening/);
      expect(outcome).toMatch(/is a single nats-server without a JetStream cluster/);
      expect(outcome.match(/JetStream bootstrap failed; retrying/g)).toBeNull();
      // Configuration errors, before anything starts: the embedded broker is one node; 1..5 copies.
      for (const [env, message] of [
        [
          { KANADE_NATS_REPLICAS: '3' },
          /needs a clustered broker: the embedded nats-server is a single node/,
        ],
        [{ KANADE_NATS_URL: single.url, KANADE_NATS_REPLICAS: '7' }, /must be an integer from 1 to 5/],
      ] as const) {
        const refused = await startBackend({ env: { KANADE_POSTGRES_URL: pg, ...env } }).then(
          (b) => b.kill().then(() => 'started'),
          (err: Error) => err.message,
        );
        expect(refused).toMatch(/backend exited with 2 before listening/);
        expect(refused).toMatch(message);
      }
      report('cluster/single-server', { replicas: 3, outcome: 'refused at startup, exit 1, no retry loop' });
    } finally {
      await single.stop();
    }
  });
});
