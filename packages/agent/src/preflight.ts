// The checks a command passes before it may run, and the synthetic results
// an agent sends instead of running it. Pure, so each rule and its boundary
// is unit-tested without a broker. Order and wording follow upstream's
// agent: staleness, version pin (124), revoke (126), then the starting
// deadline (125, strictly after: a command received exactly at its deadline
// still runs).
//
// script_current / script_status are advisory under the default staleness
// mode `cached`: when they cannot be read the command runs anyway, as
// upstream. Under `strict` an unreadable view refuses the run (127), since
// the agent cannot tell whether the script was revoked or superseded.

import {
  type Command,
  EXIT_CODE,
  type ExecResult,
  formatDuration,
  parseRfc3339,
  SCRIPT_STATUS,
  toRfc3339,
} from '@kanade/wire';

/** What the KV buckets say about a manifest id; undefined = no entry. */
export interface ScriptView {
  current: string | undefined;
  status: string | undefined;
  /** The buckets could not be read (broker or bucket unavailable). */
  unreadable: boolean;
}

export interface Skip {
  exitCode: number;
  stderr: string;
}

export function preflight(cmd: Command, view: ScriptView, nowMs: number): Skip | undefined {
  if (cmd.staleness?.mode === 'strict' && view.unreadable) {
    return {
      exitCode: EXIT_CODE.STALE,
      stderr: 'skipped: staleness policy (mode=strict): script_current / script_status could not be read',
    };
  }
  if (view.current !== undefined && view.current !== cmd.version) {
    return {
      exitCode: EXIT_CODE.VERSION_MISMATCH,
      stderr: `skipped: version mismatch (script_current has ${view.current}, the command carries ${cmd.version})`,
    };
  }
  if (view.status === SCRIPT_STATUS.REVOKED) {
    return { exitCode: EXIT_CODE.REVOKED, stderr: `skipped: ${cmd.id} is revoked` };
  }
  if (cmd.deadline_at) {
    const deadline = parseRfc3339(cmd.deadline_at);
    if (nowMs > deadline) {
      return {
        exitCode: EXIT_CODE.DEADLINE_PASSED,
        stderr:
          `skipped: starting deadline expired ${formatDuration(nowMs - deadline)} ago ` +
          `(deadline ${cmd.deadline_at}, received ${toRfc3339(nowMs)})`,
      };
    }
  }
  return undefined;
}

/** The exec this command belongs to: `exec_id`, or its older alias `job_id`; none for an ad-hoc run. */
export function execIdOf(cmd: Command): string | undefined {
  return cmd.exec_id ?? cmd.job_id ?? undefined;
}

export interface ResultFields {
  resultId: string;
  pcId: string;
  exitCode: number;
  skipped?: boolean;
  stdout: string;
  stderr: string;
  startedAt: number;
  finishedAt: number;
}

export function buildResult(cmd: Command, f: ResultFields): ExecResult {
  return {
    result_id: f.resultId,
    request_id: cmd.request_id,
    exec_id: execIdOf(cmd) ?? null,
    pc_id: f.pcId,
    exit_code: f.exitCode,
    ...(f.skipped ? { skipped: true } : {}),
    stdout: f.stdout,
    stderr: f.stderr,
    started_at: toRfc3339(f.startedAt),
    finished_at: toRfc3339(f.finishedAt),
    manifest_id: cmd.id,
  };
}

/** Joins notes under the captured stderr, one per line. */
export function withNotes(stderr: string, ...notes: (string | undefined)[]): string {
  const present = notes.filter((n): n is string => !!n);
  if (present.length === 0) return stderr;
  return [stderr.replace(/\n$/, ''), ...present].filter((s) => s.length > 0).join('\n');
}

/** Upstream's note when a run took retries (`retry.max` on the command). */
export function retryNote(retries: number, exitCode: number, killed: boolean): string | undefined {
  if (retries === 0) return undefined;
  const n = `${retries} ${retries === 1 ? 'retry' : 'retries'}`;
  if (killed) return `stopped by remote kill after ${n}`;
  return exitCode === 0 ? `succeeded after ${n}` : `failed after ${n} exhausted`;
}
