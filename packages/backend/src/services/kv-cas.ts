// Compare-and-swap read-modify-write on one KV key, as upstream's
// `kv_cas::read_modify_write`: read the value and its revision, let the
// caller compute the next value, write it only if the key is still at that
// revision (create() when the key is absent or deleted), and start over when
// another writer got there first. Two operators adding members to one PC at
// the same moment therefore both land instead of one overwriting the other.
// A mutate that returns undefined writes nothing (the revision does not
// move).
import { JetStreamApiError } from '@nats-io/jetstream';
import type { KV as Bucket } from '@nats-io/kv';
import { ApiError } from '../http/errors.js';

const MAX_ATTEMPTS = 100;

/** The write lost a compare-and-set: the key moved to another revision (or exists, for create). */
export function isConflict(err: unknown): boolean {
  if (err instanceof JetStreamApiError && (err.code === 10071 || err.code === 10164)) return true;
  return /wrong last sequence|key exists/i.test((err as Error)?.message ?? '');
}

export async function readModifyWrite<T>(
  kv: Bucket,
  key: string,
  codec: { decode(value: Uint8Array | undefined): T; encode(value: T): Uint8Array },
  mutate: (current: T) => NoInfer<T> | undefined,
): Promise<{ value: T; changed: boolean }> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const e = await kv.get(key);
    const current = codec.decode(e?.operation === 'PUT' ? e.value : undefined);
    const next = mutate(current);
    if (next === undefined) return { value: current, changed: false };
    try {
      if (e && e.operation === 'PUT') await kv.update(key, codec.encode(next), e.revision);
      else await kv.create(key, codec.encode(next));
      return { value: next, changed: true };
    } catch (err) {
      if (!isConflict(err)) throw err;
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 * (attempt + 1))));
    }
  }
  throw new ApiError('KANADE_ERR_CONFLICT', `too many concurrent updates of ${key}; try again`);
}
