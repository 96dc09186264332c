// Read-only SQL over the projection database: POST /api/query (admin) and
// the dynamic group definitions share this one sandbox, as upstream's
// `run_read_only`.
//
// Layers, each enough on its own for some attacks, together for all:
// 1. validateReadOnly(): one SELECT / WITH statement; write verbs, ATTACH /
//    DETACH, PRAGMA, VACUUM and load_extension are refused as whole words
//    outside string literals, quoted identifiers and comments (ATTACH and
//    PRAGMA are refused because SQLite counts them as read-only statements);
// 2. the connection is opened read-only (SQLITE_OPEN_READONLY) with
//    query_only on, and a statement SQLite does not report as read-only
//    (sqlite3_stmt_readonly, e.g. a data-modifying CTE) or that returns no
//    rows is refused before it runs; better-sqlite3 refuses a string with
//    more than one statement;
// 3. rows are read one at a time and stop at the cap (+1 to flag
//    truncation), so a huge result is never materialised;
// 4. a wall-clock timeout. better-sqlite3 is synchronous and has no
//    interrupt, so a query runs in a worker thread and a query past its
//    budget is stopped by terminating the thread (SQLite is interrupted when
//    the thread's connection is torn down). A small pool of such threads
//    (2, this is an admin tool) is reused and idle ones exit after a minute.
//    The worker is inline source (eval) so the build needs no extra entry
//    point; it requires better-sqlite3 by the path resolved here.
// On PostgreSQL (`path` is the postgres:// URL) layers 2-4 are the server's:
// each query runs on its own connection in a READ ONLY transaction with a
// statement_timeout, rolled back after, read through a cursor up to the cap; the text is
// translated like the store's (store/dialect.ts: REGEXP, LIKE), and the
// system catalogs and server functions (pg_*, information_schema,
// set_config, current_setting, dblink, lo_*) are refused like PRAGMA is.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import pg from 'pg';
import { postgresTranslator } from '../store/db.js';

export const QUERY_DEFAULT_LIMIT = 1000;
export const QUERY_MAX_LIMIT = 10_000;
export const QUERY_TIMEOUT_MS = 15_000;
const IDLE_MS = 60_000;

// `replace` only as a statement (REPLACE INTO): replace() is a common string function.
const BLOCKED: [string, RegExp][] = [
  'insert',
  'update',
  'delete',
  'drop',
  'create',
  'alter',
  'attach',
  'detach',
  'pragma',
  'vacuum',
  'reindex',
  'analyze',
  'load_extension',
].map((kw): [string, RegExp] => [kw, new RegExp(`(^|[^a-z0-9_$])${kw}([^a-z0-9_$]|$)`)]);
BLOCKED.push(['replace', /(^|[^a-z0-9_$])replace\s+into([^a-z0-9_$]|$)/]);

/** SQL with string literals, quoted identifiers and comments blanked out. */
function stripNoise(sql: string): string {
  let out = '';
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i]!;
    if (c === "'" || c === '"' || c === '`' || c === '[') {
      const close = c === '[' ? ']' : c;
      i++;
      while (i < sql.length) {
        if (sql[i] === close) {
          if (close !== ']' && sql[i + 1] === close) i += 2;
          else break;
        } else i++;
      }
      out += ' ';
    } else if (c === '-' && sql[i + 1] === '-') {
      while (i < sql.length && sql[i] !== '\n') i++;
      out += '\n';
    } else if (c === '/' && sql[i + 1] === '*') {
      i += 2;
      while (i < sql.length && !(sql[i] === '*' && sql[i + 1] === '/')) i++;
      i++;
      out += ' ';
    } else out += c;
  }
  return out;
}

/** Why `sql` is not one read-only SELECT / WITH statement, or undefined when it is. */
export function validateReadOnly(sql: string): string | undefined {
  const trimmed = sql.trim();
  if (trimmed === '') return 'empty query';
  const first = /^[A-Za-z]+/.exec(trimmed)?.[0]?.toLowerCase() ?? '';
  if (first !== 'select' && first !== 'with') {
    return `only read-only SELECT / WITH queries are allowed (got '${first || trimmed.slice(0, 10)}')`;
  }
  const stripped = stripNoise(trimmed).toLowerCase();
  if (stripped.replace(/[\s;]+$/, '').includes(';')) return 'multiple statements are not allowed';
  for (const [kw, re] of BLOCKED) {
    if (re.test(stripped)) return `'${kw}' is not allowed in a read-only query`;
  }
  return undefined;
}

const PG_BLOCKED: [string, RegExp][] = [
  ['pg_*', /(^|[^a-z0-9_$])pg_[a-z0-9_]*/],
  ...['information_schema', 'set_config', 'current_setting', 'dblink', 'copy'].map((kw): [string, RegExp] => [
    kw,
    new RegExp(`(^|[^a-z0-9_$])${kw}([^a-z0-9_$]|$)`),
  ]),
  ['lo_*', /(^|[^a-z0-9_$])lo_[a-z0-9_]+/],
];

/** validateReadOnly plus PostgreSQL's catalogs and server-side functions. */
export function validateReadOnlyPostgres(sql: string): string | undefined {
  const why = validateReadOnly(sql);
  if (why) return why;
  const stripped = stripNoise(sql.trim()).toLowerCase();
  for (const [kw, re] of PG_BLOCKED) {
    if (re.test(stripped)) return `'${kw}' is not allowed in a read-only query`;
  }
  return undefined;
}

export interface QueryResult {
  columns: string[];
  rows: unknown[][];
  truncated: boolean;
}

export class QueryError extends Error {
  constructor(
    readonly kind: 'rejected' | 'timeout' | 'sql',
    message: string,
  ) {
    super(message);
  }
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { readonly: true, fileMustExist: true });
db.pragma('busy_timeout = 5000');
db.pragma('query_only = ON');
const cell = (v) => (Buffer.isBuffer(v) ? '<blob ' + v.length + ' bytes>' : typeof v === 'bigint' ? Number(v) : v);
parentPort.on('message', ({ id, sql, limit }) => {
  try {
    const stmt = db.prepare(sql);
    if (!stmt.reader) throw new Error('the statement returns no rows; only SELECT / WITH queries are allowed');
    if (!stmt.readonly) throw new Error('the statement would write; only read-only queries are allowed');
    const columns = stmt.columns().map((c) => c.name);
    stmt.raw(true);
    const rows = [];
    let truncated = false;
    for (const row of stmt.iterate()) {
      if (rows.length >= limit) { truncated = true; break; }
      rows.push(row.map(cell));
    }
    parentPort.postMessage({ id, ok: true, columns, rows, truncated });
  } catch (err) {
    parentPort.postMessage({ id, ok: false, error: String(err && err.message || err) });
  }
});
`;

interface Slot {
  worker: Worker;
  idleTimer?: NodeJS.Timeout;
}

type Reply =
  | { id: number; ok: true; columns: string[]; rows: unknown[][]; truncated: boolean }
  | { id: number; ok: false; error: string };

export interface QueryRunner {
  run(sql: string, limit: number): Promise<QueryResult>;
  close(): Promise<void>;
}

// The store's column types (pg/bridge-worker.ts): int8 / numeric as numbers, booleans as 1/0.
const PG_PARSERS: Record<number, (v: string) => unknown> = {
  20: Number,
  1700: Number,
  16: (v) => (v === 't' ? 1 : 0),
};
const PG_TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    PG_PARSERS[oid] ?? pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

function createPostgresQueryRunner(url: string, timeoutMs: number): QueryRunner {
  const open = new Set<pg.Client>();
  let closed = false;
  const cell = (v: unknown) =>
    Buffer.isBuffer(v) ? `<blob ${v.length} bytes>` : typeof v === 'bigint' ? Number(v) : v;
  return {
    async run(sql, limit) {
      const why = validateReadOnlyPostgres(sql);
      if (why) throw new QueryError('rejected', why);
      if (closed) throw new QueryError('sql', 'the query runner is closed');
      const text = postgresTranslator()(sql.trim().replace(/[\s;]+$/, '')).text;
      const client = new pg.Client({
        connectionString: url,
        query_timeout: timeoutMs + 5000,
        types: PG_TYPES,
      });
      open.add(client);
      try {
        await client.connect();
        await client.query('BEGIN READ ONLY');
        await client.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.round(timeoutMs))}`);
        await client.query(`DECLARE kanade_query NO SCROLL CURSOR FOR ${text}\n`);
        const r = await client.query({
          text: `FETCH FORWARD ${Math.max(0, Math.floor(limit)) + 1} FROM kanade_query`,
          rowMode: 'array',
        });
        const rows = (r.rows as unknown[][]).map((row) => row.map(cell));
        const truncated = rows.length > limit;
        if (truncated) rows.length = limit;
        return { columns: r.fields.map((f) => f.name), rows, truncated };
      } catch (err) {
        const e = err as Error & { code?: string };
        if (e.code === '57014')
          throw new QueryError('timeout', `query exceeded the ${Math.round(timeoutMs / 1000)}s budget`);
        throw new QueryError('sql', e.message);
      } finally {
        open.delete(client);
        await client.query('ROLLBACK').catch(() => {});
        await client.end().catch(() => {});
      }
    },
    async close() {
      closed = true;
      await Promise.all([...open].map((c) => c.end().catch(() => {})));
    },
  };
}

export function createQueryRunner(opts: {
  path: string;
  timeoutMs?: number;
  maxWorkers?: number;
}): QueryRunner {
  const timeoutMs = opts.timeoutMs ?? QUERY_TIMEOUT_MS;
  if (/^postgres(ql)?:\/\//.test(opts.path)) return createPostgresQueryRunner(opts.path, timeoutMs);
  const maxWorkers = opts.maxWorkers ?? 2;
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const idle: Slot[] = [];
  const busy = new Set<Slot>();
  const waiting: ((s: Slot) => void)[] = [];
  let nextId = 1;
  let closed = false;

  function spawn(): Slot {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver, path: opts.path } });
    worker.unref();
    return { worker };
  }

  function acquire(): Promise<Slot> {
    const s = idle.pop();
    if (s) {
      clearTimeout(s.idleTimer);
      busy.add(s);
      return Promise.resolve(s);
    }
    if (busy.size < maxWorkers) {
      const fresh = spawn();
      busy.add(fresh);
      return Promise.resolve(fresh);
    }
    return new Promise((resolve) => waiting.push(resolve));
  }

  function release(s: Slot, healthy: boolean) {
    busy.delete(s);
    if (!healthy || closed) void s.worker.terminate();
    const next = waiting.shift();
    if (next) {
      const slot = healthy && !closed ? s : spawn();
      busy.add(slot);
      next(slot);
      return;
    }
    if (healthy && !closed) {
      s.idleTimer = setTimeout(() => {
        const i = idle.indexOf(s);
        if (i >= 0) idle.splice(i, 1);
        void s.worker.terminate();
      }, IDLE_MS);
      s.idleTimer.unref();
      idle.push(s);
    }
  }

  return {
    async run(sql, limit) {
      const why = validateReadOnly(sql);
      if (why) throw new QueryError('rejected', why);
      if (closed) throw new QueryError('sql', 'the query runner is closed');
      const slot = await acquire();
      const id = nextId++;
      return new Promise<QueryResult>((resolve, reject) => {
        const cleanup = () => {
          clearTimeout(timer);
          slot.worker.off('message', onMessage);
          slot.worker.off('error', onError);
          slot.worker.off('exit', onExit);
        };
        const timer = setTimeout(() => {
          cleanup();
          release(slot, false);
          reject(new QueryError('timeout', `query exceeded the ${Math.round(timeoutMs / 1000)}s budget`));
        }, timeoutMs);
        const onMessage = (m: Reply) => {
          if (m.id !== id) return;
          cleanup();
          release(slot, true);
          if (m.ok) resolve({ columns: m.columns, rows: m.rows, truncated: m.truncated });
          else reject(new QueryError('sql', m.error));
        };
        const onError = (err: Error) => {
          cleanup();
          release(slot, false);
          reject(new QueryError('sql', `query worker failed: ${err.message}`));
        };
        const onExit = () => onError(new Error('exited'));
        slot.worker.on('message', onMessage);
        slot.worker.on('error', onError);
        slot.worker.on('exit', onExit);
        slot.worker.postMessage({ id, sql, limit });
      });
    },
    async close() {
      closed = true;
      const all = [...idle.splice(0), ...busy];
      busy.clear();
      for (const s of all) clearTimeout(s.idleTimer);
      await Promise.all(all.map((s) => s.worker.terminate()));
    },
  };
}
