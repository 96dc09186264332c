// A synchronous call into PostgreSQL. The store (13k lines of callers) is
// written against better-sqlite3's synchronous API; rather than making every
// caller async, a worker thread (bridge-worker.ts) owns the pg connection and
// the calling thread blocks on Atomics.wait until the worker has answered,
// then takes the answer with receiveMessageOnPort. This works on the main
// thread and inside the ingest worker alike. A round trip costs a thread
// handoff plus a loopback query, so callers batch (pg-db.ts queues the
// writes of a transaction and sends them in one call).
//
// The worker reconnects by itself; while PostgreSQL is away a call throws
// PgUnavailableError at once. A worker that does not answer in time or dies
// is replaced by a new one (with epochs of its own, so a transaction begun on
// the old one cannot continue on the new one).
import { createRequire } from 'node:module';
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { BRIDGE_WORKER_SOURCE } from './bridge-worker.js';

export interface BridgeOp {
  text: string;
  values?: unknown[];
  /** Return the rows (a query); otherwise only the changed-row count. */
  rows?: boolean;
}

export interface BridgeResult {
  changes: number;
  rows?: unknown[][];
  columns?: string[];
}

/** A PostgreSQL error as thrown by the bridge: pg's message, SQLSTATE `code` and the failed op's index. */
export class PgError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
    readonly index: number,
    readonly detail?: string,
  ) {
    super(message);
    this.name = 'PgError';
  }
}

/**
 * PostgreSQL cannot be reached (down, restarting, the connection lost): nothing more ran, and a
 * transaction in progress was rolled back by the server. The message starts "PostgreSQL unavailable".
 */
export class PgUnavailableError extends PgError {
  constructor(message: string, index: number) {
    super(message, undefined, index);
    this.name = 'PgUnavailableError';
  }
}

type Reply =
  | { ok: true; results: BridgeResult[]; epoch: number }
  | {
      ok: false;
      index: number;
      unavailable?: boolean;
      error: { message: string; code?: string; detail?: string };
    };

/** How long one call may block before the bridge gives up (a hung server must not hang the thread forever). */
const CALL_TIMEOUT_MS = 120_000;

/** Epochs of successive worker threads never overlap (a worker counts its connections from its base). */
const EPOCHS_PER_WORKER = 1_000_000_000;

export class PgBridge {
  private worker!: Worker;
  private port!: MessagePort;
  private flag!: Int32Array;
  private workers = 0;
  private closed = false;
  private closing = false;
  /** The connection the last successful call ran on (a new one after every reconnect). */
  epoch = 0;

  constructor(private readonly url: string) {
    this.spawn();
  }

  private spawn() {
    const { port1, port2 } = new MessageChannel();
    const state = new SharedArrayBuffer(4);
    this.flag = new Int32Array(state);
    this.port = port1;
    const driver = createRequire(import.meta.url).resolve('pg');
    const epochBase = this.workers++ * EPOCHS_PER_WORKER;
    this.worker = new Worker(BRIDGE_WORKER_SOURCE, {
      eval: true,
      workerData: { driver, url: this.url, port: port2, state, epochBase },
      transferList: [port2],
    });
    this.worker.unref();
  }

  /** A hung or dead worker is replaced, so the next call starts a fresh connection. */
  private replace(reason: string): never {
    this.port.close();
    void this.worker.terminate();
    if (!this.closing) this.spawn();
    throw new PgUnavailableError(`PostgreSQL unavailable: ${reason}`, 0);
  }

  /**
   * Run `ops` in order on the connection; throws PgError at the first failure (later ops do not
   * run), PgUnavailableError when PostgreSQL cannot be reached or `epoch` (the connection a
   * transaction began on) is not the current connection.
   */
  call(ops: readonly BridgeOp[], epoch?: number): BridgeResult[] {
    const reply = this.send({ ops, epoch });
    if (!reply.ok) {
      const e = reply.error;
      if (reply.unavailable) throw new PgUnavailableError(e.message, reply.index);
      throw new PgError(e.message, e.code, reply.index, e.detail);
    }
    this.epoch = reply.epoch;
    return reply.results;
  }

  close(): void {
    if (this.closed || this.closing) return;
    this.closing = true;
    try {
      if (Atomics.load(this.flag, 0) !== 2) this.send({ close: true });
    } catch {
      // a hung worker is terminated below all the same
    } finally {
      this.closed = true;
      this.port.close();
      void this.worker.terminate();
    }
  }

  private send(msg: unknown): Reply {
    if (this.closed) throw new Error('the PostgreSQL connection is closed');
    if (Atomics.load(this.flag, 0) === 2) this.replace('the bridge thread had exited; reconnecting');
    Atomics.store(this.flag, 0, 0);
    this.port.postMessage(msg);
    if (Atomics.wait(this.flag, 0, 0, CALL_TIMEOUT_MS) === 'timed-out')
      this.replace(`no answer within ${CALL_TIMEOUT_MS / 1000}s; reconnecting`);
    // The answer is posted before the flag is set, but its delivery to this port may trail the wake-up.
    let got = receiveMessageOnPort(this.port);
    for (let waited = 0; !got && waited < CALL_TIMEOUT_MS; waited++) {
      if (Atomics.load(this.flag, 0) === 2) this.replace('the bridge thread exited; reconnecting');
      Atomics.wait(this.flag, 0, 1, 1);
      got = receiveMessageOnPort(this.port);
    }
    if (!got) this.replace('woken without an answer; reconnecting');
    return got.message as Reply;
  }
}
