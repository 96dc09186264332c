// Inventory facts are whatever an operator's probe printed as JSON; the
// manifest's `display` hints name the fields worth showing (dotted paths),
// their labels and a free-form type. These helpers read a field out of the
// facts and format it by that type, and encode the Search tab's per-column
// filters (`col__op=value`, the API's syntax) to and from the URL.

/** The value at a dotted path (`os.version`), or undefined. */
export function factAt(facts: unknown, path: string): unknown {
  let v: unknown = facts;
  for (const part of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

export interface FactFormatters {
  bytes(n: number): string;
  number(n: number): string;
  date(iso: string): string;
  yes: string;
  no: string;
}

/** Display text of one fact by its display type (bytes, number, date, bool; anything else as text). */
export function formatFact(v: unknown, type: string | null | undefined, f: FactFormatters): string {
  if (v === null || v === undefined || v === '') return '—';
  const kind = (type ?? '').toLowerCase();
  if (typeof v === 'number') {
    if (kind === 'bytes') return f.bytes(v);
    return f.number(v);
  }
  if (typeof v === 'boolean') return v ? f.yes : f.no;
  if (typeof v === 'string') {
    if (['date', 'datetime', 'timestamp', 'time'].includes(kind) && !Number.isNaN(Date.parse(v)))
      return f.date(v);
    if (kind === 'bytes' && /^\d+$/.test(v)) return f.bytes(Number(v));
    return v;
  }
  if (Array.isArray(v)) return `[${v.length}]`;
  return JSON.stringify(v);
}

/** The search API's filter operators, in the order the picker lists them. */
export const SEARCH_OPS = ['eq', 'ne', 'contains', 'prefix', 'suffix', 'lt', 'le', 'gt', 'ge'] as const;
export type SearchOp = (typeof SEARCH_OPS)[number];
export const TEXT_OPS: readonly SearchOp[] = ['eq', 'ne', 'contains', 'prefix', 'suffix'];
export interface SearchFilter {
  column: string;
  op: SearchOp;
  value: string;
}

/** `column:op:value` (the value may contain colons) -> a filter, or null when malformed. */
export function parseFilterParam(s: string): SearchFilter | null {
  const a = s.indexOf(':');
  const b = a < 0 ? -1 : s.indexOf(':', a + 1);
  if (a <= 0 || b < 0) return null;
  const op = s.slice(a + 1, b);
  if (!(SEARCH_OPS as readonly string[]).includes(op)) return null;
  return { column: s.slice(0, a), op: op as SearchOp, value: s.slice(b + 1) };
}

export const filterParam = (f: SearchFilter) => `${f.column}:${f.op}:${f.value}`;

/** The API query of a set of filters: `col__op=v` each (repeats are ANDed by the server). */
export function filterQuery(filters: readonly SearchFilter[]): URLSearchParams {
  const p = new URLSearchParams();
  for (const f of filters) p.append(`${f.column}__${f.op}`, f.value);
  return p;
}
