// The durable projector loop, exercised through the audit projector on a real
// broker and the built backend: batches land once, poison is acked and
// counted, and a SIGKILL mid-ingest followed by a restart leaves every event
// exactly once (redelivery is absorbed by the stream_seq key).

import { jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, removeDir, startBackend, type TestBackend } from '../../../test-support/backend.js';
import { openStoreDb } from '../../../test-support/db.js';
import { startNats, type TestNats } from '../../../test-support/nats-server.js';

let nats: TestNats;
let nc: NatsConnection;
let be: TestBackend;
let dataDir: string;

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

function auditRows(): { n: number; uniq: number } {
  const db = openStoreDb(dataDir, { readonly: true });
  try {
    return db.prepare('SELECT COUNT(*) AS n, COUNT(DISTINCT stream_seq) AS uniq FROM audit_log').get() as {
      n: number;
      uniq: number;
    };
  } finally {
    db.close();
  }
}

async function publishAudit(from: number, count: number) {
  const js = jetstream(nc);
  const acks: Promise<unknown>[] = [];
  for (let i = from; i < from + count; i++) {
    const body = {
      actor: 'operator',
      action: 'test',
      target: `t${i}`,
      payload: { i },
      occurred_at: new Date().toISOString(),
    };
    acks.push(js.publish(`audit.operator.test.t${i}`, JSON.stringify(body)));
    if (acks.length >= 500) await Promise.all(acks.splice(0));
  }
  await Promise.all(acks);
}

describe('durable projector loop', () => {
  it('projects every event once and acks poison without blocking the stream', async () => {
    const js = jetstream(nc);
    await js.publish('audit.operator.bad', 'not json');
    await js.publish('audit.operator.bad', JSON.stringify({ actor: 1 }));
    await publishAudit(0, 500);
    await eventually(async () => auditRows().n === 500, 15_000, '500 audit rows');
    await eventually(
      async () =>
        /kanade_projector_invalid_total\{projector="audit"\} 2\n/.test(
          await (await be.fetch('/metrics')).text(),
        ),
      5000,
      'poison counted',
    );
  });

  it('keeps every event exactly once across a SIGKILL and restart', async () => {
    const publishing = publishAudit(500, 5000);
    await eventually(async () => auditRows().n > 1000, 15_000, 'ingest under way');
    await be.kill();
    await publishing;
    be = await startBackend({ natsUrl: nats.url, dataDir });
    const rows = await eventually(
      async () => {
        const r = auditRows();
        return r.n >= 5500 ? r : undefined;
      },
      30_000,
      'all 5,500 rows',
    );
    expect(rows).toEqual({ n: 5500, uniq: 5500 });
    await new Promise((r) => setTimeout(r, 1000));
    expect(auditRows().n).toBe(5500);
  });
});
