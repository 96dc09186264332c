// Messages between the main thread and the ingest worker.
import type { ProjectorDelta } from '../projectors/stats.js';

export interface IngestWorkerData {
  natsUrl: string;
  /** The embedded broker's token, when it has one (workerData stays inside this process). */
  natsToken: string | undefined;
  sqlitePath: string;
  /** Set when the store is PostgreSQL (the worker opens its own connection). */
  postgresUrl: string | undefined;
  logLevel: string;
  flushIntervalMs: number;
  flushMax: number;
  /** Write durable batches on a thread of their own (writer.ts); KANADE_INGEST_WRITER_THREAD=0 turns it off. */
  writerThread: boolean;
  /**
   * Durables acked one batch at a time (AckPolicy.All, projectors/durable.ts): on SQLite, where this
   * backend is their only consumer; KANADE_INGEST_ACK_ALL=0 turns it off.
   */
  ackAll: boolean;
}

export type WorkerToMain =
  | { type: 'ready' }
  | { type: 'stats'; stats: { name: string; delta: ProjectorDelta }[] }
  | { type: 'flushed' }
  | { type: 'stopped' };
