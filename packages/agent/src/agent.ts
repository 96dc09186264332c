// createAgent: the agent as a library, so the backend can run one for its own
// host in-process and tests can drive it. It owns one NATS connection and the
// telemetry loops; command execution (issue #3) will hang off the same
// connection beside them.

import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats } from './connection.js';
import { detectIdentity, type Identity } from './identity.js';
import { createTelemetry, type Telemetry } from './telemetry.js';

export interface AgentOptions {
  natsUrl: string;
  /** Defaults to the sanitized hostname. */
  pcId?: string;
  /** Upstream default 30 s. */
  heartbeatMs?: number;
  /** Upstream default 60 s. */
  hostPerfMs?: number;
  /** Delay of the first host_perf after start (its rates need two samples). */
  warmupMs?: number;
  log?: (line: string) => void;
}

export interface Agent {
  readonly identity: Identity;
  /** Connects (retrying until the broker answers) and starts the telemetry loops. */
  start(): Promise<void>;
  /** Stops the loops, flushes (at most 2 s) and closes. Safe to call at any time, more than once. */
  stop(): Promise<void>;
}

const FLUSH_TIMEOUT_MS = 2000;

export function createAgent(opts: AgentOptions): Agent {
  const identity = detectIdentity(opts.pcId);
  const log = opts.log ?? (() => {});
  let state: 'idle' | 'starting' | 'running' | 'stopped' = 'idle';
  const currentState = () => state;
  let nc: NatsConnection | undefined;
  let telemetry: Telemetry | undefined;

  return {
    identity,
    async start() {
      if (state !== 'idle') throw new Error(`agent cannot start: it is ${state}`);
      state = 'starting';
      const conn = await connectNats(opts.natsUrl, identity.pcId, log);
      // stop() may have run while the first connect was pending.
      if (currentState() === 'stopped') {
        await conn.close();
        return;
      }
      nc = conn;
      state = 'running';
      log(`connected to ${opts.natsUrl} as ${identity.pcId} (agent ${identity.agentVersion})`);
      telemetry = createTelemetry({
        identity,
        heartbeatMs: opts.heartbeatMs ?? 30_000,
        hostPerfMs: opts.hostPerfMs ?? 60_000,
        warmupMs: opts.warmupMs ?? 1000,
        publish: (subj, body) => conn.publish(subj, body),
        log,
      });
      telemetry.start();
    },
    async stop() {
      if (state === 'stopped') return;
      state = 'stopped';
      telemetry?.stop();
      if (!nc) return;
      let timeout: NodeJS.Timeout | undefined;
      await Promise.race([
        nc.flush().catch(() => {}),
        new Promise<void>((resolve) => {
          timeout = setTimeout(resolve, FLUSH_TIMEOUT_MS);
        }),
      ]);
      clearTimeout(timeout);
      await nc.close().catch(() => {});
    },
  };
}
