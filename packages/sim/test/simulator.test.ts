import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Heartbeat, HostPerf, ProcessPerf } from '@kanade/wire';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { startNats, type TestNats } from '../../../test-support/nats-server.js';
import { createSimulator } from '../src/index.js';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

let nats: TestNats;
beforeAll(async () => {
  nats = await startNats();
});
afterAll(async () => {
  await nats?.stop();
});

async function subscriber(): Promise<NatsConnection> {
  const nc = await connect({ servers: nats.url });
  onTestFinished(() => nc.close());
  return nc;
}

async function until(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('simulator against a real nats-server', () => {
  it('publishes schema-valid telemetry for every agent of a 1,000-agent fleet', async () => {
    const nc = await subscriber();
    const schemas = { heartbeat: Heartbeat, host_perf: HostPerf, process_perf: ProcessPerf } as const;
    const seen = {
      heartbeat: new Set<string>(),
      host_perf: new Set<string>(),
      process_perf: new Set<string>(),
    };
    const counts = { heartbeat: 0, host_perf: 0, process_perf: 0 };
    const problems: string[] = [];
    for (const kind of ['heartbeat', 'host_perf', 'process_perf'] as const) {
      nc.subscribe(`${kind}.>`, {
        callback: (_err, msg) => {
          counts[kind]++;
          const parsed = schemas[kind].safeParse(msg.json());
          if (!parsed.success) {
            problems.push(`${msg.subject}: ${parsed.error.message}`);
            return;
          }
          const body = parsed.data;
          if (msg.subject !== `${kind}.${body.pc_id}`) problems.push(`${msg.subject} carries ${body.pc_id}`);
          if (Math.abs(Date.parse(body.at) - Date.now()) > 10_000)
            problems.push(`${msg.subject}: at ${body.at}`);
          if (kind === 'host_perf') {
            const hp = body as HostPerf;
            if (!(hp.cpu_pct! >= 0 && hp.cpu_pct! <= 100))
              problems.push(`${msg.subject}: cpu_pct ${hp.cpu_pct}`);
            if (!(hp.mem_used_bytes! <= hp.mem_total_bytes!))
              problems.push(`${msg.subject}: mem used > total`);
          }
          if (kind === 'process_perf' && (body as ProcessPerf).processes.length !== 5) {
            problems.push(`${msg.subject}: not top-5`);
          }
          seen[kind].add(body.pc_id);
        },
      });
    }
    await nc.flush();

    const sim = createSimulator({
      natsUrl: nats.url,
      agents: 1000,
      heartbeatMs: 1000,
      hostPerfMs: 1000,
      processPerf: true,
      processTopN: 5,
      prefix: 'fleet1k',
    });
    onTestFinished(() => void sim.stop());
    await sim.start();
    await until('every agent to beat', () => seen.heartbeat.size === 1000 && seen.host_perf.size === 1000);
    const summary = await sim.stop();
    await nc.flush();

    expect(problems.slice(0, 5)).toEqual([]);
    expect(seen.process_perf.size).toBe(1000);
    expect([...seen.heartbeat].sort()[0]).toBe('fleet1k-000001');
    expect(summary.agents).toBe(1000);
    expect(summary.publish_errors).toBe(0);
    expect(summary.heartbeats_sent).toBe(counts.heartbeat);
    expect(summary.host_perf_sent).toBe(counts.host_perf);
    expect(summary.process_perf_sent).toBe(counts.process_perf);
    // The first beats are spread over the interval, so seeing all 1,000 takes about one interval.
    expect(summary.duration_s).toBeGreaterThan(0.5);
    expect(summary.heartbeats_sent).toBeLessThan(2500);
  });

  it('publishes one message for a chosen agent on demand', async () => {
    const nc = await subscriber();
    const sub = nc.subscribe('heartbeat.ondemand-000003', { max: 1 });
    await nc.flush();
    const sim = createSimulator({ natsUrl: nats.url, agents: 5, heartbeatMs: 3_600_000, prefix: 'ondemand' });
    onTestFinished(() => void sim.stop());
    await sim.start();
    expect(sim.publishHeartbeat(2)).toBe(true);
    expect(() => sim.publishHeartbeat(5)).toThrow(RangeError);
    for await (const msg of sub) expect(Heartbeat.parse(msg.json()).pc_id).toBe('ondemand-000003');
  });

  it('runs from the CLI and prints the summary as the last stdout line on SIGTERM and after --duration', async () => {
    expect(existsSync(MAIN), 'build first: node scripts/build.mjs').toBe(true);
    const run = (args: string[], signalAfterMs?: number) =>
      new Promise<{ code: number | null; stdout: string }>((resolve) => {
        const child = spawn(process.execPath, [MAIN, '--nats', nats.url, ...args], {
          stdio: ['ignore', 'pipe', 'ignore'],
        });
        onTestFinished(() => {
          child.kill('SIGKILL');
        });
        let stdout = '';
        child.stdout.on('data', (d) => {
          stdout += d;
        });
        if (signalAfterMs !== undefined) setTimeout(() => child.kill('SIGTERM'), signalAfterMs);
        child.on('exit', (code) => resolve({ code, stdout }));
      });
    const base = ['--agents', '200', '--heartbeat', '200ms', '--host-perf', '400ms'];
    const [signalled, timed] = await Promise.all([
      run([...base, '--prefix', 'cli-sig'], 1500),
      run([...base, '--prefix', 'cli-dur', '--duration', '1s']),
    ]);
    for (const r of [signalled, timed]) {
      expect(r.code).toBe(0);
      const last = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
      expect(Object.keys(last)).toEqual(
        expect.arrayContaining([
          'agents',
          'duration_s',
          'heartbeats_sent',
          'host_perf_sent',
          'process_perf_sent',
          'msgs_per_sec',
          'publish_errors',
        ]),
      );
      expect(last.agents).toBe(200);
      expect(last.heartbeats_sent).toBeGreaterThan(200);
      expect(last.publish_errors).toBe(0);
    }
  });

  it('keeps publishing after the broker restarts', async () => {
    const sim = createSimulator({
      natsUrl: nats.url,
      agents: 100,
      heartbeatMs: 200,
      hostPerfMs: 200,
      prefix: 'outage',
    });
    onTestFinished(() => void sim.stop());
    await sim.start();
    await until('first beats', () => sim.stats().heartbeats_sent >= 100);
    await nats.restart();
    const nc = await subscriber();
    let after = 0;
    nc.subscribe('heartbeat.>', {
      callback: () => {
        after++;
      },
    });
    await nc.flush();
    await until('beats after the restart', () => after >= 100, 20_000);
    const summary = await sim.stop();
    expect(summary.publish_errors).toBe(0);
  });
});
