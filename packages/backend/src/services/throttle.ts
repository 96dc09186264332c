// Login throttle, upstream's rules: 5 consecutive failures lock a username
// for 15 minutes whatever the source IP (a success clears the streak), and
// one IP may fail at most 30 times in any 60 seconds. A throttled attempt is
// refused before the password is checked, with the seconds to wait.
//
// The state lives in the backend-only KV bucket `backend_login_throttle`,
// so every replica behind a load balancer counts the same failures: an
// attacker cannot spread guesses over replicas. Keys are SHA-256 hashes
// (`u.<hex>` of the lower-cased username, `ip.<hex>` of the address), which
// are KV-safe whatever the input. Each failure is a compare-and-swap on the
// key's revision (kv-cas.ts), so two replicas counting at the same moment
// both land. The bucket's max_age is the longest window (the lock), so an
// idle entry disappears by itself; a streak without a lock is forgotten 15
// minutes after its last failure. The rules themselves are the pure
// functions below, the only place they are written.
import { createHash } from 'node:crypto';
import type { KV as Bucket } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { ApiError } from '../http/errors.js';
import { BACKEND_KV, BACKEND_KV_BUCKETS, LOGIN_THROTTLE_TTL_MS } from '../nats/backend-buckets.js';
import { ensureKvBucket } from '../nats/bootstrap.js';
import { readModifyWrite } from './kv-cas.js';

export interface LoginThrottle {
  /** Seconds until `username`/`ip` may try again, or undefined when allowed. */
  retryAfter(username: string, ip: string): Promise<number | undefined>;
  failure(username: string, ip: string): Promise<void>;
  success(username: string): Promise<void>;
}

export const THROTTLE = {
  userFailures: 5,
  userLockMs: LOGIN_THROTTLE_TTL_MS,
  ipFailures: 30,
  ipWindowMs: 60 * 1000,
} as const;

export interface UserState {
  streak: number;
  /** epoch ms; 0 = not locked */
  lockedUntil: number;
}

/** The user's state after one more failure at `t` (an expired lock starts a new streak). */
export function userAfterFailure(u: UserState | undefined, t: number): UserState {
  const fresh = !u || (u.lockedUntil > 0 && u.lockedUntil <= t);
  const streak = (fresh ? 0 : u.streak) + 1;
  return { streak, lockedUntil: streak >= THROTTLE.userFailures ? t + THROTTLE.userLockMs : 0 };
}

/** The IP's failure times still inside the window at `t` (only the newest `ipFailures` matter). */
export function recentIpFailures(times: readonly number[] | undefined, t: number): number[] {
  return (times ?? []).filter((x) => t - x < THROTTLE.ipWindowMs).slice(-THROTTLE.ipFailures);
}

/** Milliseconds to wait at `t`, or 0 when allowed. */
export function waitMs(u: UserState | undefined, ipTimes: readonly number[] | undefined, t: number): number {
  let wait = u && u.lockedUntil > t ? u.lockedUntil - t : 0;
  const times = recentIpFailures(ipTimes, t);
  if (times.length >= THROTTLE.ipFailures) {
    // Allowed again once enough of the window's failures have aged out.
    const oldestThatMustExpire = times[times.length - THROTTLE.ipFailures]!;
    wait = Math.max(wait, oldestThatMustExpire + THROTTLE.ipWindowMs - t);
  }
  return wait;
}

const hash = (s: string) => createHash('sha256').update(s).digest('hex');
export const userKey = (username: string) => `u.${hash(username.toLowerCase())}`;
export const ipKey = (ip: string) => `ip.${hash(ip)}`;

function jsonCodec<T>() {
  return {
    decode(v: Uint8Array | undefined): T | undefined {
      if (!v?.length) return undefined;
      try {
        return JSON.parse(new TextDecoder().decode(v)) as T;
      } catch {
        return undefined;
      }
    },
    encode: (v: T | undefined) => new TextEncoder().encode(JSON.stringify(v)),
  };
}
const userCodec = jsonCodec<UserState>();
const ipCodec = jsonCodec<number[]>();

export function createLoginThrottle(nc: NatsConnection, now: () => number = Date.now): LoginThrottle {
  const spec = BACKEND_KV_BUCKETS.find((b) => b.name === BACKEND_KV.LOGIN_THROTTLE)!;
  let bucket: Promise<Bucket> | undefined;

  /** Run `fn` on the bucket; a broker that cannot answer refuses the login (503) rather than skip the check. */
  async function withBucket<T>(fn: (kv: Bucket) => Promise<T>): Promise<T> {
    try {
      bucket ??= ensureKvBucket(nc, spec);
      return await fn(await bucket);
    } catch (err) {
      if (err instanceof ApiError) throw err;
      bucket = undefined;
      throw new ApiError(
        'KANADE_ERR_UNAVAILABLE',
        `login throttle state (KV ${spec.name}) is unavailable: ${(err as Error).message}`,
      );
    }
  }

  const read = async <T>(kv: Bucket, key: string, codec: ReturnType<typeof jsonCodec<T>>) => {
    const e = await kv.get(key);
    return e?.operation === 'PUT' ? codec.decode(e.value) : undefined;
  };

  return {
    retryAfter: (username, ip) =>
      withBucket(async (kv) => {
        const [u, times] = await Promise.all([
          read(kv, userKey(username), userCodec),
          read(kv, ipKey(ip), ipCodec),
        ]);
        const wait = waitMs(u, times, now());
        return wait > 0 ? Math.ceil(wait / 1000) : undefined;
      }),
    failure: (username, ip) =>
      withBucket(async (kv) => {
        await readModifyWrite(kv, userKey(username), userCodec, (u) => userAfterFailure(u, now()));
        await readModifyWrite(kv, ipKey(ip), ipCodec, (times) => {
          const t = now();
          return [...recentIpFailures(times, t), t].slice(-THROTTLE.ipFailures);
        });
      }),
    success: (username) =>
      withBucket(async (kv) => {
        await kv.delete(userKey(username));
      }),
  };
}
