// The Activity reads: executions and results from the store, with upstream's
// result-list shape (200-character previews, `*_truncated` flags, and a
// match snippet around the first hit of an output regex), and the live tail
// of a running result fetched from its agent over `job.tail.{pc_id}` (3 s;
// no answer yields the "waiting" shape rather than an error).
import { JobTailReply, subject } from '@kanade/wire';
import type { NatsConnection } from '@nats-io/transport-node';
import { notFound } from '../http/errors.js';
import { compileFilter } from '../regex.js';
import type { ExecutionStatus } from '../store/executions.js';
import type { Store } from '../store/index.js';
import type { ResultListQuery, ResultListRow } from '../store/results.js';

const TAIL_TIMEOUT_MS = 3000;
const SNIPPET_CONTEXT = 60;
const SNIPPET_MATCH_MAX = 200;

export interface MatchSnippet {
  before: string;
  matched: string;
  after: string;
  clipped_before: boolean;
  clipped_after: boolean;
}

/** The first case-insensitive match of `pattern` in `text` with some context, or undefined. */
export function matchSnippet(text: string, pattern: string): MatchSnippet | undefined {
  // Lower-casing keeps the length of all but a few exotic characters, so the indexes fit `text`.
  const m = compileFilter(pattern).exec(text.toLowerCase());
  if (!m) return undefined;
  const start = m.index;
  const end = start + m[0].length;
  const from = Math.max(0, start - SNIPPET_CONTEXT);
  const to = Math.min(text.length, end + SNIPPET_CONTEXT);
  return {
    before: text.slice(from, start),
    matched: text.slice(start, Math.min(end, start + SNIPPET_MATCH_MAX)),
    after: text.slice(end, to),
    clipped_before: from > 0,
    clipped_after: to < text.length,
  };
}

export type ResultListItem = Omit<ResultListRow, 'stdout_full' | 'stderr_full'> & {
  stdout_match?: MatchSnippet;
  stderr_match?: MatchSnippet;
};

export function createResultService(deps: { store: Store; nc: NatsConnection }) {
  const { store, nc } = deps;
  return {
    executions(q: { job_id?: string; status?: ExecutionStatus; limit: number; offset: number }) {
      return store.executions.list(q);
    },

    execution(execId: string, page: { limit: number; offset: number }) {
      const execution = store.executions.get(execId);
      if (!execution) throw notFound(`no execution ${execId}`);
      const results = store.results.forExecution(execId, page.limit, page.offset);
      return {
        execution,
        results: results.rows,
        waves: store.waves.forExecution(execId),
        total: results.total,
      };
    },

    list(q: ResultListQuery): { rows: ResultListItem[]; total: number } {
      const { rows, total } = store.results.list(q);
      return {
        total,
        rows: rows.map(({ stdout_full, stderr_full, ...row }) => {
          const item: ResultListItem = row;
          if (q.stdout && stdout_full !== undefined) {
            const s = matchSnippet(stdout_full, q.stdout);
            if (s) item.stdout_match = s;
          }
          if (q.stderr && stderr_full !== undefined) {
            const s = matchSnippet(stderr_full, q.stderr);
            if (s) item.stderr_match = s;
          }
          return item;
        }),
      };
    },

    get(resultId: string) {
      const r = store.results.get(resultId);
      if (!r) throw notFound(`no result ${resultId}`);
      return { ...r, finalize_children: store.results.children(resultId) };
    },

    async tail(resultId: string) {
      const r = store.results.get(resultId);
      if (!r) throw notFound(`no result ${resultId}`);
      if (r.finished_at !== null) {
        return {
          running: false,
          live: false,
          stdout: r.stdout,
          stderr: r.stderr,
          stdout_truncated: false,
          stderr_truncated: false,
          exit_code: r.exit_code,
        };
      }
      const waiting = {
        running: true,
        live: false,
        stdout: '',
        stderr: '',
        stdout_truncated: false,
        stderr_truncated: false,
        exit_code: null,
      };
      try {
        const reply = await nc.request(subject.jobTail(r.pc_id), JSON.stringify({ result_id: resultId }), {
          timeout: TAIL_TIMEOUT_MS,
        });
        const t = JobTailReply.safeParse(reply.json());
        if (!t.success || !t.data.found) return waiting;
        return {
          running: t.data.running,
          live: true,
          stdout: t.data.stdout,
          stderr: t.data.stderr,
          stdout_truncated: t.data.stdout_truncated,
          stderr_truncated: t.data.stderr_truncated,
          exit_code: null,
        };
      } catch {
        return waiting;
      }
    },
  };
}
export type ResultService = ReturnType<typeof createResultService>;
