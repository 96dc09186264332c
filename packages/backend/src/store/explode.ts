// Explode tables: one flat table per `inventory.explode` spec of a manifest,
// holding one row per element of an array in a PC's facts (installed
// software, disks ...), so cross-PC questions are indexed SQL.
//
// Identifiers come from operators' manifests and SQLite cannot bind them,
// so every table and column name must match IDENT_RE and is double-quoted
// (reserved words such as `order` work). The built-in columns pc_id, job_id
// and collected_at cannot be redeclared. DDL only ever touches tables listed
// in `inventory_explode_tables` (created here): a spec naming an existing
// table this backend did not create, or one owned by another manifest
// field, is refused, so a manifest can never rebuild a core table.
//
// Tables are WITHOUT ROWID with PRIMARY KEY (pc_id, job_id, ...spec pk), so
// a secondary index on (col) is effectively (col, pc_id, job_id, pk...): an
// equality search ordered by pc_id walks the index and stops at LIMIT.
//
// Schema changes reconcile on first use after a change: new columns are
// added with ALTER TABLE; a primary-key change, a removed column or a type
// change rebuilds the table (copy common columns, rows colliding under the
// new key are dropped; each PC's next result fills the table again). The
// check runs once per apply batch, not once per result, and always inside
// the caller's transaction, so a rolled-back batch leaves no stale belief
// about the schema behind.
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import { type TableColumn, tableColumnsQuery, tableExistsQuery, totalChanges } from './dialect.js';

export const IDENT_RE = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const BUILTIN_COLUMNS = new Set(['pc_id', 'job_id', 'collected_at']);

export interface ExplodeColumn {
  field: string;
  type?: string | null | undefined;
  index?: boolean | undefined;
}

export interface ExplodeSpec {
  field: string;
  table: string;
  primary_key: readonly string[];
  columns: readonly ExplodeColumn[];
  track_history?: boolean | undefined;
}

export type SqlType = 'TEXT' | 'INTEGER' | 'REAL';

export function sqlType(type: string | null | undefined): SqlType | undefined {
  if (type === undefined || type === null || type === 'text') return 'TEXT';
  if (type === 'integer') return 'INTEGER';
  if (type === 'real') return 'REAL';
  return undefined;
}

export function isIdentifier(name: string): boolean {
  return IDENT_RE.test(name);
}

/** Why a spec cannot be turned into a table, or undefined when it can. */
export function explodeSpecError(spec: ExplodeSpec): string | undefined {
  if (!isIdentifier(spec.table) || spec.table.toLowerCase().startsWith('sqlite_')) {
    return `explode table ${JSON.stringify(spec.table)} must be a letter or _ followed by letters, digits or _ (at most 64)`;
  }
  if (spec.columns.length === 0) return `explode table ${spec.table} declares no columns`;
  const seen = new Set<string>();
  for (const c of spec.columns) {
    if (!isIdentifier(c.field)) return `explode column ${JSON.stringify(c.field)} is not a plain identifier`;
    const lower = c.field.toLowerCase();
    if (BUILTIN_COLUMNS.has(lower))
      return `explode column ${c.field} is built in (pc_id, job_id, collected_at)`;
    if (seen.has(lower)) return `explode column ${c.field} is declared twice`;
    seen.add(lower);
    if (!sqlType(c.type))
      return `explode column ${c.field} has type ${JSON.stringify(c.type)}; use text, integer or real`;
  }
  if (spec.primary_key.length === 0)
    return `explode table ${spec.table} needs at least one primary_key column`;
  const pk = new Set<string>();
  for (const k of spec.primary_key) {
    if (!spec.columns.some((c) => c.field === k))
      return `primary_key ${JSON.stringify(k)} is not one of the columns`;
    if (pk.has(k)) return `primary_key ${k} is listed twice`;
    pk.add(k);
  }
  return undefined;
}

const q = (ident: string) => `"${ident}"`;

function createSql(spec: ExplodeSpec, table = spec.table): string {
  const cols = spec.columns.map((c) => `  ${q(c.field)} ${sqlType(c.type)}`).join(',\n');
  const pk = ['pc_id', 'job_id', ...spec.primary_key.map(q)].join(', ');
  return `CREATE TABLE ${q(table)} (\n  pc_id TEXT NOT NULL,\n  job_id TEXT NOT NULL,\n  collected_at INTEGER,\n${cols},\n  PRIMARY KEY (${pk})\n) WITHOUT ROWID`;
}

/** Text SQLite's numeric affinity turns into a number (a decimal literal). */
const NUMERIC_TEXT = /^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/;

/** A stored value for a declared column from a JSON element value (upstream's binding rules). */
export function columnValue(type: SqlType, v: unknown): string | number | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return null;
    return type === 'TEXT' ? String(v) : v;
  }
  if (typeof v === 'string') {
    // Numeric text in a numeric column is stored as a number by SQLite's affinity; convert it here so
    // a value read back compares equal to the incoming one.
    if (type !== 'TEXT' && NUMERIC_TEXT.test(v)) return Number(v);
    return v;
  }
  if (typeof v === 'boolean') return type === 'TEXT' ? String(v) : v ? 1 : 0;
  return JSON.stringify(v);
}

export const FILTER_OPS = ['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'contains', 'prefix', 'suffix'] as const;
export type FilterOp = (typeof FILTER_OPS)[number];

/** One `col__op=value` filter; the column is validated by the caller, the value is always bound. */
export interface SearchFilter {
  column: string;
  op: FilterOp;
  value: string | number;
}

const COMPARE: Record<string, string> = { eq: '=', ne: '<>', lt: '<', le: '<=', gt: '>', ge: '>=' };
const likeEscape = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/** SQL for one filter over `expr`; LIKE input is escaped so % and _ match themselves. */
export function filterSql(expr: string, f: SearchFilter): { sql: string; param: string | number } {
  const cmp = COMPARE[f.op];
  if (cmp) return { sql: `${expr} ${cmp} ?`, param: f.value };
  const v = likeEscape(String(f.value));
  const pattern = f.op === 'contains' ? `%${v}%` : f.op === 'prefix' ? `${v}%` : `%${v}`;
  // CAST: a number column matches as its text on both stores (PostgreSQL has no implicit cast for LIKE).
  return { sql: `CAST(${expr} AS TEXT) LIKE ? ESCAPE '\\'`, param: pattern };
}

export type { TableColumn };

export function createExplodeStore(db: Db) {
  const tableExists = tableExistsQuery(db);
  const owner = db.prepare<[string], { job_id: string; field: string }>(
    'SELECT job_id, field FROM inventory_explode_tables WHERE table_name = ?',
  );
  const register = db.prepare(
    `INSERT INTO inventory_explode_tables (table_name, job_id, field, spec_json, updated_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (table_name) DO UPDATE SET spec_json = excluded.spec_json, updated_at = excluded.updated_at`,
  );
  const statements = new Map<string, Statement>();
  const stmt = (sql: string): Statement => {
    let s = statements.get(sql);
    if (!s) {
      s = db.prepare(sql);
      if (statements.size > 512) statements.clear();
      statements.set(sql, s);
    }
    return s;
  };

  const columnsOf = tableColumnsQuery(db);

  function rebuild(spec: ExplodeSpec, existing: TableColumn[]) {
    const tmp = `${spec.table}__migrate`;
    const have = new Set(existing.map((c) => c.name));
    const common = ['pc_id', 'job_id', 'collected_at', ...spec.columns.map((c) => c.field)].filter((c) =>
      have.has(c),
    );
    db.exec(`DROP TABLE IF EXISTS ${q(tmp)}`);
    db.exec(createSql(spec, tmp));
    const list = common.map(q).join(', ');
    db.exec(
      `INSERT INTO ${q(tmp)} (${list}) SELECT ${list} FROM ${q(spec.table)} WHERE true ON CONFLICT DO NOTHING`,
    );
    db.exec(`DROP TABLE ${q(spec.table)}`);
    db.exec(`ALTER TABLE ${q(tmp)} RENAME TO ${q(spec.table)}`);
  }

  return {
    /**
     * Create or migrate the table of `spec` for manifest `jobId` (caller owns the transaction).
     * Throws with an operator-facing message when the spec is invalid or the table is not ours.
     */
    ensure(spec: ExplodeSpec, jobId: string, now: number): void {
      const err = explodeSpecError(spec);
      if (err) throw new Error(err);
      const own = owner.get(spec.table);
      const exists = tableExists(spec.table);
      if (exists && !own) {
        throw new Error(
          `table ${spec.table} already exists and was not created for an explode spec; rename it`,
        );
      }
      if (own && (own.job_id !== jobId || own.field !== spec.field)) {
        throw new Error(
          `table ${spec.table} already holds ${own.job_id} field ${own.field}; use another table name`,
        );
      }
      if (!exists) {
        db.exec(createSql(spec));
      } else {
        const existing = columnsOf(spec.table);
        const byName = new Map(existing.map((c) => [c.name, c]));
        const expected: [string, string][] = [
          ['pc_id', 'TEXT'],
          ['job_id', 'TEXT'],
          ['collected_at', 'INTEGER'],
          ...spec.columns.map((c): [string, string] => [c.field, sqlType(c.type)!]),
        ];
        const expectedNames = new Set(expected.map(([n]) => n));
        const wantPk = ['pc_id', 'job_id', ...spec.primary_key].join('\n');
        const havePk = existing
          .filter((c) => c.pk > 0)
          .sort((a, b) => a.pk - b.pk)
          .map((c) => c.name)
          .join('\n');
        const drift =
          wantPk !== havePk ||
          existing.some((c) => !expectedNames.has(c.name)) ||
          expected.some(([n, t]) => byName.has(n) && byName.get(n)!.type.toUpperCase() !== t);
        if (drift) rebuild(spec, existing);
        else {
          for (const [n, t] of expected) {
            if (!byName.has(n)) db.exec(`ALTER TABLE ${q(spec.table)} ADD COLUMN ${q(n)} ${t}`);
          }
        }
      }
      for (const c of spec.columns) {
        if (c.index)
          db.exec(
            `CREATE INDEX IF NOT EXISTS ${q(`idx_${spec.table}_${c.field}`)} ON ${q(spec.table)} (${q(c.field)})`,
          );
      }
      register.run(spec.table, jobId, spec.field, JSON.stringify(spec), now);
    },

    /** This PC's current rows (declared columns only). */
    rows(spec: ExplodeSpec, pcId: string, jobId: string): Record<string, string | number | null>[] {
      const cols = spec.columns.map((c) => q(c.field)).join(', ');
      return stmt(`SELECT ${cols} FROM ${q(spec.table)} WHERE pc_id = ? AND job_id = ?`).all(
        pcId,
        jobId,
      ) as Record<string, string | number | null>[];
    },

    count(spec: ExplodeSpec, pcId: string, jobId: string): number {
      return stmt(`SELECT COUNT(*) FROM ${q(spec.table)} WHERE pc_id = ? AND job_id = ?`)
        .pluck()
        .get(pcId, jobId) as number;
    },

    /** Replace this PC's rows with `values` (each aligned to spec.columns); duplicates of a key keep the first. */
    replace(
      spec: ExplodeSpec,
      pcId: string,
      jobId: string,
      collectedAt: number | null,
      values: readonly (string | number | null)[][],
    ): number {
      stmt(`DELETE FROM ${q(spec.table)} WHERE pc_id = ? AND job_id = ?`).run(pcId, jobId);
      const cols = spec.columns.map((c) => q(c.field)).join(', ');
      const marks = spec.columns.map(() => '?').join(', ');
      const insert = stmt(
        `INSERT INTO ${q(spec.table)} (pc_id, job_id, collected_at, ${cols}) VALUES (?, ?, ?, ${marks}) ON CONFLICT DO NOTHING`,
      );
      return totalChanges(values.map((v) => insert.run(pcId, jobId, collectedAt, ...v)));
    },

    /**
     * One page of the rows matching every filter, ordered by pc_id then the spec's key (an index
     * walk for an equality filter on an indexed column). Columns the table does not have yet read
     * as NULL, and a filter on such a column matches nothing. Identifiers were validated against
     * the spec by the caller; values are bound.
     */
    search(
      spec: ExplodeSpec,
      jobId: string,
      filters: readonly SearchFilter[],
      limit: number,
      offset: number,
    ): Record<string, unknown>[] {
      const have = tableExists(spec.table) ? new Set(columnsOf(spec.table).map((c) => c.name)) : undefined;
      if (!have || filters.some((f) => !have.has(f.column))) return [];
      const select = spec.columns.map((c) => (have.has(c.field) ? q(c.field) : `NULL AS ${q(c.field)}`));
      const where = ['job_id = ?'];
      const params: unknown[] = [jobId];
      for (const f of filters) {
        const w = filterSql(q(f.column), f);
        where.push(w.sql);
        params.push(w.param);
      }
      const order = ['pc_id', 'job_id', ...spec.primary_key.filter((k) => have.has(k)).map(q)];
      return stmt(
        `SELECT pc_id, collected_at, ${select.join(', ')} FROM ${q(spec.table)} WHERE ${where.join(' AND ')}
         ORDER BY ${order.join(', ')} LIMIT ? OFFSET ?`,
      ).all(...params, limit, offset) as Record<string, unknown>[];
    },
  };
}
export type ExplodeStore = ReturnType<typeof createExplodeStore>;
