// Streaming access to the JetStream object stores (agent releases, app
// packages, script objects, collected bundles), shared by the release,
// package and bundle services.
//
// Nothing is ever held whole in memory. An upload is pulled from the HTTP
// request one socket chunk at a time (a ReadableStream with highWaterMark 0
// whose pull() reads the request), hashed with SHA-256 and counted on the
// way into nats.js's object-store put, which cuts it into 128 KiB chunks
// and waits for each chunk's JetStream ack before pulling more; so the
// request socket is paced by the broker. The checks that need the whole body
// (size cap, declared length, the client's digest) fail the stream before it
// ends: the put then purges the chunks already written and never publishes
// the object's meta, so a refused upload leaves nothing behind.
//
// A download reads the object's chunks with an ordered pull consumer in
// small fetch batches, one batch only when the HTTP response has drained the
// previous one (Readable.from over an async generator), so a slow client
// holds the backend to a few hundred KiB. A full read re-checks the digest
// and fails the response (the client sees a truncated body) on a mismatch.
//
// nats.js hashes in pure JS by default (~30 MB/s); the process switches it to
// node:crypto once, here.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { OBJ, objectDigestHex } from '@kanade/wire';
import { jetstream } from '@nats-io/jetstream';
import { type ObjectInfo, type ObjectStore, Objm, setSha256Backend } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { ApiError, badRequest } from '../http/errors.js';
import type { Store } from '../store/index.js';
import type { ObjectOrder, ObjectRow } from '../store/objects.js';

/** Chunks per fetch of a download: 16 x 128 KiB in flight at most. */
const FETCH_BATCH = 16;
const FETCH_EXPIRES_MS = 10_000;

/** The stores indexed in object_store_meta (result_output is read by the results projector only). */
export const INDEXED_STORES = [OBJ.AGENT_RELEASES, OBJ.APP_PACKAGES, OBJ.SCRIPTS, OBJ.COLLECTIONS] as const;

export interface PutOptions {
  /** The request body, read chunk by chunk. */
  body: AsyncIterable<Uint8Array>;
  /** Content-Length, when the client sent one: refused up front when over the cap, checked at the end. */
  length?: number | undefined;
  /** Lowercase hex SHA-256 the client says the body has. */
  expectedSha256?: string | undefined;
  maxBytes: number;
  /** What the object is, for messages ("app package", "script object", ...). */
  what: string;
  description?: string | undefined;
  metadata?: Record<string, string> | undefined;
}

export interface ByteRange {
  /** inclusive */
  start: number;
  /** inclusive */
  end: number;
}

/** ObjectInfo (from a put, an info() or a meta message) -> the index row. */
export function rowOf(bucket: string, info: ObjectInfo, revision: number): ObjectRow {
  const modified = Date.parse(info.mtime);
  return {
    bucket,
    key: info.name,
    size: info.size,
    digest: objectDigestHex(info.digest ?? '') ?? null,
    modified: Number.isNaN(modified) ? 0 : modified,
    revision,
    description: info.description || null,
    meta: info.metadata && Object.keys(info.metadata).length > 0 ? info.metadata : null,
  };
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function createObjectAccess(deps: { nc: NatsConnection; store: Store; log: Logger }) {
  const { nc, store } = deps;
  setSha256Backend('native');
  const objm = new Objm(nc);
  const js = jetstream(nc);
  const open = new Map<string, Promise<ObjectStore>>();

  async function bucket(name: string): Promise<ObjectStore> {
    let os = open.get(name);
    if (!os) {
      os = objm.open(name);
      open.set(name, os);
      os.catch(() => open.delete(name));
    }
    try {
      return await os;
    } catch (err) {
      throw new ApiError(
        'KANADE_ERR_UNAVAILABLE',
        `object store ${name} is not available: ${(err as Error).message}`,
      );
    }
  }

  /** The live object's info, or undefined when there is none (or it was deleted). */
  async function info(name: string, key: string): Promise<ObjectInfo | undefined> {
    const os = await bucket(name);
    let i: ObjectInfo | null;
    try {
      i = await os.info(key);
    } catch (err) {
      // The client encodes names with btoa(): a name outside Latin-1 cannot be addressed, so there is none.
      if ((err as Error).name === 'InvalidCharacterError') return undefined;
      throw new ApiError('KANADE_ERR_BROKER', `reading ${name}/${key} failed: ${(err as Error).message}`);
    }
    return i && !i.deleted ? i : undefined;
  }

  async function* chunks(
    name: string,
    i: ObjectInfo,
    range: ByteRange | undefined,
  ): AsyncGenerator<Uint8Array> {
    if (i.size === 0 || i.chunks === 0) return;
    const consumer = await js.consumers.get(`OBJ_${name}`, { filter_subjects: `$O.${name}.C.${i.nuid}` });
    const hash = range ? undefined : createHash('sha256');
    const start = range?.start ?? 0;
    const end = range?.end ?? i.size - 1;
    let remaining = i.chunks;
    let offset = 0;
    try {
      while (remaining > 0 && offset <= end) {
        const batch = await consumer.fetch({
          max_messages: Math.min(FETCH_BATCH, remaining),
          expires: FETCH_EXPIRES_MS,
        });
        let got = 0;
        for await (const m of batch) {
          got++;
          remaining--;
          const data = m.data;
          const from = offset;
          offset += data.length;
          hash?.update(data);
          if (offset <= start || from > end) continue;
          yield data.subarray(Math.max(0, start - from), Math.min(data.length, end - from + 1));
        }
        if (got === 0) throw new Error(`${name}/${i.name}: the object store stopped delivering chunks`);
      }
      if (hash) {
        const got = hash.digest('hex');
        const want = objectDigestHex(i.digest);
        if (got !== want)
          throw new Error(`${name}/${i.name} is corrupt: sha256 ${got}, the store says ${want}`);
      }
    } finally {
      consumer.delete().catch(() => {});
    }
  }

  return {
    bucket,
    info,

    /** Stream the body into the store under `key`; 409 when the key exists. Returns the index row. */
    async put(name: string, key: string, o: PutOptions): Promise<ObjectRow> {
      if (o.length !== undefined && o.length > o.maxBytes) {
        throw new ApiError(
          'KANADE_ERR_PAYLOAD_TOO_LARGE',
          `the ${o.what} is ${o.length} bytes; the limit is ${o.maxBytes} (${formatBytes(o.maxBytes)})`,
        );
      }
      if (await info(name, key)) {
        throw new ApiError(
          'KANADE_ERR_CONFLICT',
          `${o.what} ${key} already exists; delete it first or upload under a new version`,
        );
      }
      const os = await bucket(name);
      const it = o.body[Symbol.asyncIterator]();
      const hash = createHash('sha256');
      let size = 0;
      let computed: string | undefined;
      const source = new ReadableStream<Uint8Array>(
        {
          async pull(c) {
            let r: IteratorResult<Uint8Array>;
            try {
              r = await it.next();
            } catch (err) {
              c.error(badRequest(`the upload was interrupted: ${(err as Error).message}`));
              return;
            }
            if (!r.done) {
              size += r.value.length;
              if (size > o.maxBytes) {
                c.error(
                  new ApiError(
                    'KANADE_ERR_PAYLOAD_TOO_LARGE',
                    `the ${o.what} is larger than the limit of ${formatBytes(o.maxBytes)}`,
                  ),
                );
                return;
              }
              hash.update(r.value);
              c.enqueue(r.value);
              return;
            }
            const hex = hash.digest('hex');
            if (o.length !== undefined && size !== o.length) {
              c.error(badRequest(`the upload ended after ${size} of ${o.length} bytes; send it again`));
            } else if (o.expectedSha256 !== undefined && hex !== o.expectedSha256) {
              c.error(
                new ApiError(
                  'KANADE_ERR_DIGEST_MISMATCH',
                  `the uploaded bytes have sha256 ${hex} but X-Kanade-Sha256 says ${o.expectedSha256}; ` +
                    'the file changed or was damaged in transit: nothing was stored',
                ),
              );
            } else {
              computed = hex;
              c.close();
            }
          },
          async cancel() {
            await it.return?.();
          },
        },
        { highWaterMark: 0 },
      );
      let stored: ObjectInfo;
      try {
        stored = await os.put(
          {
            name: key,
            ...(o.description ? { description: o.description } : {}),
            ...(o.metadata ? { metadata: o.metadata } : {}),
          },
          source,
        );
      } catch (err) {
        if (err instanceof ApiError) throw err;
        throw new ApiError('KANADE_ERR_BROKER', `storing ${key} failed: ${(err as Error).message}`);
      }
      const row = rowOf(name, stored, stored.revision);
      if (row.digest !== computed) {
        deps.log.error({ bucket: name, key, computed, stored: stored.digest }, 'object digest disagrees');
      }
      store.objects.upsert(row);
      return row;
    },

    /** The object's bytes (a range of them when `range` is set), paced by the consumer of the stream. */
    read(name: string, i: ObjectInfo, range?: ByteRange): Readable {
      return Readable.from(chunks(name, i, range), { objectMode: false });
    },

    /** Delete the object (its chunks are purged); false when there was none. */
    async remove(name: string, key: string): Promise<boolean> {
      if (!(await info(name, key))) return false;
      try {
        await (await bucket(name)).delete(key);
      } catch (err) {
        throw new ApiError('KANADE_ERR_BROKER', `deleting ${key} failed: ${(err as Error).message}`);
      }
      store.objects.remove(name, key, Number.MAX_SAFE_INTEGER);
      return true;
    },

    list(
      name: string,
      q: {
        prefix?: string | undefined;
        contains?: string | undefined;
        order: ObjectOrder;
        limit: number;
        offset: number;
      },
    ) {
      return store.objects.list({ bucket: name, ...q });
    },
  };
}
export type ObjectAccess = ReturnType<typeof createObjectAccess>;
