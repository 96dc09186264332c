// Which store the tests run on. Unset KANADE_TEST_POSTGRES_URL: SQLite, the
// `<data dir>/kanade.db` file as always. Set (an admin URL, by `npm run
// test:postgres`): every data dir gets its own fresh PostgreSQL database on
// first use, so a backend restarted on the same data dir finds its data again
// and a new data dir starts empty, exactly like the SQLite file. Tests that
// read or write the database themselves open it with openStoreDb(), which
// gives the store's Db for either store; their SQL stays portable.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { type Db, type OpenOptions, openDb } from '../packages/backend/src/store/db.js';
import { createDatabase, recreateDatabase } from './postgres.js';

/** The admin URL of the PostgreSQL server the run uses, or undefined for SQLite. */
export function testPostgresUrl(): string | undefined {
  return process.env.KANADE_TEST_POSTGRES_URL || undefined;
}

/** data dir -> its PostgreSQL database URL (this test file's process only). */
const databases = new Map<string, string>();

/** Use `url` as the database of `dataDir` (a backend given KANADE_POSTGRES_URL explicitly). */
export function useDatabase(dataDir: string, url: string) {
  databases.set(dataDir, url);
}

/**
 * The environment a backend on `dataDir` needs to use the selected store: nothing on SQLite,
 * `KANADE_POSTGRES_URL` of the data dir's database (created on first use) on PostgreSQL.
 */
export async function storeEnv(dataDir: string): Promise<Record<string, string>> {
  const admin = testPostgresUrl();
  if (!admin) return {};
  let url = databases.get(dataDir);
  if (!url) {
    url = await createDatabase(admin);
    databases.set(dataDir, url);
  }
  return { KANADE_POSTGRES_URL: url };
}

/**
 * The store's Db for `dataDir`: its SQLite file, or its PostgreSQL database (which storeEnv or
 * startBackend created). Migrates when opened writable, like the backend; close it when done.
 */
export function openStoreDb(dataDir: string, opts: OpenOptions = {}): Db {
  const postgresUrl = databases.get(dataDir);
  if (testPostgresUrl() && !postgresUrl)
    throw new Error(`no PostgreSQL database for ${dataDir} yet: await storeEnv(dataDir) (startBackend does)`);
  return openDb({ sqlitePath: join(dataDir, 'kanade.db'), postgresUrl }, opts);
}

/** A migrated Db for a data dir no backend has used yet (store-level tests). */
export async function createStoreDb(dataDir: string): Promise<Db> {
  await storeEnv(dataDir);
  return openStoreDb(dataDir);
}

/** The database of `dataDir` gone, as after deleting the SQLite file: the next open starts empty. */
export async function deleteStore(dataDir: string): Promise<void> {
  const admin = testPostgresUrl();
  const url = databases.get(dataDir);
  if (admin && url) await recreateDatabase(admin, url);
  else for (const s of ['', '-wal', '-shm']) rmSync(join(dataDir, `kanade.db${s}`), { force: true });
}

/**
 * The store's tables with a text that changes when a table's definition does (SQLite's CREATE
 * statement; PostgreSQL's column list), by name.
 */
export function tableSchemas(db: Db): { name: string; sql: string }[] {
  const sql =
    db.dialect === 'postgres'
      ? `SELECT table_name AS name, string_agg(column_name || ' ' || data_type, ', ' ORDER BY ordinal_position) AS sql
         FROM information_schema.columns WHERE table_schema = current_schema() GROUP BY table_name`
      : "SELECT name, sql FROM sqlite_master WHERE type = 'table'";
  return db
    .prepare<[], { name: string; sql: string }>(sql)
    .all()
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
