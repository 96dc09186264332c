// The database writer thread (see writer.ts): applies the durable projectors'
// batches on its own connection, in the order they arrive, and answers each
// with the rows written or the error. A message with id 0 means "close":
// everything before it has been answered.
//
// Group commit: when a batch arrives, the batches queued behind it (handed
// over while the previous transaction ran) are taken too, up to
// GROUP_MAX_ROWS, and written in one transaction. A backlog's random keys
// (result_id, pc_id) put nearly every row on its own index page, and a commit
// writes each touched page once: with more rows per commit, fewer pages per
// row (60,000 results: a fifth less time per row at 8,000 rows per commit
// than at 2,000; a third less on a table of 300,000). When the writer keeps up,
// nothing is queued and each batch commits alone, as soon as it arrives.
// Each batch is still answered on its own, after the commit that holds it.
// If that transaction fails, each of its batches is applied again in a
// transaction of its own, so one failing batch does not fail the others.
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { createLogger } from '../log.js';
import type { DurableProjector } from '../projectors/durable.js';
import { DURABLE_PROJECTORS } from '../projectors/registry.js';
import { createStore, openDb } from '../store/index.js';
import type { FromWriter, ToWriter, WriterData } from './writer.js';

/**
 * Most rows in one transaction: eight default batches, what one durable projector has in flight at
 * most. At 10-40 us a row (an empty table to a large one), the write lock is held for under a second.
 */
export const GROUP_MAX_ROWS = 16_000;

/** KANADE_INGEST_GROUP_COMMIT=0: one transaction per batch (to measure what grouping gains). */
const groupMaxRows = process.env.KANADE_INGEST_GROUP_COMMIT === '0' ? 1 : GROUP_MAX_ROWS;

const data = workerData as WriterData;
const log = createLogger(data.logLevel, 'kanade-writer');
const port = parentPort!;
const db = openDb(data.target, { migrate: false });
const store = createStore(db);
const specs = new Map<string, DurableProjector<unknown>>(DURABLE_PROJECTORS.map((p) => [p.name, p]));

function apply(m: ToWriter): number {
  const spec = specs.get(m.projector);
  if (!spec) throw new Error(`no durable projector named ${m.projector}`);
  return spec.apply(store, m.rows, { log, now: m.now });
}

/** Apply `group` in one transaction; on failure, each batch in its own. */
function commit(group: ToWriter[]): FromWriter[] {
  const started = performance.now();
  try {
    const written = store.tx(() => group.map(apply));
    // The transaction's duration, shared by its batches in proportion to their rows (so that
    // kanade_projector_flush_duration_seconds sums to the time spent in transactions).
    const seconds = (performance.now() - started) / 1000;
    const rows = group.reduce((n, m) => n + m.rows.length, 0);
    return group.map((m, i) => ({
      id: m.id,
      written: written[i]!,
      seconds: rows > 0 ? (seconds * m.rows.length) / rows : seconds / group.length,
      batches: group.length,
    }));
  } catch (err) {
    if (group.length === 1) return [{ id: group[0]!.id, error: (err as Error).message }];
    return group.flatMap((m) => commit([m]));
  }
}

port.on('message', (first: ToWriter) => {
  const group: ToWriter[] = [];
  let closing = false;
  let rows = 0;
  for (let m: ToWriter | undefined = first; m; ) {
    if (m.id === 0) {
      closing = true;
      break;
    }
    group.push(m);
    rows += m.rows.length;
    if (rows >= groupMaxRows) break;
    m = receiveMessageOnPort(port)?.message as ToWriter | undefined;
  }
  if (group.length > 0) for (const reply of commit(group)) port.postMessage(reply);
  if (closing) {
    db.close();
    port.close();
  }
});
port.postMessage({ id: 0, ready: true } satisfies FromWriter);
