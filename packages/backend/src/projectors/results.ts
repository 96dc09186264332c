// RESULTS / backend_results_projector -> execution_results, and the
// executions counters and status. Durable shape: a batch of results is
// applied in one transaction and acked after commit.
//
// - Key: result_id, written only while the row is unfinished or reaped (see
//   store/results.ts), so redelivery and replay never double-count. A legacy
//   sender's empty result_id becomes upstream's UUIDv5 of
//   "kanade-issue-19/legacy-result-id:{request_id}:{pc_id}" (OID namespace):
//   deterministic, so a redelivered legacy result hits the same row.
// - Counters: the deltas of the results settled by a batch are summed per
//   execution and applied with one UPDATE each, in the same transaction as
//   the rows, so every result is counted exactly once and a crash loses both
//   or neither.
// - Output above 256 KB arrives as pointers into the `result_output` object
//   store; `prepare` fetches it before the transaction. A pointer that cannot
//   be read keeps the (empty) inline text, as upstream: re-delivering forever
//   would pin the stream behind one broken object.
import { createHash } from 'node:crypto';
import {
  checkShape,
  DURABLE,
  EXEC_RESULT_SHAPE,
  type ExecResult,
  OBJ,
  parseRfc3339,
  STREAM,
} from '@kanade/wire';
import { type ObjectStore, Objm } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Store } from '../store/index.js';
import type { ResultRow } from '../store/results.js';
import type { DurableProjector } from './durable.js';
import { applyHints, prepareHints } from './hints/index.js';
import { manifestCacheFor } from './manifest-cache.js';

/** RFC 4122 OID namespace (6ba7b812-9dad-11d1-80b4-00c04fd430c8). */
const OID_NAMESPACE = Buffer.from('6ba7b8129dad11d180b400c04fd430c8', 'hex');

/** UUID version 5 (SHA-1, name-based) of `name` in `namespace`. */
export function uuidV5(name: string, namespace: Buffer = OID_NAMESPACE): string {
  const hash = createHash('sha1').update(namespace).update(name, 'utf8').digest();
  const b = hash.subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x50;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** upstream `ExecResult::stable_result_id` for senders that predate result_id. */
export function legacyResultId(requestId: string, pcId: string): string {
  return uuidV5(`kanade-issue-19/legacy-result-id:${requestId}:${pcId}`);
}

export interface DecodedResult extends ResultRow {
  stdout_object: string | null;
  stderr_object: string | null;
}

/** Decode one RESULTS message (also used by the benchmark's one-at-a-time baseline). */
export function decodeResult(payload: unknown, recordedAt: number): DecodedResult | { invalid: string } {
  // The shape checker gives the zod schema's verdict at a fraction of its cost (wire/src/shape.ts);
  // it does not fill defaults, so absent result_id / stdout / stderr are read as '' here.
  const problem = checkShape(EXEC_RESULT_SHAPE, payload);
  if (problem !== null) return { invalid: problem };
  const e = payload as ExecResult;
  return {
    result_id: e.result_id || legacyResultId(e.request_id, e.pc_id),
    request_id: e.request_id,
    exec_id: e.exec_id ?? null,
    parent_result_id: e.parent_result_id ?? null,
    pc_id: e.pc_id,
    exit_code: e.exit_code,
    skipped: e.skipped ? 1 : 0,
    stdout: e.stdout ?? '',
    stderr: e.stderr ?? '',
    started_at: parseRfc3339(e.started_at),
    finished_at: parseRfc3339(e.finished_at),
    job_id: e.manifest_id ?? null,
    recorded_at: recordedAt,
    stdout_object: e.stdout_object ?? null,
    stderr_object: e.stderr_object ?? null,
  };
}

/** Write results and their counter deltas; the caller owns the transaction. */
export function applyResults(store: Store, rows: readonly ResultRow[]): number {
  const { written, deltas } = store.results.upsert(rows);
  store.executions.bump(deltas);
  return written;
}

const outputStores = new WeakMap<NatsConnection, Promise<ObjectStore>>();

function outputStore(nc: NatsConnection): Promise<ObjectStore> {
  let os = outputStores.get(nc);
  if (!os) {
    os = new Objm(nc).open(OBJ.RESULT_OUTPUT);
    os.catch(() => outputStores.delete(nc));
    outputStores.set(nc, os);
  }
  return os;
}

const utf8 = new TextDecoder();

export const resultsProjector: DurableProjector<DecodedResult> = {
  name: 'results',
  stream: STREAM.RESULTS,
  durable: DURABLE.RESULTS,
  table: 'execution_results',
  decode: (payload, meta) => decodeResult(payload, meta.publishedAt),
  // The manifests behind inventory: and check: hints, loaded before a backlog's first batch needs them.
  warm: (ctx) => manifestCacheFor(ctx.nc, ctx.log).ready(),
  async prepare(rows, ctx) {
    for (const r of rows) {
      if (!r.stdout_object && !r.stderr_object) continue;
      for (const field of ['stdout', 'stderr'] as const) {
        const key = field === 'stdout' ? r.stdout_object : r.stderr_object;
        if (!key) continue;
        try {
          const bytes = await (await outputStore(ctx.nc)).getBlob(key);
          if (bytes) r[field] = utf8.decode(bytes);
          else ctx.log.warn({ key, result_id: r.result_id }, `${field}_object not found in result_output`);
        } catch (err) {
          ctx.log.warn(
            { key, result_id: r.result_id, err: (err as Error).message },
            `cannot read ${field}_object; keeping the inline text`,
          );
        }
      }
    }
    await prepareHints(rows, ctx);
    return rows;
  },
  apply(store, rows, ctx) {
    const written = applyResults(store, rows);
    applyHints(store, rows, ctx);
    return written;
  },
};
