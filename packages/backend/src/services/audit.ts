// Recording operator actions. Every mutating route (and the scheduler) calls
// record(); the event goes to `audit.{actor}.{action}[.{target}]` with a
// JetStream publish that waits for the AUDIT stream's ack. The caller
// (username and the X-Kanade-Source header) travels in the payload, as
// upstream does.
//
// record() is called after the action took effect, so it must not fail the
// request: an exec whose Commands are out, answered with 503 because the
// AUDIT stream was electing a leader, makes the client retry and run the job
// twice (the scale-out failover test caught exactly that). So a publish that
// fails is retried for a few seconds in the foreground; past that, the event
// joins a bounded backlog that a background loop redelivers in order until
// the broker takes it. Upstream publishes audit events best effort (a core
// publish whose failure is only logged); here an event is lost only when the
// process stops with a backlog or the backlog overflows, and both are counted
// (`kanade_audit_*` in /metrics). Each event carries a msgID, so a retry of a
// publish whose ack was lost is dropped by the stream as a duplicate.

import { randomUUID } from 'node:crypto';
import { subject, toRfc3339 } from '@kanade/wire';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.js';

export interface Caller {
  username: string;
  source?: string | undefined;
}

export interface AuditRecord {
  /** Coarse tier: operator, admin, scheduler, auth, ... */
  actor: string;
  action: string;
  target?: string | null;
  payload?: Record<string, unknown>;
  caller?: Caller;
}

export interface AuditOptions {
  now?: () => number;
  metrics?: Pick<Metrics, 'audit'>;
  /** How long record() retries before handing the event to the backlog. */
  foregroundRetryMs?: number;
  /** Pause between background redelivery rounds. */
  backlogRetryMs?: number;
  /** Events the backlog holds; past that the oldest is dropped (and counted). */
  backlogMax?: number;
}

interface Pending {
  subject: string;
  body: string;
  msgID: string;
  action: string;
  target: string | null;
}

export function createAuditService(nc: NatsConnection, log: Logger, opts: AuditOptions = {}) {
  const js = jetstream(nc);
  const now = opts.now ?? Date.now;
  const foregroundRetryMs = opts.foregroundRetryMs ?? 5000;
  const backlogRetryMs = opts.backlogRetryMs ?? 2000;
  const backlogMax = opts.backlogMax ?? 10_000;
  const backlog: Pending[] = [];
  let timer: NodeJS.Timeout | undefined;
  let draining: Promise<void> | undefined;
  let stopped = false;
  opts.metrics?.audit.observeBacklog(() => backlog.length);

  const publish = (p: Pending) => js.publish(p.subject, p.body, { msgID: p.msgID });

  /** Publish the backlog oldest first; stop at the first failure and try again later. */
  async function drain(): Promise<void> {
    while (backlog.length > 0) {
      try {
        await publish(backlog[0]!);
      } catch (err) {
        if (!stopped) timer = setTimeout(kick, backlogRetryMs);
        log.warn(
          { backlog: backlog.length, err: (err as Error).message, retry_in_ms: backlogRetryMs },
          'audit backlog redelivery failed; retrying',
        );
        return;
      }
      backlog.shift();
      if (backlog.length === 0) log.info('audit backlog delivered');
    }
  }

  function kick() {
    timer = undefined;
    draining ??= drain().finally(() => {
      draining = undefined;
    });
  }

  function defer(p: Pending, err: unknown) {
    if (backlog.length >= backlogMax) {
      const lost = backlog.shift()!;
      opts.metrics?.audit.lost();
      log.error({ action: lost.action, target: lost.target }, 'audit backlog full; oldest event dropped');
    }
    backlog.push(p);
    opts.metrics?.audit.deferred();
    log.error(
      { action: p.action, target: p.target, backlog: backlog.length, err: (err as Error).message },
      'audit publish failed; queued for redelivery',
    );
    if (!timer && !draining && !stopped) timer = setTimeout(kick, backlogRetryMs);
  }

  return {
    /** Resolves once the event is in the AUDIT stream or queued for redelivery; never rejects. */
    async record(r: AuditRecord): Promise<void> {
      const payload = {
        ...(r.payload ?? {}),
        ...(r.caller ? { caller: r.caller.username, source: r.caller.source ?? null } : {}),
      };
      const body = {
        actor: r.actor,
        action: r.action,
        target: r.target ?? null,
        payload,
        occurred_at: toRfc3339(now()),
      };
      const p: Pending = {
        subject: subject.audit(r.actor, r.action, r.target),
        body: JSON.stringify(body),
        msgID: randomUUID(),
        action: r.action,
        target: r.target ?? null,
      };
      // Behind a backlog: queue, so events reach the stream in the order they happened.
      if (backlog.length > 0) return defer(p, new Error('earlier audit events are still queued'));
      const deadline = Date.now() + foregroundRetryMs;
      for (let attempt = 1; ; attempt++) {
        try {
          await publish(p);
          return;
        } catch (err) {
          if (stopped || Date.now() >= deadline) return defer(p, err);
          await new Promise((res) => setTimeout(res, Math.min(250 * attempt, 1000)));
        }
      }
    },
    /** Events waiting for redelivery. */
    backlog: () => backlog.length,
    /** Stop redelivering; one last attempt for what is queued, then report what could not be sent. */
    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      await draining;
      if (backlog.length > 0) await drain();
      if (backlog.length > 0) {
        opts.metrics?.audit.lost(backlog.length);
        log.error({ events: backlog.length }, 'stopping with undelivered audit events');
      }
    },
  };
}
export type AuditService = ReturnType<typeof createAuditService>;
