// Constants of command execution that agents, the simulator and the backend
// must agree on, byte-identical to upstream (kanade-shared `kv.rs` and the
// agent's synthetic results): the inline output threshold, the script_status
// values, the synthetic exit codes, the agent_groups value shape and the
// result_output object keys.
//
// The object key carries the pc_id (`<request_id>/<pc_id>/stdout`), as
// upstream's newest agent writes it: one request_id is shared by every PC of
// an exec, so the older `<request_id>/stdout` made two PCs with large output
// overwrite each other's object. Readers follow `stdout_object` /
// `stderr_object` as given, so both shapes stay readable.

import { z } from 'zod';

/** Output above this many bytes (UTF-8) travels through the `result_output` object store. */
export const STDOUT_INLINE_THRESHOLD = 256 * 1024;

/** Values of the `script_status` KV bucket (raw UTF-8). */
export const SCRIPT_STATUS = { ACTIVE: 'ACTIVE', REVOKED: 'REVOKED' } as const;

/**
 * Exit codes of results an agent synthesises instead of running the script.
 * Only `skipped: true` marks a skip; SIGNATURE_REFUSED is a failure, not a skip.
 */
export const EXIT_CODE = {
  UNSUPPORTED_OS: 122,
  SIGNATURE_REFUSED: 123,
  VERSION_MISMATCH: 124,
  DEADLINE_PASSED: 125,
  REVOKED: 126,
  STALE: 127,
  /** Killed (kill.{exec_id}), timed out, or reaped by the backend sweeper. */
  ABORTED: -1,
} as const;

/** The protocol names an agent lists in `Heartbeat.command_protocols`. */
export const COMMAND_PROTOCOL = { LEGACY: 'legacy', V2: 'kanade.command.v2' } as const;

/** `agent_groups` / `agent_groups_derived` value, keyed by pc_id. */
export const AgentGroups = z.object({ groups: z.array(z.string().max(256)).max(1024).default([]) });
export type AgentGroups = z.infer<typeof AgentGroups>;

export function resultOutputKey(requestId: string, pcId: string, stream: 'stdout' | 'stderr'): string {
  return `${requestId}/${pcId}/${stream}`;
}
