// One command as a batch of virtual agents answering it: who answers, when,
// how, and the JSON they send. A run holds typed arrays only (about 12 bytes
// an agent), and bodies are rendered when they are published, so a
// fleet-wide exec to 100,000 agents costs a few MB, not 100,000 objects.
//
// - Skip rules, as real agents apply them: version pin (124), revoke (126),
//   starting deadline (125). A skipped run sends results at once and no
//   started events.
// - Run time: each agent finishes `runMs` x U(0.5, 1.5) after the command
//   arrived. The due times are drawn, sorted, and dealt to the agents in a
//   shuffled order, so sending in position order is sending in time order.
// - Failures: exactly round(n x failureRate) agents exit 1, spread evenly
//   over the (random) position order, so a benchmark's failure counter is
//   exact while the failing PCs are random.
// - A kill (`kill.{exec_id}`) turns every result not yet sent into exit -1
//   with upstream's note, sent at once.
// - result_id: a random UUID v4 per run whose last 32 bits are XORed with
//   the agent index, so ids are unique within a run without storing them,
//   and the started event and the result of an agent carry the same id.

import { randomBytes } from 'node:crypto';
import {
  type Command,
  EXIT_CODE,
  formatDuration,
  parseRfc3339,
  SCRIPT_STATUS,
  toRfc3339,
} from '@kanade/wire';
import { type Fleet, pcIdOf } from './fleet.js';
import type { Rng } from './rng.js';

export interface ScriptView {
  current: string | undefined;
  status: string | undefined;
}

export interface Skip {
  exitCode: number;
  stderr: string;
}

export function skipOf(cmd: Command, view: ScriptView, nowMs: number): Skip | undefined {
  if (view.current !== undefined && view.current !== cmd.version) {
    return {
      exitCode: EXIT_CODE.VERSION_MISMATCH,
      stderr: `skipped: version mismatch (script_current has ${view.current}, the command carries ${cmd.version})`,
    };
  }
  if (view.status === SCRIPT_STATUS.REVOKED)
    return { exitCode: EXIT_CODE.REVOKED, stderr: `skipped: ${cmd.id} is revoked` };
  if (cmd.deadline_at) {
    const deadline = parseRfc3339(cmd.deadline_at);
    if (nowMs > deadline) {
      return {
        exitCode: EXIT_CODE.DEADLINE_PASSED,
        stderr: `skipped: starting deadline expired ${formatDuration(nowMs - deadline)} ago (deadline ${cmd.deadline_at})`,
      };
    }
  }
  return undefined;
}

export interface Run {
  readonly cmd: Command;
  readonly execId: string | undefined;
  readonly skip: Skip | undefined;
  /** Agent indices in the order their results fall due. */
  readonly agents: Int32Array;
  /** performance.now() at which each position's result is due (ascending). */
  readonly due: Float64Array;
  readonly failureRate: number;
  readonly receivedAt: number;
  /** Next position whose started event / result is to be sent. */
  nextStarted: number;
  nextResult: number;
  killed: boolean;
  readonly idPrefix: string;
  readonly idTail: number;
  /** The stdout of an agent's successful run (jobs with inventory / check hints, hint-output.ts). */
  readonly output: ((agent: number) => string) | undefined;
}

export interface RunOptions {
  runMs: number;
  failureRate: number;
  rng: Rng;
  /** performance.now() and Date.now() of arrival. */
  monoNow: number;
  wallNow: number;
  output?: ((agent: number) => string) | undefined;
}

export function createRun(
  cmd: Command,
  agents: readonly number[],
  skip: Skip | undefined,
  o: RunOptions,
): Run {
  const n = agents.length;
  const order = Int32Array.from(agents);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(o.rng() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  const due = new Float64Array(n);
  if (!skip) {
    for (let p = 0; p < n; p++) due[p] = o.monoNow + o.runMs * (0.5 + o.rng());
    due.sort();
  } else due.fill(o.monoNow);
  const id = randomBytes(16);
  id[6] = (id[6]! & 0x0f) | 0x40;
  id[8] = (id[8]! & 0x3f) | 0x80;
  const hex = id.toString('hex');
  const execId = cmd.exec_id ?? cmd.job_id ?? undefined;
  return {
    cmd,
    execId,
    skip,
    agents: order,
    due,
    failureRate: o.failureRate,
    receivedAt: o.wallNow,
    nextStarted: skip || !execId ? n : 0,
    nextResult: 0,
    killed: false,
    idPrefix: `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 24)}`,
    idTail: id.readUInt32BE(12),
    output: o.output,
  };
}

export function resultIdOf(run: Run, agent: number): string {
  return run.idPrefix + ((run.idTail ^ agent) >>> 0).toString(16).padStart(8, '0');
}

/** Whether position `p` of the run fails: round(n x rate) positions, evenly spread. */
export function failsAt(run: Run, p: number): boolean {
  return Math.round((p + 1) * run.failureRate) > Math.round(p * run.failureRate);
}

export function startedJson(run: Run, fleet: Fleet, p: number): string {
  const agent = run.agents[p]!;
  return JSON.stringify({
    result_id: resultIdOf(run, agent),
    request_id: run.cmd.request_id,
    exec_id: run.execId,
    pc_id: pcIdOf(fleet, agent),
    started_at: toRfc3339(run.receivedAt),
    manifest_id: run.cmd.id,
    version: run.cmd.version,
  });
}

export function resultJson(run: Run, fleet: Fleet, p: number, wallNow: number): string {
  const agent = run.agents[p]!;
  let exitCode = 0;
  let stdout = run.output ? run.output(agent) : `${run.cmd.id} ${run.cmd.version}: ok\n`;
  let stderr = '';
  if (run.skip) {
    exitCode = run.skip.exitCode;
    stdout = '';
    stderr = run.skip.stderr;
  } else if (run.killed) {
    exitCode = EXIT_CODE.ABORTED;
    stdout = '';
    stderr = `killed by remote signal (kill.${run.execId})`;
  } else if (failsAt(run, p)) {
    exitCode = 1;
    stdout = '';
    stderr = 'simulated failure\n';
  }
  return JSON.stringify({
    result_id: resultIdOf(run, agent),
    request_id: run.cmd.request_id,
    exec_id: run.execId ?? null,
    pc_id: pcIdOf(fleet, agent),
    exit_code: exitCode,
    ...(run.skip ? { skipped: true } : {}),
    stdout,
    stderr,
    started_at: toRfc3339(run.receivedAt),
    finished_at: toRfc3339(wallNow),
    manifest_id: run.cmd.id,
  });
}
