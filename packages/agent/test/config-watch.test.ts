// The agent follows the layered config live on a real nats-server: a global
// heartbeat_interval of 1s takes its heartbeat from every 30 s to every
// second, a group scope applies once the PC joins the group, a PC scope turns
// investigation mode (process_perf) on, and deleting the scopes returns the
// agent to its local settings. The pure parts (which value wins, /proc
// parsing, top-N) are pinned directly.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KV, ProcessPerf, resolve } from '@kanade/wire';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { startNats, type TestNats } from '../../../test-support/nats-server.js';
import { bootstrapJetStream } from '../../backend/src/nats/bootstrap.js';
import { settingsOf } from '../src/config-watch.js';
import { createAgent } from '../src/index.js';
import { parsePidStat, topProcesses } from '../src/process-perf.js';
import { until } from './support.js';

describe('settingsOf', () => {
  const local = { heartbeatMs: 200, hostPerfMs: 500 };
  it('keeps local intervals for fields no scope sets, takes the scoped ones', () => {
    expect(settingsOf(resolve(undefined, new Map(), undefined, []), local, 0)).toMatchObject({
      heartbeatMs: 200,
      hostPerfMs: 500,
      processPerfUntil: 0,
    });
    const s = settingsOf(
      resolve(
        { heartbeat_interval: '5s', process_perf_enabled: true, process_perf_top_n: 3 },
        new Map(),
        undefined,
        [],
      ),
      local,
      0,
    );
    expect(s).toMatchObject({
      heartbeatMs: 5000,
      hostPerfMs: 500,
      processTopN: 3,
      processPerfUntil: Number.POSITIVE_INFINITY,
    });
    const expired = settingsOf(
      resolve(
        { process_perf_enabled: true, process_perf_expires_at: '2020-01-01T00:00:00Z' },
        new Map(),
        undefined,
        [],
      ),
      local,
      Date.now(),
    );
    expect(expired.processPerfUntil).toBe(0);
  });
});

describe('process sampling', () => {
  it('parses /proc/<pid>/stat with spaces and parentheses in the name', () => {
    const stat =
      '42 (my (weird) proc) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 100 1000000 300 18446744073709551615';
    expect(parsePidStat(stat)).toEqual({ name: 'my (weird) proc', ticks: 300, rssBytes: 300 * 4096 });
    expect(parsePidStat('garbage')).toBeUndefined();
  });

  it('ranks by CPU per core over the interval', () => {
    const before = new Map([
      [1, { name: 'a', ticks: 100, rssBytes: 1 }],
      [2, { name: 'b', ticks: 100, rssBytes: 2 }],
    ]);
    const after = new Map([
      [1, { name: 'a', ticks: 150, rssBytes: 1 }],
      [2, { name: 'b', ticks: 300, rssBytes: 2 }],
      [3, { name: 'c', ticks: 999, rssBytes: 3 }],
    ]);
    expect(topProcesses(before, after, 1000, 2)).toEqual([
      { pid: 2, name: 'b', cpu_pct: 200, rss_bytes: 2 },
      { pid: 1, name: 'a', cpu_pct: 50, rss_bytes: 1 },
    ]);
  });
});

describe('agent following agent_config', () => {
  let nats: TestNats;
  let nc: NatsConnection;
  let stateDir: string;

  beforeAll(async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.url });
    await bootstrapJetStream(nc);
    stateDir = mkdtempSync(join(tmpdir(), 'kanade-agent-cfg-'));
  });
  afterAll(async () => {
    await nc?.close();
    await nats?.stop();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('changes its heartbeat and host_perf intervals and process-perf mode live', async () => {
    const pcId = 'cfg-agent';
    const beats: number[] = [];
    const perf: number[] = [];
    const procs: unknown[] = [];
    nc.subscribe(`heartbeat.${pcId}`, {
      callback: () => {
        beats.push(Date.now());
      },
    });
    nc.subscribe(`host_perf.${pcId}`, {
      callback: () => {
        perf.push(Date.now());
      },
    });
    nc.subscribe(`process_perf.${pcId}`, {
      callback: (_e, m) => {
        procs.push(m.json());
      },
    });
    await nc.flush();
    const config = await new Kvm(nc).open(KV.AGENT_CONFIG);
    const groups = await new Kvm(nc).open(KV.AGENT_GROUPS);
    const put = (kv: typeof config, key: string, v: unknown) => kv.put(key, JSON.stringify(v));

    const agent = createAgent({ natsUrl: nats.url, pcId, stateDir: join(stateDir, pcId), warmupMs: 100 });
    onTestFinished(() => agent.stop());
    await agent.start();
    await until('the first heartbeat', () => beats.length >= 1);
    await new Promise((r) => setTimeout(r, 1500));
    expect(beats).toHaveLength(1);

    // Global scope: every second.
    await put(config, 'global', { heartbeat_interval: '1s' });
    const mark = beats.length;
    await until('3 heartbeats a second apart', () => beats.length >= mark + 3, 8000);
    const gaps = beats.slice(mark + 1).map((t, i) => t - beats[mark + i]!);
    for (const g of gaps) expect(g).toBeLessThan(1600);

    // A group scope applies once the PC is in the group.
    await put(config, 'groups.fast', { host_perf_interval: '1s' });
    await new Promise((r) => setTimeout(r, 300));
    const perfMark = perf.length;
    await put(groups, pcId, { groups: ['fast'] });
    await until('host_perf every second', () => perf.length >= perfMark + 3, 8000);

    // The PC scope turns investigation mode on.
    await put(config, `pcs.${pcId}`, { process_perf_enabled: true, process_perf_top_n: 3 });
    if (process.platform === 'linux') {
      await until('process_perf samples', () => procs.length >= 1, 8000);
      const sample = ProcessPerf.parse(procs[0]);
      expect(sample.pc_id).toBe(pcId);
      expect(sample.processes.length).toBeGreaterThan(0);
      expect(sample.processes.length).toBeLessThanOrEqual(3);
    }

    // Dropping the scopes returns to the local settings (30 s heartbeats, no process_perf).
    await config.delete('global');
    await config.delete(`pcs.${pcId}`);
    await new Promise((r) => setTimeout(r, 500));
    const settled = beats.length;
    const procsSettled = procs.length;
    await new Promise((r) => setTimeout(r, 2500));
    expect(beats.length).toBe(settled);
    expect(procs.length).toBe(procsSettled);
  });
});
