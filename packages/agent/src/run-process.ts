// Runs one child process with a timeout and a kill that takes the whole
// process tree, streaming its output to the caller.
//
// - The child starts in a process group of its own (detached, i.e. setsid
//   on POSIX), so a kill reaches everything the script started: SIGTERM to
//   the group, then SIGKILL after KILL_GRACE_MS. On Windows `taskkill /T /F`
//   ends the tree. A process that leaves the group on purpose (setsid,
//   double fork, a service manager) is not followed.
// - The run ends when the child exits. Background processes it left behind
//   may hold the pipes open; they are given PIPE_GRACE_MS to finish writing,
//   then the pipes are closed and the run is reported: a script's exit
//   defines its end, and daemons it started on purpose keep running.
// - Exit code: the child's, or 128 + the signal number when a signal other
//   than ours ended it (the shell convention). A kill or timeout we caused is
//   reported as such, not as an exit code.

import { type ChildProcess, spawn } from 'node:child_process';
import { constants } from 'node:os';

export const KILL_GRACE_MS = 2000;
/** setTimeout fires at once above this (about 24.8 days), so longer waits are capped to it. */
export const MAX_TIMER_MS = 2 ** 31 - 1;
const PIPE_GRACE_MS = 1000;

export type StopReason = 'killed' | 'timeout' | 'stopping';

export type RunOutcome =
  | { kind: 'exited'; exitCode: number }
  | { kind: 'stopped'; reason: StopReason }
  | { kind: 'failed_to_start'; message: string };

export interface ProcessSpec {
  program: string;
  args: string[];
  cwd?: string;
  /** 0 = no timeout. */
  timeoutMs: number;
  verbatim?: boolean;
  onStdout(chunk: Buffer): void;
  onStderr(chunk: Buffer): void;
}

export interface RunningProcess {
  readonly done: Promise<RunOutcome>;
  /** Ends the process tree; the first reason given is the one reported. */
  stop(reason: StopReason): void;
}

function killTree(pid: number, signal: NodeJS.Signals): void {
  if (process.platform === 'win32') {
    const tk = spawn('taskkill', ['/pid', String(pid), '/T', '/F'], { stdio: 'ignore', windowsHide: true });
    tk.on('error', () => {});
    return;
  }
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}

export function runProcess(spec: ProcessSpec): RunningProcess {
  let stopReason: StopReason | undefined;
  let exited = false;
  let resolveDone!: (o: RunOutcome) => void;
  const done = new Promise<RunOutcome>((r) => {
    resolveDone = r;
  });
  const timers: NodeJS.Timeout[] = [];

  let child: ChildProcess;
  try {
    child = spawn(spec.program, spec.args, {
      cwd: spec.cwd,
      detached: process.platform !== 'win32',
      stdio: ['ignore', 'pipe', 'pipe'],
      windowsHide: true,
      windowsVerbatimArguments: spec.verbatim ?? false,
    });
  } catch (err) {
    // Arguments the OS cannot take (a NUL byte in the script) throw here instead of emitting 'error'.
    const message = `cannot start ${spec.program}: ${(err as Error).message}`;
    return { done: Promise.resolve({ kind: 'failed_to_start', message }), stop: () => {} };
  }
  child.stdout!.on('data', spec.onStdout);
  child.stderr!.on('data', spec.onStderr);

  let openPipes = 2;
  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const finish = () => {
    for (const t of timers) clearTimeout(t);
    child.stdout!.destroy();
    child.stderr!.destroy();
    const info = exitInfo!;
    if (stopReason) resolveDone({ kind: 'stopped', reason: stopReason });
    else if (info.code !== null) resolveDone({ kind: 'exited', exitCode: info.code });
    else resolveDone({ kind: 'exited', exitCode: 128 + (constants.signals[info.signal!] ?? 0) });
  };
  const pipeClosed = () => {
    openPipes--;
    if (openPipes === 0 && exitInfo) finish();
  };
  child.stdout!.on('close', pipeClosed);
  child.stderr!.on('close', pipeClosed);

  child.on('error', (err) => {
    if (exited) return;
    exited = true;
    for (const t of timers) clearTimeout(t);
    resolveDone({ kind: 'failed_to_start', message: `cannot start ${spec.program}: ${err.message}` });
  });
  child.on('exit', (code, signal) => {
    if (exited) return;
    exited = true;
    exitInfo = { code, signal };
    if (openPipes === 0) finish();
    else timers.push(setTimeout(finish, PIPE_GRACE_MS));
  });

  const stop = (reason: StopReason) => {
    if (exited || stopReason || child.pid === undefined) return;
    stopReason = reason;
    const pid = child.pid;
    killTree(pid, 'SIGTERM');
    // Not cleared when the shell exits: whatever in the tree ignored SIGTERM still gets SIGKILL.
    setTimeout(() => killTree(pid, 'SIGKILL'), KILL_GRACE_MS).unref();
  };
  if (spec.timeoutMs > 0)
    timers.push(setTimeout(() => stop('timeout'), Math.min(spec.timeoutMs, MAX_TIMER_MS)));

  return { done, stop };
}
