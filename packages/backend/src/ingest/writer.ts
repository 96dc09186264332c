// The database writer thread of the ingest worker. Durable projectors hand it
// their batches (rows already decoded and prepared) and wait for the commit
// before they ack; meanwhile the ingest worker keeps receiving and decoding
// the next batch. Without it, a backlog drains at the pace of receive +
// write; with it, at the pace of the slower of the two (`npm run bench --
// results --only burst` measures both, docs/performance.md has the figures).
//
// One writer thread serves every durable projector, so their transactions
// stay strictly one after another, in the order they were asked for. Batches
// that queued up while a transaction ran are committed together in the next
// one (writer-worker.ts): a backlog is then written in fewer, larger
// transactions, which write each touched page once for more rows. Its
// database connection is separate from the worker's (telemetry windows are
// still written there); both are writers of one WAL database and wait for
// each other's lock (busy timeout), as the HTTP thread's writes always have.
//
// If the thread dies, the batches in flight fail (their messages are
// delivered again: nak'ed, or with one ack per batch from the ack floor of
// the restarted consumer) and the next batch starts a new thread.
import type { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { BatchWriter } from '../projectors/durable.js';
import type { DbTarget } from '../store/index.js';
import { startModuleThread } from '../threads.js';

export interface WriterData {
  target: DbTarget;
  logLevel: string;
}

/**
 * `rows` travels as a structured clone: rows are plain data. Cloning 2,000 rows costs the sending
 * thread about a fifth of what JSON.stringify and posting the text did (a JSON string is copied
 * again on each side), and both threads together about a third.
 */
export type ToWriter = { id: number; projector: string; rows: unknown[]; now: number };
/** id 0 with `ready`: the thread has opened the database and is waiting for batches. */
export type FromWriter =
  /** `batches`: how many batches the transaction that held this one committed (group commit). */
  | { id: number; written: number; seconds: number; batches?: number }
  | { id: number; error: string }
  | { id: 0; ready: true };

export interface Writer extends BatchWriter {
  /** Resolves once the first thread is up (module load and database open take a few hundred ms). */
  ready: Promise<void>;
  close(): Promise<void>;
}

export function startWriter(data: WriterData, log: Logger): Writer {
  let worker: Worker | undefined;
  let nextId = 1;
  let closing = false;
  type Committed = { written: number; seconds: number; batches: number };
  const inFlight = new Map<number, { resolve: (r: Committed) => void; reject: (e: Error) => void }>();

  function failAll(err: Error) {
    for (const p of inFlight.values()) p.reject(err);
    inFlight.clear();
  }

  let resolveReady!: () => void;
  const ready = new Promise<void>((r) => {
    resolveReady = r;
  });

  function spawn(): Worker {
    const w = startModuleThread(
      import.meta.url,
      { ts: './writer-worker.ts', built: './writer-worker.js' },
      data,
    );
    w.on('message', (m: FromWriter) => {
      if ('ready' in m) return resolveReady();
      const p = inFlight.get(m.id);
      if (!p) return;
      inFlight.delete(m.id);
      if ('error' in m) p.reject(new Error(m.error));
      else p.resolve({ written: m.written, seconds: m.seconds, batches: m.batches ?? 1 });
    });
    w.on('error', (err) => log.error({ err: err.message }, 'database writer thread failed'));
    w.on('exit', (code) => {
      if (worker === w) worker = undefined;
      if (!closing) log.error({ code, in_flight: inFlight.size }, 'database writer thread exited');
      // A thread that never came up: let the projectors start anyway; their first batch respawns it.
      resolveReady();
      failAll(new Error(`database writer thread exited (code ${code})`));
    });
    return w;
  }

  // Up front, so the first batch of a backlog does not wait for the thread to load.
  worker = spawn();

  return {
    ready,
    apply(projector, rows, now) {
      if (closing) return Promise.reject(new Error('database writer is closing'));
      worker ??= spawn();
      const id = nextId++;
      return new Promise<Committed>((resolve, reject) => {
        inFlight.set(id, { resolve, reject });
        worker!.postMessage({ id, projector, rows, now } satisfies ToWriter);
      });
    },
    async close() {
      closing = true;
      const w = worker;
      if (!w) return;
      // Let the batches already handed over commit, then close the connection.
      const exited = new Promise<void>((r) => w.once('exit', () => r()));
      w.postMessage({ id: 0, projector: '', rows: [], now: 0 } satisfies ToWriter);
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (worker) await w.terminate();
    },
  };
}
