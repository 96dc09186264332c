// The Inventory Search tab: one probe, and either one of its explode tables
// (installed software, disks, ...) or its top-level scalar facts, filtered
// per column with the API's operators (=, ≠, contains, starts / ends with,
// and <, ≤, >, ≥ on numeric columns; scalar facts are untyped, so they get
// every operator and the server compares numbers as numbers). Filters are
// edited here and applied with Search, so typing never fires a fleet-wide
// query per keystroke; applied filters live in the URL (`f=col:op:value`).
// The server answers pages without a total, so paging is previous / next.
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { DataTable } from '../../components/DataTable.js';
import { Pager } from '../../components/Pager.js';
import { Empty, ErrorCard, Loading } from '../../components/ui.js';
import { apiJson } from '../../lib/api.js';
import {
  filterParam,
  filterQuery,
  formatFact,
  parseFilterParam,
  SEARCH_OPS,
  type SearchFilter,
  type SearchOp,
  TEXT_OPS,
} from '../../lib/facts.js';
import { ago, dateTime } from '../../lib/format.js';
import type { InventoryJob } from '../../lib/types.js';
import { pageOf, useUrlState } from '../../lib/url-state.js';
import { useFactFormatters } from './PcFacts.js';

const LIMITS = [100, 500, 1000, 5000];
const IDENT = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
/** `in=` value of the scalar-facts target (explode fields are identifiers, so this cannot clash). */
const SCALARS = '';

interface SearchColumn {
  field: string;
  label: string;
  numeric: boolean | null;
  type?: string | null | undefined;
}

/** Columns of a target: an explode table's declared columns, or the probe's top-level scalar facts. */
export function searchColumns(job: InventoryJob, target: string): SearchColumn[] {
  if (target !== SCALARS) {
    const spec = job.explode?.find((e) => e.field === target);
    return (spec?.columns ?? []).map((c) => ({
      field: c.field,
      label: c.field,
      numeric: c.type === 'integer' || c.type === 'real',
    }));
  }
  const out = new Map<string, SearchColumn>();
  for (const d of [...job.display, ...(job.summary ?? [])]) {
    if (IDENT.test(d.field) && !d.columns?.length && !out.has(d.field))
      out.set(d.field, { field: d.field, label: d.label, numeric: null, type: d.type });
  }
  for (const f of job.history_scalars ?? []) {
    if (IDENT.test(f) && !out.has(f)) out.set(f, { field: f, label: f, numeric: null });
  }
  return [...out.values()];
}

const opsFor = (c: SearchColumn | undefined): readonly SearchOp[] =>
  c?.numeric === false ? TEXT_OPS : SEARCH_OPS;

export function InventorySearch({ job }: { job: InventoryJob }) {
  const { t } = useTranslation();
  const fmt = useFactFormatters();
  const [params, set] = useUrlState();
  const explode = job.explode ?? [];
  const target = explode.some((e) => e.field === params.get('in')) ? params.get('in')! : SCALARS;
  const columns = searchColumns(job, target);
  const byField = new Map(columns.map((c) => [c.field, c]));
  const applied = params
    .getAll('f')
    .map(parseFilterParam)
    .filter((f): f is SearchFilter => f !== null && byField.has(f.column));
  const [draft, setDraft] = useState<SearchFilter[]>(applied);
  const limitParam = Number(params.get('limit'));
  const limit = LIMITS.includes(limitParam) ? limitParam : 100;
  const page = pageOf(params);

  const results = useQuery({
    queryKey: ['inventory', 'search', job.manifest_id, target, applied, limit, page],
    queryFn: () => {
      const q = filterQuery(applied);
      q.set('limit', String(limit));
      q.set('offset', String(page * limit));
      const id = encodeURIComponent(job.manifest_id);
      const path =
        target === SCALARS
          ? `/api/inventory/${id}/search-scalars`
          : `/api/inventory/${id}/search/${encodeURIComponent(target)}`;
      return apiJson<Record<string, unknown>[]>(`${path}?${q}`);
    },
    placeholderData: keepPreviousData,
  });

  function submit(e: FormEvent) {
    e.preventDefault();
    set({ f: draft.filter((f) => byField.has(f.column)).map(filterParam) });
  }

  const setFilter = (i: number, patch: Partial<SearchFilter>) =>
    setDraft(
      draft.map((f, j) => {
        if (j !== i) return f;
        const next = { ...f, ...patch };
        if (!opsFor(byField.get(next.column)).includes(next.op)) next.op = 'eq';
        return next;
      }),
    );

  return (
    <div className="space-y-3" data-testid="inventory-search">
      <form className="card space-y-3" onSubmit={submit}>
        <div className="flex flex-wrap items-center gap-2">
          <label className="label mb-0" htmlFor="search-target">
            {t('inventory.searchIn')}
          </label>
          <select
            id="search-target"
            className="input w-auto"
            value={target}
            onChange={(e) => {
              setDraft([]);
              set({ in: e.target.value || null, f: null });
            }}
          >
            <option value={SCALARS}>{t('inventory.scalars')}</option>
            {explode.map((e) => (
              <option key={e.field} value={e.field}>
                {e.field} ({e.table})
              </option>
            ))}
          </select>
        </div>
        {draft.map((f, i) => {
          const col = byField.get(f.column);
          return (
            // biome-ignore lint/suspicious/noArrayIndexKey: filter rows are positional
            <div key={i} className="flex flex-wrap gap-2" data-testid="search-filter">
              <select
                className="input w-auto"
                aria-label={t('inventory.column')}
                value={f.column}
                onChange={(e) => setFilter(i, { column: e.target.value })}
              >
                {columns.map((c) => (
                  <option key={c.field} value={c.field}>
                    {c.label}
                  </option>
                ))}
              </select>
              <select
                className="input w-auto"
                aria-label={t('inventory.operator')}
                value={f.op}
                onChange={(e) => setFilter(i, { op: e.target.value as SearchOp })}
              >
                {opsFor(col).map((op) => (
                  <option key={op} value={op}>
                    {t(`inventory.ops.${op}`)}
                  </option>
                ))}
              </select>
              <input
                className="input w-56 font-mono"
                aria-label={t('inventory.value')}
                value={f.value}
                inputMode={col?.numeric ? 'decimal' : undefined}
                onChange={(e) => setFilter(i, { value: e.target.value })}
              />
              <button
                type="button"
                className="btn"
                aria-label={t('inventory.removeFilter')}
                onClick={() => setDraft(draft.filter((_, j) => j !== i))}
              >
                ✕
              </button>
            </div>
          );
        })}
        <div className="flex flex-wrap items-center gap-2">
          <button
            type="button"
            className="btn"
            disabled={columns.length === 0}
            onClick={() => setDraft([...draft, { column: columns[0]!.field, op: 'eq', value: '' }])}
          >
            {t('inventory.addFilter')}
          </button>
          <select
            className="input w-auto"
            aria-label={t('table.pageSize')}
            value={limit}
            onChange={(e) => set({ limit: e.target.value })}
          >
            {LIMITS.map((n) => (
              <option key={n} value={n}>
                {t('table.perPage', { n })}
              </option>
            ))}
          </select>
          <button type="submit" className="btn btn-primary">
            {t('inventory.runSearch')}
          </button>
        </div>
      </form>
      {results.isError ? (
        <ErrorCard error={results.error} />
      ) : !results.data ? (
        <Loading />
      ) : results.data.length === 0 ? (
        <Empty>{t('inventory.noMatch')}</Empty>
      ) : (
        <>
          <div className="card overflow-x-auto p-2 max-lg:border-0 max-lg:bg-transparent max-lg:p-0 max-lg:shadow-none">
            <DataTable
              testId="search-results"
              rows={results.data}
              rowKey={(r) => JSON.stringify(r)}
              columns={[
                {
                  id: 'pc_id',
                  header: t('agents.col.pc_id'),
                  cell: (r) => (
                    <Link
                      className="link font-mono whitespace-nowrap"
                      to={`/inventory?job=${encodeURIComponent(job.manifest_id)}&pc=${encodeURIComponent(String(r.pc_id))}`}
                    >
                      {String(r.pc_id)}
                    </Link>
                  ),
                },
                {
                  id: 'collected',
                  header: t('inventory.collected'),
                  cell: (r) => {
                    const at = typeof r.collected_at === 'string' ? r.collected_at : null;
                    return <span title={dateTime(at)}>{ago(at)}</span>;
                  },
                },
                ...columns.map((c) => ({
                  id: c.field,
                  header: c.label,
                  cell: (r: Record<string, unknown>) => formatFact(r[c.field], c.type, fmt),
                  ...(c.numeric ? { className: 'text-right tabular-nums' } : {}),
                })),
              ]}
            />
          </div>
          <Pager
            page={page}
            limit={limit}
            total={undefined}
            rows={results.data.length}
            onPage={(p) => set({ page: p > 0 ? String(p + 1) : null }, false)}
            testId="search-range"
          />
        </>
      )}
    </div>
  );
}
