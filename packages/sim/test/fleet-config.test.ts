// The simulator follows the layered agent config and answers inventory and
// check jobs with realistic output: the per-agent plan (global, group and PC
// scopes), the generated facts (scalars, software with versions that move
// between scans, check statuses), and, on a real nats-server, a fleet whose
// heartbeat rate changes when agent_config does and whose results for an
// inventory job parse against the job's explode spec.
import { randomUUID } from 'node:crypto';
import { type Command, ExecResult, KV, ProcessPerf, resolve, subject } from '@kanade/wire';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { startNats, type TestNats } from '../../../test-support/nats-server.js';
import { bootstrapJetStream } from '../../backend/src/nats/bootstrap.js';
import { planFleet } from '../src/config-watch.js';
import { hintOutput } from '../src/hint-output.js';
import { createFleet, createSimulator, pcIdOf } from '../src/index.js';

const MANIFEST = {
  id: 'sim-inventory',
  version: '1',
  execute: { shell: 'powershell', script: 'Get-Software', timeout: '60s', run_as: 'system' },
  require_approval: false,
  staleness: { mode: 'cached' },
  inventory: {
    display: [
      { field: 'hostname', label: 'Host' },
      { field: 'os_version', label: 'OS' },
    ],
    history_scalars: ['os_version', 'ram_gb'],
    explode: [
      {
        field: 'software',
        table: 'inv_software',
        primary_key: ['name'],
        columns: [
          { field: 'name', index: true },
          { field: 'version' },
          { field: 'publisher' },
          { field: 'size_mb', type: 'integer', index: false },
        ],
        track_history: true,
      },
    ],
  },
  check: {
    name: 'av',
    label: 'Antivirus',
    status_field: 'status',
    detail_field: 'detail',
    fleet: true,
    health: true,
  },
};

describe('planFleet', () => {
  it('applies global, group and pc scopes per agent and keeps local values elsewhere', () => {
    const fleet = createFleet({ agents: 4, prefix: 'p' });
    const plan = planFleet(
      fleet,
      {
        global: { host_perf_interval: '2m' },
        groups: new Map([['fast', { heartbeat_interval: '5s' }]]),
        pcs: new Map([[3, { process_perf_enabled: true, process_perf_top_n: 4 }]]),
      },
      (g) => (g === 'fast' ? [1, 3] : []),
      { heartbeatMs: 30_000, hostPerfMs: 60_000, topN: 0 },
    );
    expect([...plan.heartbeatMs]).toEqual([30_000, 5000, 30_000, 5000]);
    expect([...plan.hostPerfMs]).toEqual([120_000, 120_000, 120_000, 120_000]);
    expect([...plan.topN]).toEqual([0, 0, 0, 4]);
    expect(resolve(undefined, new Map(), undefined, []).setFields.size).toBe(0);
  });
});

describe('hintOutput', () => {
  const fleet = createFleet({ agents: 50, prefix: 'h', seed: 7 });
  const parse = (out: string, kind: 'INVENTORY' | 'CHECK') =>
    JSON.parse(out.split(`#KANADE-${kind}-BEGIN\n`)[1]!.split(`\n#KANADE-${kind}-END`)[0]!);

  it('fences inventory facts and a check status that fit the manifest', () => {
    const out = hintOutput(MANIFEST as never, fleet, 0, 1);
    const facts = parse(out, 'INVENTORY');
    expect(facts.hostname).toEqual(expect.any(String));
    expect(facts.os_version).toEqual(expect.any(String));
    expect(facts.ram_gb).toBeGreaterThan(0);
    const names = facts.software.map((s: { name: string }) => s.name);
    expect(new Set(names).size).toBe(names.length);
    expect(facts.software[0]).toEqual({
      name: expect.any(String),
      version: expect.stringMatching(/^\d+\.\d+\.\d+$/),
      publisher: expect.any(String),
      size_mb: expect.any(Number),
    });
    expect(['ok', 'warn', 'fail', 'unknown']).toContain(parse(out, 'CHECK').status);
  });

  it('moves between scans: versions change and software comes and goes across the fleet', () => {
    let versionChanges = 0;
    let presenceChanges = 0;
    for (let i = 0; i < fleet.size; i++) {
      const before = new Map<string, string>(
        parse(hintOutput(MANIFEST as never, fleet, i, 1), 'INVENTORY').software.map(
          (s: { name: string; version: string }) => [s.name, s.version],
        ),
      );
      const after = new Map<string, string>(
        parse(hintOutput(MANIFEST as never, fleet, i, 6), 'INVENTORY').software.map(
          (s: { name: string; version: string }) => [s.name, s.version],
        ),
      );
      for (const [name, v] of after) {
        if (!before.has(name)) presenceChanges++;
        else if (before.get(name) !== v) versionChanges++;
      }
      for (const name of before.keys()) if (!after.has(name)) presenceChanges++;
    }
    expect(versionChanges).toBeGreaterThan(fleet.size);
    expect(presenceChanges).toBeGreaterThan(0);
    // The same scan is the same output (derived, not random).
    expect(hintOutput(MANIFEST as never, fleet, 3, 2)).toBe(hintOutput(MANIFEST as never, fleet, 3, 2));
  });
});

describe('on a broker', () => {
  let nats: TestNats;
  let nc: NatsConnection;

  beforeAll(async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.url });
    await bootstrapJetStream(nc);
  });
  afterAll(async () => {
    await nc?.close();
    await nats?.stop();
  });

  async function until(what: string, cond: () => boolean, timeoutMs = 15_000) {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('changes heartbeat intervals and process-perf mode live from agent_config', async () => {
    const beats: number[] = [];
    const procs: string[] = [];
    nc.subscribe('heartbeat.>', {
      callback: (_e, m) => {
        if (m.subject.startsWith('heartbeat.live-')) beats.push(Date.now());
      },
    });
    nc.subscribe('process_perf.>', {
      callback: (_e, m) => void procs.push(ProcessPerf.parse(m.json()).pc_id),
    });
    await nc.flush();
    const config = await new Kvm(nc).open(KV.AGENT_CONFIG);
    const sim = createSimulator({
      natsUrl: nats.url,
      agents: 20,
      prefix: 'live',
      heartbeatMs: 30_000,
      hostPerfMs: 30_000,
    });
    onTestFinished(() => sim.stop().then(() => {}));
    await sim.start();
    await new Promise((r) => setTimeout(r, 1500));
    const slow = beats.length;
    expect(slow).toBeLessThan(10);

    await config.put('global', JSON.stringify({ heartbeat_interval: '1s' }));
    await new Promise((r) => setTimeout(r, 1500));
    const mark = beats.length;
    await new Promise((r) => setTimeout(r, 2000));
    // 20 agents at one beat a second: about 40 in two seconds.
    expect(beats.length - mark).toBeGreaterThanOrEqual(30);

    const target = pcIdOf(sim.fleet, 4);
    await config.put(
      `pcs.${target}`,
      JSON.stringify({ host_perf_interval: '1s', process_perf_enabled: true, process_perf_top_n: 3 }),
    );
    await until('process_perf from the one PC in investigation mode', () => procs.length >= 2);
    expect(new Set(procs)).toEqual(new Set([target]));
  });

  it('answers an inventory + check job with output that fits its hints', async () => {
    const results: ExecResult[] = [];
    nc.subscribe('results.>', { callback: (_e, m) => void results.push(ExecResult.parse(m.json())) });
    await nc.flush();
    await (await new Kvm(nc).open(KV.JOBS)).put(MANIFEST.id, JSON.stringify(MANIFEST));
    const sim = createSimulator({ natsUrl: nats.url, agents: 10, prefix: 'inv', commands: { runMs: 20 } });
    onTestFinished(() => sim.stop().then(() => {}));
    await sim.start();
    const cmd: Command = {
      id: MANIFEST.id,
      version: '1',
      request_id: randomUUID(),
      exec_id: randomUUID(),
      shell: 'powershell',
      script: 'Get-Software',
      timeout_secs: 60,
      run_as: 'system',
    };
    nc.publish(subject.commandsAll(), JSON.stringify(cmd));
    await until('10 results', () => results.filter((r) => r.request_id === cmd.request_id).length === 10);
    for (const r of results.filter((x) => x.request_id === cmd.request_id)) {
      expect(r.exit_code).toBe(0);
      expect(r.stdout).toContain('#KANADE-INVENTORY-BEGIN');
      const facts = JSON.parse(
        r.stdout.split('#KANADE-INVENTORY-BEGIN\n')[1]!.split('\n#KANADE-INVENTORY-END')[0]!,
      );
      expect(facts.software.length).toBeGreaterThan(5);
    }
  });
});
