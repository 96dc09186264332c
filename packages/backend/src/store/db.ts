// Opening the SQLite database: WAL so HTTP readers never wait for the ingest
// writer, synchronous=NORMAL (durable across process crashes; the streams
// cover a power loss), a busy timeout so the two writer threads queue
// instead of failing, and numbered migrations applied in one transaction each.
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { compileFilter } from '../regex.js';

export type Db = Database.Database;

/** packages/backend/migrations, found from src/store/ (tests) or dist/ (built). */
function migrationsDir(): string {
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
}

export function openDb(path: string, opts: OpenOptions = {}): Db {
  if (!opts.readonly) mkdirSync(dirname(path), { recursive: true });
  let db: Db;
  try {
    db = new Database(path, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false });
    db.pragma('busy_timeout = 30000');
    if (!opts.readonly) db.pragma('journal_mode = WAL');
  } catch (err) {
    // SQLite says only "unable to open database file": name the file and the usual causes.
    throw new Error(
      `cannot open the database ${path}: ${(err as Error).message} (is its file system read-only or full?)`,
    );
  }
  if (!opts.readonly) {
    db.pragma('synchronous = NORMAL');
    // Checkpoint every ~80 MB of WAL instead of 4 MB: each checkpoint syncs the disk (2-17 ms on a VM),
    // and at burst rates the default would checkpoint many times a second.
    db.pragma('wal_autocheckpoint = 20000');
  }
  db.pragma('cache_size = -65536');
  db.function('regexp', { deterministic: true }, regexp as (...args: unknown[]) => unknown);
  if (opts.migrate ?? !opts.readonly) migrate(db);
  return db;
}

export function migrate(db: Db): string[] {
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
  const dir = migrationsDir();
  const files = readdirSync(dir)
    .filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
    .sort();
  const ran: string[] = [];
  for (const file of files) {
    const version = file.replace(/\.sql$/, '');
    if (applied.has(version)) continue;
    const sql = readFileSync(join(dir, file), 'utf8');
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
