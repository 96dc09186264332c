// `kanade-backend migrate-store [--from <sqlite file>] [--to <postgres url>] [--force]`:
// copy an existing SQLite installation into PostgreSQL, for moving a single
// node to replicas (docs/scale-out.md). Every table is copied (accounts,
// executions, waves and projections alike: unlike a replay from the streams
// nothing is lost), each in one PostgreSQL transaction, in batches of
// multi-row INSERTs so memory stays bounded whatever the table's size; the
// row counts of both sides are compared before the table's transaction
// commits. The source is read inside one SQLite read transaction, so the copy
// is one consistent snapshot even if something still wrote to the file.
//
// The target is migrated first (the same migrations as the backend), so the
// tables come with PostgreSQL's types and indexes; the source is brought to
// the current schema too, as a backend start would. A target that already
// holds rows is refused unless --force, which empties each table before its
// copy. Identity columns (audit ids, ...) are copied as they are and their
// sequences moved past the largest id. The password of the URL never reaches
// the output: the URL is printed redacted and scrubbed from error messages.
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { type Db, openDb, redactUrl } from './store/db.js';
import { tableColumnsQuery } from './store/dialect.js';

export interface MigrateStoreOptions {
  /** The SQLite database file. */
  from: string;
  /** The PostgreSQL URL (an empty database, or one migrated by the backend but without rows). */
  to: string;
  /** Empty the target's tables instead of refusing a non-empty target. */
  force?: boolean;
  /** Rows per INSERT (bounded further by PostgreSQL's 65,535 parameters per statement). */
  batchRows?: number;
  /** Progress lines (already redacted). */
  log?: (line: string) => void;
}

export interface TableCopy {
  table: string;
  rows: number;
}

export interface MigrateStoreResult {
  tables: TableCopy[];
  rows: number;
  ms: number;
}

/** Refused before anything was written: the target is not empty, a table is missing, bad arguments. */
export class MigrateStoreError extends Error {
  override name = 'MigrateStoreError';
}

const DEFAULT_BATCH_ROWS = 1000;
const MAX_PARAMS = 60_000;
/** Bookkeeping of the migrations, written by each side's own migration run: not copied. */
const SKIPPED = new Set(['schema_migrations']);

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** `text` without the URL's password (pg and our own messages may quote the URL). */
function scrubber(url: string): (text: string) => string {
  let secrets: string[] = [];
  try {
    const raw = new URL(url).password;
    secrets = [raw, decodeURIComponent(raw)].filter(Boolean);
  } catch {
    // an unparsable URL fails in openDb with a redacted message
  }
  return (text) => {
    let out = text.split(url).join(redactUrl(url));
    for (const s of secrets) out = out.split(s).join('***');
    return out;
  };
}

function sourceTables(src: Db): string[] {
  return src
    .prepare<[], string>(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .pluck()
    .all()
    .filter((t) => !SKIPPED.has(t));
}

function versions(db: Db): string[] {
  return db.prepare<[], string>('SELECT version FROM schema_migrations ORDER BY version').pluck().all();
}

function countRows(db: Db, table: string): number {
  return Number(
    db
      .prepare<[], number>(`SELECT COUNT(*) FROM ${quote(table)}`)
      .pluck()
      .get() ?? 0,
  );
}

/** Identity columns of the target's `table` (their sequences must follow the copied ids). */
function identityColumns(dst: Db, table: string): string[] {
  return dst
    .prepare<[string], string>(
      `SELECT column_name FROM information_schema.columns
       WHERE table_schema = current_schema() AND table_name = ? AND is_identity = 'YES'`,
    )
    .pluck()
    .all(table);
}

function copyTable(src: Db, dst: Db, table: string, force: boolean, batchRows: number): number {
  const srcCols = tableColumnsQuery(src)(table).map((c) => c.name);
  const perBatch = Math.max(1, Math.min(batchRows, Math.floor(MAX_PARAMS / srcCols.length)));
  const head = `INSERT INTO ${quote(table)} (${srcCols.map(quote).join(', ')}) VALUES `;
  const tuple = `(${srcCols.map(() => '?').join(', ')})`;
  const statements = new Map<number, { run(...args: unknown[]): { changes: number } }>();
  const insert = (rows: unknown[][]) => {
    let stmt = statements.get(rows.length);
    if (!stmt) {
      stmt = dst.prepare(head + Array.from({ length: rows.length }, () => tuple).join(', '));
      statements.set(rows.length, stmt);
    }
    // Reading `changes` sends the batch now (pg-db.ts queues a transaction's writes until then).
    const changes = stmt.run(rows.flat()).changes;
    if (changes !== rows.length)
      throw new Error(`table ${table}: ${rows.length} rows sent, ${changes} inserted`);
    return changes;
  };
  const read = src.prepare(`SELECT ${srcCols.map(quote).join(', ')} FROM ${quote(table)}`).raw();
  const expected = countRows(src, table);
  let copied = 0;
  dst.transaction(() => {
    if (force) dst.exec(`DELETE FROM ${quote(table)}`);
    let batch: unknown[][] = [];
    for (const row of read.iterate() as Iterable<unknown[]>) {
      batch.push(row);
      if (batch.length === perBatch) {
        copied += insert(batch);
        batch = [];
      }
    }
    if (batch.length) copied += insert(batch);
    for (const col of identityColumns(dst, table))
      dst
        .prepare(
          `SELECT setval(pg_get_serial_sequence(?, ?), COALESCE(MAX(${quote(col)}), 0) + 1, false) FROM ${quote(table)}`,
        )
        .get(table, col);
    const landed = countRows(dst, table);
    if (copied !== expected || landed !== expected)
      throw new Error(
        `table ${table}: ${expected} rows in the source, ${copied} copied, ${landed} in the target`,
      );
  })();
  return copied;
}

/** Copy every table of the SQLite file `from` into the PostgreSQL database `to` (see the file comment). */
export function migrateStore(opts: MigrateStoreOptions): MigrateStoreResult {
  const started = Date.now();
  const scrub = scrubber(opts.to);
  const log = opts.log ?? (() => {});
  const batchRows = opts.batchRows ?? DEFAULT_BATCH_ROWS;
  if (!Number.isInteger(batchRows) || batchRows < 1)
    throw new MigrateStoreError('--batch must be a positive integer');
  if (!/^postgres(ql)?:\/\//.test(opts.to))
    throw new MigrateStoreError('--to must be a postgres:// or postgresql:// URL');
  if (!existsSync(opts.from)) throw new MigrateStoreError(`no SQLite database at ${opts.from}`);

  let src: Db | undefined;
  let dst: Db | undefined;
  try {
    src = openDb(opts.from);
    dst = openDb({ sqlitePath: opts.from, postgresUrl: opts.to });
    const target = redactUrl(opts.to);
    const srcVersions = versions(src).join(',');
    const dstVersions = versions(dst).join(',');
    if (srcVersions !== dstVersions)
      throw new MigrateStoreError(
        `schema versions differ: source ${srcVersions}, target ${dstVersions} (run both with the same kanade-backend)`,
      );
    const tables = sourceTables(src);
    const dstTables = new Set(
      dst
        .prepare<[], string>(
          "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
        )
        .pluck()
        .all(),
    );
    const absent = tables.filter((t) => !dstTables.has(t));
    if (absent.length) throw new MigrateStoreError(`the target has no table ${absent.join(', ')}`);
    const srcColumns = tableColumnsQuery(src);
    const dstColumns = tableColumnsQuery(dst);
    for (const t of tables) {
      const have = new Set(dstColumns(t).map((c) => c.name));
      const missing = srcColumns(t).filter((c) => !have.has(c.name));
      if (missing.length)
        throw new MigrateStoreError(
          `table ${t}: the target has no column ${missing.map((c) => c.name).join(', ')}`,
        );
    }
    if (!opts.force) {
      const used = tables.filter((t) => countRows(dst!, t) > 0);
      if (used.length)
        throw new MigrateStoreError(
          `the target ${target} is not empty (rows in ${used.join(', ')}); use --force to replace its contents`,
        );
    }
    log(`copying ${tables.length} tables from ${opts.from} to ${target}`);
    const copies: TableCopy[] = [];
    // One read transaction: every table comes from the same snapshot of the file.
    src.exec('BEGIN');
    try {
      for (const table of tables) {
        const t0 = Date.now();
        let rows: number;
        try {
          rows = copyTable(src, dst, table, opts.force ?? false, batchRows);
        } catch (err) {
          throw new Error(
            `copying ${table} failed and was rolled back (${copies.length} earlier tables stay copied; ` +
              `run again with --force): ${(err as Error).message}`,
          );
        }
        copies.push({ table, rows });
        log(`  ${table}: ${rows} rows (${Date.now() - t0} ms)`);
      }
    } finally {
      src.exec('COMMIT');
    }
    const rows = copies.reduce((n, c) => n + c.rows, 0);
    log(`copied ${rows} rows; row counts verified for every table`);
    return { tables: copies, rows, ms: Date.now() - started };
  } catch (err) {
    const e = err as Error;
    const message = scrub(e.message);
    throw e instanceof MigrateStoreError ? new MigrateStoreError(message) : new Error(message);
  } finally {
    src?.close();
    dst?.close();
  }
}

const USAGE =
  'usage: kanade-backend migrate-store [--from <sqlite file>] [--to <postgres url>] [--force] [--batch <rows>] [--config <file>]\n' +
  '  --from defaults to the configured database file ([db] sqlite_path), --to to [db] postgres_url / KANADE_POSTGRES_URL.\n';

/** The command line of `kanade-backend migrate-store`; returns the exit code (0 copied, 1 failed, 2 bad usage or refused). */
export function runMigrateStore(
  argv: string[],
  defaults: { sqlitePath: string; postgresUrl?: string | undefined },
): number {
  let values: { from?: string; to?: string; force?: boolean; batch?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        from: { type: 'string' },
        to: { type: 'string' },
        force: { type: 'boolean' },
        batch: { type: 'string' },
        config: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`kanade-backend migrate-store: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const to = values.to ?? defaults.postgresUrl;
  if (!to) {
    process.stderr.write(
      `kanade-backend migrate-store: no target: pass --to or set KANADE_POSTGRES_URL\n${USAGE}`,
    );
    return 2;
  }
  try {
    migrateStore({
      from: values.from ?? defaults.sqlitePath,
      to,
      force: values.force ?? false,
      batchRows: values.batch === undefined ? DEFAULT_BATCH_ROWS : Number(values.batch),
      log: (line) => process.stdout.write(`${line}\n`),
    });
    return 0;
  } catch (err) {
    process.stderr.write(`kanade-backend migrate-store: ${(err as Error).message}\n`);
    return err instanceof MigrateStoreError ? 2 : 1;
  }
}
