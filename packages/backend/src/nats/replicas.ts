// Backend replicas announce themselves in the backend-only KV bucket
// `backend_replicas` (one entry per running replica, renewed every TTL/3,
// gone a TTL after the replica dies) with a fingerprint of the key that signs
// their session tokens. A session minted by one replica must verify on any
// other behind the load balancer, so they all need the same key.
//
// Why refuse instead of sharing a generated key through KV: every client of
// the broker can read KV (agents in shared-token mode included), and a
// session signing key there would let anyone holding the agent token mint
// admin sessions. So the key stays out of the broker: it comes from
// KANADE_JWT_SECRET (or the same `<data dir>/jwt-secret` file), and a
// replica whose key differs from the ones already running refuses to start
// with a message saying what to set. Users get the error at deploy time,
// not random 401s behind the balancer. The fingerprint is an HMAC of a fixed
// label under the key, which proves nothing to whoever reads it.
//
// Two replicas starting at the same moment with different keys: each entry
// carries the revision of its first write (`joined`); the later joiner is
// the one that refuses. An entry left by a replica that died without
// deleting it (SIGKILL) is told apart by a ping on the replica's own subject
// `kanade.backend.replica.<id>`: no responder means it is gone, so a replica
// restarted at once with a rotated key starts normally.
import { createHmac, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { KV as Bucket } from '@nats-io/kv';
import { errors, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { BACKEND_KV, BACKEND_KV_BUCKETS, REPLICA_PRESENCE_TTL_MS } from './backend-buckets.js';
import { ensureKvBucket } from './bootstrap.js';

export interface ReplicaPresence {
  /** This replica's id (the KV key without its `r.` prefix). */
  readonly id: string;
  stop(): Promise<void>;
}

interface PresenceValue {
  fingerprint: string;
  host: string;
  pid: number;
  started_at: string;
  /** Revision of this replica's first write: orders the joins. Absent on the first write itself. */
  joined?: number;
}

/** A replica with another session key is running: a configuration error, not something to retry. */
export class SessionKeyMismatch extends Error {}

export function sessionKeyFingerprint(secret: string): string {
  return createHmac('sha256', secret).update('kanade session key fingerprint').digest('hex').slice(0, 32);
}

const PING_TIMEOUT_MS = 2000;
const pingSubject = (id: string) => `kanade.backend.replica.${id}`;

/** Whether the replica answers its ping; a slow answer counts as alive (refusing is the safe side). */
async function alive(nc: NatsConnection, id: string): Promise<boolean> {
  try {
    await nc.request(pingSubject(id), undefined, { timeout: PING_TIMEOUT_MS });
    return true;
  } catch (err) {
    const gone =
      err instanceof errors.NoRespondersError || (err instanceof errors.RequestError && err.isNoResponders());
    return !gone;
  }
}

const decode = (v: Uint8Array): PresenceValue | undefined => {
  try {
    return JSON.parse(new TextDecoder().decode(v)) as PresenceValue;
  } catch {
    return undefined;
  }
};

export async function joinReplicas(opts: {
  nc: NatsConnection;
  log: Logger;
  jwtSecret: string;
  /** For the message: whether the key came from KANADE_JWT_SECRET or the data dir's file. */
  secretSource: string;
}): Promise<ReplicaPresence> {
  const spec = BACKEND_KV_BUCKETS.find((b) => b.name === BACKEND_KV.REPLICAS)!;
  const kv: Bucket = await ensureKvBucket(opts.nc, spec);
  const host = hostname();
  const id = `${host.replace(/[^A-Za-z0-9_-]/g, '_')}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const key = `r.${id}`;
  const sub = opts.nc.subscribe(pingSubject(id), {
    callback: (_err, msg) => {
      msg.respond();
    },
  });
  const value: PresenceValue = {
    fingerprint: sessionKeyFingerprint(opts.jwtSecret),
    host,
    pid: process.pid,
    started_at: new Date().toISOString(),
  };
  const joined = await kv.put(key, JSON.stringify(value));
  value.joined = joined;

  const earlier: PresenceValue[] = [];
  for await (const k of await kv.keys('r.>')) {
    if (k === key) continue;
    const e = await kv.get(k);
    const other = e?.operation === 'PUT' ? decode(e.value) : undefined;
    if (!other || !e || other.fingerprint === value.fingerprint) continue;
    if ((other.joined ?? e.revision) < joined && (await alive(opts.nc, k.slice(2)))) earlier.push(other);
  }
  if (earlier.length) {
    sub.unsubscribe();
    await kv.delete(key).catch(() => undefined);
    const o = earlier[0]!;
    throw new SessionKeyMismatch(
      `another backend replica (host ${o.host}, pid ${o.pid}, started ${o.started_at}) signs session tokens ` +
        `with a different key than this one (${opts.secretSource}), so sessions would fail on one of them. ` +
        'Give every replica the same KANADE_JWT_SECRET (or the same <data dir>/jwt-secret file). If that ' +
        `replica has just stopped, its entry expires within ${REPLICA_PRESENCE_TTL_MS / 1000} s.`,
    );
  }
  opts.log.info({ replica: id }, 'joined the backend replicas');

  let renewing = Promise.resolve();
  const timer = setInterval(() => {
    renewing = kv
      .put(key, JSON.stringify(value))
      .then(() => undefined)
      .catch((err) => opts.log.debug({ err: (err as Error).message }, 'replica presence renewal failed'));
  }, REPLICA_PRESENCE_TTL_MS / 3);
  timer.unref();

  return {
    id,
    async stop() {
      clearInterval(timer);
      sub.unsubscribe();
      await renewing;
      await kv.delete(key).catch(() => undefined);
    },
  };
}
