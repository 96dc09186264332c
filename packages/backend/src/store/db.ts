// Opening the database. SQLite (the embedded default): WAL so HTTP readers
// never wait for the ingest writer, synchronous=NORMAL (durable across
// process crashes; the streams cover a power loss), a busy timeout so the two
// writer threads queue instead of failing. PostgreSQL (`postgresUrl`, for
// replicas): the same Db API through a synchronous bridge (pg/pg-db.ts) with
// the SQL translated by dialect.ts. Both apply the numbered migrations in one
// transaction each; on PostgreSQL under an advisory lock, so replicas that
// start together do not race.
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { compileFilter } from '../regex.js';
import {
  createPgTranslator,
  type Dialect,
  notNullColumns,
  PG_FUNCTIONS,
  type PgStatement,
} from './dialect.js';
import { PgError, PgUnavailableError } from './pg/bridge.js';
import { PgDb } from './pg/pg-db.js';

/** better-sqlite3's API; on PostgreSQL the subset pg/pg-db.ts implements. */
export type Db = Database.Database & { readonly dialect: Dialect };

/** Where the data lives: PostgreSQL when `postgresUrl` is set, else the SQLite file. */
export interface DbTarget {
  sqlitePath: string;
  postgresUrl?: string | undefined;
}

/** packages/backend/migrations, found from src/store/ (tests) or dist/ (built). */
export function migrationsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const candidate = join(dir, 'migrations');
    if (existsSync(candidate) && existsSync(join(dir, 'package.json'))) return candidate;
    dir = dirname(dir);
  }
  throw new Error('cannot find the backend migrations directory');
}

const regexCache = new Map<string, RegExp | null>();

/** `x REGEXP pattern` (SQLite calls regexp(pattern, x)); case-insensitive and ReDoS-safe (../regex.ts). */
function regexp(pattern: string, value: unknown): number {
  if (value === null || value === undefined) return 0;
  let re = regexCache.get(pattern);
  if (re === undefined) {
    try {
      re = compileFilter(pattern);
    } catch {
      re = null;
    }
    if (regexCache.size > 256) regexCache.clear();
    regexCache.set(pattern, re);
  }
  return re?.test(String(value).toLowerCase()) ? 1 : 0;
}

export interface OpenOptions {
  readonly?: boolean;
  /** Skip migrations (worker threads open a database main already migrated). */
  migrate?: boolean;
  /** Page size if the file is new, instead of KANADE_SQLITE_PAGE_SIZE or PAGE_SIZE. */
  pageSize?: number;
}

function migrationFiles(): { version: string; sql: string }[] {
  const dir = migrationsDir();
  return readdirSync(dir)
    .filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((f) => ({ version: f.replace(/\.sql$/, ''), sql: readFileSync(join(dir, f), 'utf8') }));
}

/**
 * The database cannot be reached right now (PostgreSQL down or restarting; the bridge reconnects by
 * itself). A transaction in progress was rolled back by the server; a lone statement in flight when
 * the connection broke may or may not have committed, as with any lost connection. SQLite has no
 * such state.
 */
export function isStoreUnavailable(err: unknown): boolean {
  return err instanceof PgUnavailableError;
}

/**
 * A filter regex the database's engine refuses although JavaScript accepted it (PostgreSQL's ARE
 * syntax is stricter: `[]` is SQLSTATE 2201B there). It is the caller's input, not a server fault.
 * SQLite runs REGEXP with JavaScript's engine (compileFilter), so it never sees such a pattern.
 */
export function isInvalidPattern(err: unknown): boolean {
  return err instanceof PgError && err.code === '2201B';
}

/** `postgres://user:secret@host:5432/db` -> `postgres://host:5432/db` (for logs). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return 'postgres://(unparsable url)';
  }
}

let translator: ((sql: string) => PgStatement) | undefined;

/** The SQLite -> PostgreSQL statement translator (dialect.ts), knowing the migrations' NOT NULL columns. */
export function postgresTranslator(): (sql: string) => PgStatement {
  translator ??= createPgTranslator(
    notNullColumns(
      migrationFiles()
        .map((m) => m.sql)
        .join('\n'),
    ),
  );
  return translator;
}

function openPostgres(url: string, opts: OpenOptions): Db {
  const translate = postgresTranslator();
  let db: PgDb;
  try {
    db = new PgDb(url, translate);
  } catch (err) {
    throw new Error(`cannot connect to PostgreSQL at ${redactUrl(url)}: ${(err as Error).message}`);
  }
  const pgDb = db as unknown as Db;
  if (opts.migrate ?? !opts.readonly) {
    try {
      migrate(pgDb);
    } catch (err) {
      db.close();
      throw err;
    }
  }
  return pgDb;
}

/**
 * Page size of a new SQLite database: 16 KiB instead of SQLite's 4 KiB. Measured side by side on one VM
 * (docs/performance.md): host_perf ingest 13-20 % faster on a quarter less backend CPU, the heartbeats
 * and host_perf of 100,000 agents at 20 % CPU instead of 26 %, and the results upsert 40 % cheaper once
 * the table holds 300,000 rows. A commit writes every page it dirtied to the WAL, two system calls a
 * page; random keys (result_id, pc_id) dirty most of an index's pages, and with pages four times the
 * size that is a quarter of the calls, in trees a level shallower.
 * KANADE_SQLITE_PAGE_SIZE (a power of two, 512-65536) sets another, for comparison.
 */
export const PAGE_SIZE = 16_384;

function pageSize(chosen: number | undefined): number {
  const raw = chosen ?? process.env.KANADE_SQLITE_PAGE_SIZE;
  if (raw === undefined || raw === '') return PAGE_SIZE;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 512 || n > 65_536 || (n & (n - 1)) !== 0)
    throw new Error(
      `KANADE_SQLITE_PAGE_SIZE must be a power of two from 512 to 65536, not ${JSON.stringify(raw)}`,
    );
  return n;
}

const AUTOCHECKPOINT_BYTES = 80 * 1024 * 1024;

export function openDb(target: string | DbTarget, opts: OpenOptions = {}): Db {
  const t = typeof target === 'string' ? { sqlitePath: target } : target;
  if (t.postgresUrl) return openPostgres(t.postgresUrl, opts);
  const path = t.sqlitePath;
  if (!opts.readonly) mkdirSync(dirname(path), { recursive: true });
  const newPageSize = opts.readonly ? undefined : pageSize(opts.pageSize);
  let db: Db;
  try {
    db = new Database(path, {
      readonly: opts.readonly ?? false,
      fileMustExist: opts.readonly ?? false,
    }) as Db;
    Object.defineProperty(db, 'dialect', { value: 'sqlite' });
    db.pragma('busy_timeout = 30000');
    if (newPageSize !== undefined) {
      // Takes effect only on a new, empty file (an existing database keeps its page size).
      db.pragma(`page_size = ${newPageSize}`);
      db.pragma('journal_mode = WAL');
    }
  } catch (err) {
    // SQLite says only "unable to open database file": name the file and the usual causes.
    throw new Error(
      `cannot open the database ${path}: ${(err as Error).message} (is its file system read-only or full?)`,
    );
  }
  if (!opts.readonly) {
    db.pragma('synchronous = NORMAL');
    // Checkpoint every 80 MiB of WAL instead of 4 MB: each checkpoint syncs the disk (2-17 ms on a VM),
    // and at burst rates the default would checkpoint many times a second. The threshold is in pages,
    // so it follows the file's own page size.
    const filePageSize = db.pragma('page_size', { simple: true }) as number;
    db.pragma(`wal_autocheckpoint = ${Math.floor(AUTOCHECKPOINT_BYTES / filePageSize)}`);
  }
  db.pragma('cache_size = -65536');
  db.function('regexp', { deterministic: true }, regexp as (...args: unknown[]) => unknown);
  if (opts.migrate ?? !opts.readonly) migrate(db);
  return db;
}

export function migrate(db: Db): string[] {
  if (db.dialect !== 'postgres') return migrateLocked(db);
  // One migrator at a time across replicas; the lock is the connection's and ends with it at the latest.
  db.prepare('SELECT pg_advisory_lock(?)').get(MIGRATION_LOCK);
  try {
    (db as unknown as PgDb).execNative(PG_FUNCTIONS);
    return migrateLocked(db);
  } finally {
    db.prepare('SELECT pg_advisory_unlock(?)').get(MIGRATION_LOCK);
  }
}

/** pg_advisory_lock key of the migrations ("kanade" in ASCII). */
const MIGRATION_LOCK = 0x6b616e616465;

function migrateLocked(db: Db): string[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version TEXT PRIMARY KEY,
    applied_at INTEGER NOT NULL
  )`);
  const applied = new Set(
    db
      .prepare<[], { version: string }>('SELECT version FROM schema_migrations')
      .all()
      .map((r) => r.version),
  );
  const ran: string[] = [];
  for (const { version, sql } of migrationFiles()) {
    if (applied.has(version)) continue;
    db.transaction(() => {
      db.exec(sql);
      db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(
        version,
        Date.now(),
      );
    })();
    ran.push(version);
  }
  return ran;
}
