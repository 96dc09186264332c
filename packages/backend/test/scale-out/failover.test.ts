// Failover under load: a 3-node NATS cluster (replicas = 3), two backend
// replicas and one PostgreSQL database, a simulated fleet sending telemetry
// and answering a stream of execs made through both replicas, and a
// schedule firing every few seconds. Mid-run one NATS node (the JetStream
// meta leader) and one backend (the scheduler's leader, SIGKILL) die.
// Afterwards: every execution has exactly one result per target (none lost,
// none twice) and exact counters, telemetry kept arriving through the
// surviving replica, and the schedule fired once per slot all along, its
// lease handed over to the survivor. Prints the recovery figures.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, removeDir, type TestBackend } from '../../../../test-support/backend.js';
import { startNatsCluster, type TestNatsCluster } from '../../../../test-support/nats-cluster.js';
import type { Simulator } from '../../../sim/src/index.js';
import { count, sql } from '../chaos/support.js';
import {
  createJob,
  exec,
  execution,
  fleet,
  NO_PG,
  newDatabase,
  post,
  projectorCounts,
  report,
  resultFacts,
  sleep,
  startReplica,
} from './support.js';

const AGENTS = 30;
const EVERY_MS = 3000;
const RUN_MS = 45_000;
const KILL_AT_MS = 12_000;
const ENV = { KANADE_NATS_REPLICAS: '3', KANADE_SCHEDULER_POLL_CRON: '* * * * * *' };

let cluster: TestNatsCluster;
let pg: string;
let replicas: TestBackend[] = [];
let sim: Simulator;
let pcs: string[];

beforeAll(async () => {
  if (NO_PG) return;
  cluster = await startNatsCluster(3);
  pg = await newDatabase();
  replicas = [await startReplica(cluster.url, pg, ENV), await startReplica(cluster.url, pg, ENV)];
  await createJob(replicas[0]!, 'load-job');
  await createJob(replicas[0]!, 'pulse-job');
  ({ sim, pcs } = await fleet(cluster.url, replicas[0]!, AGENTS, 'fo', { hostPerfMs: 1500, runMs: 200 }));
}, 120_000);
afterAll(async () => {
  await sim?.stop();
  for (const be of replicas) {
    await be.kill();
    removeDir(be.dataDir);
  }
  await cluster?.stop();
});

const firedBy = (b: TestBackend) =>
  b.logs.filter((l) => l.includes('"scheduler fired"') && l.includes('"schedule_id":"pulse"')).length;

describe.skipIf(NO_PG)('failover: a NATS node and a backend replica die under load', () => {
  it('loses and duplicates nothing, keeps telemetry flowing and fires the schedule once per slot', async () => {
    const [r1, r2] = replicas as [TestBackend, TestBackend];
    const start = Date.now();
    const s = await post(r1, '/api/schedules', {
      id: 'pulse',
      job_id: 'pulse-job',
      when: { per_target: { every: `${EVERY_MS / 1000}s` } },
      target: { pcs },
    });
    expect(s.status, await s.clone().text()).toBe(200);
    await eventually(async () => firedBy(r1) + firedBy(r2) > 0, 30_000, 'the schedule fires');
    const leader = firedBy(r1) > 0 ? r1 : r2;
    const survivor = leader === r1 ? r2 : r1;

    const execs: string[] = [];
    let unavailableMs = 0;
    let killedAt = 0;
    let firstExecAfterKill = 0;
    let victimNode = '';
    const tel0 = await projectorCounts([survivor], 'host_perf');
    for (let i = 0; Date.now() - start < RUN_MS; i++) {
      if (!killedAt && Date.now() - start >= KILL_AT_MS) {
        victimNode = (await cluster.metaLeader())!;
        killedAt = Date.now();
        await Promise.all([cluster.nodes.find((n) => n.name === victimNode)!.kill(), leader.kill()]);
      }
      // Through both replicas while both live, then through the survivor.
      const via = killedAt ? survivor : i % 2 ? r2 : r1;
      const e = await exec(via, 'load-job', pcs, 30_000);
      execs.push(e.exec_id);
      unavailableMs += e.unavailableMs;
      if (killedAt && !firstExecAfterKill) firstExecAfterKill = Date.now() - killedAt;
      await sleep(1500);
    }
    const tel1 = await projectorCounts([survivor], 'host_perf');
    expect(await survivor.fetch('/api/schedules/pulse', { method: 'DELETE' })).toHaveProperty('status', 204);

    // Every exec completes with one result per target; stragglers a dead replica had pulled come
    // back once their ack wait runs out.
    const settleStart = Date.now();
    const scheduled = () =>
      sql<{ exec_id: string; at: number }>(
        survivor.dataDir,
        `SELECT exec_id, initiated_at AS at FROM executions WHERE job_id = 'pulse-job' AND initiated_by = 'scheduler'
         ORDER BY initiated_at`,
      );
    // The schedule keeps firing while this runs: check the executions that exist now, so that a fire
    // landing between two of the checks below cannot change what they count.
    const ids = [...execs, ...scheduled().map((x) => x.exec_id)];
    await eventually(
      async () => {
        for (const id of ids) if ((await execution(survivor, id)).status !== 'completed') return false;
        return true;
      },
      90_000,
      'every execution completed',
    );
    const settledMs = Date.now() - settleStart;

    let lost = 0;
    let extra = 0;
    let badCounters = 0;
    let resultRows = 0;
    for (const id of ids) {
      const f = resultFacts(survivor.dataDir, id);
      resultRows += f.rows;
      const x = await execution(survivor, id);
      lost += Math.max(0, AGENTS - f.pcs);
      extra += f.rows - f.pcs;
      if (x.success_count !== f.ok || x.failure_count !== f.failed || x.target_count !== AGENTS)
        badCounters++;
    }

    // Telemetry kept arriving through the survivor after the kill.
    const sinceKill = count(
      survivor.dataDir,
      `SELECT COUNT(*) AS n FROM host_perf_samples WHERE pc_id LIKE 'fo-%' AND at >= ?`,
      killedAt + 5000,
    );

    // The longest stretch without any sample stored, across the run (the kill included).
    const ats = sql<{ at: number }>(
      survivor.dataDir,
      `SELECT DISTINCT at FROM host_perf_samples WHERE pc_id LIKE 'fo-%' AND at BETWEEN ? AND ? ORDER BY at`,
      start,
      start + RUN_MS,
    ).map((x) => Number(x.at));
    const telemetryGapMs = Math.max(...ats.slice(1).map((t, i) => t - ats[i]!));

    // The schedule: fires before and after the kill, never two in one slot.
    const fires = scheduled()
      .map((x) => Number(x.at))
      .filter((t) => t >= start);
    const gaps = fires.slice(1).map((t, i) => t - fires[i]!);
    const after = fires.filter((t) => t > killedAt);
    const handoverMs = after[0]! - killedAt;
    const longestGap = Math.max(...gaps);

    report('failover', {
      agents: AGENTS,
      execs: execs.length,
      scheduled_fires: fires.length,
      killed: `nats ${victimNode} (meta leader) + backend (scheduler leader)`,
      exec_503_total_ms: unavailableMs,
      first_exec_after_kill_ms: firstExecAfterKill,
      results_settled_ms_after_load: settledMs,
      results: resultRows,
      lost,
      duplicated: extra,
      bad_counters: badCounters,
      host_perf_rows_on_survivor_after_kill: sinceKill,
      survivor_host_perf_received: tel1[0]!.received - tel0[0]!.received,
      telemetry_longest_gap_ms: telemetryGapMs,
      schedule_first_fire_after_kill_ms: handoverMs,
      schedule_min_gap_ms: Math.min(...gaps),
      schedule_max_gap_ms: longestGap,
      schedule_fires_after_kill: after.length,
      fired_by_survivor: firedBy(survivor),
    });
    expect(lost).toBe(0);
    expect(extra).toBe(0);
    expect(badCounters).toBe(0);
    expect(resultRows).toBe(ids.length * AGENTS);
    expect(sinceKill).toBeGreaterThan(AGENTS);
    expect(tel1[0]!.received).toBeGreaterThan(tel0[0]!.received);
    expect(telemetryGapMs).toBeLessThan(15_000);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(EVERY_MS - 100);
    expect(after.length).toBeGreaterThanOrEqual(2);
    expect(firedBy(survivor)).toBeGreaterThan(0);
  }, 300_000);
});
