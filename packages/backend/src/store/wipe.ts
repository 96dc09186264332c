// The two SQL pieces of rebuilding the projection database from the streams
// (upstream's wipe check and `wipe-projector`):
// - isEmpty(): is a projection table empty? At startup an empty one means
//   the database was wiped, and its durable consumer is reset so the
//   projector replays the stream from the start (projectors/consumer-reset.ts).
// - the accounts snapshot: `users` and `permission_groups` are the only SQL
//   state that is not a projection and that an operator cannot recreate
//   from NATS; `kanade-backend wipe-projector` keeps them across the wipe.
//   Every column is copied as it is, so a column added later is kept too.
import type { Db } from './db.js';
import { tableColumnsQuery, tableExistsQuery } from './dialect.js';

/** Tables kept by `wipe-projector`, in restore order (users reference permission groups). */
const KEPT_TABLES = ['permission_groups', 'users'] as const;

export type AccountsSnapshot = Record<(typeof KEPT_TABLES)[number], Record<string, unknown>[]>;

/** True when `table` (a name from the projector registry) exists and has no row. */
export function isEmpty(db: Db, table: string): boolean {
  if (!tableExistsQuery(db)(table)) return false;
  return db.prepare(`SELECT 1 FROM "${table}" LIMIT 1`).get() === undefined;
}

export function snapshotAccounts(db: Db): AccountsSnapshot {
  const snap = {} as AccountsSnapshot;
  const tableExists = tableExistsQuery(db);
  for (const t of KEPT_TABLES)
    snap[t] = tableExists(t) ? (db.prepare(`SELECT * FROM "${t}"`).all() as Record<string, unknown>[]) : [];
  return snap;
}

/** Put the snapshot back into a freshly migrated database (columns it no longer has are dropped). */
export function restoreAccounts(db: Db, snap: AccountsSnapshot): void {
  const columnsOf = tableColumnsQuery(db);
  db.transaction(() => {
    for (const t of KEPT_TABLES) {
      const columns = new Set(columnsOf(t).map((c) => c.name));
      for (const row of snap[t]) {
        const keys = Object.keys(row).filter((k) => columns.has(k));
        db.prepare(
          `INSERT INTO "${t}" (${keys.map((k) => `"${k}"`).join(', ')}) VALUES (${keys.map(() => '?').join(', ')})
           ON CONFLICT DO NOTHING`,
        ).run(...keys.map((k) => row[k]));
      }
    }
  })();
}

/** PostgreSQL's wipe: drop every table of the current schema (the caller then migrates afresh). */
export function dropAllTables(db: Db): void {
  const tables = db
    .prepare<[], string>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
    )
    .pluck()
    .all();
  db.transaction(() => {
    for (const t of tables) db.exec(`DROP TABLE IF EXISTS "${t}" CASCADE`);
  })();
}
