// The live output of running commands, by result_id, for `job.tail.{pc_id}`
// requests (the dashboard polls a running job's output). A finished run's
// buffers stay readable for a grace period (60 s, as upstream) so the last
// poll still sees the final tail with `running: false` while the result is
// on its way through the outbox and the projector. Expired entries are
// evicted lazily on register/get, so no timer is needed.

import type { JobTailReply } from '@kanade/wire';
import { createRing, type Ring } from './output.js';

export const TAIL_GRACE_MS = 60_000;

export interface LiveTail {
  readonly stdout: Ring;
  readonly stderr: Ring;
  finish(): void;
}

export interface LiveTails {
  register(resultId: string): LiveTail;
  reply(resultId: string): JobTailReply;
}

interface Entry extends LiveTail {
  finishedAt: number | undefined;
}

const NOT_FOUND: JobTailReply = {
  found: false,
  running: false,
  stdout: '',
  stderr: '',
  stdout_truncated: false,
  stderr_truncated: false,
};

export function createLiveTails(now: () => number = Date.now): LiveTails {
  const entries = new Map<string, Entry>();
  const sweep = () => {
    const t = now();
    for (const [id, e] of entries)
      if (e.finishedAt !== undefined && t - e.finishedAt >= TAIL_GRACE_MS) entries.delete(id);
  };
  return {
    register(resultId) {
      sweep();
      const e: Entry = {
        stdout: createRing(),
        stderr: createRing(),
        finishedAt: undefined,
        finish() {
          e.finishedAt ??= now();
        },
      };
      entries.set(resultId, e);
      return e;
    },
    reply(resultId) {
      sweep();
      const e = entries.get(resultId);
      if (!e) return NOT_FOUND;
      const out = e.stdout.snapshot();
      const err = e.stderr.snapshot();
      return {
        found: true,
        running: e.finishedAt === undefined,
        stdout: out.text,
        stderr: err.text,
        stdout_truncated: out.truncated,
        stderr_truncated: err.truncated,
      };
    },
  };
}
