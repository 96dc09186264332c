// An in-memory mirror of a KV bucket (or one key of it), kept current the way
// upstream's scheduler keeps its registrations: attach a watch for updates,
// reconcile from a full read, then apply each update; after every (re)attach
// the full read runs again, so a key deleted while the watch was down is
// dropped. The watch is attached before the read, and its updates are only
// consumed after the reconcile, so nothing written in between is missed; the
// consumer compares revisions to ignore updates the read already covered.
// A NATS reconnect forces a re-attach (and so a reconcile).
import { type KV as Bucket, type KvEntry, KvWatchInclude } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';

const REATTACH_DELAY_MS = 1000;
const READ_ALL_TIMEOUT_MS = 30_000;

export interface MirrorOptions {
  nc: NatsConnection;
  log: Logger;
  what: string;
  bucket: () => Promise<Bucket>;
  /** Mirror only this key (a `get` instead of a whole-bucket read). */
  key?: string;
  /** Replace the state with the live entries of a full read (deleted keys are absent). */
  reconcile(entries: Map<string, KvEntry>): void;
  /** Apply one update (PUT, DEL or PURGE). */
  apply(entry: KvEntry): void;
}

export interface Mirror {
  /** Resolves after the first reconcile. */
  ready: Promise<void>;
  stop(): Promise<void>;
}

/** Every live entry of the bucket with its revision and time, read with one watch of the last values. */
export async function readAll(kv: Bucket): Promise<Map<string, KvEntry>> {
  const out = new Map<string, KvEntry>();
  if ((await kv.status()).values === 0) return out;
  const it = await kv.watch({ include: KvWatchInclude.LastValue });
  const timer = setTimeout(() => it.stop(), READ_ALL_TIMEOUT_MS);
  try {
    for await (const e of it) {
      if (e.operation === 'PUT') out.set(e.key, e);
      else out.delete(e.key);
      if (e.delta === 0) break;
    }
  } finally {
    clearTimeout(timer);
    it.stop();
  }
  return out;
}

export function startMirror(opts: MirrorOptions): Mirror {
  let stopped = false;
  let current: { stop(): void } | undefined;
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });

  (async () => {
    for await (const s of opts.nc.status()) {
      if (stopped) break;
      if (s.type === 'reconnect') current?.stop();
    }
  })().catch(() => undefined);

  const loop = (async () => {
    while (!stopped) {
      try {
        const kv = await opts.bucket();
        const watch = await kv.watch({
          include: KvWatchInclude.UpdatesOnly,
          ...(opts.key ? { key: opts.key } : {}),
        });
        current = watch;
        if (stopped) break;
        let snapshot: Map<string, KvEntry>;
        if (opts.key) {
          const e = await kv.get(opts.key);
          snapshot = new Map(e?.operation === 'PUT' ? [[opts.key, e]] : []);
        } else {
          snapshot = await readAll(kv);
        }
        opts.reconcile(snapshot);
        markReady();
        for await (const e of watch) {
          if (stopped) break;
          opts.apply(e);
        }
      } catch (err) {
        if (!stopped) opts.log.warn({ what: opts.what, err: (err as Error).message }, 'KV watch failed');
      }
      if (!stopped) {
        opts.log.info({ what: opts.what }, 'KV watch ended; re-attaching');
        await new Promise((r) => setTimeout(r, REATTACH_DELAY_MS));
      }
    }
  })();

  return {
    ready,
    async stop() {
      stopped = true;
      current?.stop();
      await loop;
    },
  };
}
