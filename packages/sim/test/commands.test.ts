import { randomUUID } from 'node:crypto';
import {
  type Command,
  EventStarted,
  ExecResult,
  Heartbeat,
  KV,
  SCRIPT_STATUS,
  subject,
  toRfc3339,
} from '@kanade/wire';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { startNats, type TestNats } from '../../../test-support/nats-server.js';
import { bootstrapJetStream } from '../../backend/src/nats/bootstrap.js';
import { createRun, failsAt, resultIdOf } from '../src/command-runs.js';
import { createSimulator, type SimulatorOptions } from '../src/index.js';
import { createRng } from '../src/rng.js';

let nats: TestNats;
let nc: NatsConnection;
const results: ExecResult[] = [];
const started: EventStarted[] = [];
beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  await bootstrapJetStream(nc);
  nc.subscribe('results.>', { callback: (_e, m) => void results.push(ExecResult.parse(m.json())) });
  nc.subscribe('events.started.>', { callback: (_e, m) => void started.push(EventStarted.parse(m.json())) });
  await nc.flush();
});
afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

async function until(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const resultsFor = (c: Command) => results.filter((r) => r.request_id === c.request_id);
const startedFor = (c: Command) => started.filter((s) => s.request_id === c.request_id);

function command(over: Partial<Command> = {}): Command {
  return {
    id: `job-${randomUUID().slice(0, 8)}`,
    version: '1.0.0',
    request_id: randomUUID(),
    exec_id: randomUUID(),
    shell: 'powershell',
    script: 'Get-Date',
    timeout_secs: 60,
    run_as: 'system',
    ...over,
  };
}

async function simulator(opts: Omit<SimulatorOptions, 'natsUrl'>) {
  const sim = createSimulator({ natsUrl: nats.url, heartbeatMs: 60_000, hostPerfMs: 600_000, ...opts });
  onTestFinished(() => void sim.stop());
  await sim.start();
  return sim;
}

describe('simulator answers commands', () => {
  it('answers an exec to 1,000 agents with 1,000 started events and results and the exact failure share', async () => {
    const beats: Heartbeat[] = [];
    nc.subscribe('heartbeat.exec1k-000001', {
      max: 1,
      callback: (_e, m) => void beats.push(Heartbeat.parse(m.json())),
    });
    const sim = await simulator({
      agents: 1000,
      prefix: 'exec1k',
      commands: { runMs: 300, failureRate: 0.2 },
    });
    const cmd = command();
    nc.publish('commands.all', JSON.stringify(cmd));
    await until('1,000 results', () => resultsFor(cmd).length === 1000);
    await nc.flush();

    const rs = resultsFor(cmd);
    expect(new Set(rs.map((r) => r.pc_id)).size).toBe(1000);
    expect(new Set(rs.map((r) => r.result_id)).size).toBe(1000);
    expect(rs.filter((r) => r.exit_code === 1)).toHaveLength(200);
    expect(rs.filter((r) => r.exit_code === 0)).toHaveLength(800);
    for (const r of rs) {
      expect(r).toMatchObject({ exec_id: cmd.exec_id, manifest_id: cmd.id });
      expect(r.result_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      const ms = Date.parse(r.finished_at) - Date.parse(r.started_at);
      expect(ms).toBeGreaterThanOrEqual(140);
      expect(ms).toBeLessThan(5000);
    }
    const ev = startedFor(cmd);
    expect(ev).toHaveLength(1000);
    const byPc = new Map(ev.map((e) => [e.pc_id, e.result_id]));
    expect(rs.every((r) => byPc.get(r.pc_id) === r.result_id)).toBe(true);

    // Counted once the stream has acknowledged them, which can come after they were seen here.
    await until('the simulator to count 1,000 results', () => sim.stats().results_sent === 1000, 5000);
    const summary = sim.stats();
    expect(summary).toMatchObject({ commands_received: 1, results_sent: 1000, publish_errors: 0 });
    await until('a heartbeat', () => sim.publishHeartbeat(0) && beats.length === 1);
    expect(beats[0]!.command_protocols).toEqual(['legacy']);
  });

  it('fans a group command out to the members in agent_groups and agent_groups_derived, once per agent', async () => {
    const kvm = new Kvm(nc);
    const groups = await kvm.open(KV.AGENT_GROUPS);
    const derived = await kvm.open(KV.AGENT_GROUPS_DERIVED);
    for (let i = 1; i <= 10; i++)
      await groups.put(`grp-${String(i).padStart(6, '0')}`, '{"groups":["lab","x"]}');
    for (let i = 9; i <= 12; i++)
      await derived.put(`grp-${String(i).padStart(6, '0')}`, '{"groups":["lab"]}');
    await groups.put('not-a-sim-pc', '{"groups":["lab"]}');
    const sim = await simulator({ agents: 50, prefix: 'grp', commands: { runMs: 0 } });

    const cmd = command();
    nc.publish(subject.commandsGroup('lab'), JSON.stringify(cmd));
    nc.publish(subject.commandsPc('grp-000003'), JSON.stringify(cmd));
    const single = command();
    nc.publish(subject.commandsPc('grp-000040'), JSON.stringify(single));
    await until('the single result', () => resultsFor(single).length === 1);
    await until('12 group results', () => resultsFor(cmd).length === 12);
    await new Promise((r) => setTimeout(r, 200));
    expect(
      resultsFor(cmd)
        .map((r) => r.pc_id)
        .sort(),
    ).toEqual(Array.from({ length: 12 }, (_, i) => `grp-${String(i + 1).padStart(6, '0')}`));
    expect(resultsFor(single)[0]!.pc_id).toBe('grp-000040');

    expect(sim.stats().commands_received).toBe(3);

    // A membership change is followed live: probe the new group until its member answers.
    await groups.put('grp-000020', '{"groups":["late"]}');
    const probes: Command[] = [];
    await until('the late member to answer', () => {
      if (probes.some((p) => resultsFor(p).length > 0)) return true;
      const probe = command();
      probes.push(probe);
      nc.publish(subject.commandsGroup('late'), JSON.stringify(probe));
      return false;
    });
    expect(probes.flatMap(resultsFor).map((r) => r.pc_id)).toContain('grp-000020');
  });

  it('skips revoked (126), version-pinned (124) and expired-deadline (125) commands without started events', async () => {
    const kvm = new Kvm(nc);
    await simulator({ agents: 20, prefix: 'skip', commands: { runMs: 0 } });
    const revoked = command();
    await (await kvm.open(KV.SCRIPT_STATUS)).put(revoked.id, SCRIPT_STATUS.REVOKED);
    const pinned = command();
    await (await kvm.open(KV.SCRIPT_CURRENT)).put(pinned.id, '9.9.9');
    const late = command({ deadline_at: toRfc3339(Date.now() - 1000) });
    for (const c of [revoked, pinned, late]) nc.publish('commands.all', JSON.stringify(c));
    await until('60 results', () => [revoked, pinned, late].every((c) => resultsFor(c).length === 20));
    for (const [c, code] of [
      [revoked, 126],
      [pinned, 124],
      [late, 125],
    ] as const) {
      expect(resultsFor(c).every((r) => r.exit_code === code && r.skipped === true)).toBe(true);
      expect(startedFor(c)).toEqual([]);
    }
  });

  it('answers kill.{exec_id} with exit -1 for every run still going', async () => {
    const sim = await simulator({ agents: 100, prefix: 'kill', commands: { runMs: 60_000 } });
    const cmd = command();
    nc.publish('commands.all', JSON.stringify(cmd));
    await until('100 started events', () => startedFor(cmd).length === 100);
    expect(resultsFor(cmd)).toEqual([]);
    const t0 = Date.now();
    nc.publish(subject.kill(cmd.exec_id!), '');
    await until('100 killed results', () => resultsFor(cmd).length === 100, 5000);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(resultsFor(cmd).every((r) => r.exit_code === -1 && r.stderr.includes('killed'))).toBe(true);
    // Counted once the stream has acknowledged them, as above.
    await until('the simulator to count 100 results', () => sim.stats().results_sent === 100, 5000);
    expect(sim.stats().results_sent).toBe(100);
  });
});

describe('command runs', () => {
  it('fails exactly round(n x rate) positions and gives each agent its own UUID v4', () => {
    for (const [n, rate] of [
      [1000, 0.2],
      [100, 0.29],
      [7, 0.5],
      [10, 0],
      [10, 1],
    ] as const) {
      const run = createRun(
        command(),
        Array.from({ length: n }, (_, i) => i),
        undefined,
        {
          runMs: 100,
          failureRate: rate,
          rng: createRng(1),
          monoNow: 0,
          wallNow: 0,
        },
      );
      let fails = 0;
      for (let p = 0; p < n; p++) if (failsAt(run, p)) fails++;
      expect(fails).toBe(Math.round(n * rate));
      const ids = new Set(Array.from(run.agents, (a) => resultIdOf(run, a)));
      expect(ids.size).toBe(n);
      for (let p = 1; p < n; p++) expect(run.due[p]!).toBeGreaterThanOrEqual(run.due[p - 1]!);
      expect(run.due[0]!).toBeGreaterThanOrEqual(50);
      expect(run.due[n - 1]!).toBeLessThanOrEqual(150);
    }
  });
});
