// Two replicas starting at the same moment on a durable that a single
// SQLite backend left behind (AckPolicy.All, some messages delivered and not
// acked), as happens when an installation moves to PostgreSQL (its rows
// copied by `kanade-backend migrate-store`) and starts its replicas together.
// Each replica finds the wrong ack policy and recreates the durable from its
// ack floor (projectors/durable.ts); one may delete the consumer the other
// has just created and started reading. What must hold: every event after
// the ack floor is written exactly once (the audit projector is idempotent
// on the stream sequence), the durable starts after the floor, and one
// explicit-ack durable is left with nothing pending. Replicas seldom start
// within the same millisecond, so the second test makes the interleaving that
// matters happen: the durable deleted and added again from the old floor
// while both replicas are reading a 20,000-event backlog.
import { DURABLE, STREAM } from '@kanade/wire';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, removeDir, type TestBackend } from '../../../../test-support/backend.js';
import { startNats, type TestNats } from '../../../../test-support/nats-server.js';
import { bootstrapJetStream } from '../../src/nats/bootstrap.js';
import { createStore, openDb } from '../../src/store/index.js';
import { publishAuditEvents, report, sql } from '../chaos/support.js';
import { NO_PG, newDatabase, startReplica } from './support.js';

let nats: TestNats;
let nc: NatsConnection;
let pg: string;
const replicas: TestBackend[] = [];

beforeAll(async () => {
  if (NO_PG) return;
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  pg = await newDatabase();
  // The streams, as the SQLite backend created them (AUDIT sequences start at 1: t00000 is 1).
  await bootstrapJetStream(nc);
  // What that backend wrote and the migration copied: t00000-t00049, the events it acked.
  const db = openDb({ sqlitePath: '', postgresUrl: pg });
  try {
    createStore(db).audit.insert(
      range(0, 50).map((target, k) => ({
        actor: 'tester',
        action: 'convert',
        target,
        payload: null,
        occurred_at: Date.now(),
        stream_seq: k + 1,
      })),
    );
  } finally {
    db.close();
  }
});
afterAll(async () => {
  for (const r of replicas) {
    await r.kill();
    removeDir(r.dataDir);
  }
  await nc?.close();
  await nats?.stop();
});

/** Events published while the durable is recreated under the replicas. */
const BACKLOG = 20_000;

const range = (from: number, count: number) =>
  Array.from({ length: count }, (_, k) => `t${String(from + k).padStart(5, '0')}`);

const publish = (from: number, count: number) => publishAuditEvents(nc, 'convert', range(from, count));

/** Nothing left for the durable to deliver or to hear an ack for. */
async function everythingAcked(timeoutMs: number) {
  const jsm = await jetstreamManager(nc);
  await eventually(
    async () => {
      const i = await jsm.consumers.info(STREAM.AUDIT, DURABLE.AUDIT);
      return i.num_pending === 0 && i.num_ack_pending === 0;
    },
    timeoutMs,
    'everything acked',
  );
}

const targets = () =>
  sql<{ target: string }>(
    replicas[0]!.dataDir,
    "SELECT target FROM audit_log WHERE action = 'convert' ORDER BY target",
  ).map((r) => r.target);

describe.skipIf(NO_PG)('two replicas converting one durable', () => {
  it('write every event after the ack floor once and leave one explicit-ack durable', async () => {
    // What a SQLite backend leaves: an AckPolicy.All durable that acked t00000-t00049 (into its own
    // database) and had t00050-t00059 delivered, not acked, when it stopped.
    await publish(0, 100);
    const jsm = await jetstreamManager(nc);
    await jsm.consumers.add(STREAM.AUDIT, {
      durable_name: DURABLE.AUDIT,
      ack_policy: AckPolicy.All,
      deliver_policy: DeliverPolicy.All,
      ack_wait: 10_000_000_000,
    });
    const consumer = await jetstream(nc).consumers.get(STREAM.AUDIT, DURABLE.AUDIT);
    const batch = await consumer.fetch({ max_messages: 60, expires: 5000 });
    let n = 0;
    for await (const m of batch) {
      if (++n === 50) await m.ackAck();
      if (n === 60) break;
    }
    const left = await jsm.consumers.info(STREAM.AUDIT, DURABLE.AUDIT);
    expect(left.ack_floor.stream_seq).toBe(50);
    expect(left.num_ack_pending).toBe(10);
    await publish(100, 100);

    replicas.push(...(await Promise.all([startReplica(nats.url, pg), startReplica(nats.url, pg)])));

    const expected = range(0, 200);
    await eventually(async () => targets().length >= expected.length, 30_000, '200 audit rows');
    await everythingAcked(15_000);
    expect(targets()).toEqual(expected);
    const info = await jsm.consumers.info(STREAM.AUDIT, DURABLE.AUDIT);
    expect(info.config.ack_policy).toBe(AckPolicy.Explicit);
    expect(info.config).toMatchObject({ deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: 51 });
    const converted = replicas.filter((r) =>
      r.logs.some(
        (l) => l.includes('durable consumer recreated from its ack floor') && l.includes('"audit"'),
      ),
    );
    expect(converted.length).toBeGreaterThanOrEqual(1);
    report('two replicas converting one durable', { replicas_that_recreated_it: converted.length });
  });

  it('lose and repeat nothing when the other replica recreates the durable under a backlog', async () => {
    // The interleaving the start above rarely produces (replicas seldom come up within the same
    // millisecond): a replica that read the durable's info before the first one converted it deletes
    // the new consumer while the replicas are reading a backlog, and adds it again from the ack floor
    // it saw (after t00049). Everything from there is delivered again; the writes are idempotent.
    const jsm = await jetstreamManager(nc);
    // The backlog piles up while both replicas are stopped, so it is still being read when the
    // durable is recreated.
    for (const r of replicas) r.proc.kill('SIGSTOP');
    try {
      await publish(200, BACKLOG);
    } finally {
      for (const r of replicas) r.proc.kill('SIGCONT');
    }
    await eventually(async () => targets().length >= 1000, 30_000, 'the backlog being read');
    const config = (await jsm.consumers.info(STREAM.AUDIT, DURABLE.AUDIT)).config;
    await jsm.consumers.delete(STREAM.AUDIT, DURABLE.AUDIT);
    const writtenAtDelete = targets().length;
    await jsm.consumers.add(STREAM.AUDIT, { ...config, opt_start_seq: 51 });

    const expected = range(0, 200 + BACKLOG);
    await eventually(async () => targets().length >= expected.length, 90_000, 'the whole backlog');
    await everythingAcked(30_000);
    expect(targets()).toEqual(expected);
    // Both replicas still project: later events are written once each.
    await publish(200 + BACKLOG, 20);
    await eventually(async () => targets().length >= 220 + BACKLOG, 15_000, '20 more');
    expect(targets()).toEqual(range(0, 220 + BACKLOG));
    report('durable recreated under a backlog', {
      rows_written_when_deleted: writtenAtDelete,
      of: 200 + BACKLOG,
    });
  });
});
