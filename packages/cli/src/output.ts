// What commands print. People get aligned tables and short sentences on
// stdout; `--json` prints the API's own JSON instead (one document, stable
// for scripts) and nothing else on stdout. Notes (totals, what was saved
// where) go to stderr in both modes, so they never end up in a pipe.

export interface Column<T> {
  header: string;
  value(row: T): unknown;
  /** Right-align (numbers). */
  right?: boolean;
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'string') return v.replace(/\s+/g, ' ');
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export function renderTable<T>(rows: readonly T[], cols: readonly Column<T>[]): string {
  const cells = rows.map((r) => cols.map((c) => cell(c.value(r))));
  const widths = cols.map((c, i) => Math.max(c.header.length, ...cells.map((row) => row[i]!.length)));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => (cols[i]!.right ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(cols.map((c) => c.header.toUpperCase())), ...cells.map(line)].join('\n');
}

export interface Output {
  readonly json: boolean;
  /** `--json`: print `data`; otherwise run `human`. */
  emit(data: unknown, human: () => void): void;
  table<T>(rows: readonly T[], cols: readonly Column<T>[], empty: string): void;
  /** A line on stdout (human mode only). */
  line(text: string): void;
  /** A note on stderr. */
  note(text: string): void;
  /** Raw text or bytes on stdout, as is (job YAML, a script's output, a download to `-o -`). */
  raw(data: string | Uint8Array): void;
  /** Raw text on stderr, as is (a script's stderr). */
  rawErr(text: string): void;
}

export function createOutput(o: {
  json: boolean;
  stdout: (s: string | Uint8Array) => void;
  stderr: (s: string) => void;
}): Output {
  return {
    json: o.json,
    emit(data, human) {
      if (o.json) o.stdout(`${JSON.stringify(data, null, 2)}\n`);
      else human();
    },
    table(rows, cols, empty) {
      if (rows.length === 0) o.stderr(`${empty}\n`);
      else o.stdout(`${renderTable(rows, cols)}\n`);
    },
    line: (text) => o.stdout(`${text}\n`),
    note: (text) => o.stderr(`${text}\n`),
    raw: (data) => o.stdout(data),
    rawErr: (text) => o.stderr(text),
  };
}

export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '-';
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** An RFC 3339 time shortened for a table: seconds precision, `Z`. */
export function formatTime(t: string | null | undefined): string {
  if (!t) return '-';
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? t : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
