// Wire fuzzing: generated malformed payloads, mixed with valid ones, on every
// subject the backend consumes (heartbeat.>, host_perf.>, process_perf.>,
// results.>, events.started.>, audit.>, obs.>), published to the built
// backend on a real nats-server. The backend must never crash or stall,
// every valid message must be stored, and every invalid one counted in
// /metrics (kanade_projector_invalid_total), exactly. 5,000 messages here;
// `npm run chaos -- fuzz` sends 100,000 (KANADE_FUZZ_WIRE_COUNT overrides).
import { jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { eventually, removeDir, startBackend, type TestBackend } from '../../../../test-support/backend.js';
import { startNats, type TestNats } from '../../../../test-support/nats-server.js';
import { assertAlive, count, metrics, projectorMetric, report, scale, sleep } from '../chaos/support.js';
import {
  type FuzzMessage,
  generate,
  JETSTREAM_PROJECTORS,
  keyPrefix,
  PROJECTORS,
  type Projector,
} from './wire-cases.js';

const COUNT = scale(5_000, 100_000, 'KANADE_FUZZ_WIRE_COUNT');
const SEED = Number(process.env.KANADE_FUZZ_SEED) || 20240501;

let nats: TestNats;
let nc: NatsConnection;
let be: TestBackend;

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url, maxReconnectAttempts: -1 });
  be = await startBackend({ natsUrl: nats.url });
});
afterAll(async () => {
  await be?.kill();
  if (be) removeDir(be.dataDir);
  await nc?.close();
  await nats?.stop();
});

/** Rows a projector stored for keys starting with `prefix`. */
function stored(p: Projector, prefix: string): number {
  const like = `${keyPrefix(prefix, p)}%`;
  const d = be.dataDir;
  switch (p) {
    case 'heartbeat':
      return count(d, 'SELECT COUNT(*) FROM agents WHERE pc_id LIKE ?', like);
    case 'host_perf':
      return count(d, 'SELECT COUNT(*) FROM host_perf_samples WHERE pc_id LIKE ?', like);
    case 'process_perf':
      return count(d, 'SELECT COUNT(*) FROM process_perf_samples WHERE pc_id LIKE ?', like);
    case 'results':
      return count(
        d,
        'SELECT COUNT(*) FROM execution_results WHERE result_id LIKE ? AND finished_at IS NOT NULL',
        like,
      );
    case 'events':
      return count(d, 'SELECT COUNT(*) FROM execution_results WHERE result_id LIKE ?', like);
    case 'audit':
      return count(d, "SELECT COUNT(*) FROM audit_log WHERE actor = 'fuzz' AND target LIKE ?", like);
    case 'obs_events':
      return count(d, 'SELECT COUNT(*) FROM obs_events WHERE event_record_id LIKE ?', like);
  }
}

/**
 * Publish everything: telemetry on core NATS, durable subjects through JetStream (each publish acked
 * by the stream). Core NATS has no flow control, so the publisher waits for the backend to have
 * received what was sent before it runs more than a window ahead (a slow consumer would lose
 * telemetry by design, which is not what this test measures).
 */
async function publishAll(msgs: Iterable<FuzzMessage>) {
  const js = jetstream(nc);
  const acks: Promise<unknown>[] = [];
  const sent = Object.fromEntries(PROJECTORS.map((p) => [p, { valid: 0, invalid: 0 }])) as Record<
    Projector,
    { valid: number; invalid: number }
  >;
  const kinds: Record<string, number> = {};
  let telemetrySent = 0;
  let bytes = 0;
  let sinceFlush = 0;
  const flushEvery = 4 * 1024 * 1024;
  for (const m of msgs) {
    if (m.valid) sent[m.projector].valid++;
    else sent[m.projector].invalid++;
    kinds[m.kind] = (kinds[m.kind] ?? 0) + 1;
    bytes += m.data.length;
    sinceFlush += m.data.length + 64;
    if (JETSTREAM_PROJECTORS.has(m.projector)) {
      acks.push(js.publish(m.subject, m.data));
    } else {
      nc.publish(m.subject, m.data);
      telemetrySent++;
    }
    if (acks.length >= 256 || sinceFlush >= flushEvery) {
      await Promise.all(acks.splice(0));
      await nc.flush();
      sinceFlush = 0;
      await waitTelemetryReceived(telemetrySent - 2_000);
    }
  }
  await Promise.all(acks);
  await nc.flush();
  return { sent, kinds, bytes };
}

async function telemetryReceived(): Promise<number> {
  const m = await metrics(be);
  return ['heartbeat', 'host_perf', 'process_perf'].reduce(
    (n, p) => n + projectorMetric(m, 'received', p),
    0,
  );
}

async function waitTelemetryReceived(atLeast: number) {
  if (atLeast <= 0) return;
  await eventually(
    async () => (await telemetryReceived()) >= atLeast,
    60_000,
    `${atLeast} telemetry received`,
  );
}

describe('wire fuzzing', () => {
  it(
    `stores every valid message and counts every invalid one (${COUNT.toLocaleString()} messages)`,
    async () => {
      const prefix = 'wf';
      const started = Date.now();
      let slowestHealthMs = 0;
      let healthFailures = 0;
      let probing = true;
      const prober = (async () => {
        while (probing) {
          const t = Date.now();
          const r = await be.fetch('/health').catch(() => undefined);
          if (!r?.ok) healthFailures++;
          slowestHealthMs = Math.max(slowestHealthMs, Date.now() - t);
          await sleep(250);
        }
      })();
      onTestFinished(() => {
        probing = false;
      });
      const { sent, kinds, bytes } = await publishAll(generate({ count: COUNT, seed: SEED, prefix }));
      const published = Date.now();

      // Every valid message is stored, every invalid one counted.
      const deadline = 60_000 + COUNT;
      for (const p of PROJECTORS) {
        await eventually(
          async () => stored(p, prefix) === sent[p].valid,
          deadline,
          `${p}: ${sent[p].valid} valid rows (have ${stored(p, prefix)})`,
        );
      }
      await eventually(
        async () => {
          const m = await metrics(be);
          return PROJECTORS.every((p) => projectorMetric(m, 'invalid', p) === sent[p].invalid);
        },
        30_000,
        'invalid counters',
      );
      probing = false;
      await prober;
      const m = await metrics(be);
      const per = Object.fromEntries(
        PROJECTORS.map((p) => [
          p,
          `${stored(p, prefix)}/${sent[p].valid} stored, ${projectorMetric(m, 'invalid', p)}/${sent[p].invalid} invalid`,
        ]),
      );
      for (const p of PROJECTORS) {
        expect(stored(p, prefix), p).toBe(sent[p].valid);
        expect(projectorMetric(m, 'invalid', p), p).toBe(sent[p].invalid);
        if (!JETSTREAM_PROJECTORS.has(p)) expect(projectorMetric(m, 'dropped', p), p).toBe(0);
      }
      assertAlive(be);

      // Not stalled: a fresh valid message on every subject still lands at once.
      const after = [...generate({ count: 7, seed: SEED + 1, prefix: 'wf-after', validShare: 1 })];
      await publishAll(after);
      for (const p of PROJECTORS)
        await eventually(async () => stored(p, 'wf-after') === 1, 10_000, `${p} after`);
      assertAlive(be);
      report('wire fuzz', {
        messages: COUNT,
        megabytes: (bytes / 1024 / 1024).toFixed(1),
        publish_s: ((published - started) / 1000).toFixed(1),
        drain_s: ((Date.now() - published) / 1000).toFixed(1),
        slowest_health_ms: slowestHealthMs,
        health_failures: healthFailures,
        kinds,
        per_projector: per,
      });
      expect(healthFailures).toBe(0);
      expect(slowestHealthMs).toBeLessThan(5_000);
    },
    120_000 + COUNT * 10,
  );
});
