// The ingest worker's database writer thread (ingest/writer.ts) and the WAL
// checkpointer (store/checkpointer.ts), on a real SQLite file: batches from
// the durable projectors commit in hand-over order, a batch that fails is
// reported without touching the others, a trickle of messages gathers behind
// a commit instead of being handed over one by one, and the checkpointer
// copies the WAL back while a writer keeps committing.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { pino } from 'pino';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { eventually } from '../../../test-support/backend.js';
import { startNats } from '../../../test-support/nats-server.js';
import { startWriter } from '../src/ingest/writer.js';
import { bootstrapJetStream } from '../src/nats/bootstrap.js';
import { auditProjector } from '../src/projectors/audit.js';
import { startDurableProjector } from '../src/projectors/durable.js';
import { emptyDelta } from '../src/projectors/stats.js';
import { startCheckpointer } from '../src/store/checkpointer.js';
import { createStore, openDb } from '../src/store/index.js';

const log = pino({ level: process.env.TEST_LOG ?? 'silent' });
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function freshDb(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kanade-writer-'));
  dirs.push(dir);
  const path = join(dir, 'kanade.db');
  openDb(path).close(); // migrated
  return path;
}

const auditRows = (from: number, n: number) =>
  Array.from({ length: n }, (_, i) => ({
    actor: 'operator',
    action: 'test',
    target: `t${from + i}`,
    payload: JSON.stringify({ i: from + i, text: 'caf\u00e9 \ud83d\ude00 \u0000' }),
    occurred_at: 1_700_000_000_000 + from + i,
    stream_seq: from + i,
  }));

describe('database writer thread', () => {
  it('commits batches in the order they were handed over, each answering for itself', async () => {
    const path = freshDb();
    const writer = startWriter({ target: { sqlitePath: path }, logLevel: 'silent' }, log);
    await writer.ready;
    const answers = await Promise.allSettled([
      writer.apply('audit', auditRows(1, 500), Date.now()),
      writer.apply('no-such-projector', auditRows(501, 10), Date.now()),
      writer.apply('audit', auditRows(511, 500), Date.now()),
      // The same rows again: the projector's key (stream_seq) makes it a no-op, not a failure.
      writer.apply('audit', auditRows(1, 500), Date.now()),
    ]);
    expect(answers.map((a) => a.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect((answers[0] as PromiseFulfilledResult<{ written: number }>).value.written).toBe(500);
    expect((answers[1] as PromiseRejectedResult).reason.message).toMatch(/no durable projector named/);
    expect((answers[3] as PromiseFulfilledResult<{ written: number }>).value.written).toBe(0);
    await writer.close();
    await expect(writer.apply('audit', auditRows(2000, 1), Date.now())).rejects.toThrow(/closing/);

    const db = openDb(path, { readonly: true });
    const rows = db.prepare('SELECT stream_seq, payload FROM audit_log ORDER BY id').all() as {
      stream_seq: number;
      payload: string;
    }[];
    db.close();
    // Committed in hand-over order (ids follow it), and the text survived the trip intact.
    expect(rows.map((r) => r.stream_seq)).toEqual([
      ...Array.from({ length: 500 }, (_, i) => 1 + i),
      ...Array.from({ length: 500 }, (_, i) => 511 + i),
    ]);
    expect(JSON.parse(rows[0]!.payload).text).toBe('caf\u00e9 \ud83d\ude00 \u0000');
  });
});

describe('group commit', () => {
  it('commits the batches queued behind a transaction together, and still answers each on its own', async () => {
    const path = freshDb();
    const writer = startWriter({ target: { sqlitePath: path }, logLevel: 'silent' }, log);
    await writer.ready;
    // Handed over in one go: while the first is written, the others queue up behind it.
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, b) => writer.apply('audit', auditRows(1 + b * 1000, 1000), Date.now())),
    );
    await writer.close();
    expect(answers.map((a) => a.written)).toEqual(Array(8).fill(1000));
    // Fewer transactions than batches; every batch's share of its transaction's time is reported.
    const shared = answers as { written: number; seconds: number; batches: number }[];
    expect(Math.max(...shared.map((a) => a.batches))).toBeGreaterThan(1);
    expect(shared.every((a) => a.seconds > 0)).toBe(true);
    const db = openDb(path, { readonly: true });
    const seqs = db.prepare('SELECT stream_seq FROM audit_log ORDER BY id').pluck().all();
    db.close();
    expect(seqs).toEqual(Array.from({ length: 8000 }, (_, i) => 1 + i));
  });

  it('fails only the failing batch of a group', async () => {
    const path = freshDb();
    // Every row of the third batch breaks a constraint (a trigger refuses its targets).
    const setup = openDb(path, { migrate: false });
    setup.exec(`CREATE TRIGGER refuse BEFORE INSERT ON audit_log WHEN NEW.target LIKE 'bad%'
      BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`);
    setup.close();
    const writer = startWriter({ target: { sqlitePath: path }, logLevel: 'silent' }, log);
    await writer.ready;
    const bad = auditRows(3001, 1000).map((r) => ({ ...r, target: `bad${r.target}` }));
    const answers = await Promise.allSettled([
      writer.apply('audit', auditRows(1, 1000), Date.now()),
      writer.apply('audit', auditRows(1001, 1000), Date.now()),
      writer.apply('audit', bad, Date.now()),
      writer.apply('audit', auditRows(4001, 1000), Date.now()),
    ]);
    await writer.close();
    expect(answers.map((a) => a.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect((answers[2] as PromiseRejectedResult).reason.message).toMatch(/refused by the test/);
    const db = openDb(path, { readonly: true });
    expect(db.prepare('SELECT COUNT(*) FROM audit_log').pluck().get()).toBe(3000);
    expect(db.prepare("SELECT COUNT(*) FROM audit_log WHERE target LIKE 'bad%'").pluck().get()).toBe(0);
    db.close();
  });
});

describe('a trickle at the writer', () => {
  it('gathers the messages that arrive during a commit into the next batch', async () => {
    const path = freshDb();
    const nats = await startNats();
    const nc = await connect({ servers: nats.url });
    const writer = startWriter({ target: { sqlitePath: path }, logLevel: 'silent' }, log);
    const db = openDb(path, { migrate: false });
    // Holds the write lock, so that the first batch's commit waits (busy_timeout) until released.
    const lock = openDb(path, { migrate: false });
    let locked = false;
    onTestFinished(async () => {
      if (locked) lock.exec('ROLLBACK');
      lock.close();
      await writer.close();
      db.close();
      await nc.close();
      await nats.stop();
    });
    await writer.ready;
    await bootstrapJetStream(nc);
    const projector = startDurableProjector(auditProjector, {
      nc,
      store: createStore(db),
      log,
      writer,
      ackAll: true,
    });
    onTestFinished(() => projector.stop());
    const seen = emptyDelta();
    const count = () => {
      const d = projector.stats.take();
      seen.received += d.received;
      seen.written += d.written;
      seen.flushes += d.flushes;
      return seen;
    };
    const js = jetstream(nc);
    const publish = (i: number) =>
      js.publish(
        `audit.operator.test.t${i}`,
        JSON.stringify({
          actor: 'operator',
          action: 'test',
          target: `t${i}`,
          occurred_at: new Date().toISOString(),
        }),
      );

    lock.exec('BEGIN IMMEDIATE');
    locked = true;
    // The first message is handed over alone (the consumer has caught up) and its commit waits.
    await publish(1);
    await eventually(async () => count().received === 1, 10_000, 'the first message');
    // Nineteen more trickle in, one at a time, each with nothing behind it in the stream.
    for (let i = 2; i <= 20; i++) {
      await publish(i);
      await new Promise((r) => setTimeout(r, 10));
    }
    await eventually(async () => count().received === 20, 10_000, 'twenty messages');
    lock.exec('COMMIT');
    locked = false;
    await eventually(async () => count().written === 20, 10_000, 'twenty rows written');
    // Two batches: the first, and the nineteen that gathered while it waited (one each without the
    // gathering: a transaction per message).
    expect(seen.flushes).toBe(2);
    expect(db.prepare('SELECT COUNT(*) FROM audit_log').pluck().get()).toBe(20);
  });
});

describe('WAL checkpointer', () => {
  it('copies committed frames into the database file while a writer keeps committing', async () => {
    const path = freshDb();
    const db = openDb(path, { migrate: false });
    db.pragma('wal_autocheckpoint = 0'); // only the checkpointer copies
    const cp = startCheckpointer(path, log, 50);
    try {
      const insert = db.prepare(
        'INSERT INTO audit_log (actor, action, target, payload, occurred_at, stream_seq) VALUES (?, ?, ?, ?, ?, ?)',
      );
      for (let batch = 0; batch < 20; batch++) {
        db.transaction(() => {
          for (const r of auditRows(batch * 500, 500))
            insert.run(r.actor, r.action, r.target, r.payload, r.occurred_at, r.stream_seq);
        })();
        await new Promise((r) => setTimeout(r, 10));
      }
      await eventually(async () => cp.frames() > 0, 10_000, 'a checkpoint copied frames');
      // Everything is in the WAL or the file; a fresh reader sees all of it.
      const reader = openDb(path, { readonly: true });
      expect((reader.prepare('SELECT COUNT(*) AS n FROM audit_log').get() as { n: number }).n).toBe(10_000);
      reader.close();
    } finally {
      await cp.stop();
      db.close();
    }
  });
});
