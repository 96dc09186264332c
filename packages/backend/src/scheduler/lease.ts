// Leadership among backend replicas sharing one broker (an extension over
// upstream, where every backend's scheduler fires): only the holder of the
// `scheduler_lease/leader` KV entry fires, so each scheduled fire happens
// once however many replicas run.
//
// - Acquire: `create` succeeds only while the key is absent (never written,
//   deleted, or expired), so exactly one contender wins.
// - Renew: every TTL/5, a compare-and-set `update` on the revision we hold;
//   losing the race means someone else holds it now, unless the entry still
//   names us (a renewal that landed although its answer was lost), whose
//   revision we then adopt. Any other failure (a timeout on a busy broker, a
//   reconnect) is not a loss: the holder keeps renewing on schedule, and only
//   stops acting as leader when its validity runs out. Dropping the lease on
//   the first timeout left every replica without it for a TTL (the stale
//   entry blocks `create`, its own holder's too) and moved it to another one.
// - Expiry: the bucket's max_age is the TTL, so a holder that dies stops
//   renewing and its entry vanishes a TTL after its last renewal (between
//   0.8 and 1 TTL after the death); standbys retry `create` every TTL/10, so
//   one takes over about a TTL after a crash, and at once after a clean stop.
// - Safety: the holder counts itself leader only until TTL - TTL/5 (one
//   renewal interval) after it *sent* its last successful renewal, which is
//   before the broker can expire the entry, so two replicas never both
//   believe they lead (the broker stamps the entry no earlier than that send).
// - Stop: the holder deletes the entry (CAS on its revision) so a standby
//   takes over on its next try instead of waiting out the TTL.
import { randomUUID } from 'node:crypto';
import { KV, LAZY_KV_BUCKETS, SCHEDULER_LEASE_TTL_MS } from '@kanade/wire';
import type { KV as Bucket } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { ensureKvBucket } from '../nats/bootstrap.js';
import { isConflict } from '../services/kv-cas.js';

export const LEASE_KEY = 'leader';

export interface LeaseOptions {
  nc: NatsConnection;
  log: Logger;
  ttlMs?: number;
  /** Called each time this replica becomes the leader. */
  onAcquire?: () => void;
}

export interface Lease {
  /** This replica's id, stored in the lease value. */
  readonly holder: string;
  isLeader(): boolean;
  stop(): Promise<void>;
}

export function startLease(opts: LeaseOptions): Lease {
  const ttl = opts.ttlMs ?? SCHEDULER_LEASE_TTL_MS;
  const renewEvery = Math.max(200, Math.floor(ttl / 5));
  const retryEvery = Math.max(100, Math.floor(ttl / 10));
  const holder = `${opts.nc.info?.client_id ?? 'backend'}-${randomUUID().slice(0, 8)}`;
  const spec = LAZY_KV_BUCKETS.find((b) => b.name === KV.SCHEDULER_LEASE)!;
  let kv: Bucket | undefined;
  let revision = 0;
  /** performance.now() until which we may act as leader; 0 = not leader. */
  let validUntil = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  const value = () => JSON.stringify({ holder, at: new Date().toISOString() });
  const holderOf = (text: string): unknown => {
    try {
      return (JSON.parse(text) as { holder?: unknown }).holder;
    } catch {
      return undefined;
    }
  };

  async function attempt(): Promise<void> {
    kv ??= await ensureKvBucket(opts.nc, { ...spec, maxAgeMs: ttl });
    const sentAt = performance.now();
    const wasLeader = validUntil > 0;
    const lapsed = !wasLeader || sentAt >= validUntil;
    try {
      revision = wasLeader
        ? await kv.update(LEASE_KEY, value(), revision)
        : await kv.create(LEASE_KEY, value());
      validUntil = sentAt + ttl - renewEvery;
      if (lapsed) {
        opts.log.info({ holder }, 'scheduler lease acquired: this replica fires schedules');
        opts.onAcquire?.();
      }
    } catch (err) {
      if (!wasLeader) return;
      if (!isConflict(err)) {
        opts.log.warn({ holder, err: (err as Error).message }, 'scheduler lease renewal failed; retrying');
        return;
      }
      const current = await kv.get(LEASE_KEY).catch(() => null);
      if (current?.operation === 'PUT' && holderOf(current.string()) === holder) {
        revision = current.revision;
        return;
      }
      validUntil = 0;
      opts.log.warn({ holder, err: (err as Error).message }, 'scheduler lease lost: standing by');
    }
  }

  function loop() {
    if (stopped) return;
    running = attempt()
      .catch((err) => opts.log.warn({ err: (err as Error).message }, 'scheduler lease attempt failed'))
      .finally(() => {
        if (!stopped) timer = setTimeout(loop, validUntil > 0 ? renewEvery : retryEvery);
      });
  }
  loop();

  return {
    holder,
    isLeader: () => validUntil > 0 && performance.now() < validUntil,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
      if (validUntil > 0 && kv) {
        validUntil = 0;
        await kv.delete(LEASE_KEY, { previousSeq: revision }).catch(() => undefined);
      }
    },
  };
}
