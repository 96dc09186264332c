// A real stack for browser tests: nats-server, the built backend (which also
// serves the built dashboard) and a simulated fleet publishing heartbeats and
// host perf on the real wire. Intervals are short so a test sees agents and
// perf points within seconds; backfillHostPerf gives a host some history.
import {
  type CommandsOptions,
  createFleet,
  createSimulator,
  hostPerfJson,
  pcIdOf,
  type Simulator,
} from '@kanade/sim';
import { KV, subject, toRfc3339 } from '@kanade/wire';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { eventually, removeDir, startBackend, type TestBackend } from '../../test-support/backend.js';
import { startNats, type TestNats } from '../../test-support/nats-server.js';

/** Memberships as an operator would set them: `agent_groups` KV, keyed by pc_id. */
async function writeGroups(natsUrl: string, agents: number, groups: Record<string, number[]>) {
  const fleet = createFleet({ agents, seed: SEED });
  const byAgent = new Map<number, string[]>();
  for (const [g, members] of Object.entries(groups)) {
    for (const i of members) byAgent.set(i, [...(byAgent.get(i) ?? []), g]);
  }
  const nc = await connect({ servers: natsUrl });
  try {
    const kv = await new Kvm(nc).open(KV.AGENT_GROUPS);
    for (const [i, gs] of byAgent) await kv.put(pcIdOf(fleet, i), JSON.stringify({ groups: gs }));
  } finally {
    await nc.close();
  }
}

export interface Stack {
  nats: TestNats;
  backend: TestBackend;
  sim: Simulator;
  /** Publishes one host_perf sample per minute for the last `minutes` minutes for agent `i`. */
  backfillHostPerf(i: number, minutes: number): Promise<void>;
  stop(): Promise<void>;
}

export interface StackOptions {
  agents: number;
  hostPerfMs?: number;
  /** Let the virtual agents answer commands (started events, results, kill). */
  commands?: CommandsOptions;
  /** Group -> agent indices, written to the agent_groups KV before the fleet starts. */
  groups?: Record<string, number[]>;
  /** Extra backend environment (e.g. KANADE_SCHEDULER_POLL_CRON). */
  env?: Record<string, string>;
}

const SEED = 7;

export async function startStack(opts: StackOptions): Promise<Stack> {
  const parts: Partial<Stack> = {};
  const stop = async () => {
    await parts.sim?.stop();
    await parts.backend?.kill();
    if (parts.backend) removeDir(parts.backend.dataDir);
    await parts.nats?.stop();
  };
  try {
    parts.nats = await startNats();
    parts.backend = await startBackend({ natsUrl: parts.nats.url, ...(opts.env ? { env: opts.env } : {}) });
    if (opts.groups) await writeGroups(parts.nats.url, opts.agents, opts.groups);
    // Short intervals for small fleets; upstream's 30 s / 60 s for big ones, which the broker can carry.
    const big = opts.agents > 10_000;
    parts.sim = createSimulator({
      natsUrl: parts.nats.url,
      agents: opts.agents,
      heartbeatMs: big ? 30_000 : 2000,
      hostPerfMs: opts.hostPerfMs ?? (big ? 60_000 : 2000),
      seed: SEED,
      ...(opts.commands ? { commands: opts.commands } : {}),
    });
    await parts.sim.start();
    const be = parts.backend;
    await eventually(
      async () => {
        const r = await be.fetch('/api/agents?limit=1');
        return Number(r.headers.get('x-total-count')) === opts.agents;
      },
      big ? 120_000 : 30_000,
      `${opts.agents} agents registered`,
    );
    const nats = parts.nats;
    const sim = parts.sim;
    const backfillHostPerf = async (i: number, minutes: number) => {
      const nc = await connect({ servers: nats.url });
      const pcId = pcIdOf(sim.fleet, i);
      const now = Date.now();
      for (let m = minutes; m > 0; m--) {
        nc.publish(subject.hostPerf(pcId), hostPerfJson(sim.fleet, i, pcId, toRfc3339(now - m * 60_000)));
      }
      await nc.drain();
    };
    return { ...(parts as Omit<Stack, 'stop' | 'backfillHostPerf'>), backfillHostPerf, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
