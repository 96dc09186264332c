// Upstream's consumer_reset (reset_if_wiped, #389): the database is a
// projection of the streams, so when a durable projector's table is empty at
// startup the database was wiped (or is new), and the projector's durable
// consumer is deleted before the projectors start. It is recreated with
// deliver-all and replays the whole stream; the projectors' idempotent writes
// and the JetStream publish time as recorded_at reproduce the rows as they
// were. A consumer that does not exist is not an error. Runs once, in main,
// before the ingest worker starts.
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Db } from '../store/db.js';
import { isEmpty } from '../store/wipe.js';
import { DURABLE_PROJECTORS } from './registry.js';

/** Deletes the durable of every projector whose table is empty; returns the durables reset. */
export async function resetIfWiped(nc: NatsConnection, db: Db, log: Logger): Promise<string[]> {
  const jsm = await jetstreamManager(nc);
  const reset: string[] = [];
  for (const p of DURABLE_PROJECTORS) {
    if (!isEmpty(db, p.table)) continue;
    try {
      await jsm.consumers.delete(p.stream, p.durable);
      reset.push(p.durable);
    } catch (err) {
      if (!/consumer not found/i.test((err as Error).message)) throw err;
    }
  }
  if (reset.length)
    log.info({ durables: reset }, 'projection tables are empty: durables reset to replay their streams');
  return reset;
}
