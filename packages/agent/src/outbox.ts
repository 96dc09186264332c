// The on-disk outbox for everything the agent sends through JetStream
// (ExecResults on `results.{request_id}`, EventStarted on
// `events.started.{exec_id}.{pc_id}`). A result must survive an agent crash
// or restart and a broker outage of any length, so it is written to disk
// before anything else happens to it and deleted only once JetStream has
// acknowledged it.
//
// - One JSON file per message in `<state-dir>/outbox/`, written to a temp
//   name, fsynced and renamed, so a crash leaves a whole file or none. Names
//   start with the enqueue time and a counter, and one loop sends them in
//   name order, one at a time: a run's started event always goes before its
//   result. A failure stops the pass and retries later with backoff (1 s
//   doubling to 30 s); a reconnect or a new message retries at once. Nothing
//   is sent while the client is reconnecting: a publish buffered then would
//   only wait out its ack timeout after the reconnect.
// - Exactly once: the result_id is the message id (`Nats-Msg-Id`), so a
//   resend after a lost ack inside the stream's duplicate window (2 min by
//   default) is dropped by JetStream; past it, the backend's projector
//   upserts by result_id. A file that cannot be parsed is moved to
//   `outbox/bad/` and logged instead of blocking the queue.
// - Output over STDOUT_INLINE_THRESHOLD is uploaded at send time to the
//   `result_output` object store and the result carries `stdout_object` /
//   `stderr_object` with an empty inline field, as upstream. The file keeps the
//   full text, so a retry uploads again to the same key (a put replaces).

import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { type ExecResult, OBJ, resultOutputKey, STDOUT_INLINE_THRESHOLD } from '@kanade/wire';
import { jetstream } from '@nats-io/jetstream';
import { type ObjectStore, Objm } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';

export interface OutboxMessage {
  subject: string;
  /** JetStream message id: the result_id of the run. */
  msgId: string;
  kind: 'result' | 'started';
  body: unknown;
}

export interface Outbox {
  /** Persists the message (fsync) and wakes the sender; throws when the disk refuses. */
  enqueue(msg: OutboxMessage): void;
  /** Wake the sender now (after a reconnect). */
  kick(): void;
  pending(): number;
  /** Stops the sender after one last pass bounded by `timeoutMs`; unsent files stay for the next start. */
  stop(timeoutMs: number): Promise<void>;
}

export interface OutboxOptions {
  dir: string;
  nc: NatsConnection;
  /** False while the client is reconnecting: nothing is sent then (a publish would wait out its timeout). */
  connected(): boolean;
  log(line: string): void;
  /** JetStream publish timeout. */
  ackTimeoutMs?: number;
}

const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 30_000;

function writeDurably(path: string, data: string): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

export function createOutbox(o: OutboxOptions): Outbox {
  const dir = o.dir;
  mkdirSync(join(dir, 'bad'), { recursive: true, mode: 0o700 });
  // Half-written files of a crash during enqueue: their message was never acknowledged to anyone.
  for (const f of readdirSync(dir)) if (f.endsWith('.tmp')) rmSync(join(dir, f), { force: true });
  const js = jetstream(o.nc, { timeout: o.ackTimeoutMs ?? 10_000 });
  let store: ObjectStore | undefined;
  let counter = 0;
  let stopped = false;
  let wake: (() => void) | undefined;
  let kicked = false;

  const files = () => {
    try {
      return readdirSync(dir)
        .filter((f) => f.endsWith('.json'))
        .sort();
    } catch {
      // The directory was removed under us: nothing left to send.
      return [];
    }
  };

  async function withOverflow(r: ExecResult): Promise<ExecResult> {
    const big = (['stdout', 'stderr'] as const).filter(
      (s) => Buffer.byteLength(r[s], 'utf8') > STDOUT_INLINE_THRESHOLD,
    );
    if (big.length === 0) return r;
    store ??= await new Objm(o.nc).open(OBJ.RESULT_OUTPUT);
    const out = { ...r };
    for (const s of big) {
      const key = resultOutputKey(r.request_id, r.pc_id, s);
      await store.putBlob({ name: key }, Buffer.from(r[s], 'utf8'));
      out[s] = '';
      out[s === 'stdout' ? 'stdout_object' : 'stderr_object'] = key;
    }
    return out;
  }

  async function send(file: string): Promise<void> {
    const path = join(dir, file);
    let msg: OutboxMessage;
    try {
      msg = JSON.parse(readFileSync(path, 'utf8')) as OutboxMessage;
      if (typeof msg.subject !== 'string' || typeof msg.msgId !== 'string')
        throw new Error('not an outbox message');
    } catch (err) {
      renameSync(path, join(dir, 'bad', file));
      o.log(`outbox: ${file} is unreadable (${(err as Error).message}); moved to outbox/bad`);
      return;
    }
    const body = msg.kind === 'result' ? await withOverflow(msg.body as ExecResult) : msg.body;
    await js.publish(msg.subject, JSON.stringify(body), { msgID: msg.msgId });
    rmSync(path, { force: true });
  }

  /** Sends every file in order; false when one failed. */
  async function pass(): Promise<boolean> {
    for (const file of files()) {
      if (stopped) return true;
      if (!o.connected()) return false;
      try {
        await send(file);
      } catch (err) {
        o.log(`outbox: cannot send ${file} yet (${(err as Error).message}); ${files().length} waiting`);
        return false;
      }
    }
    return true;
  }

  /** Waits `ms`; true when a kick (new message, reconnect, stop) ended the wait early. */
  const sleep = (ms: number) =>
    new Promise<boolean>((resolve) => {
      if (kicked) {
        resolve(true);
        return;
      }
      const t = setTimeout(() => {
        wake = undefined;
        resolve(false);
      }, ms);
      wake = () => {
        clearTimeout(t);
        wake = undefined;
        resolve(true);
      };
    });

  const loop = (async () => {
    let backoff = BACKOFF_MIN_MS;
    while (!stopped) {
      kicked = false;
      const ok = await pass();
      if (stopped) break;
      if (ok) {
        backoff = BACKOFF_MIN_MS;
        await sleep(BACKOFF_MAX_MS);
      } else if (await sleep(backoff)) {
        backoff = BACKOFF_MIN_MS;
      } else {
        backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
      }
    }
  })();

  const kick = () => {
    kicked = true;
    wake?.();
  };

  return {
    enqueue(msg) {
      const name = `${Date.now()}-${String(counter++ % 1e6).padStart(6, '0')}-${msg.kind}-${msg.msgId}.json`;
      writeDurably(join(dir, name), JSON.stringify(msg));
      kick();
    },
    kick,
    pending: () => files().length,
    async stop(timeoutMs) {
      if (stopped) return;
      kick();
      const deadline = Date.now() + timeoutMs;
      while (files().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      stopped = true;
      wake?.();
      // A send still waiting for its ack is abandoned; its file is sent again on the next start.
      await Promise.race([loop, new Promise((r) => setTimeout(r, 100))]);
    },
  };
}
