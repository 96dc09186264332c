// Shared set-up of the agent's command tests: a real nats-server with the
// backend's JetStream resources, a client that publishes commands the way the
// backend does (into EXEC) and collects what agents send back, and agents
// with a temporary state directory each.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Command, EventStarted, ExecResult, STREAM } from '@kanade/wire';
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { onTestFinished } from 'vitest';
import type { TestNats } from '../../../test-support/nats-server.js';
import { bootstrapJetStream } from '../../backend/src/nats/bootstrap.js';
import { type Agent, createAgent } from '../src/index.js';

export async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  // A condition that throws (a request during a broker restart) counts as not met yet.
  while (
    !(await Promise.resolve()
      .then(cond)
      .catch(() => false))
  ) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export interface Wire {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  results: ExecResult[];
  started: EventStarted[];
  /** `started:<request_id>` / `result:<request_id>` in arrival order. */
  arrivals: string[];
  resultsFor(requestId: string): ExecResult[];
  startedFor(requestId: string): EventStarted[];
  /** Stores a command in EXEC, as the backend's publish is captured there. */
  send(subject: string, cmd: Command): Promise<void>;
  /** How many messages RESULTS holds on `results.{request_id}`. */
  storedResults(requestId: string): Promise<number>;
  /** How many started events EVENTS holds for one PC of one exec. */
  storedStarted(execId: string, pcId: string): Promise<number>;
  /** The newest result RESULTS holds for the request (seen even while this client was reconnecting). */
  storedResult(requestId: string): Promise<ExecResult | undefined>;
  close(): Promise<void>;
}

/** Connects a backend-like client, bootstraps JetStream once, and collects results and started events. */
export async function openWire(nats: TestNats): Promise<Wire> {
  const nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  await bootstrapJetStream(nc);
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const results: ExecResult[] = [];
  const started: EventStarted[] = [];
  const arrivals: string[] = [];
  nc.subscribe('results.>', {
    callback: (_e, m) => {
      const r = ExecResult.parse(m.json());
      results.push(r);
      arrivals.push(`result:${r.request_id}`);
    },
  });
  nc.subscribe('events.started.>', {
    callback: (_e, m) => {
      const s = EventStarted.parse(m.json());
      started.push(s);
      arrivals.push(`started:${s.request_id}`);
    },
  });
  await nc.flush();
  return {
    nc,
    js,
    jsm,
    results,
    started,
    arrivals,
    resultsFor: (id) => results.filter((r) => r.request_id === id),
    startedFor: (id) => started.filter((s) => s.request_id === id),
    async send(subject, cmd) {
      await js.publish(subject, JSON.stringify(cmd));
    },
    async storedResults(requestId) {
      const info = await jsm.streams.info(STREAM.RESULTS, { subjects_filter: `results.${requestId}` });
      return info.state.subjects?.[`results.${requestId}`] ?? 0;
    },
    async storedStarted(execId, pcId) {
      const subj = `events.started.${execId}.${pcId}`;
      const info = await jsm.streams.info(STREAM.EVENTS, { subjects_filter: subj });
      return info.state.subjects?.[subj] ?? 0;
    },
    async storedResult(requestId) {
      const m = await jsm.streams.getMessage(STREAM.RESULTS, { last_by_subj: `results.${requestId}` });
      return m ? ExecResult.parse(m.json()) : undefined;
    },
    close: () => nc.close(),
  };
}

let seq = 0;

export function command(over: Partial<Command> = {}): Command {
  seq++;
  return {
    id: `job-${seq}`,
    version: '1.0.0',
    request_id: randomUUID(),
    exec_id: randomUUID(),
    shell: 'sh',
    script: 'echo hi',
    timeout_secs: 30,
    run_as: 'system',
    ...over,
  };
}

export interface TestAgent {
  agent: Agent;
  logs: string[];
  outboxFiles(): string[];
  /** Request ids of the results waiting in the outbox. */
  outboxResults(): string[];
}

export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kanade-agent-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** An agent on its own state dir (pass one to reuse it across restarts); stopped when the test ends. */
export async function startAgent(nats: TestNats, pcId: string, stateDir = tempDir()): Promise<TestAgent> {
  const logs: string[] = [];
  const agent = createAgent({
    natsUrl: nats.url,
    pcId,
    stateDir,
    heartbeatMs: 60_000,
    hostPerfMs: 600_000,
    log: (line) => logs.push(line),
  });
  onTestFinished(() => agent.stop());
  await agent.start();
  const outboxFiles = () => readdirSync(join(stateDir, 'outbox')).filter((f) => f.endsWith('.json'));
  return {
    agent,
    logs,
    outboxFiles,
    outboxResults: () =>
      outboxFiles()
        .filter((f) => f.includes('-result-'))
        .map((f) => JSON.parse(readFileSync(join(stateDir, 'outbox', f), 'utf8')).body.request_id as string),
  };
}
