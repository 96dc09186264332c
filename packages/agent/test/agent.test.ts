import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Heartbeat, HostPerf } from '@kanade/wire';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { startNats, type TestNats } from '../../../test-support/nats-server.js';
import { createAgent } from '../src/index.js';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

let nats: TestNats;
let stateDir: string;
beforeAll(async () => {
  nats = await startNats();
  stateDir = mkdtempSync(join(tmpdir(), 'kanade-agent-state-'));
});
afterAll(async () => {
  await nats?.stop();
  rmSync(stateDir, { recursive: true, force: true });
});

/** Collects every heartbeat and host_perf of one pc_id, parsed with the wire schemas. */
async function collect(pcId: string) {
  const nc: NatsConnection = await connect({ servers: nats.url, maxReconnectAttempts: -1 });
  onTestFinished(() => nc.close());
  const got = { heartbeats: [] as Heartbeat[], hostPerf: [] as HostPerf[], invalid: [] as string[] };
  nc.subscribe(`heartbeat.${pcId}`, {
    callback: (_e, m) => {
      const r = Heartbeat.safeParse(m.json());
      if (r.success) got.heartbeats.push(r.data);
      else got.invalid.push(r.error.message);
    },
  });
  nc.subscribe(`host_perf.${pcId}`, {
    callback: (_e, m) => {
      const r = HostPerf.safeParse(m.json());
      if (r.success) got.hostPerf.push(r.data);
      else got.invalid.push(r.error.message);
    },
  });
  await nc.flush();
  return got;
}

async function until(what: string, cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('agent against a real nats-server', () => {
  it('sends schema-valid heartbeats and host_perf with real host figures', async () => {
    const got = await collect('agent-inproc');
    const agent = createAgent({
      natsUrl: nats.url,
      pcId: 'agent-inproc',
      stateDir: join(stateDir, 'inproc'),
      heartbeatMs: 300,
      hostPerfMs: 500,
      warmupMs: 200,
    });
    onTestFinished(() => agent.stop());
    await agent.start();
    await until(
      'two heartbeats and a host_perf',
      () => got.heartbeats.length >= 2 && got.hostPerf.length >= 1,
    );

    expect(got.invalid).toEqual([]);
    const [first, second] = got.heartbeats;
    expect(first!.agent_cpu_pct).toBeNull();
    expect(second!.agent_cpu_pct).toBeGreaterThanOrEqual(0);
    expect(first!.agent_version).toMatch(/^\d+\.\d+\.\d+/);
    expect(first!.agent_rss_bytes).toBeGreaterThan(1024 * 1024);
    expect(['windows', 'linux', 'macos']).toContain(first!.os_family);
    const hp = got.hostPerf[0]!;
    expect(hp.cpu_count).toBeGreaterThan(0);
    expect(hp.mem_total_bytes).toBeGreaterThan(hp.mem_used_bytes!);
    expect(hp.cpu_pct).toBeGreaterThanOrEqual(0);
    expect(hp.cpu_pct).toBeLessThanOrEqual(100);
    if (process.platform === 'linux') {
      expect(first!.agent_disk_read_bytes).not.toBeNull();
      expect(hp.swap_total_bytes).not.toBeNull();
      expect(hp.disk_read_bytes_per_sec).toBeGreaterThanOrEqual(0);
      expect(hp.net_rx_bytes_per_sec).toBeGreaterThanOrEqual(0);
    }
  });

  it('runs as a child process (as the backend spawns it), names its connection and exits 0 on SIGTERM', async () => {
    expect(existsSync(MAIN), 'build first: node scripts/build.mjs').toBe(true);
    const got = await collect('agent-child');
    const child = spawn(process.execPath, [MAIN, '--pc-id', 'agent-child', '--heartbeat', '300ms'], {
      env: { ...process.env, KANADE_NATS_URL: nats.url, KANADE_AGENT_STATE_DIR: join(stateDir, 'child') },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    onTestFinished(() => {
      child.kill('SIGKILL');
    });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await until('a heartbeat from the child', () => got.heartbeats.length >= 1);

    const connz = (await (await fetch(`${nats.monitorUrl}/connz`)).json()) as {
      connections: { name?: string }[];
    };
    expect(connz.connections.map((c) => c.name)).toContain('kanade-agent/agent-child');

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toContain('stopping');
  });

  it('reconnects after a broker restart and keeps sending', async () => {
    const logs: string[] = [];
    const agent = createAgent({
      natsUrl: nats.url,
      pcId: 'agent-outage',
      stateDir: join(stateDir, 'outage'),
      heartbeatMs: 300,
      hostPerfMs: 400,
      warmupMs: 100,
      log: (line) => logs.push(line),
    });
    onTestFinished(() => agent.stop());
    const before = await collect('agent-outage');
    await agent.start();
    await until(
      'telemetry before the restart',
      () => before.heartbeats.length >= 1 && before.hostPerf.length >= 1,
    );

    await nats.restart();
    const after = await collect('agent-outage');
    await until(
      'telemetry after the restart',
      () => after.heartbeats.length >= 2 && after.hostPerf.length >= 2,
      20_000,
    );
    expect(logs.some((l) => l.startsWith('reconnected'))).toBe(true);
    expect([...before.invalid, ...after.invalid]).toEqual([]);
  });
});
