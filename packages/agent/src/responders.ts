// The agent's request/reply endpoints on core NATS: `agents.{pc_id}.ping`
// answers with a fresh Heartbeat, `job.tail.{pc_id}` with the live output of
// a run by result_id (found: false once it is gone). nats.js re-subscribes
// both after a reconnect. A request that does not decode gets found: false
// rather than silence, so the caller does not wait for its timeout.

import { JobTailRequest, subject, toRfc3339 } from '@kanade/wire';
import type { NatsConnection } from '@nats-io/transport-node';
import { pingHeartbeat } from './heartbeat.js';
import type { Identity } from './identity.js';
import type { LiveTails } from './live-tail.js';

export interface Responders {
  stop(): void;
}

export function startResponders(
  nc: NatsConnection,
  identity: Identity,
  tails: LiveTails,
  log: (line: string) => void,
): Responders {
  const ping = nc.subscribe(subject.agentPing(identity.pcId), {
    callback: (_err, m) => {
      if (!m.reply) return;
      m.respond(JSON.stringify(pingHeartbeat(identity, toRfc3339(Date.now()))));
    },
  });
  const tail = nc.subscribe(subject.jobTail(identity.pcId), {
    callback: (_err, m) => {
      if (!m.reply) return;
      let resultId = '';
      try {
        resultId = JobTailRequest.parse(m.json()).result_id;
      } catch (err) {
        log(`job.tail: bad request (${(err as Error).message})`);
      }
      m.respond(JSON.stringify(tails.reply(resultId)));
    },
  });
  return {
    stop() {
      ping.unsubscribe();
      tail.unsubscribe();
    },
  };
}
