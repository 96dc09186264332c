// `kanade-backend backup <file> [--force]`: a consistent copy of the SQLite
// database, taken while the backend runs (docs/backup.md). It uses SQLite's
// online backup API on a connection of its own, copying every page in one
// step: that step is one read transaction, so the copy is one snapshot (WAL
// contents included), and in WAL mode a reader never blocks the backend's
// writers. Copying in small steps instead would let a write by the backend
// between two steps restart the whole copy, which on a busy backend (it
// writes telemetry every second) might never finish. What the database holds
// that nothing else does: the accounts and permission groups, executions and
// rollout waves; its projections can also be rebuilt from the streams, within
// their retention.
//
// On PostgreSQL the database is PostgreSQL's to back up (pg_dump), and the
// command says so instead of copying anything.
import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { redactUrl } from './store/db.js';

const USAGE = `usage: kanade-backend backup <file> [--force] [--config <file>]
  Copies the SQLite database (KANADE_SQLITE_PATH, default <data dir>/kanade.db) to <file> while the
  backend runs. --force replaces an existing <file>. On PostgreSQL, use pg_dump instead.
`;

/** Refused before anything was written (bad arguments, an existing target, PostgreSQL). */
export class BackupError extends Error {
  override name = 'BackupError';
}

export interface BackupResult {
  file: string;
  bytes: number;
  pages: number;
  ms: number;
}

/** Pages per step after the driver's first (100 pages): everything that is left (see the top of the file). */
const ALL_PAGES = 2 ** 31 - 1;

export async function backupSqlite(
  from: string,
  to: string,
  opts: { force?: boolean } = {},
): Promise<BackupResult> {
  const started = performance.now();
  const source = resolve(from);
  const target = resolve(to);
  if (!existsSync(source)) throw new BackupError(`no database at ${source}`);
  if (target === source) throw new BackupError('the backup file cannot be the database itself');
  if (existsSync(target) && !opts.force)
    throw new BackupError(`${target} exists; pass --force to replace it`);
  if (!existsSync(dirname(target))) throw new BackupError(`the directory ${dirname(target)} does not exist`);
  // Written next to the target and renamed into place at the end: an interrupted backup never leaves a
  // half-written file under the name a restore would use.
  const partial = `${target}.partial`;
  rmSync(partial, { force: true });
  const db = new Database(source, { fileMustExist: true });
  let pages = 0;
  try {
    db.pragma('busy_timeout = 5000');
    const r = await db.backup(partial, {
      progress: ({ totalPages }) => {
        pages = totalPages;
        return ALL_PAGES;
      },
    });
    pages = r.totalPages;
  } catch (err) {
    rmSync(partial, { force: true });
    throw err;
  } finally {
    db.close();
  }
  // The copy is a database of its own: check it before it takes the target's name.
  const copy = new Database(partial, { readonly: true, fileMustExist: true });
  try {
    const check = copy.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw new Error(`the copy failed its integrity check: ${String(check)}`);
  } catch (err) {
    copy.close();
    rmSync(partial, { force: true });
    throw err;
  }
  copy.close();
  renameSync(partial, target);
  return { file: target, bytes: statSync(target).size, pages, ms: Math.round(performance.now() - started) };
}

export async function runBackup(
  argv: string[],
  defaults: { sqlitePath: string; postgresUrl?: string | undefined },
): Promise<number> {
  let parsed: { values: { force?: boolean; help?: boolean }; positionals: string[] };
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        force: { type: 'boolean' },
        config: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    process.stderr.write(`kanade-backend backup: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (parsed.values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (parsed.positionals.length !== 1) {
    process.stderr.write(`kanade-backend backup: give one backup file\n${USAGE}`);
    return 2;
  }
  if (defaults.postgresUrl) {
    process.stderr.write(
      `kanade-backend backup: the store is PostgreSQL (${redactUrl(defaults.postgresUrl)}); back it up with pg_dump (docs/backup.md)\n`,
    );
    return 2;
  }
  try {
    const r = await backupSqlite(defaults.sqlitePath, parsed.positionals[0]!, { force: parsed.values.force });
    process.stdout.write(
      `backed up ${resolve(defaults.sqlitePath)} to ${r.file}: ${r.bytes} bytes, ${r.pages} pages, ${r.ms} ms\n`,
    );
    return 0;
  } catch (err) {
    process.stderr.write(`kanade-backend backup: ${(err as Error).message}\n`);
    return err instanceof BackupError ? 2 : 1;
  }
}
