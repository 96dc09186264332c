// How the durable projectors ack (projectors/durable.ts). On SQLite the
// backend is a durable's only consumer and acks one batch at a time
// (AckPolicy.All), which is safe only while nothing delivered and uncommitted
// is ever acked past. These tests hold it to that through the audit projector
// on a real broker and the built backend:
// - a durable created with explicit acks (as upstream's backend leaves it) is
//   taken over from its ack floor: what it acked is not read again, what it
//   had delivered without an ack is;
// - a batch whose transaction fails stops all acking after it; nothing is
//   lost and nothing is written twice once the fault is gone.
// On PostgreSQL, where replicas share durables, the durable keeps explicit
// acks and the failed-batch test does not apply.
import { dirname, join } from 'node:path';
import { DURABLE, STREAM } from '@kanade/wire';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, removeDir, startBackend, type TestBackend } from '../../../test-support/backend.js';
import { openStoreDb, testPostgresUrl } from '../../../test-support/db.js';
import { startNats, type TestNats } from '../../../test-support/nats-server.js';
import { deliveryOf } from '../src/projectors/durable.js';
import { publishAuditEvents } from './chaos/support.js';

let nats: TestNats;
let nc: NatsConnection;
let be: TestBackend | undefined;
let dataDir: string;
const onPostgres = Boolean(testPostgresUrl());

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  be = await startBackend({ natsUrl: nats.url });
  dataDir = be.dataDir;
});
afterAll(async () => {
  await be?.kill();
  if (dataDir) removeDir(dataDir);
  await nc?.close();
  await nats?.stop();
});

function targets(): string[] {
  const db = openStoreDb(dataDir, { readonly: true });
  try {
    return (
      db.prepare("SELECT target FROM audit_log WHERE action = 'acks' ORDER BY target").all() as {
        target: string;
      }[]
    ).map((r) => r.target);
  } finally {
    db.close();
  }
}

const range = (from: number, count: number) =>
  Array.from({ length: count }, (_, k) => `t${String(from + k).padStart(4, '0')}`);

/** Publishes audit events t<from>..t<from+count-1>, zero-padded so they sort; returns their stream sequences. */
const publish = (from: number, count: number) => publishAuditEvents(nc, 'acks', range(from, count));

async function auditConsumer() {
  return (await jetstreamManager(nc)).consumers.info(STREAM.AUDIT, DURABLE.AUDIT);
}

/** Nothing left for the durable to deliver or to hear an ack for. */
async function everythingAcked() {
  await eventually(
    async () => {
      const i = await auditConsumer();
      return i.num_ack_pending === 0 && i.num_pending === 0;
    },
    10_000,
    'everything acked',
  );
}

describe('durable acks', () => {
  it('takes over an explicit-ack durable from its ack floor', async () => {
    await publish(0, 100);
    await eventually(async () => targets().length === 100, 15_000, '100 audit rows');
    await be!.stop();
    be = undefined;

    // What upstream's backend would leave: an explicit-ack durable that acked t0100-t0149 (into a
    // database this one never sees) and had t0150-t0159 delivered, not acked, when it stopped.
    const jsm = await jetstreamManager(nc);
    const floor = (await jsm.consumers.info(STREAM.AUDIT, DURABLE.AUDIT)).ack_floor.stream_seq;
    await jsm.consumers.delete(STREAM.AUDIT, DURABLE.AUDIT);
    await jsm.consumers.add(STREAM.AUDIT, {
      durable_name: DURABLE.AUDIT,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: floor + 1,
      ack_wait: 10_000_000_000,
    });
    await publish(100, 100);
    const consumer = await jetstream(nc).consumers.get(STREAM.AUDIT, DURABLE.AUDIT);
    const batch = await consumer.fetch({ max_messages: 60, expires: 5000 });
    let n = 0;
    for await (const m of batch) {
      if (n++ < 50) await m.ackAck();
      if (n === 60) break;
    }
    expect(n).toBe(60);
    const before = await jsm.consumers.info(STREAM.AUDIT, DURABLE.AUDIT);
    expect(before.num_ack_pending).toBe(10);

    be = await startBackend({ natsUrl: nats.url, dataDir });
    const expected = [...range(0, 100), ...range(150, 50)];
    await eventually(
      async () => targets().length >= expected.length,
      30_000,
      `${expected.length} audit rows`,
    );
    await new Promise((r) => setTimeout(r, 500));
    expect(targets()).toEqual(expected);
    const after = await auditConsumer();
    expect(after.config.ack_policy).toBe(onPostgres ? AckPolicy.Explicit : AckPolicy.All);
    if (!onPostgres)
      expect(be.logs.some((l) => l.includes('durable consumer recreated from its ack floor'))).toBe(true);
    await everythingAcked();
  });

  it.skipIf(onPostgres)('acks nothing past a failed batch, and loses and repeats nothing', async () => {
    const seqs = await publish(200, 50);
    await eventually(async () => targets().length === 150 + 50, 15_000, '200 audit rows');
    await eventually(
      async () => (await auditConsumer()).ack_floor.stream_seq === seqs.at(-1),
      10_000,
      'acked',
    );

    // A fault in the middle of the next events: every transaction holding t0275 fails until it is gone.
    const db = openStoreDb(dataDir);
    db.exec(`CREATE TRIGGER acks_fault BEFORE INSERT ON audit_log WHEN NEW.target = 't0275'
             BEGIN SELECT RAISE(ABORT, 'injected fault'); END`);
    try {
      const more = await publish(250, 50);
      await eventually(
        async () => be!.logs.some((l) => l.includes('batch failed; nothing acked')),
        15_000,
        'the failed batch',
      );
      // Keep publishing while it fails: none of these may be acked before t0275 is written.
      await publish(300, 50);
      await new Promise((r) => setTimeout(r, 1500));
      const during = await auditConsumer();
      expect(during.ack_floor.stream_seq).toBeLessThan(more[25]!);
      expect(targets()).not.toContain('t0275');
    } finally {
      db.exec('DROP TRIGGER acks_fault');
      db.close();
    }
    const expected = range(0, 350).filter((t) => t < 't0100' || t >= 't0150');
    await eventually(
      async () => targets().length >= expected.length,
      30_000,
      `${expected.length} audit rows`,
    );
    await new Promise((r) => setTimeout(r, 500));
    const got = targets();
    expect(got).toEqual(expected);
    await everythingAcked();
  });
});

describe('deliveryOf', () => {
  it('reads the delivery facts of both reply subject forms', () => {
    expect(deliveryOf('$JS.ACK.AUDIT.backend_audit_projector.2.41.7.1733000000123999999.5')).toEqual({
      deliveries: 2,
      seq: 41,
      publishedAt: 1733000000123,
      pending: 5,
    });
    expect(
      deliveryOf('$JS.ACK._.ACCHASH.AUDIT.backend_audit_projector.1.41.7.1733000000123999999.0.x1'),
    ).toEqual({
      deliveries: 1,
      seq: 41,
      publishedAt: 1733000000123,
      pending: 0,
    });
    expect(() => deliveryOf('_INBOX.abc')).toThrow(/not a JetStream delivery/);
  });
});

describe('deliveryOf, against the JsMsg getters', () => {
  it('agrees with what nats.js reads from the same subjects', async () => {
    // The JsMsg class itself is not exported; its module is loaded by path (the exports map only
    // guards bare specifiers).
    const { createRequire } = await import('node:module');
    const req = createRequire(import.meta.url);
    const lib = dirname(req.resolve('@nats-io/jetstream'));
    const { toJsMsg } = req(join(lib, 'jsmsg.js')) as {
      toJsMsg(m: unknown): {
        seq: number;
        timestampNanos: bigint;
        info: { deliveryCount: number; pending: number };
      };
    };
    for (const reply of [
      '$JS.ACK.RESULTS.backend_results_projector.1.60000.59999.1764583200123456789.0',
      '$JS.ACK.RESULTS.backend_results_projector.3.7.12.1764583200000000001.18446',
      '$JS.ACK.hub.ACC.RESULTS.backend_results_projector.1.2.3.1764583200999999999.4.tok',
      '$JS.ACK.hub.ACC.RESULTS.backend_results_projector.1.2.3.1764583200999999999.4',
    ]) {
      const m = toJsMsg({ subject: 'results.x', reply, data: new Uint8Array(), headers: undefined });
      expect(deliveryOf(reply)).toEqual({
        deliveries: m.info.deliveryCount,
        seq: m.seq,
        // Exact, in BigInt: a double of the nanoseconds rounds ...999999 up to the next millisecond.
        publishedAt: Number(m.timestampNanos / 1_000_000n),
        pending: m.info.pending,
      });
    }
    expect(() => deliveryOf('$JS.ACK.A.B.1.2.3')).toThrow(/not a JetStream delivery/);
    expect(() => deliveryOf('$JS.NAK.A.B.1.2.3.4.5')).toThrow(/not a JetStream delivery/);
  });
});
