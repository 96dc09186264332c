// Page state that belongs in the URL (filters, tabs, the open item), so a
// view can be linked and survives a reload. `set` merges changes into the
// query string (null or '' removes a key) without adding a history entry,
// and by default drops `page`, since a new filter starts at the first page.
// An array value sets a repeated key (`f=a&f=b`).
import { useCallback } from 'react';
import { useSearchParams } from 'react-router';

export type ParamChanges = Record<string, string | readonly string[] | null | undefined>;

export function applyChanges(prev: URLSearchParams, changes: ParamChanges, resetPage: boolean) {
  const next = new URLSearchParams(prev);
  for (const [k, v] of Object.entries(changes)) {
    next.delete(k);
    if (Array.isArray(v)) for (const x of v) next.append(k, x);
    else if (typeof v === 'string' && v !== '') next.set(k, v);
  }
  if (resetPage && !('page' in changes)) next.delete('page');
  return next;
}

export function useUrlState() {
  const [params, setParams] = useSearchParams();
  const set = useCallback(
    (changes: ParamChanges, resetPage = true) =>
      setParams((prev) => applyChanges(prev, changes, resetPage), { replace: true }),
    [setParams],
  );
  return [params, set] as const;
}

/** The 0-based page from `?page=` (1-based in the URL). */
export function pageOf(params: URLSearchParams): number {
  return Math.max(0, Number.parseInt(params.get('page') ?? '1', 10) - 1 || 0);
}
