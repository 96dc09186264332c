// Audit events must never fail the action they record (services/audit.ts):
// while the AUDIT stream cannot take them, record() resolves anyway and the
// events wait in a backlog that is redelivered in order, exactly once, when
// the stream is back. Overflow and a stop with a backlog are counted.
import { STREAM } from '@kanade/wire';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../../test-support/backend.js';
import { startNats, type TestNats } from '../../../test-support/nats-server.js';
import { createMetrics } from '../src/metrics.js';
import { createAuditService } from '../src/services/audit.js';

let nats: TestNats;
let nc: NatsConnection;
const log = pino({ level: 'silent' });

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
});
afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

async function metric(m: ReturnType<typeof createMetrics>, name: string): Promise<number> {
  const v = (await m.registry.getSingleMetric(name)?.get())?.values[0]?.value;
  return v ?? 0;
}

async function targetsInStream(): Promise<string[]> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(STREAM.AUDIT);
  const out: string[] = [];
  for (let seq = 1; seq <= info.state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(STREAM.AUDIT, { seq });
    out.push((m!.json() as { target: string }).target);
  }
  return out;
}

describe('audit service', () => {
  it('answers while the AUDIT stream is missing, then delivers the backlog once and in order', async () => {
    const metrics = createMetrics();
    const audit = createAuditService(nc, log, { metrics, foregroundRetryMs: 300, backlogRetryMs: 200 });
    const t = Date.now();
    await audit.record({ actor: 'operator', action: 'exec', target: 'a' });
    await audit.record({ actor: 'operator', action: 'exec', target: 'b' });
    expect(Date.now() - t).toBeLessThan(5000);
    expect(audit.backlog()).toBe(2);
    expect(await metric(metrics, 'kanade_audit_deferred_total')).toBe(2);
    expect(await metric(metrics, 'kanade_audit_backlog')).toBe(2);

    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: STREAM.AUDIT, subjects: ['audit.>'] });
    await eventually(async () => audit.backlog() === 0, 10_000, 'the backlog drains');
    // Queued behind the backlog would be out of order; with it empty the next event goes straight out.
    await audit.record({ actor: 'operator', action: 'exec', target: 'c' });
    expect(await targetsInStream()).toEqual(['a', 'b', 'c']);
    expect(await metric(metrics, 'kanade_audit_lost_total')).toBe(0);
    await audit.stop();
    await jsm.streams.delete(STREAM.AUDIT);
  });

  it('counts what it drops when the backlog overflows or the backend stops with one', async () => {
    const metrics = createMetrics();
    const audit = createAuditService(nc, log, {
      metrics,
      foregroundRetryMs: 0,
      backlogRetryMs: 60_000,
      backlogMax: 2,
    });
    for (const target of ['a', 'b', 'c']) await audit.record({ actor: 'operator', action: 'exec', target });
    expect(audit.backlog()).toBe(2);
    expect(await metric(metrics, 'kanade_audit_lost_total')).toBe(1);
    await audit.stop();
    expect(await metric(metrics, 'kanade_audit_lost_total')).toBe(3);
  });
});
