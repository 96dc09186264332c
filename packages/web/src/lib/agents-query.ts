// The Agents roster's view as the URL states it (status chip, regex search,
// `meta.<key>.<op>` attribute filters, sort, page size, page) and the one
// API URL it maps to. Kept out of the page's chunk so lib/early.ts can start
// that exact request while the app is still loading.
import { META_OPS, type MetaOp } from './wire-constants.js';

export const PAGE_SIZES = [25, 50, 100, 200];
export const SORTABLE = [
  'pc_id',
  'hostname',
  'os_family',
  'agent_version',
  'last_heartbeat',
  'last_logon_user',
  'updated_at',
];
export type Status = 'all' | 'online' | 'offline';

export interface MetaFilter {
  param: string;
  key: string;
  op: MetaOp;
  value: string;
}

export interface RosterView {
  status: Status;
  q: string;
  sort: { key: string; dir: 'asc' | 'desc' } | null;
  limit: number;
  /** 0-based. */
  page: number;
  filters: MetaFilter[];
}

/** The `meta.<key>.<op>` filters in a query string (the key may contain dots; the op is the last part). */
export function metaFilters(params: URLSearchParams): MetaFilter[] {
  const out: MetaFilter[] = [];
  for (const [param, value] of params) {
    if (!param.startsWith('meta.')) continue;
    const dot = param.lastIndexOf('.');
    const op = param.slice(dot + 1) as MetaOp;
    const key = param.slice('meta.'.length, dot);
    if (dot > 'meta.'.length && META_OPS.includes(op)) out.push({ param, key, op, value });
  }
  return out;
}

export function rosterView(params: URLSearchParams): RosterView {
  const s = params.get('status');
  const sortKey = params.get('sort');
  const limit = Number(params.get('limit'));
  return {
    status: s === 'online' || s === 'offline' ? s : 'all',
    q: params.get('q') ?? '',
    sort:
      sortKey && (SORTABLE.includes(sortKey) || sortKey.startsWith('meta:'))
        ? { key: sortKey, dir: params.get('dir') === 'desc' ? 'desc' : 'asc' }
        : null,
    limit: PAGE_SIZES.includes(limit) ? limit : 50,
    page: Math.max(0, Number.parseInt(params.get('page') ?? '1', 10) - 1 || 0),
    filters: metaFilters(params),
  };
}

export function rosterUrl(v: RosterView): string {
  const p = new URLSearchParams();
  if (v.status !== 'all') p.set('status', v.status);
  if (v.q) p.set('q', v.q);
  if (v.sort) {
    p.set('sort', v.sort.key);
    p.set('dir', v.sort.dir);
  }
  p.set('limit', String(v.limit));
  p.set('offset', String(v.page * v.limit));
  for (const f of v.filters) p.append(f.param, f.value);
  return `/api/agents?${p}`;
}
