// The database writer thread (see writer.ts): applies each durable
// projector's batch in one transaction on its own connection, in the order
// the batches arrive, and answers with the rows written or the error. A
// message with id 0 means "close": everything before it has been answered.
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger } from '../log.js';
import type { DurableProjector } from '../projectors/durable.js';
import { DURABLE_PROJECTORS } from '../projectors/registry.js';
import { createStore, openDb } from '../store/index.js';
import type { FromWriter, ToWriter, WriterData } from './writer.js';

const data = workerData as WriterData;
const log = createLogger(data.logLevel, 'kanade-writer');
const port = parentPort!;
const db = openDb(data.target, { migrate: false });
const store = createStore(db);
const specs = new Map<string, DurableProjector<unknown>>(DURABLE_PROJECTORS.map((p) => [p.name, p]));

port.on('message', (m: ToWriter) => {
  if (m.id === 0) {
    db.close();
    port.close();
    return;
  }
  let reply: FromWriter;
  try {
    const spec = specs.get(m.projector);
    if (!spec) throw new Error(`no durable projector named ${m.projector}`);
    const rows = JSON.parse(m.rows) as unknown[];
    const started = performance.now();
    const written = store.tx(() => spec.apply(store, rows, { log, now: m.now }));
    // The transaction's own duration, for kanade_projector_flush_duration_seconds.
    reply = { id: m.id, written, seconds: (performance.now() - started) / 1000 };
  } catch (err) {
    reply = { id: m.id, error: (err as Error).message };
  }
  port.postMessage(reply);
});
port.postMessage({ id: 0, ready: true } satisfies FromWriter);
