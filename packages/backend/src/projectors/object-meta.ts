// Object stores -> object_store_meta, as upstream's object_meta watchers: one
// loop per store reads the store's meta subjects (`$O.<bucket>.M.>`) with an
// ordered consumer delivering the last message per subject, so every live
// object and every tombstone of a deleted one arrives once, then follows new
// meta messages as they are published. Objects written by anyone (an agent
// uploading a collected bundle, another backend replica, the `nats` CLI)
// therefore show up in the lists, not only what this API stored.
//
// Idempotency: each row carries the stream sequence of its meta message, and
// the store never lets an older sequence overwrite or delete a newer one, so
// this loop and the API's write-through can land in either order. Once the
// initial read has caught up (pending 0), rows of keys the store no longer
// has are dropped (the stream may have been purged while nobody watched).
// Any failure reopens the consumer after RETRY_MS and reconciles again. It
// runs on the main thread: meta messages are rare (one per upload or delete).
import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import type { ObjectInfo } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { rowOf } from '../services/objects.js';
import type { Store } from '../store/index.js';

const RETRY_MS = 5000;

export interface ObjectMetaProjector {
  /** Resolves once every store has been read up to date once. */
  readonly ready: Promise<void>;
  stop(): void;
}

export function startObjectMetaProjector(deps: {
  nc: NatsConnection;
  store: Store;
  log: Logger;
  buckets: readonly string[];
}): ObjectMetaProjector {
  const { nc, store, log } = deps;
  const js = jetstream(nc);
  let stopped = false;
  const stops = new Set<() => void>();

  async function follow(bucket: string, markReady: () => void): Promise<void> {
    while (!stopped) {
      try {
        const consumer = await js.consumers.get(`OBJ_${bucket}`, {
          filter_subjects: `$O.${bucket}.M.>`,
          deliver_policy: DeliverPolicy.LastPerSubject,
        });
        const seen = new Set<string>();
        let caughtUp = false;
        const catchUp = () => {
          const dropped = store.tx(() => store.objects.retainOnly(bucket, seen));
          caughtUp = true;
          markReady();
          log.debug({ bucket, objects: seen.size, dropped }, 'object index reconciled');
        };
        if ((await consumer.info(true)).num_pending === 0) catchUp();
        const messages = await consumer.consume();
        const stop = () => messages.stop();
        stops.add(stop);
        try {
          for await (const m of messages) {
            let info: ObjectInfo;
            try {
              info = m.json<ObjectInfo>();
            } catch {
              log.warn(
                { bucket, subject: m.subject, seq: m.seq },
                'object meta message is not JSON; skipped',
              );
              continue;
            }
            if (typeof info?.name === 'string' && info.name.length > 0) {
              if (info.deleted) store.objects.remove(bucket, info.name, m.seq);
              else {
                store.objects.upsert(rowOf(bucket, info, m.seq));
                if (!caughtUp) seen.add(info.name);
              }
            }
            if (!caughtUp && m.info.pending === 0) catchUp();
          }
        } finally {
          stops.delete(stop);
          consumer.delete().catch(() => {});
        }
      } catch (err) {
        if (!stopped) log.warn({ bucket, err: (err as Error).message }, 'object index failed; reopening');
      }
      if (!stopped) await new Promise((r) => setTimeout(r, RETRY_MS).unref());
    }
  }

  const ready = Promise.all(
    deps.buckets.map(
      (bucket) =>
        new Promise<void>((markReady) => {
          void follow(bucket, markReady);
        }),
    ),
  ).then(() => {});

  return {
    ready,
    stop() {
      stopped = true;
      for (const s of stops) s();
    },
  };
}
