// The table every list page uses. At 1024 px and wider it is a normal table;
// below, each row becomes a card and every value carries its column label
// (pure CSS, one DOM). Sorting is the caller's (server-side for big lists):
// a sortable header cycles ascending, descending, cleared. The column picker
// keeps the operator's choice in localStorage per table.
import { type ReactNode, useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';

export interface Column<T> {
  id: string;
  header: string;
  cell(row: T): ReactNode;
  /** Server sort key; absent = not sortable. */
  sortKey?: string;
  className?: string;
  /** Shown unless the operator hides it. */
  defaultVisible?: boolean;
}

export interface SortState {
  key: string;
  dir: 'asc' | 'desc';
}

/** asc -> desc -> cleared. */
export function nextSort(current: SortState | null, key: string): SortState | null {
  if (!current || current.key !== key) return { key, dir: 'asc' };
  return current.dir === 'asc' ? { key, dir: 'desc' } : null;
}

export function DataTable<T>({
  rows,
  columns,
  rowKey,
  sort,
  onSort,
  testId,
}: {
  rows: T[];
  columns: Column<T>[];
  rowKey(row: T): string;
  sort?: SortState | null;
  onSort?(s: SortState | null): void;
  testId?: string;
}) {
  return (
    <table className="w-full text-sm max-lg:block" data-testid={testId}>
      <thead className="max-lg:hidden">
        <tr className="border-b border-zinc-200 text-left dark:border-zinc-800">
          {columns.map((c) => {
            const active = sort && c.sortKey && sort.key === c.sortKey ? sort.dir : undefined;
            return (
              <th
                key={c.id}
                scope="col"
                aria-sort={active === 'asc' ? 'ascending' : active === 'desc' ? 'descending' : undefined}
                className={`px-2 py-2 text-xs font-semibold tracking-wide whitespace-nowrap text-zinc-500 uppercase dark:text-zinc-400 ${c.className ?? ''}`}
              >
                {c.sortKey && onSort ? (
                  <button
                    type="button"
                    className="inline-flex items-center gap-1 uppercase hover:text-zinc-900 dark:hover:text-zinc-100"
                    onClick={() => onSort(nextSort(sort ?? null, c.sortKey!))}
                  >
                    {c.header}
                    <span aria-hidden="true" className="w-2">
                      {active === 'asc' ? '▲' : active === 'desc' ? '▼' : ''}
                    </span>
                  </button>
                ) : (
                  c.header
                )}
              </th>
            );
          })}
        </tr>
      </thead>
      <tbody className="max-lg:block max-lg:space-y-2">
        {rows.map((r) => (
          <tr
            key={rowKey(r)}
            className="border-b border-zinc-100 hover:bg-zinc-50 max-lg:block max-lg:rounded-lg max-lg:border max-lg:border-zinc-200 max-lg:bg-white max-lg:p-3 dark:border-zinc-800/70 dark:hover:bg-zinc-800/40 max-lg:dark:border-zinc-800 max-lg:dark:bg-zinc-900"
          >
            {columns.map((c) => (
              <td
                key={c.id}
                className={`px-2 py-1.5 align-middle max-lg:flex max-lg:items-center max-lg:justify-between max-lg:gap-3 max-lg:px-0 max-lg:py-0.5 ${c.className ?? ''}`}
              >
                <span className="muted text-xs lg:hidden">{c.header}</span>
                <span className="min-w-0 max-lg:truncate max-lg:text-right">{c.cell(r)}</span>
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function storedColumns(key: string): string[] | null {
  try {
    const v = JSON.parse(localStorage.getItem(key) ?? 'null');
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : null;
  } catch {
    return null;
  }
}

/** The visible column ids, persisted under `storageKey`. */
export function useColumnChoice<T>(storageKey: string, columns: Column<T>[]) {
  const [visible, setVisible] = useState<string[]>(
    () => storedColumns(storageKey) ?? columns.filter((c) => c.defaultVisible !== false).map((c) => c.id),
  );
  const toggle = (id: string) => {
    setVisible((v) => {
      const next = v.includes(id) ? v.filter((x) => x !== id) : [...v, id];
      localStorage.setItem(storageKey, JSON.stringify(next));
      return next;
    });
  };
  return { shown: columns.filter((c) => visible.includes(c.id)), visible, toggle };
}

export function ColumnPicker<T>({
  columns,
  visible,
  toggle,
}: {
  columns: Column<T>[];
  visible: string[];
  toggle(id: string): void;
}) {
  const { t } = useTranslation();
  const [open, setOpen] = useState(false);
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return;
    const close = (e: MouseEvent) => {
      if (!ref.current?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('mousedown', close);
    return () => document.removeEventListener('mousedown', close);
  }, [open]);
  return (
    <div className="relative" ref={ref}>
      <button type="button" className="btn" aria-expanded={open} onClick={() => setOpen((o) => !o)}>
        {t('table.columns')}
      </button>
      {open ? (
        <div className="absolute right-0 z-20 mt-1 w-56 rounded-lg border border-zinc-200 bg-white p-2 shadow-lg dark:border-zinc-700 dark:bg-zinc-900">
          {columns.map((c) => (
            <label
              key={c.id}
              className="flex cursor-pointer items-center gap-2 rounded px-2 py-1 text-sm hover:bg-zinc-100 dark:hover:bg-zinc-800"
            >
              <input type="checkbox" checked={visible.includes(c.id)} onChange={() => toggle(c.id)} />
              {c.header}
            </label>
          ))}
        </div>
      ) : null}
    </div>
  );
}
