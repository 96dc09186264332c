// Recording operator actions. Every mutating route (and the scheduler) calls
// record(); the event goes to `audit.{actor}.{action}[.{target}]` with a
// JetStream publish that waits for the AUDIT stream's ack, so an action that
// returned success has a durable audit record. The caller (username and the
// X-Kanade-Source header) travels in the payload, as upstream does.

import { subject, toRfc3339 } from '@kanade/wire';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';

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

export function createAuditService(nc: NatsConnection, log: Logger, now: () => number = Date.now) {
  const js = jetstream(nc);
  return {
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
      try {
        await js.publish(subject.audit(r.actor, r.action, r.target), JSON.stringify(body));
      } catch (err) {
        log.error(
          { action: r.action, target: r.target, err: (err as Error).message },
          'audit publish failed',
        );
        throw err;
      }
    },
  };
}
export type AuditService = ReturnType<typeof createAuditService>;
