// `object_store_meta`: one row per live object of the release, package,
// script and bundle stores (migration 0007). Written by the object-meta
// projector and by the API's write-through; every write is guarded by the
// meta message's stream sequence (`revision`), so an older message never
// overwrites or deletes what a newer one wrote, whichever arrives first.
import type { Db } from './db.js';

export interface ObjectRow {
  bucket: string;
  key: string;
  size: number;
  /** lowercase hex SHA-256 */
  digest: string | null;
  /** epoch ms */
  modified: number;
  revision: number;
  description: string | null;
  meta: Record<string, string> | null;
}

interface Raw extends Omit<ObjectRow, 'meta'> {
  meta: string | null;
}

export type ObjectOrder = 'key' | 'newest';

export interface ObjectListQuery {
  bucket: string;
  /** Only keys starting with this text. */
  prefix?: string | undefined;
  /** Only keys containing this text. */
  contains?: string | undefined;
  order: ObjectOrder;
  limit: number;
  offset: number;
}

function fromRaw(r: Raw): ObjectRow {
  let meta: Record<string, string> | null = null;
  if (r.meta) {
    try {
      meta = JSON.parse(r.meta) as Record<string, string>;
    } catch {
      meta = null;
    }
  }
  return { ...r, meta };
}

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

const ORDER_SQL: Record<ObjectOrder, string> = {
  key: 'key ASC',
  newest: 'modified DESC, key ASC',
};

export function createObjectMetaStore(db: Db) {
  const upsert = db.prepare<
    [string, string, number, string | null, number, number, string | null, string | null]
  >(
    `INSERT INTO object_store_meta (bucket, key, size, digest, modified, revision, description, meta)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (bucket, key) DO UPDATE SET
       size = excluded.size, digest = excluded.digest, modified = excluded.modified,
       revision = excluded.revision, description = excluded.description, meta = excluded.meta
     WHERE excluded.revision >= object_store_meta.revision`,
  );
  const remove = db.prepare<[string, string, number]>(
    'DELETE FROM object_store_meta WHERE bucket = ? AND key = ? AND revision <= ?',
  );
  const keysOf = db.prepare<[string], string>('SELECT key FROM object_store_meta WHERE bucket = ?').pluck();
  const removeKey = db.prepare<[string, string]>(
    'DELETE FROM object_store_meta WHERE bucket = ? AND key = ?',
  );

  return {
    upsert(r: ObjectRow): void {
      upsert.run(
        r.bucket,
        r.key,
        r.size,
        r.digest,
        r.modified,
        r.revision,
        r.description,
        r.meta ? JSON.stringify(r.meta) : null,
      );
    },

    /** Drop the row unless a newer revision wrote it. */
    remove(bucket: string, key: string, revision: number): void {
      remove.run(bucket, key, revision);
    },

    /** Drop every row of the bucket whose key is not in `live` (after a full re-read of the store). */
    retainOnly(bucket: string, live: ReadonlySet<string>): number {
      let dropped = 0;
      for (const key of keysOf.all(bucket)) {
        if (live.has(key)) continue;
        removeKey.run(bucket, key);
        dropped++;
      }
      return dropped;
    },

    list(q: ObjectListQuery): { rows: ObjectRow[]; total: number } {
      const where = ['bucket = ?'];
      const params: (string | number)[] = [q.bucket];
      if (q.prefix) {
        where.push("key LIKE ? ESCAPE '\\'");
        params.push(`${escapeLike(q.prefix)}%`);
      }
      if (q.contains) {
        where.push("key LIKE ? ESCAPE '\\'");
        params.push(`%${escapeLike(q.contains)}%`);
      }
      const w = where.join(' AND ');
      const total = db
        .prepare<(string | number)[], number>(`SELECT COUNT(*) FROM object_store_meta WHERE ${w}`)
        .pluck()
        .get(...params) as number;
      const rows = db
        .prepare<(string | number)[], Raw>(
          `SELECT bucket, key, size, digest, modified, revision, description, meta FROM object_store_meta
           WHERE ${w} ORDER BY ${ORDER_SQL[q.order]} LIMIT ? OFFSET ?`,
        )
        .all(...params, q.limit, q.offset);
      return { rows: rows.map(fromRaw), total };
    },
  };
}
export type ObjectMetaStore = ReturnType<typeof createObjectMetaStore>;
