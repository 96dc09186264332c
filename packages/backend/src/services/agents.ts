// Fleet roster and per-host telemetry reads. Thin today: the rules here are
// the time window defaults and limits that every caller (HTTP, CLI-facing
// routes, later the scheduler) must share.

import { badRequest, notFound } from '../http/errors.js';
import type { AgentListQuery } from '../store/agents.js';
import type { Store } from '../store/index.js';
import type { FleetMetric } from '../store/perf.js';

export const MAX_PERF_BUCKETS = 10_000;

export function createAgentService(store: Store, now: () => number) {
  return {
    list(q: Omit<AgentListQuery, 'now'>) {
      return store.agents.list({ ...q, now: now() });
    },
    get(pcId: string) {
      const a = store.agents.get(pcId, now());
      if (!a) throw notFound(`no agent ${pcId}`);
      return a;
    },
    versions() {
      return store.agents.versions(now());
    },
    /** Bucketed host perf; default window is the last hour, default step 5 minutes. */
    perf(pcId: string, q: { from?: number; to?: number; step?: number }) {
      const to = q.to ?? now();
      const from = q.from ?? to - 60 * 60 * 1000;
      const step = q.step ?? 5 * 60 * 1000;
      if (from >= to) throw badRequest('query parameter from: must be earlier than to');
      if ((to - from) / step > MAX_PERF_BUCKETS) {
        throw badRequest(
          `query parameter step: the window would need more than ${MAX_PERF_BUCKETS} buckets; use a larger step`,
        );
      }
      return {
        pc_id: pcId,
        from,
        to,
        step_seconds: step / 1000,
        points: store.perf.hostPerf(pcId, from, to, step),
      };
    },
    processes(pcId: string) {
      return { pc_id: pcId, ...store.perf.latestProcesses(pcId) };
    },
    fleetPerf(q: { metric: FleetMetric; agg: 'avg' | 'max'; from?: number; to?: number; step?: number }) {
      const step = q.step ?? 15 * 60 * 1000;
      if (step % 60_000 !== 0) throw badRequest('query parameter step: must be a whole number of minutes');
      const to = q.to ?? now();
      const rawFrom = q.from ?? to - 24 * 60 * 60 * 1000;
      const from = rawFrom - (rawFrom % 60_000);
      if (from >= to) throw badRequest('query parameter from: must be earlier than to');
      if ((to - from) / step > MAX_PERF_BUCKETS) {
        throw badRequest(`query parameter step: the window would need more than ${MAX_PERF_BUCKETS} buckets`);
      }
      return {
        metric: q.metric,
        agg: q.agg,
        from,
        to,
        step_seconds: step / 1000,
        points: store.perf.fleet(q.metric, q.agg, from, to, step),
      };
    },
    top(q: { metric: FleetMetric; window: number; limit: number }) {
      return {
        metric: q.metric,
        window_seconds: q.window / 1000,
        rows: store.perf.top(q.metric, now() - q.window, q.limit),
      };
    },
  };
}
export type AgentService = ReturnType<typeof createAgentService>;
