// The job manifests the projectors need (the run timeout behind an in-flight
// row's expires_at), as upstream's spec_cache: a watch on the `jobs` KV keeps
// an in-memory map current, and a miss falls back to a KV get (a manifest
// written a moment ago, or a watch that is reconnecting). Misses are
// remembered briefly so a stream of events for a deleted job costs one get
// per few seconds, not one per message. One cache per NATS connection, so it
// lives in whichever thread runs the projectors (the ingest worker).
import { KV, ManifestRecord } from '@kanade/wire';
import { type KV as Bucket, Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { z } from 'zod';

export type StoredManifest = z.infer<typeof ManifestRecord>;

export interface ManifestCache {
  get(id: string): Promise<StoredManifest | undefined>;
  /** Resolves once the watch has loaded every manifest (at most `timeoutMs`; never rejects). */
  ready(timeoutMs?: number): Promise<void>;
}

const MISS_TTL_MS = 5000;
const RETRY_MS = 1000;

function decode(value: Uint8Array, log: Logger, key: string): StoredManifest | undefined {
  try {
    const r = ManifestRecord.safeParse(JSON.parse(new TextDecoder().decode(value)));
    if (r.success) return r.data;
    log.warn({ job_id: key, err: r.error.issues[0]?.message }, 'jobs KV entry is not a manifest; ignored');
  } catch {
    log.warn({ job_id: key }, 'jobs KV entry is not JSON; ignored');
  }
  return undefined;
}

export function createManifestCache(nc: NatsConnection, log: Logger): ManifestCache {
  const manifests = new Map<string, StoredManifest>();
  const misses = new Map<string, number>();
  let bucket: Promise<Bucket> | undefined;
  let loaded!: () => void;
  const initialised = new Promise<void>((r) => {
    loaded = r;
  });
  const open = () => {
    bucket ??= new Kvm(nc).open(KV.JOBS).catch((err) => {
      bucket = undefined;
      throw err;
    });
    return bucket;
  };

  (async function watch() {
    while (!nc.isClosed()) {
      try {
        const kv = await open();
        const it = await kv.watch();
        for await (const e of it) {
          // delta: entries still to come of the initial snapshot; 0 = the cache holds every manifest.
          if (e.delta === 0) loaded();
          if (e.operation === 'PUT') {
            const m = decode(e.value, log, e.key);
            if (m) manifests.set(e.key, m);
            else manifests.delete(e.key);
            misses.delete(e.key);
          } else {
            manifests.delete(e.key);
          }
        }
      } catch (err) {
        if (!nc.isClosed()) log.warn({ err: (err as Error).message }, 'jobs KV watch failed; retrying');
      }
      await new Promise((r) => setTimeout(r, RETRY_MS));
    }
  })();

  return {
    async ready(timeoutMs = 2000) {
      const timeout = new Promise<void>((r) => setTimeout(r, timeoutMs).unref());
      const loadedOrEmpty = (async () => {
        // An empty bucket sends no snapshot to wait for.
        if ((await (await open()).status()).values === 0) return;
        await initialised;
      })().catch(() => undefined);
      await Promise.race([loadedOrEmpty, timeout]);
    },
    async get(id) {
      const hit = manifests.get(id);
      if (hit) return hit;
      const missedAt = misses.get(id);
      if (missedAt !== undefined && Date.now() - missedAt < MISS_TTL_MS) return undefined;
      try {
        const e = await (await open()).get(id);
        const m = e && e.operation === 'PUT' ? decode(e.value, log, id) : undefined;
        if (m) {
          manifests.set(id, m);
          return m;
        }
      } catch (err) {
        log.warn({ job_id: id, err: (err as Error).message }, 'jobs KV get failed');
      }
      misses.set(id, Date.now());
      return undefined;
    },
  };
}

const perConnection = new WeakMap<NatsConnection, ManifestCache>();

/** The cache of this connection, created (and its watch started) on first use. */
export function manifestCacheFor(nc: NatsConnection, log: Logger): ManifestCache {
  let cache = perConnection.get(nc);
  if (!cache) {
    cache = createManifestCache(nc, log);
    perConnection.set(nc, cache);
  }
  return cache;
}
