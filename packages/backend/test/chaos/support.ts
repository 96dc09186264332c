// Shared helpers of the reliability suite (chaos scenarios and fuzzers): the
// scale switch between the small `npm test` run and the full `npm run chaos`
// run, /metrics parsing, read-only SQL against the backend's database, the
// durable consumers' unacked count, the built agent as a child process,
// publishing audit events, and the one-line reports every scenario prints.
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { DURABLE, STREAM } from '@kanade/wire';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { TestBackend } from '../../../../test-support/backend.js';
import { openStoreDb } from '../../../../test-support/db.js';

/** `npm run chaos` sets KANADE_CHAOS_FULL=1; a specific variable (e.g. KANADE_FUZZ_WIRE_COUNT) wins over both. */
export function scale(small: number, full: number, override?: string): number {
  const v = override ? Number(process.env[override]) : Number.NaN;
  if (Number.isFinite(v) && v > 0) return v;
  return process.env.KANADE_CHAOS_FULL === '1' ? full : small;
}

export const FULL = process.env.KANADE_CHAOS_FULL === '1';

/** Every sample of /metrics as `name{labels}` -> value. */
export { scrapeMetrics as metrics } from '../../../../test-support/backend.js';

export function projectorMetric(m: Map<string, number>, name: string, projector: string): number {
  return m.get(`kanade_projector_${name}_total{projector="${projector}"}`) ?? 0;
}

/** Run one read-only query against the backend's database (test-support/db.ts). */
export function sql<T = Record<string, unknown>>(dataDir: string, query: string, ...params: unknown[]): T[] {
  const db = openStoreDb(dataDir, { readonly: true });
  try {
    return db.prepare(query).all(...params) as T[];
  } finally {
    db.close();
  }
}

export function count(dataDir: string, query: string, ...params: unknown[]): number {
  const row = sql<Record<string, number>>(dataDir, query, ...params)[0];
  return row ? Number(Object.values(row)[0]) : 0;
}

/** A scenario's report line, printed so `npm run chaos` shows what it did and what it found. */
export function report(scenario: string, facts: Record<string, unknown>) {
  const parts = Object.entries(facts).map(
    ([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`,
  );
  process.stdout.write(`[chaos] ${scenario}: ${parts.join(' ')}\n`);
}

/** The backend is still the process we started (no crash, no restart loop of its ingest worker). */
export function assertAlive(be: TestBackend) {
  if (be.proc.exitCode !== null || be.proc.signalCode !== null)
    throw new Error(
      `backend exited (${be.proc.exitCode ?? be.proc.signalCode}):\n${be.logs.slice(-20).join('\n')}`,
    );
  const crashed = be.logs.filter(
    (l) => l.includes('ingest worker exited') || l.includes('ingest worker failed'),
  );
  if (crashed.length) throw new Error(`ingest worker crashed:\n${crashed.slice(0, 5).join('\n')}`);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Messages the durable projectors have not acknowledged yet (pending + in flight); 0 means nothing can be redelivered. */
export async function unacked(nc: NatsConnection): Promise<number> {
  const jsm = await jetstreamManager(nc);
  let n = 0;
  for (const [stream, durable] of [
    [STREAM.RESULTS, DURABLE.RESULTS],
    [STREAM.EVENTS, DURABLE.EVENTS],
    [STREAM.AUDIT, DURABLE.AUDIT],
    [STREAM.OBS_EVENTS, DURABLE.OBS_EVENTS],
  ] as const) {
    try {
      const i = await jsm.consumers.info(stream, durable);
      n += i.num_ack_pending + i.num_pending;
    } catch {
      // not created yet: nothing consumed, nothing pending on it
    }
  }
  return n;
}

const AGENT_MAIN = fileURLToPath(new URL('../../../agent/dist/main.js', import.meta.url));

export interface AgentProcess {
  pcId: string;
  stateDir: string;
  proc: ChildProcess;
  logs: string[];
  /** SIGKILL and wait. */
  kill(): Promise<void>;
  /** SIGTERM and wait (the agent flushes its outbox for up to 2 s). */
  stop(): Promise<void>;
}

/** The built agent (packages/agent/dist/main.js) as a child process, self-update off, 1 s telemetry. */
export function startAgentProcess(natsUrl: string, pcId: string, stateDir: string): AgentProcess {
  const proc = spawn(
    process.execPath,
    [
      AGENT_MAIN,
      '--nats',
      natsUrl,
      '--pc-id',
      pcId,
      '--state-dir',
      stateDir,
      '--heartbeat',
      '1s',
      '--host-perf',
      '1s',
      '--no-self-update',
    ],
    {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const logs: string[] = [];
  for (const s of [proc.stdout!, proc.stderr!]) createInterface({ input: s }).on('line', (l) => logs.push(l));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const signal = async (sig: NodeJS.Signals) => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill(sig);
    await exited;
  };
  return { pcId, stateDir, proc, logs, kill: () => signal('SIGKILL'), stop: () => signal('SIGTERM') };
}

/**
 * Publishes one audit event per target (actor `tester`, the given action) and resolves to their stream
 * sequences: what the audit projector's tests count rows of.
 */
export async function publishAuditEvents(
  nc: NatsConnection,
  action: string,
  targets: string[],
): Promise<number[]> {
  const js = jetstream(nc);
  const acks = targets.map((target) => {
    const body = { actor: 'tester', action, target, payload: {}, occurred_at: new Date().toISOString() };
    return js.publish(`audit.tester.${action}.${target}`, JSON.stringify(body));
  });
  return (await Promise.all(acks)).map((a) => a.seq);
}
