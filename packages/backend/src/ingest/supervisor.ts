// Runs the ingest worker and keeps it running: if the thread dies, it is
// restarted with backoff (1 s doubling to 60 s, reset after 60 s of stable
// running), like upstream's spawn_retrying_projector. Stats from the worker
// feed the Prometheus metrics on this thread.
import type { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.js';
import { startModuleThread } from '../threads.js';
import type { IngestWorkerData, WorkerToMain } from './protocol.js';

export interface Ingest {
  /** Resolves once the worker is connected and its projectors subscribed. */
  ready: Promise<void>;
  /** Ask the worker to write its buffered windows now. */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

export function startIngest(data: IngestWorkerData, metrics: Metrics, log: Logger): Ingest {
  let worker: Worker | undefined;
  let stopping = false;
  let backoff = 1000;
  let startedAt = 0;
  let resolveReady!: () => void;
  const ready = new Promise<void>((r) => {
    resolveReady = r;
  });
  const waiters: { type: string; resolve: () => void }[] = [];

  function spawnWorker() {
    // Built, this file is part of dist/main.js and the worker is dist/ingest/worker.js.
    const w = startModuleThread(import.meta.url, { ts: './worker.ts', built: './ingest/worker.js' }, data);
    worker = w;
    startedAt = Date.now();
    w.on('message', (m: WorkerToMain) => {
      if (m.type === 'stats') for (const s of m.stats) metrics.recordProjector(s.name, s.delta);
      else if (m.type === 'ready') resolveReady();
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (waiters[i]!.type === m.type) waiters.splice(i, 1)[0]!.resolve();
      }
    });
    w.on('error', (err) => log.error({ err: err.message }, 'ingest worker failed'));
    w.on('exit', (code) => {
      if (stopping) return;
      if (Date.now() - startedAt > 60_000) backoff = 1000;
      log.error({ code, restart_in_ms: backoff }, 'ingest worker exited; restarting');
      setTimeout(() => {
        if (!stopping) spawnWorker();
      }, backoff).unref();
      backoff = Math.min(backoff * 2, 60_000);
    });
  }

  function request(type: 'flush' | 'stop', reply: string, timeoutMs: number): Promise<void> {
    const w = worker;
    if (!w) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      waiters.push({
        type: reply,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
      w.postMessage({ type });
    });
  }

  spawnWorker();
  return {
    ready,
    flush: () => request('flush', 'flushed', 10_000),
    async stop() {
      stopping = true;
      await request('stop', 'stopped', 15_000);
      await worker?.terminate();
    },
  };
}
