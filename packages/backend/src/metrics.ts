// Prometheus metrics (`GET /metrics`). Projector counters arrive as deltas
// from the ingest worker; process metrics come from prom-client's defaults.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { ProjectorDelta } from './projectors/stats.js';

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'kanade_' });
  const labelNames = ['projector'] as const;
  const counter = (name: string, help: string) =>
    new Counter({ name: `kanade_projector_${name}_total`, help, labelNames, registers: [registry] });
  const received = counter('received', 'Messages received by the projector');
  const written = counter('written', 'Rows written by the projector');
  const invalid = counter('invalid', 'Messages rejected because they did not decode or validate');
  const dropped = counter('dropped', 'Decoded messages lost because their window failed to write');
  const flushes = counter('flushes', 'Write transactions committed by the projector');
  const flushErrors = counter('flush_errors', 'Write transactions that failed');
  const flushSeconds = new Histogram({
    name: 'kanade_projector_flush_duration_seconds',
    help: 'Duration of one projector write transaction',
    labelNames,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  // Audit events that missed the AUDIT stream (services/audit.ts): deferred to the backlog, and lost.
  const auditDeferred = new Counter({
    name: 'kanade_audit_deferred_total',
    help: 'Audit events whose publish kept failing and were queued for background redelivery',
    registers: [registry],
  });
  const auditLost = new Counter({
    name: 'kanade_audit_lost_total',
    help: 'Audit events dropped: the redelivery backlog overflowed, or the backend stopped with it',
    registers: [registry],
  });
  let auditBacklog = () => 0;
  new Gauge({
    name: 'kanade_audit_backlog',
    help: 'Audit events waiting for redelivery to the AUDIT stream',
    registers: [registry],
    collect() {
      this.set(auditBacklog());
    },
  });
  const totals = new Map<
    string,
    {
      received: number;
      written: number;
      invalid: number;
      dropped: number;
      flushes: number;
      flushErrors: number;
    }
  >();

  return {
    registry,
    audit: {
      deferred: () => auditDeferred.inc(),
      lost: (n = 1) => auditLost.inc(n),
      observeBacklog(fn: () => number) {
        auditBacklog = fn;
      },
    },
    recordProjector(name: string, d: ProjectorDelta) {
      const l = { projector: name };
      received.inc(l, d.received);
      written.inc(l, d.written);
      invalid.inc(l, d.invalid);
      dropped.inc(l, d.dropped);
      flushes.inc(l, d.flushes);
      flushErrors.inc(l, d.flushErrors);
      for (const s of d.flushSeconds) flushSeconds.observe(l, s);
      const t = totals.get(name) ?? {
        received: 0,
        written: 0,
        invalid: 0,
        dropped: 0,
        flushes: 0,
        flushErrors: 0,
      };
      t.received += d.received;
      t.written += d.written;
      t.invalid += d.invalid;
      t.dropped += d.dropped;
      t.flushes += d.flushes;
      t.flushErrors += d.flushErrors;
      totals.set(name, t);
    },
    /** Running totals per projector (health endpoint). */
    projectorTotals() {
      return Object.fromEntries(totals);
    },
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
