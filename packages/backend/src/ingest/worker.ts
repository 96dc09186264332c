// The ingest worker thread. Projector writes are synchronous store calls;
// running them here, on their own NATS connection and database connection,
// keeps the HTTP event loop free (p99 of /api/agents stays flat while a
// 100,000-agent fleet is being written) and lets ingest use the second core.
// The main thread sends {type:'stop'}; the worker flushes, closes and exits.
import { parentPort, workerData } from 'node:worker_threads';
import type { NatsConnection } from '@nats-io/transport-node';
import { createLogger } from '../log.js';
import { connectWithRetry, drainQuietly } from '../nats/connect.js';
import { type RunningDurable, startDurableProjector } from '../projectors/durable.js';
import { DURABLE_PROJECTORS, TELEMETRY_PROJECTORS } from '../projectors/registry.js';
import { type RunningProjector, startTelemetryProjector } from '../projectors/telemetry.js';
import { createStore, openDb } from '../store/index.js';
import type { IngestWorkerData, WorkerToMain } from './protocol.js';
import { startWriter, type Writer } from './writer.js';

const data = workerData as IngestWorkerData;
const log = createLogger(data.logLevel, 'kanade-ingest');
const port = parentPort!;
const post = (m: WorkerToMain) => port.postMessage(m);

const db = openDb({ sqlitePath: data.sqlitePath, postgresUrl: data.postgresUrl }, { migrate: false });
const store = createStore(db);
// Durable batches are written on their own thread while this one receives the next (writer.ts).
const writer: Writer | undefined = data.writerThread
  ? startWriter(
      { target: { sqlitePath: data.sqlitePath, postgresUrl: data.postgresUrl }, logLevel: data.logLevel },
      log,
    )
  : undefined;
const abort = new AbortController();
let projectors: (RunningProjector | RunningDurable)[] = [];

function report() {
  post({ type: 'stats', stats: projectors.map((p) => ({ name: p.stats.name, delta: p.stats.take() })) });
}

let nc: NatsConnection | undefined;
let reporter: NodeJS.Timeout | undefined;

port.on('message', async (m: { type: string }) => {
  if (m.type === 'flush') {
    for (const p of projectors) if ('flush' in p) p.flush();
    report();
    post({ type: 'flushed' });
  } else if (m.type === 'stop') {
    abort.abort();
    clearInterval(reporter);
    for (const p of projectors) await p.stop();
    await writer?.close();
    report();
    if (nc) await drainQuietly(nc);
    db.close();
    post({ type: 'stopped' });
    port.close();
  }
});

nc = await connectWithRetry({
  url: data.natsUrl,
  token: data.natsToken,
  name: 'kanade-backend/ingest',
  log,
  abort: abort.signal,
});
await writer?.ready;
if (abort.signal.aborted) {
  await nc.close();
} else {
  start(nc);
}

function start(conn: NatsConnection) {
  projectors = [
    ...TELEMETRY_PROJECTORS.map((spec) =>
      startTelemetryProjector(spec, {
        nc: conn,
        store,
        log,
        flushIntervalMs: data.flushIntervalMs,
        flushMax: data.flushMax,
      }),
    ),
    ...DURABLE_PROJECTORS.map((spec) =>
      startDurableProjector(spec, { nc: conn, store, log, writer, ackAll: data.ackAll }),
    ),
  ];
  reporter = setInterval(report, 1000);
  post({ type: 'ready' });
}
