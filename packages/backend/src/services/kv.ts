// KV access for the job services: bucket handles opened once per process,
// and a whole-bucket read that costs one watch instead of a get per key (the
// group membership buckets hold one entry per PC, 100,000 at fleet scale).
import { type KV as Bucket, Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { ApiError } from '../http/errors.js';

const READ_ALL_TIMEOUT_MS = 30_000;

export function createKvAccess(nc: NatsConnection) {
  const kvm = new Kvm(nc);
  const open = new Map<string, Promise<Bucket>>();

  return {
    /** The bucket, or a 503 naming it when JetStream does not have it (yet). */
    async bucket(name: string): Promise<Bucket> {
      let kv = open.get(name);
      if (!kv) {
        kv = kvm.open(name);
        open.set(name, kv);
        kv.catch(() => open.delete(name));
      }
      try {
        return await kv;
      } catch (err) {
        throw new ApiError(
          'KANADE_ERR_UNAVAILABLE',
          `KV bucket ${name} is not available: ${(err as Error).message}`,
        );
      }
    },
  };
}
export type KvAccess = ReturnType<typeof createKvAccess>;

/** Every live entry of a bucket (deleted keys left out), read with one watch of the last values. */
export async function readEntries(kv: Bucket): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  if ((await kv.status()).values === 0) return out;
  const it = await kv.watch();
  const timer = setTimeout(() => it.stop(), READ_ALL_TIMEOUT_MS);
  try {
    for await (const e of it) {
      if (e.operation === 'PUT') out.set(e.key, e.value);
      else out.delete(e.key);
      if (e.delta === 0) break;
    }
  } finally {
    clearTimeout(timer);
    it.stop();
  }
  return out;
}

/** The value as JSON, or undefined when it is not JSON. */
export function jsonOf(value: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(value));
  } catch {
    return undefined;
  }
}
