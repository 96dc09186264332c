// Fleet health rollup (`/api/health/fleet`) and JetStream status. Degraded
// means an operator must act: a JetStream resource is missing, every known
// agent is silent, or a projector is failing to write (a full disk, say).
// An unreachable database (PostgreSQL down or restarting) is degraded too.
// The JetStream probe is cached briefly so a dashboard full of tabs does not
// hammer the broker.

import { toRfc3339 } from '@kanade/wire';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Metrics } from '../metrics.js';
import { type JetStreamStatus, jetStreamStatus } from '../nats/bootstrap.js';
import { isStoreUnavailable } from '../store/db.js';
import type { Store } from '../store/index.js';

const CACHE_MS = 5000;

export function createHealthService(deps: {
  store: Store;
  nc: NatsConnection;
  metrics: Metrics;
  now: () => number;
}) {
  let cached: { at: number; value: JetStreamStatus } | undefined;
  let lastFlushErrors = 0;
  let flushErrorsSeenAt = 0;

  async function jetstream(): Promise<JetStreamStatus> {
    const t = deps.now();
    if (cached && t - cached.at < CACHE_MS) return cached.value;
    const value = await jetStreamStatus(deps.nc);
    cached = { at: t, value };
    return value;
  }

  return {
    jetstream,
    async fleet() {
      const now = deps.now();
      let known = 0;
      let active = 0;
      let dbError: string | undefined;
      try {
        ({ known, active } = deps.store.agents.counts(now));
      } catch (err) {
        if (!isStoreUnavailable(err)) throw err;
        dbError = (err as Error).message;
      }
      let js: JetStreamStatus | undefined;
      let jsError: string | undefined;
      try {
        js = await jetstream();
      } catch (err) {
        jsError = (err as Error).message;
      }
      const all = js ? [...js.streams, ...js.kv_buckets, ...js.object_stores] : [];
      const missing = all.filter((r) => !r.exists).map((r) => r.name);
      const healthy = all.length - missing.length;
      const projectors = deps.metrics.projectorTotals();
      const flushErrors = Object.values(projectors).reduce((n, p) => n + p.flushErrors, 0);
      if (flushErrors > lastFlushErrors) {
        lastFlushErrors = flushErrors;
        flushErrorsSeenAt = now;
      }
      const ingestFailing = flushErrorsSeenAt > 0 && now - flushErrorsSeenAt < 5 * 60 * 1000;
      const reasons: string[] = [];
      if (dbError) reasons.push(`database unreachable: ${dbError}`);
      if (jsError) reasons.push(`JetStream unreachable: ${jsError}`);
      if (missing.length) reasons.push(`JetStream resources missing: ${missing.join(', ')}`);
      if (known > 0 && active === 0) reasons.push('every known agent is offline');
      if (ingestFailing) {
        const failing = Object.entries(projectors).filter(([, p]) => p.flushErrors > 0);
        reasons.push(
          `projector writes failed in the last 5 minutes (${failing.map(([name]) => name).join(', ')}); ` +
            'durable messages wait unacknowledged in JetStream',
        );
      }
      const status: 'ok' | 'unknown' | 'degraded' = reasons.length
        ? 'degraded'
        : known === 0
          ? 'unknown'
          : 'ok';
      return {
        status,
        reasons,
        agents: { known, active, stale: known - active },
        jetstream: { all_ok: !jsError && missing.length === 0, healthy, total: all.length, missing },
        ingest: projectors,
        observed_at: toRfc3339(now),
      };
    },
  };
}
export type HealthService = ReturnType<typeof createHealthService>;
