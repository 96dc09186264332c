// The virtual agents' answer to commands, shaped for 100,000 agents in one
// process: three shared core subscriptions (`commands.all`,
// `commands.group.>`, `commands.pc.>`) and one on `kill.>` serve the whole
// fleet, never a durable per agent (the broker could not carry 100,000 of
// them on one machine; the real agent keeps its own). Virtual agents are
// always online, so there is nothing to replay; a command published while
// the simulator is disconnected is missed, as a fleet that was off would
// miss it.
//
// - Intake: command messages arriving in one burst are merged per
//   request_id and turned into one run (command-runs.ts) on the next turn of
//   the event loop, so an exec to 100,000 PCs by `commands.pc.{pc}` makes a
//   few runs, not 100,000. A request_id reaches each agent once however many
//   subjects carry it (a bitset per request_id, the last 256 kept).
// - script_status and script_current are read once per run, not per agent.
// - Sending: started events and results go out with js.publish and wait for
//   their acks, at most MAX_IN_FLIGHT at a time; the next ones are rendered
//   only as acks come back, so memory stays flat however many results are
//   due. Started events go first, and an agent's result never precedes its
//   started event. A publish that fails is retried (the result_id is the
//   message id, so JetStream drops a duplicate) with a growing delay, up to
//   8 times over about 20 s (a clustered broker electing a new stream
//   leader answers "no responders" for seconds), then counted as an error.

import { Command, isValidToken, KV, subject } from '@kanade/wire';
import { jetstream } from '@nats-io/jetstream';
import { type KV as KvBucket, Kvm } from '@nats-io/kv';
import type { Msg, NatsConnection } from '@nats-io/transport-node';
import {
  createRun,
  type Run,
  resultIdOf,
  resultJson,
  type ScriptView,
  skipOf,
  startedJson,
} from './command-runs.js';
import { type Fleet, pcIdOf } from './fleet.js';
import { agentIndexOf, watchMembership } from './groups.js';
import { createHintOutputs } from './hint-output.js';

export const MAX_IN_FLIGHT = 1000;
const PUMP_MS = 10;
const MAX_ATTEMPTS = 8;
/** Delay before retry n (1-based): 0.5 s doubling, at most 5 s. */
const retryDelayMs = (attempt: number) => Math.min(500 * 2 ** (attempt - 1), 5000);
const SEEN_REQUESTS = 256;
const KEY_RE = /^[-/_=.a-zA-Z0-9]+$/;

export interface CommandsOptions {
  /** Mean run time of a command; each agent takes U(0.5, 1.5) of it. Default 1 s. */
  runMs?: number;
  /** Share of agents that exit 1 (0..1). Default 0. */
  failureRate?: number;
}

export interface CommandCounters {
  commandsReceived: number;
  startedSent: number;
  resultsSent: number;
  publishErrors: number;
}

export interface CommandResponder {
  readonly counters: CommandCounters;
  /** Resolves once group memberships are loaded and the subscriptions are in place. */
  readonly ready: Promise<void>;
  /** Results still to be sent. */
  pending(): number;
  stop(): void;
}

interface Intake {
  cmd: Command;
  agents: number[];
  all: boolean;
}

interface Send {
  run: Run;
  pos: number;
  kind: 'started' | 'result';
  attempts: number;
  /** performance.now() before which a failed publish is not retried. */
  retryAt?: number;
}

export function startCommandResponder(
  nc: NatsConnection,
  fleet: Fleet,
  opts: CommandsOptions,
  log: (line: string) => void,
): CommandResponder {
  const runMs = opts.runMs ?? 1000;
  const failureRate = opts.failureRate ?? 0;
  if (!(runMs >= 0) || !Number.isFinite(runMs)) throw new RangeError(`runMs must be >= 0, got ${runMs}`);
  if (!(failureRate >= 0 && failureRate <= 1))
    throw new RangeError(`failureRate must be in 0..1, got ${failureRate}`);
  const js = jetstream(nc);
  const kvm = new Kvm(nc);
  const buckets = new Map<string, KvBucket>();
  const membership = watchMembership(nc, fleet, log);
  const outputs = createHintOutputs(nc, fleet, log);
  const counters: CommandCounters = { commandsReceived: 0, startedSent: 0, resultsSent: 0, publishErrors: 0 };
  const words = Math.ceil(fleet.size / 32);
  const seen = new Map<string, Uint32Array>();
  let intake = new Map<string, Intake>();
  let intakeScheduled = false;
  const runs: Run[] = [];
  const retries: Send[] = [];
  let inFlight = 0;
  let pumpScheduled = false;
  let stopped = false;
  // Ticks only while something is waiting to be sent (results fall due on their own time).
  let timer: NodeJS.Timeout | undefined;

  async function scriptView(id: string): Promise<ScriptView> {
    if (!KEY_RE.test(id)) return { current: undefined, status: undefined };
    const read = async (bucket: string) => {
      try {
        let kv = buckets.get(bucket);
        if (!kv) {
          kv = await kvm.open(bucket);
          buckets.set(bucket, kv);
        }
        const e = await kv.get(id);
        return e?.operation === 'PUT' ? e.string() : undefined;
      } catch {
        // Advisory, as for real agents: an unreadable bucket does not stop the run.
        return undefined;
      }
    };
    const [current, status] = await Promise.all([read(KV.SCRIPT_CURRENT), read(KV.SCRIPT_STATUS)]);
    return { current, status };
  }

  function firstTime(requestId: string): Uint32Array {
    let bits = seen.get(requestId);
    if (!bits) {
      bits = new Uint32Array(words);
      seen.set(requestId, bits);
      if (seen.size > SEEN_REQUESTS) seen.delete(seen.keys().next().value!);
    }
    return bits;
  }

  async function startRun(requestId: string, item: Intake): Promise<void> {
    const cmd = item.cmd;
    const execId = cmd.exec_id ?? cmd.job_id;
    if (!isValidToken(requestId) || (execId && !isValidToken(execId))) {
      log(`command ${requestId}: request_id and exec_id must be subject tokens; ignored`);
      return;
    }
    const bits = firstTime(requestId);
    const agents: number[] = [];
    const take = (i: number) => {
      const w = i >>> 5;
      const b = 1 << (i & 31);
      if (bits[w]! & b) return;
      bits[w] = bits[w]! | b;
      agents.push(i);
    };
    if (item.all) for (let i = 0; i < fleet.size; i++) take(i);
    else for (const i of item.agents) take(i);
    if (agents.length === 0) return;
    const skip = skipOf(cmd, await scriptView(cmd.id), Date.now());
    const output = skip ? undefined : await outputs.forCommand(cmd);
    if (stopped) return;
    runs.push(
      createRun(cmd, agents, skip, {
        runMs,
        failureRate,
        rng: fleet.rng,
        monoNow: performance.now(),
        wallNow: Date.now(),
        output,
      }),
    );
    pump();
  }

  function flushIntake(): void {
    intakeScheduled = false;
    const batch = intake;
    intake = new Map();
    for (const [requestId, item] of batch) {
      startRun(requestId, item).catch((err) => log(`command ${requestId}: ${(err as Error).message}`));
    }
  }

  function onCommand(m: Msg): void {
    if (stopped) return;
    let targets: number[] | 'all';
    if (m.subject === subject.commandsAll()) targets = 'all';
    else if (m.subject.startsWith('commands.group.')) targets = membership.members(m.subject.slice(15));
    else {
      const i = agentIndexOf(fleet, m.subject.slice(12));
      targets = i >= 0 ? [i] : [];
    }
    if (targets !== 'all' && targets.length === 0) return;
    let body: { request_id?: unknown };
    try {
      body = m.json();
    } catch {
      log(`${m.subject}: not JSON`);
      return;
    }
    // Per-PC fan-out repeats one command on many subjects: validate it once per burst.
    const requestId = typeof body?.request_id === 'string' ? body.request_id : '';
    let item = intake.get(requestId);
    if (!item) {
      const parsed = Command.safeParse(body);
      if (!parsed.success) {
        log(`${m.subject}: not a Command (${parsed.error.issues[0]?.message})`);
        return;
      }
      item = { cmd: parsed.data, agents: [], all: false };
      intake.set(requestId, item);
    }
    counters.commandsReceived++;
    if (targets === 'all') item.all = true;
    else for (const i of targets) item.agents.push(i);
    if (!intakeScheduled) {
      intakeScheduled = true;
      setImmediate(flushIntake);
    }
  }

  function onKill(m: Msg): void {
    const execId = m.subject.slice(5);
    for (const run of runs) {
      if (run.execId === execId && !run.killed && !run.skip) {
        run.killed = true;
        log(`kill.${execId}: stopping ${run.agents.length - run.nextResult} runs`);
      }
    }
    pump();
  }

  function publish(s: Send): void {
    const { run, pos, kind } = s;
    const agent = run.agents[pos]!;
    const id = resultIdOf(run, agent);
    const subj =
      kind === 'started'
        ? subject.eventsStarted(run.execId!, pcIdOf(fleet, agent))
        : subject.results(run.cmd.request_id);
    const body = kind === 'started' ? startedJson(run, fleet, pos) : resultJson(run, fleet, pos, Date.now());
    inFlight++;
    js.publish(subj, body, { msgID: id }).then(
      () => {
        inFlight--;
        if (kind === 'started') counters.startedSent++;
        else counters.resultsSent++;
        schedulePump();
      },
      () => {
        inFlight--;
        if (stopped) return;
        if (++s.attempts >= MAX_ATTEMPTS) counters.publishErrors++;
        else {
          s.retryAt = performance.now() + retryDelayMs(s.attempts);
          retries.push(s);
        }
        schedulePump();
      },
    );
  }

  function schedulePump(): void {
    if (pumpScheduled) return;
    pumpScheduled = true;
    setImmediate(() => {
      pumpScheduled = false;
      pump();
    });
  }

  function pump(): void {
    if (stopped) return;
    const now = performance.now();
    for (let i = 0; i < retries.length && inFlight < MAX_IN_FLIGHT; ) {
      if (retries[i]!.retryAt! <= now) publish(retries.splice(i, 1)[0]!);
      else i++;
    }
    for (const run of runs) {
      while (inFlight < MAX_IN_FLIGHT && run.nextStarted < run.agents.length) {
        publish({ run, pos: run.nextStarted++, kind: 'started', attempts: 0 });
      }
    }
    for (const run of runs) {
      const limit = run.nextStarted;
      while (
        inFlight < MAX_IN_FLIGHT &&
        run.nextResult < limit &&
        (run.killed || run.skip || run.due[run.nextResult]! <= now)
      ) {
        publish({ run, pos: run.nextResult++, kind: 'result', attempts: 0 });
      }
      if (inFlight >= MAX_IN_FLIGHT) break;
    }
    for (let i = runs.length - 1; i >= 0; i--)
      if (runs[i]!.nextResult === runs[i]!.agents.length) runs.splice(i, 1);
    const idle = runs.length === 0 && retries.length === 0;
    if (idle && timer) {
      clearInterval(timer);
      timer = undefined;
    } else if (!idle && !timer) timer = setInterval(pump, PUMP_MS);
  }

  const subs = [
    ...['commands.all', 'commands.group.>', 'commands.pc.>'].map((s) =>
      nc.subscribe(s, { callback: (_e, m) => onCommand(m) }),
    ),
    nc.subscribe('kill.>', { callback: (_e, m) => onKill(m) }),
  ];

  return {
    counters,
    ready: Promise.all([membership.ready, nc.flush()]).then(() => {}),
    pending() {
      let n = retries.length;
      for (const run of runs) n += run.agents.length - run.nextResult;
      return n;
    },
    stop() {
      stopped = true;
      clearInterval(timer);
      for (const s of subs) s.unsubscribe();
      membership.stop();
      outputs.stop();
    },
  };
}
