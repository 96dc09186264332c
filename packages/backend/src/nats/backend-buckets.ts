// KV buckets only the backend replicas use (extensions over upstream; agents
// never read them): state the replicas must share. Created by the JetStream
// bootstrap next to upstream's buckets, with the same replica count.
import type { KvSpec } from '@kanade/wire';

/** Longest window of the login throttle (services/throttle.ts): a username lock lasts 15 minutes. */
export const LOGIN_THROTTLE_TTL_MS = 15 * 60 * 1000;
/** How long a replica's presence entry outlives its last renewal (services/replicas.ts). */
export const REPLICA_PRESENCE_TTL_MS = 30_000;

export const BACKEND_KV = {
  /** Failure streaks per username and failure times per source IP, keyed by hash. */
  LOGIN_THROTTLE: 'backend_login_throttle',
  /** One entry per running replica: its id and the fingerprint of its session key. */
  REPLICAS: 'backend_replicas',
} as const;

export const BACKEND_KV_BUCKETS: readonly KvSpec[] = [
  { name: BACKEND_KV.LOGIN_THROTTLE, history: 1, maxAgeMs: LOGIN_THROTTLE_TTL_MS },
  { name: BACKEND_KV.REPLICAS, history: 1, maxAgeMs: REPLICA_PRESENCE_TTL_MS },
];
