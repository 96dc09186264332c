// Runs one Command the way upstream's agent does and hands every outcome to
// the outbox: a skip result (124-127, or 122 for a shell this OS lacks), or
// a started event followed by the result of a real run.
//
// - Order: preflight checks, cwd, script_object resolution, shell support,
//   then the `kill.{exec_id}` subscription, the jitter wait, the started
//   event (before the child is spawned) and the run. A kill or an agent
//   shutdown during the jitter wait or a retry backoff ends the run without
//   starting the script again.
// - Killed and timed-out runs report exit -1 with a note in stderr, as
//   upstream; a child that could not be started (missing program or cwd)
//   too. `retry: {max, backoff_secs}` re-runs a failed or timed-out attempt;
//   only the last attempt's output is reported, with a note of the retries.
// - `run_as: user | system_gui` runs as the agent's own user: this agent
//   does not switch users. Manifest hints the backend forwards (emit, check,
//   collect, finalize) are not acted on here.
// - The live output of each run is readable over `job.tail.{pc_id}` while it
//   runs (live-tail.ts).

import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  type Command,
  type EventStarted,
  EXIT_CODE,
  isValidToken,
  OBJ,
  subject,
  toRfc3339,
} from '@kanade/wire';
import { Objm } from '@nats-io/obj';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { LiveTail, LiveTails } from './live-tail.js';
import type { Outbox } from './outbox.js';
import { createCapture } from './output.js';
import { buildResult, execIdOf, preflight, retryNote, withNotes } from './preflight.js';
import {
  KILL_GRACE_MS,
  MAX_TIMER_MS,
  type RunningProcess,
  type RunOutcome,
  runProcess,
  type StopReason,
} from './run-process.js';
import type { ScriptViewReader } from './script-view.js';
import { type Invocation, invocationFor, scriptExtension } from './shell.js';

export interface CommandRunnerOptions {
  pcId: string;
  nc: NatsConnection;
  outbox: Outbox;
  tails: LiveTails;
  scripts: ScriptViewReader;
  /** Where script files (PowerShell) are staged while they run. */
  scratchDir: string;
  platform?: NodeJS.Platform;
  log(line: string): void;
}

export interface CommandRunner {
  /** Handles one command to the end; never rejects (failures are logged). */
  run(cmd: Command): Promise<void>;
  active(): number;
  /** Stops every run (their results go to the outbox) and waits for them, at most the kill grace + 1 s. */
  stop(): Promise<void>;
}

interface RunState {
  reason: StopReason | undefined;
  proc: RunningProcess | undefined;
  wake: (() => void) | undefined;
}

function abort(state: RunState, reason: StopReason): void {
  if (state.reason) return;
  state.reason = reason;
  state.proc?.stop(reason);
  state.wake?.();
}

/** Sleeps `ms`, or less when the run is aborted meanwhile. */
function pause(state: RunState, ms: number): Promise<void> {
  if (ms <= 0 || state.reason) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(done, Math.min(ms, MAX_TIMER_MS));
    function done() {
      clearTimeout(t);
      state.wake = undefined;
      resolve();
    }
    state.wake = done;
  });
}

function stopNote(reason: StopReason, cmd: Command, execId: string | undefined): string {
  switch (reason) {
    case 'killed':
      return `killed by remote signal (kill.${execId})`;
    case 'timeout':
      return `timeout after ${cmd.timeout_secs}s`;
    case 'stopping':
      return 'stopped: the agent shut down during the run';
  }
}

/** One run of the script: stage it (if it runs from a file), start it, wait for its end. */
async function attempt(
  cmd: Command,
  inv: Invocation,
  scriptPath: string,
  state: RunState,
  tail: LiveTail,
): Promise<{ outcome: RunOutcome; stdout: string; stderr: string }> {
  if (inv.scriptFile) {
    try {
      mkdirSync(dirname(scriptPath), { recursive: true, mode: 0o700 });
      writeFileSync(scriptPath, inv.scriptFile, { flag: 'wx', mode: 0o600 });
    } catch (err) {
      const message = `cannot stage the script at ${scriptPath}: ${(err as Error).message}`;
      return { outcome: { kind: 'failed_to_start', message }, stdout: '', stderr: '' };
    }
  }
  const out = createCapture();
  const err = createCapture();
  const proc = runProcess({
    program: inv.program,
    args: inv.args,
    cwd: cmd.cwd ?? undefined,
    timeoutMs: cmd.timeout_secs * 1000,
    verbatim: inv.verbatim,
    onStdout: (c) => {
      out.push(c);
      tail.stdout.push(c);
    },
    onStderr: (c) => {
      err.push(c);
      tail.stderr.push(c);
    },
  });
  state.proc = proc;
  try {
    const outcome = await proc.done;
    return { outcome, stdout: out.finish(), stderr: err.finish() };
  } finally {
    state.proc = undefined;
    if (inv.scriptFile) rmSync(scriptPath, { force: true });
  }
}

export function createCommandRunner(o: CommandRunnerOptions): CommandRunner {
  const platform = o.platform ?? process.platform;
  const running = new Map<RunState, Promise<void>>();
  let stopping = false;

  async function resolveScript(cmd: Command): Promise<{ script: string } | { error: string }> {
    if (cmd.script.length > 0 || !cmd.script_object) return { script: cmd.script };
    const want = cmd.script_object_sha256?.toLowerCase();
    if (!want) return { error: `script_object ${cmd.script_object} comes without script_object_sha256` };
    try {
      const store = await new Objm(o.nc).open(OBJ.SCRIPTS);
      const data = await store.getBlob(cmd.script_object);
      if (!data) return { error: `script_object ${cmd.script_object} is not in the ${OBJ.SCRIPTS} store` };
      const got = createHash('sha256').update(data).digest('hex');
      if (got !== want)
        return { error: `script_object ${cmd.script_object} has sha256 ${got}, expected ${want}` };
      return { script: Buffer.from(data).toString('utf8') };
    } catch (err) {
      return { error: `cannot fetch script_object ${cmd.script_object}: ${(err as Error).message}` };
    }
  }

  async function handle(cmd: Command, state: RunState): Promise<void> {
    const execId = execIdOf(cmd);
    const resultId = randomUUID();
    const received = Date.now();
    const sendResult = (
      f: { exitCode: number; stdout: string; stderr: string; startedAt: number },
      skipped = false,
    ) =>
      o.outbox.enqueue({
        subject: subject.results(cmd.request_id),
        msgId: resultId,
        kind: 'result',
        body: buildResult(cmd, { ...f, resultId, pcId: o.pcId, skipped, finishedAt: Date.now() }),
      });
    const refuse = (exitCode: number, stderr: string, skipped: boolean) => {
      o.log(`${cmd.id} (${cmd.request_id}): ${stderr}`);
      sendResult({ exitCode, stdout: '', stderr, startedAt: received }, skipped);
    };

    const skip = preflight(cmd, await o.scripts.read(cmd.id), Date.now());
    if (skip) return refuse(skip.exitCode, skip.stderr, true);
    if (cmd.cwd && !existsSync(cmd.cwd))
      return refuse(EXIT_CODE.ABORTED, `cannot run: cwd ${cmd.cwd} does not exist`, false);
    const resolved = await resolveScript(cmd);
    if ('error' in resolved) return refuse(EXIT_CODE.ABORTED, `cannot run: ${resolved.error}`, false);
    const scriptPath = join(o.scratchDir, `${resultId}${scriptExtension(cmd.shell) ?? ''}`);
    const inv = invocationFor(cmd.shell, resolved.script, platform, scriptPath);
    if ('unsupported' in inv) return refuse(EXIT_CODE.UNSUPPORTED_OS, `skipped: ${inv.unsupported}`, true);

    let killSub: Subscription | undefined;
    if (execId && isValidToken(execId)) {
      killSub = o.nc.subscribe(subject.kill(execId), { callback: () => abort(state, 'killed') });
    }
    try {
      const jitter = cmd.jitter_secs ?? 0;
      if (jitter > 1) await pause(state, Math.floor(Math.random() * jitter) * 1000);

      const startedAt = Date.now();
      const tail = o.tails.register(resultId);
      if (execId && isValidToken(execId) && !state.reason) {
        const started: EventStarted = {
          result_id: resultId,
          request_id: cmd.request_id,
          exec_id: execId,
          pc_id: o.pcId,
          started_at: toRfc3339(startedAt),
          manifest_id: cmd.id,
          version: cmd.version,
        };
        o.outbox.enqueue({
          subject: subject.eventsStarted(execId, o.pcId),
          msgId: resultId,
          kind: 'started',
          body: started,
        });
      }

      const maxRetries = cmd.retry?.max ?? 0;
      let retries = 0;
      let exitCode: number = EXIT_CODE.ABORTED;
      let stdout = '';
      let stderr = '';
      let note: string | undefined;
      for (;;) {
        if (state.reason) {
          // Killed or shut down during the jitter wait or a retry backoff.
          note = stopNote(state.reason, cmd, execId) + (retries === 0 ? ' before the script started' : '');
          break;
        }
        const { outcome, stdout: out, stderr: err } = await attempt(cmd, inv, scriptPath, state, tail);
        stdout = out;
        stderr = err;
        note = undefined;
        if (outcome.kind === 'exited') exitCode = outcome.exitCode;
        else {
          exitCode = EXIT_CODE.ABORTED;
          note = outcome.kind === 'stopped' ? stopNote(outcome.reason, cmd, execId) : outcome.message;
        }
        const timedOut = outcome.kind === 'stopped' && outcome.reason === 'timeout';
        const retryable = (outcome.kind === 'exited' && exitCode !== 0) || timedOut;
        if (!retryable || retries >= maxRetries || state.reason) break;
        retries++;
        o.log(`${cmd.id} (${cmd.request_id}): attempt ${retries} failed; retrying`);
        await pause(state, (cmd.retry?.backoff_secs ?? 0) * 1000);
      }
      tail.finish();
      const killed = state.reason === 'killed';
      sendResult({
        exitCode,
        stdout,
        stderr: withNotes(stderr, note, retryNote(retries, exitCode, killed)),
        startedAt,
      });
      o.log(`${cmd.id} (${cmd.request_id}) finished: exit ${exitCode}`);
    } finally {
      killSub?.unsubscribe();
    }
  }

  return {
    run(cmd) {
      const state: RunState = { reason: stopping ? 'stopping' : undefined, proc: undefined, wake: undefined };
      const p = handle(cmd, state)
        .catch((err) => o.log(`${cmd.id} (${cmd.request_id}) failed: ${(err as Error).message}`))
        .finally(() => running.delete(state));
      running.set(state, p);
      return p;
    },
    active: () => running.size,
    async stop() {
      stopping = true;
      for (const state of running.keys()) abort(state, 'stopping');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all(running.values()),
        new Promise((r) => (timer = setTimeout(r, KILL_GRACE_MS + 1000))),
      ]);
      clearTimeout(timer);
    },
  };
}
