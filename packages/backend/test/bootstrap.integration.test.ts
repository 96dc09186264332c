// JetStream bootstrap against a real nats-server: creates everything with
// upstream names, changes nothing the second time, and puts back limits
// that were edited by hand.

import { ALL_OBJECT_STORES, ALL_STREAMS, BOOTSTRAP_KV_BUCKETS } from '@kanade/wire';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection, nanos } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNats, type TestNats } from '../../../test-support/nats-server.js';
import { BACKEND_KV_BUCKETS } from '../src/nats/backend-buckets.js';
import { bootstrapJetStream, jetStreamStatus } from '../src/nats/bootstrap.js';

let nats: TestNats;
let nc: NatsConnection;
beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
});
afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

describe('bootstrapJetStream', () => {
  it('creates every stream, KV bucket and object store, then changes nothing on a second run', async () => {
    const first = await bootstrapJetStream(nc);
    expect(first.created).toHaveLength(
      ALL_STREAMS.length + BOOTSTRAP_KV_BUCKETS.length + BACKEND_KV_BUCKETS.length + ALL_OBJECT_STORES.length,
    );
    const second = await bootstrapJetStream(nc);
    expect(second.created).toEqual([]);
    expect(second.updated).toEqual([]);
    const status = await jetStreamStatus(nc);
    // The backend-only buckets (login throttle, replica presence) are listed next to upstream's.
    expect(status.kv_buckets.map((b) => b.name)).toEqual(
      [...BOOTSTRAP_KV_BUCKETS, ...BACKEND_KV_BUCKETS].map((b) => b.name),
    );
    expect([...status.streams, ...status.kv_buckets, ...status.object_stores].every((r) => r.exists)).toBe(
      true,
    );

    const jsm = await jetstreamManager(nc);
    const exec = await jsm.streams.info('EXEC');
    expect(exec.config.subjects).toEqual(['commands.>']);
    expect(exec.config.max_msgs_per_subject).toBe(1);
    expect(exec.config.max_age).toBe(nanos(7 * 86_400_000));
    expect((await jsm.streams.info('KV_agent_meta')).config.max_msgs_per_subject).toBe(5);
  });

  it('reconciles limits that were changed by hand', async () => {
    await bootstrapJetStream(nc);
    const jsm = await jetstreamManager(nc);
    const results = await jsm.streams.info('RESULTS');
    await jsm.streams.update('RESULTS', {
      ...results.config,
      max_age: nanos(600_000),
      duplicate_window: nanos(60_000),
      max_bytes: 1024 * 1024,
    });
    const kv = await jsm.streams.info('KV_jobs');
    await jsm.streams.update('KV_jobs', { ...kv.config, max_msgs_per_subject: 2 });

    const report = await bootstrapJetStream(nc);
    expect(report.updated.sort()).toEqual(['RESULTS', 'kv:jobs']);
    const fixed = await jsm.streams.info('RESULTS');
    expect(fixed.config.max_age).toBe(nanos(30 * 86_400_000));
    expect(fixed.config.max_bytes).toBe(2 * 1024 ** 3);
    expect((await jsm.streams.info('KV_jobs')).config.max_msgs_per_subject).toBe(5);
  });

  it('recreates a stream that was deleted', async () => {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete('OBS_EVENTS');
    const report = await bootstrapJetStream(nc);
    expect(report.created).toEqual(['OBS_EVENTS']);
  });
});
