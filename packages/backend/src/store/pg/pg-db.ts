// better-sqlite3's Database API (the subset the backend uses) over the
// synchronous PostgreSQL bridge, so every store module runs unchanged on
// PostgreSQL. Statement text is translated by ../dialect.ts.
//
// Round trips are the cost, so inside a transaction run() does not send
// anything: its statement is queued, and the queue goes out as one batch at
// the next get/all/iterate, when a returned result's `changes` is read (a
// lazy getter), or at COMMIT (BEGIN itself is queued, so a transaction of
// writes is a single round trip). A queued statement that fails throws from
// that flush point and the transaction rolls back. Outside a transaction a
// run() executes at once (autocommit). transaction(fn) follows
// better-sqlite3: BEGIN / COMMIT, ROLLBACK when fn throws, SAVEPOINT when
// nested; .immediate() / .deferred() / .exclusive() are the same on
// PostgreSQL (row locks, no database write lock to take early).
//
// A transaction remembers the connection (epoch) its BEGIN went out on, and
// every later flush of it names that epoch: when the bridge has reconnected
// in between, the flush fails with PgUnavailableError instead of running the
// rest of the transaction in autocommit on the new connection.
import type { PgStatement } from '../dialect.js';
import { type BridgeOp, type BridgeResult, PgBridge, PgUnavailableError } from './bridge.js';

interface Queued {
  op: BridgeOp;
  done?: (r: BridgeResult) => void;
}

export interface RunResult {
  readonly changes: number;
  readonly lastInsertRowid: number;
}

function isNamed(args: unknown[]): args is [Record<string, unknown>] {
  const a = args[0];
  return (
    args.length === 1 &&
    a !== null &&
    typeof a === 'object' &&
    !Array.isArray(a) &&
    !ArrayBuffer.isView(a) &&
    !(a instanceof ArrayBuffer)
  );
}

export class PgStatementImpl {
  private plucked = false;
  private rawRows = false;
  readonly reader: boolean;
  constructor(
    private readonly db: PgDb,
    readonly source: string,
    private readonly sql: PgStatement,
  ) {
    this.reader = /^\s*(SELECT|WITH|VALUES)\b/i.test(source) || /\bRETURNING\b/i.test(source);
  }

  pluck(on = true): this {
    this.plucked = on;
    if (on) this.rawRows = false;
    return this;
  }

  raw(on = true): this {
    this.rawRows = on;
    if (on) this.plucked = false;
    return this;
  }

  private values(args: unknown[]): unknown[] {
    const names = this.sql.names;
    if (names) {
      const bag = isNamed(args) ? args[0] : {};
      return names.map((n) => {
        if (!(n in bag)) throw new RangeError(`Missing named parameter "${n}"`);
        return bag[n];
      });
    }
    if (isNamed(args)) return [];
    return args.flat().map((v) => (typeof v === 'bigint' ? v.toString() : v));
  }

  run(...args: unknown[]): RunResult {
    return this.db.write({ text: this.sql.text, values: this.values(args) });
  }

  private query(args: unknown[]): BridgeResult {
    return this.db.read({ text: this.sql.text, values: this.values(args), rows: true });
  }

  private shape(r: BridgeResult): unknown[] {
    const rows = r.rows ?? [];
    if (this.rawRows) return rows;
    if (this.plucked) return rows.map((row) => row[0]);
    const cols = r.columns ?? [];
    return rows.map((row) => {
      const o: Record<string, unknown> = {};
      for (let i = 0; i < cols.length; i++) o[cols[i]!] = row[i];
      return o;
    });
  }

  get(...args: unknown[]): unknown {
    return this.shape(this.query(args))[0];
  }

  all(...args: unknown[]): unknown[] {
    return this.shape(this.query(args));
  }

  iterate(...args: unknown[]): IterableIterator<unknown> {
    return this.all(...args)[Symbol.iterator]();
  }
}

type TxFn = ((...args: unknown[]) => unknown) & {
  deferred: TxFn;
  immediate: TxFn;
  exclusive: TxFn;
};

export class PgDb {
  readonly dialect = 'postgres' as const;
  readonly memory = false;
  readonly readonly = false;
  private readonly bridge: PgBridge;
  private queue: Queued[] = [];
  /** Transaction nesting depth (0 = autocommit). */
  private depth = 0;
  /** The connection the open top-level transaction's BEGIN ran on; undefined until it is sent. */
  private txEpoch: number | undefined;
  private isOpen = true;

  constructor(
    /** The connection URL (the /api/query sandbox opens its own connections from it). */
    readonly name: string,
    private readonly translate: (sql: string) => PgStatement,
  ) {
    this.bridge = new PgBridge(name);
    try {
      this.bridge.call([{ text: 'SELECT 1' }]);
    } catch (err) {
      this.bridge.close();
      throw err;
    }
  }

  get open(): boolean {
    return this.isOpen;
  }

  get inTransaction(): boolean {
    return this.depth > 0;
  }

  prepare(source: string): PgStatementImpl {
    return new PgStatementImpl(this, source, this.translate(source));
  }

  exec(source: string): this {
    this.write({ text: this.translate(source).text });
    return this;
  }

  /** Run PostgreSQL text as it is (no translation): the dialect's own DDL, such as its functions. */
  execNative(sql: string): void {
    this.write({ text: sql });
  }

  /** SQLite tuning pragmas have no PostgreSQL meaning; reads return no rows. */
  pragma(_source: string, _opts?: unknown): unknown[] {
    return [];
  }

  /** User functions are SQLite-only (REGEXP is translated to ~* instead). */
  function(..._args: unknown[]): this {
    return this;
  }

  close(): this {
    if (!this.isOpen) return this;
    this.isOpen = false;
    this.queue = [];
    this.bridge.close();
    return this;
  }

  /** Queue (in a transaction) or run (autocommit) a statement whose rows are not needed. */
  write(op: BridgeOp): RunResult {
    if (this.depth === 0) {
      const [r] = this.bridge.call([op]);
      return { changes: r!.changes, lastInsertRowid: 0 };
    }
    let changes: number | undefined;
    this.queue.push({ op, done: (r) => (changes = r.changes) });
    const db = this;
    return {
      get changes(): number {
        if (changes === undefined) db.flush();
        return changes ?? 0;
      },
      lastInsertRowid: 0,
    };
  }

  /** Send the queue plus `op` in one call; returns `op`'s result. */
  read(op: BridgeOp): BridgeResult {
    return this.flush(op)!;
  }

  /** Send every queued statement (and `tail`, if given) in one round trip. */
  flush(tail?: BridgeOp): BridgeResult | undefined {
    const batch = this.queue;
    this.queue = [];
    if (tail) batch.push({ op: tail });
    if (batch.length === 0) return undefined;
    const inTx = this.depth > 0 || batch[0]!.op.text === 'BEGIN';
    const results = this.bridge.call(
      batch.map((q) => q.op),
      this.txEpoch,
    );
    if (inTx && this.txEpoch === undefined) this.txEpoch = this.bridge.epoch;
    batch.forEach((q, i) => {
      q.done?.(results[i]!);
    });
    return tail ? results[results.length - 1] : undefined;
  }

  transaction(fn: (...args: unknown[]) => unknown): TxFn {
    const run = (...args: unknown[]): unknown => {
      const depth = this.depth;
      const savepoint = `kanade_sp${depth}`;
      if (depth === 0) this.txEpoch = undefined;
      this.queue.push({ op: { text: depth === 0 ? 'BEGIN' : `SAVEPOINT ${savepoint}` } });
      this.depth++;
      let result: unknown;
      try {
        result = fn(...args);
      } catch (err) {
        this.depth = depth;
        this.undo(depth, savepoint);
        throw err;
      }
      this.depth = depth;
      try {
        if (depth === 0) this.flush({ text: 'COMMIT' });
        // Flushed, so a failed statement of the nested block throws here, where its caller can catch it.
        else this.flush({ text: `RELEASE SAVEPOINT ${savepoint}` });
      } catch (err) {
        this.undo(depth, savepoint);
        throw err;
      }
      if (depth === 0) this.txEpoch = undefined;
      return result;
    };
    const tx = run as TxFn;
    tx.deferred = tx;
    tx.immediate = tx;
    tx.exclusive = tx;
    return tx;
  }

  /** Roll back a failed (sub)transaction; statements still queued for it are dropped unsent. */
  private undo(depth: number, savepoint: string) {
    if (depth === 0) {
      const started = !this.queue.some((q) => q.op.text === 'BEGIN');
      const epoch = this.txEpoch;
      this.queue = [];
      this.txEpoch = undefined;
      try {
        if (started) this.bridge.call([{ text: 'ROLLBACK' }], epoch);
      } catch (err) {
        // The connection is gone, and with it the transaction: the server rolled it back.
        if (!(err instanceof PgUnavailableError)) throw err;
      }
      return;
    }
    const at = this.queue.findIndex((q) => q.op.text === `SAVEPOINT ${savepoint}`);
    if (at >= 0) this.queue.length = at;
    else
      this.queue.push(
        { op: { text: `ROLLBACK TO SAVEPOINT ${savepoint}` } },
        { op: { text: `RELEASE SAVEPOINT ${savepoint}` } },
      );
  }
}
