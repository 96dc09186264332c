// The SQLite checkpointer: a thread of its own that copies the WAL back into
// the database file (`PRAGMA wal_checkpoint(PASSIVE)`) every few hundred ms.
//
// Why: a connection that commits past `wal_autocheckpoint` pages runs the
// checkpoint itself, inside its commit, and a checkpoint of tens of MB with
// its fsync takes 100-350 ms on the VMs we measure on. During a results
// backlog that was over a quarter of the writer's time, and every write of
// that connection waited behind it. A PASSIVE checkpoint on another
// connection runs beside the writers (it never takes the write lock), so
// theirs stay short; the WAL is restarted from its beginning by the next
// commit once everything in it is copied. The connections keep their
// auto-checkpoint threshold as a safety net should this thread fall behind
// or die (it is restarted once a minute at most).
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';

const SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('busy_timeout = 5000');
let timer;
// 'checkpointed' counts every frame of the current WAL copied so far, not the frames this call copied:
// report the growth (the WAL restarting from its beginning resets it).
let copied = 0;
function tick() {
  try {
    const [r] = db.pragma('wal_checkpoint(PASSIVE)');
    const fresh = r.checkpointed >= copied ? r.checkpointed - copied : r.checkpointed;
    copied = r.checkpointed;
    if (fresh > 0) parentPort.postMessage({ type: 'checkpoint', frames: fresh });
  } catch (err) {
    parentPort.postMessage({ type: 'error', message: err.message });
  }
  timer = setTimeout(tick, workerData.intervalMs);
}
tick();
parentPort.on('message', (m) => {
  if (m === 'stop') {
    clearTimeout(timer);
    db.close();
    parentPort.close();
  }
});
`;

export interface Checkpointer {
  /** Frames copied into the database file so far. */
  frames(): number;
  stop(): Promise<void>;
}

export function startCheckpointer(path: string, log: Logger, intervalMs = 250): Checkpointer {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  let frames = 0;
  let stopping = false;
  let worker: Worker;
  let lastError = '';

  function spawn() {
    worker = new Worker(SOURCE, { eval: true, workerData: { driver, path, intervalMs } });
    worker.on('message', (m: { type: string; frames?: number; message?: string }) => {
      if (m.type === 'checkpoint') frames += m.frames ?? 0;
      else if (m.type === 'error' && m.message !== lastError) {
        // Logged once per distinct error: a disk-full database would otherwise say so four times a second.
        lastError = m.message ?? '';
        log.warn({ err: m.message }, 'WAL checkpoint failed; retrying');
      }
    });
    worker.on('error', (err) => log.error({ err: err.message }, 'checkpointer thread failed'));
    worker.on('exit', () => {
      if (stopping) return;
      log.error('checkpointer thread exited; restarting in 60 s');
      setTimeout(() => {
        if (!stopping) spawn();
      }, 60_000).unref();
    });
  }
  spawn();

  return {
    frames: () => frames,
    async stop() {
      stopping = true;
      const exited = new Promise<void>((r) => worker.once('exit', () => r()));
      worker.postMessage('stop');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      await worker.terminate();
    },
  };
}
