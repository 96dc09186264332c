// Reads what `script_current` and `script_status` say about one manifest id,
// fresh for every command (as upstream: a revoke or a new version must take
// effect on the next command, and commands are rare enough that a cache
// would only add staleness). An id that cannot be a KV key has no entry,
// since the backend could not have written one either.

import { KV } from '@kanade/wire';
import { type KV as KvBucket, Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { ScriptView } from './preflight.js';

const KEY_RE = /^[-/_=.a-zA-Z0-9]+$/;

export interface ScriptViewReader {
  read(manifestId: string): Promise<ScriptView>;
}

export function createScriptViewReader(nc: NatsConnection): ScriptViewReader {
  const buckets = new Map<string, KvBucket>();
  const entryOf = async (bucket: string, key: string): Promise<string | undefined> => {
    let kv = buckets.get(bucket);
    if (!kv) {
      kv = await new Kvm(nc).open(bucket);
      buckets.set(bucket, kv);
    }
    const e = await kv.get(key);
    return e && e.operation === 'PUT' ? e.string() : undefined;
  };
  return {
    async read(manifestId) {
      if (!KEY_RE.test(manifestId) || manifestId.startsWith('.') || manifestId.endsWith('.')) {
        return { current: undefined, status: undefined, unreadable: false };
      }
      try {
        const [current, status] = await Promise.all([
          entryOf(KV.SCRIPT_CURRENT, manifestId),
          entryOf(KV.SCRIPT_STATUS, manifestId),
        ]);
        return { current, status, unreadable: false };
      } catch {
        return { current: undefined, status: undefined, unreadable: true };
      }
    },
  };
}
