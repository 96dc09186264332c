// Creates or reconciles every stream, bootstrap KV bucket and object store at
// startup, with upstream's names and limits. Idempotent: a second run changes
// nothing, and a resource whose limits were edited by hand is put back. KV
// buckets and object stores are streams underneath (`KV_<b>`, `OBJ_<b>`), so
// the same limit comparison reconciles all three kinds.
//
// Replicas (`[nats] replicas`): every resource gets that many copies, also
// the buckets other modules create lazily (ensureKvBucket defaults to the
// count the last bootstrap used). A resource with another count is updated
// to it: JetStream scales a clustered stream up or down in place. Asking
// for more than one copy from a single, non-clustered server is a
// configuration error (BrokerMisconfigured), never something to retry.

import {
  ALL_OBJECT_STORES,
  ALL_STREAMS,
  BOOTSTRAP_KV_BUCKETS,
  type KvSpec,
  type ObjectStoreSpec,
  type StreamSpec,
} from '@kanade/wire';
import {
  JetStreamApiError,
  type JetStreamManager,
  jetstreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { Objm } from '@nats-io/obj';
import { type NatsConnection, nanos } from '@nats-io/transport-node';
import { BACKEND_KV_BUCKETS } from './backend-buckets.js';

export interface BootstrapReport {
  created: string[];
  updated: string[];
  unchanged: string[];
  /** What each update changed, e.g. `KV_jobs num_replicas 1 -> 3`. */
  changes: string[];
}

/** The broker cannot give what the config asks (replicas > 1 on a single server): fatal at startup. */
export class BrokerMisconfigured extends Error {}

type Limits = Pick<StreamConfig, 'max_age' | 'max_bytes' | 'max_msgs_per_subject' | 'num_replicas'>;

/** Replicas for buckets created outside bootstrapJetStream (scheduler, lease, group definitions). */
let defaultReplicas = 1;

/** JetStream's "replicas > 1 not supported in non-clustered mode". */
const ERR_REPLICAS_NOT_CLUSTERED = 10074;

function notClustered(replicas: number, server: string | undefined): BrokerMisconfigured {
  return new BrokerMisconfigured(
    `KANADE_NATS_REPLICAS / [nats] replicas = ${replicas}, but the broker${server ? ` ${server}` : ''} is a ` +
      'single nats-server without a JetStream cluster, which keeps one copy only. Point KANADE_NATS_URL at a ' +
      'clustered broker (docs/scale-out.md) or set replicas = 1.',
  );
}

function isNotFound(err: unknown): boolean {
  const e = err as { message?: string; code?: string | number; api_error?: { err_code?: number } };
  return e?.api_error?.err_code === 10059 || /not found/i.test(e?.message ?? '');
}

/**
 * Update the stream when any of `want` differs from what the server has; returns whether it did,
 * noting each changed field in `changes`.
 */
async function reconcile(
  jsm: JetStreamManager,
  name: string,
  want: Partial<StreamConfig>,
  changes?: string[],
): Promise<boolean> {
  const info = await jsm.streams.info(name);
  const have = info.config as unknown as Record<string, unknown>;
  const differs = Object.entries(want).filter(([k, v]) => JSON.stringify(have[k]) !== JSON.stringify(v));
  if (!differs.length) return false;
  await jsm.streams.update(name, { ...info.config, ...want });
  for (const [k, v] of differs)
    changes?.push(`${name} ${k} ${JSON.stringify(have[k])} -> ${JSON.stringify(v)}`);
  return true;
}

function streamConfig(spec: StreamSpec, replicas: number): Partial<StreamConfig> {
  return {
    subjects: spec.subjects,
    retention: 'limits' as StreamConfig['retention'],
    storage: 'file' as StreamConfig['storage'],
    discard: 'old' as StreamConfig['discard'],
    max_age: nanos(spec.maxAgeMs),
    max_bytes: spec.maxBytes,
    max_msgs_per_subject: spec.maxMsgsPerSubject,
    num_replicas: replicas,
  };
}

async function ensureStream(jsm: JetStreamManager, spec: StreamSpec, replicas: number, r: BootstrapReport) {
  const want = streamConfig(spec, replicas);
  try {
    if (await reconcile(jsm, spec.name, want, r.changes)) r.updated.push(spec.name);
    else r.unchanged.push(spec.name);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await jsm.streams.add({ name: spec.name, ...want });
    r.created.push(spec.name);
  }
}

async function exists(jsm: JetStreamManager, stream: string): Promise<boolean> {
  try {
    await jsm.streams.info(stream);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

export async function ensureKvBucket(
  nc: NatsConnection,
  spec: KvSpec,
  replicas = defaultReplicas,
  report?: BootstrapReport,
) {
  const jsm = await jetstreamManager(nc);
  const stream = `KV_${spec.name}`;
  const had = await exists(jsm, stream);
  const kv = await new Kvm(nc).create(spec.name, {
    history: spec.history,
    ttl: spec.maxAgeMs,
    replicas,
  });
  const limits: Partial<Limits> = {
    max_msgs_per_subject: spec.history,
    max_age: nanos(spec.maxAgeMs),
    num_replicas: replicas,
  };
  const changed = had && (await reconcile(jsm, stream, limits, report?.changes));
  report?.[!had ? 'created' : changed ? 'updated' : 'unchanged'].push(`kv:${spec.name}`);
  return kv;
}

async function ensureObjectStore(
  nc: NatsConnection,
  spec: ObjectStoreSpec,
  replicas: number,
  r: BootstrapReport,
) {
  const jsm = await jetstreamManager(nc);
  const stream = `OBJ_${spec.name}`;
  const had = await exists(jsm, stream);
  if (!had) {
    // Objm takes `ttl` in nanoseconds (it becomes the stream's max_age as is), unlike Kvm's milliseconds.
    await new Objm(nc).create(spec.name, { ttl: nanos(spec.maxAgeMs), max_bytes: spec.maxBytes, replicas });
    r.created.push(`obj:${spec.name}`);
    return;
  }
  const changed = await reconcile(
    jsm,
    stream,
    { max_age: nanos(spec.maxAgeMs), max_bytes: spec.maxBytes, num_replicas: replicas },
    r.changes,
  );
  r[changed ? 'updated' : 'unchanged'].push(`obj:${spec.name}`);
}

export async function bootstrapJetStream(nc: NatsConnection, replicas = 1): Promise<BootstrapReport> {
  // A clustered server names its cluster in INFO; a single server cannot hold more than one copy.
  if (replicas > 1 && !nc.info?.cluster) throw notClustered(replicas, nc.getServer());
  defaultReplicas = replicas;
  const jsm = await jetstreamManager(nc);
  const report: BootstrapReport = { created: [], updated: [], unchanged: [], changes: [] };
  try {
    for (const spec of ALL_STREAMS) await ensureStream(jsm, spec, replicas, report);
    for (const spec of BOOTSTRAP_KV_BUCKETS) await ensureKvBucket(nc, spec, replicas, report);
    for (const spec of BACKEND_KV_BUCKETS) await ensureKvBucket(nc, spec, replicas, report);
    for (const spec of ALL_OBJECT_STORES) await ensureObjectStore(nc, spec, replicas, report);
  } catch (err) {
    const clusterless =
      (err instanceof JetStreamApiError && err.code === ERR_REPLICAS_NOT_CLUSTERED) ||
      /non-clustered mode/i.test((err as Error).message);
    if (clusterless) throw notClustered(replicas, nc.getServer());
    throw err;
  }
  return report;
}

export interface ResourceStatus {
  name: string;
  exists: boolean;
  messages?: number;
  bytes?: number;
  max_bytes?: number;
}

export interface JetStreamStatus {
  streams: ResourceStatus[];
  kv_buckets: ResourceStatus[];
  object_stores: ResourceStatus[];
}

async function status(jsm: JetStreamManager, name: string, stream: string): Promise<ResourceStatus> {
  try {
    const info = await jsm.streams.info(stream);
    return {
      name,
      exists: true,
      messages: info.state.messages,
      bytes: info.state.bytes,
      max_bytes: info.config.max_bytes,
    };
  } catch (err) {
    if (isNotFound(err)) return { name, exists: false };
    throw err;
  }
}

/** Every resource the backend bootstraps, with its usage; `/api/jetstream/status` and the fleet health probe. */
export async function jetStreamStatus(nc: NatsConnection): Promise<JetStreamStatus> {
  const jsm = await jetstreamManager(nc);
  return {
    streams: await Promise.all(ALL_STREAMS.map((s) => status(jsm, s.name, s.name))),
    kv_buckets: await Promise.all(
      [...BOOTSTRAP_KV_BUCKETS, ...BACKEND_KV_BUCKETS].map((b) => status(jsm, b.name, `KV_${b.name}`)),
    ),
    object_stores: await Promise.all(ALL_OBJECT_STORES.map((o) => status(jsm, o.name, `OBJ_${o.name}`))),
  };
}
