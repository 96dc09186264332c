// Exec end to end with simulated agents (the simulator answers commands like
// agents: events.started, then a result through JetStream): a fleet-wide exec
// to 1,000 agents yields 1,000 results and exact counters; rollout waves fire
// in order with their delays, survive a backend restart, and
// abort_on_failure_pct stops the remaining waves and says so on the
// execution. Group membership comes from the `agent_groups` KV.
import { DiscardPolicy, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { eventually, removeDir, startBackend, type TestBackend } from '../../../test-support/backend.js';
import { openStoreDb } from '../../../test-support/db.js';
import { startNats, type TestNats } from '../../../test-support/nats-server.js';
import { createSimulator, pcIdOf, type Simulator } from '../../sim/src/index.js';

let nats: TestNats;
let nc: NatsConnection;
let be: TestBackend;
let dataDir: string;

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  be = await startBackend({ natsUrl: nats.url });
  dataDir = be.dataDir;
  for (const [id, fail] of [
    ['hello', false],
    ['failing', true],
  ] as const) {
    const r = await post('/api/jobs', {
      id,
      version: '1.0.0',
      execute: { shell: 'sh', script: fail ? 'exit 3' : 'echo hello', timeout: '30s' },
    });
    expect(r.status).toBe(200);
  }
});
afterAll(async () => {
  await be?.kill();
  if (dataDir) removeDir(dataDir);
  await nc?.close();
  await nats?.stop();
});

async function post(path: string, body: unknown) {
  return be.fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

async function exec(jobId: string, plan: unknown) {
  const r = await post(`/api/exec/${jobId}`, plan);
  expect(r.status, await r.clone().text()).toBe(200);
  return (await r.json()) as { exec_id: string; target_count: number; subjects: string[] };
}

interface ExecutionDetail {
  execution: {
    status: string;
    target_count: number;
    success_count: number;
    failure_count: number;
    aborted_at: string | null;
    abort_reason: string | null;
  };
  waves: { idx: number; group: string; status: string; due_at: string; published_at: string | null }[];
}
const detail = (execId: string) => be.json<ExecutionDetail>(`/api/executions/${execId}`);

function db<T>(sql: string, ...params: unknown[]): T[] {
  const d = openStoreDb(dataDir, { readonly: true });
  try {
    return d.prepare(sql).all(...params) as T[];
  } finally {
    d.close();
  }
}

/**
 * A started simulator of `n` agents, online in the backend, stopped when the test ends. `groups` (from the
 * agents' pc_ids) are written to `agent_groups` before the agents start, so they subscribe to their groups.
 */
async function fleet(
  n: number,
  prefix: string,
  opts: { failureRate?: number; groups?: (pcs: string[]) => Record<string, string[]> } = {},
): Promise<{ sim: Simulator; pcs: string[] }> {
  const sim = createSimulator({
    natsUrl: nats.url,
    agents: n,
    prefix,
    heartbeatMs: 1000,
    hostPerfMs: 3_600_000,
    commands: { runMs: 200, failureRate: opts.failureRate ?? 0 },
  });
  onTestFinished(() => sim.stop().then(() => undefined));
  const pcs = Array.from({ length: n }, (_, i) => pcIdOf(sim.fleet, i));
  if (opts.groups) await setGroups(opts.groups(pcs));
  await sim.start();
  await eventually(
    async () => {
      const r = await be.fetch(`/api/agents?q=^${prefix}-&status=online&limit=1`);
      return Number(r.headers.get('x-total-count')) === n;
    },
    30_000,
    `${n} ${prefix} agents online`,
  );
  return { sim, pcs };
}

async function setGroups(groups: Record<string, string[]>) {
  const kv = await new Kvm(nc).open('agent_groups');
  const byPc = new Map<string, string[]>();
  for (const [g, pcs] of Object.entries(groups))
    for (const pc of pcs) byPc.set(pc, [...(byPc.get(pc) ?? []), g]);
  for (const [pc, gs] of byPc) await kv.put(pc, JSON.stringify({ groups: gs.sort() }));
}

describe('exec to a simulated fleet', () => {
  it('1,000 agents: 1,000 results and exact counters', async () => {
    const { pcs } = await fleet(1000, 'all', { failureRate: 0.1 });
    // Agents of this file's other fleets may be online too; target them all and count what answered.
    const e = await exec('hello', { target: { all: true } });
    expect(e.target_count).toBeGreaterThanOrEqual(1000);
    const done = await eventually(
      async () => {
        const d = await detail(e.exec_id);
        return d.execution.status === 'completed' ? d : undefined;
      },
      30_000,
      'execution completed',
    );
    const [rows] = db<{ n: number; ok: number; failed: number }>(
      `SELECT COUNT(*) AS n, SUM(CASE WHEN exit_code = 0 THEN 1 ELSE 0 END) AS ok, SUM(CASE WHEN exit_code <> 0 THEN 1 ELSE 0 END) AS failed
       FROM execution_results WHERE exec_id = ? AND finished_at IS NOT NULL`,
      e.exec_id,
    );
    expect(rows!.n).toBe(e.target_count);
    expect(done.execution.success_count).toBe(rows!.ok);
    expect(done.execution.failure_count).toBe(rows!.failed);
    expect(rows!.failed).toBeGreaterThan(30);
    const mine = db<{ n: number }>(
      `SELECT COUNT(DISTINCT pc_id) AS n FROM execution_results WHERE exec_id = ? AND pc_id LIKE 'all-%'`,
      e.exec_id,
    );
    expect(mine[0]!.n).toBe(pcs.length);
  });

  it('fires rollout waves in order with their delays', async () => {
    const { pcs } = await fleet(30, 'wave', {
      groups: (p) => ({ w1: p.slice(0, 10), w2: p.slice(10, 20), w3: p.slice(20) }),
    });
    const e = await exec('hello', {
      rollout: {
        waves: [
          { group: 'w1', delay: '0s' },
          { group: 'w2', delay: '2s' },
          { group: 'w3', delay: '4s' },
        ],
      },
    });
    expect(e.target_count).toBe(30);
    expect(e.subjects).toEqual(['commands.group.w1', 'commands.group.w2', 'commands.group.w3']);
    const d = await eventually(
      async () => {
        const x = await detail(e.exec_id);
        return x.execution.status === 'completed' ? x : undefined;
      },
      30_000,
      'all waves answered',
    );
    expect(d.execution).toMatchObject({ success_count: 30, failure_count: 0 });
    const published = d.waves.map((w) => Date.parse(w.published_at!));
    expect(d.waves.map((w) => w.status)).toEqual(['published', 'published', 'published']);
    expect(published[1]! - published[0]!).toBeGreaterThanOrEqual(1900);
    expect(published[2]! - published[1]!).toBeGreaterThanOrEqual(1900);
    // Each group's agents started only after their wave went out.
    for (const [i, group] of [pcs.slice(0, 10), pcs.slice(10, 20), pcs.slice(20)].entries()) {
      const [r] = db<{ first: number }>(
        `SELECT MIN(started_at) AS first FROM execution_results WHERE exec_id = ? AND pc_id IN (${group.map(() => '?').join(',')})`,
        e.exec_id,
        ...group,
      );
      expect(r!.first).toBeGreaterThanOrEqual(published[i]! - 50);
    }
  });

  it('a delayed wave survives a backend restart', async () => {
    await fleet(10, 'rst', { groups: (p) => ({ r1: p.slice(0, 5), r2: p.slice(5) }) });
    const e = await exec('hello', {
      rollout: {
        waves: [
          { group: 'r1', delay: '0s' },
          { group: 'r2', delay: '3s' },
        ],
      },
    });
    await be.kill();
    await new Promise((r) => setTimeout(r, 4000));
    be = await startBackend({ natsUrl: nats.url, dataDir });
    const d = await eventually(
      async () => {
        const x = await detail(e.exec_id);
        return x.execution.status === 'completed' ? x : undefined;
      },
      30_000,
      'the second wave after the restart',
    );
    expect(d.execution).toMatchObject({ target_count: 10, success_count: 10, failure_count: 0 });
    expect(d.waves.map((w) => w.status)).toEqual(['published', 'published']);
  });

  it('abort_on_failure_pct stops the later waves and records why', async () => {
    await fleet(20, 'abt', {
      failureRate: 1,
      groups: (p) => ({ a1: p.slice(0, 5), a2: p.slice(5, 10), a3: p.slice(10) }),
    });
    const e = await exec('failing', {
      rollout: {
        waves: [
          { group: 'a1', delay: '0s' },
          { group: 'a2', delay: '2s' },
          { group: 'a3', delay: '3s' },
        ],
        abort_on_failure_pct: 50,
      },
    });
    expect(e.target_count).toBe(20);
    const d = await eventually(
      async () => {
        const x = await detail(e.exec_id);
        return x.execution.aborted_at && x.execution.status === 'completed' ? x : undefined;
      },
      30_000,
      'aborted and settled',
    );
    expect(d.waves.map((w) => w.status)).toEqual(['published', 'aborted', 'aborted']);
    expect(d.execution).toMatchObject({ target_count: 5, success_count: 0, failure_count: 5 });
    expect(d.execution.abort_reason).toMatch(/wave 1 \(group a2\).*5 of 5 finished results failed/);
    await new Promise((r) => setTimeout(r, 1500));
    const late = db<{ n: number }>(
      'SELECT COUNT(*) AS n FROM execution_results WHERE exec_id = ?',
      e.exec_id,
    );
    expect(late[0]!.n).toBe(5);
  });

  it('a fan-out the broker cuts short keeps its execution and delivers the rest later', async () => {
    const { pcs } = await fleet(3, 'cut');
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info('EXEC');
    // EXEC takes one more Command and refuses the next ones (as a full disk would), until restored.
    await jsm.streams.update('EXEC', { max_msgs: info.state.messages + 1, discard: DiscardPolicy.New });
    let restored = false;
    const restore = async () => {
      if (restored) return;
      restored = true;
      await jsm.streams.update('EXEC', { max_msgs: info.config.max_msgs, discard: info.config.discard });
    };
    onTestFinished(restore);
    // The first PC's Command goes out; the second is retried for the publish window, then handed over.
    const e = await exec('hello', { target: { pcs } });
    expect(e.target_count).toBe(3);
    const cut = await detail(e.exec_id);
    expect(cut.waves.map((w) => w.status)).toEqual(['scheduled', 'scheduled']);
    await restore();
    const d = await eventually(
      async () => {
        const x = await detail(e.exec_id);
        return x.execution.status === 'completed' ? x : undefined;
      },
      30_000,
      'the rest delivered and answered',
    );
    expect(d.execution).toMatchObject({ target_count: 3, success_count: 3, failure_count: 0 });
    expect(d.waves.map((w) => w.status)).toEqual(['published', 'published']);
    const rows = db<{ pc_id: string }>('SELECT pc_id FROM execution_results WHERE exec_id = ?', e.exec_id);
    expect(rows.map((r) => r.pc_id).sort()).toEqual([...pcs].sort());
  }, 90_000);
});
