// Inventory: what the probes (jobs with an `inventory:` hint) collected.
// Overview: pick a probe, see the fleet table (pc_id, last user, collected
// time, the manifest's display columns, row counts of nested arrays),
// paged by the server; a row opens that PC's facts (?pc=): one card per
// probe with Now, History (the change diff between runs) and raw JSON.
// Search (/inventory/search): cross-PC search over a probe's explode tables
// or its top-level scalar facts with per-column operators. Probe, page,
// filters and the open PC live in the URL so any view can be linked.
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useEffect, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useLocation, useNavigate } from 'react-router';
import { type Column, DataTable } from '../components/DataTable.js';
import { Pager } from '../components/Pager.js';
import { Empty, ErrorCard, Loading, PageHeader, Segmented } from '../components/ui.js';
import { apiJson, qs } from '../lib/api.js';
import { factAt, formatFact } from '../lib/facts.js';
import { ago, dateTime, num } from '../lib/format.js';
import type { DisplayField, InventoryByJob, InventoryFleetRow, InventoryJob } from '../lib/types.js';
import { pageOf, useUrlState } from '../lib/url-state.js';
import { PcFacts, useFactFormatters } from './inventory/PcFacts.js';
import { InventorySearch } from './inventory/Search.js';

const PAGE_SIZES = [50, 100, 500, 1000];

export function useInventoryJobs() {
  return useQuery({
    queryKey: ['inventory', 'jobs'],
    queryFn: () => apiJson<InventoryJob[]>('/api/inventory/jobs'),
    staleTime: 60_000,
  });
}

/** The probe picker every tab shares (`?job=`). */
export function ProbePicker({
  jobs,
  value,
  onChange,
}: {
  jobs: InventoryJob[];
  value: string;
  onChange(id: string): void;
}) {
  const { t } = useTranslation();
  return (
    <select
      className="input w-auto min-w-56"
      aria-label={t('inventory.probe')}
      data-testid="probe-picker"
      value={value}
      onChange={(e) => onChange(e.target.value)}
    >
      {jobs.map((j) => (
        <option key={j.manifest_id} value={j.manifest_id}>
          {j.manifest_id} ({t('inventory.pcCount', { n: num(j.pc_count) })})
        </option>
      ))}
    </select>
  );
}

function FleetTable({ job }: { job: InventoryJob }) {
  const { t } = useTranslation();
  const fmt = useFactFormatters();
  const [params, set] = useUrlState();
  const page = pageOf(params);
  const limitParam = Number(params.get('limit'));
  const limit = PAGE_SIZES.includes(limitParam) ? limitParam : 100;
  const q = params.get('q') ?? '';
  const [search, setSearch] = useState(q);
  // biome-ignore lint/correctness/useExhaustiveDependencies: restart the debounce only when the text changes
  useEffect(() => {
    if (search === q) return;
    const id = setTimeout(() => set({ q: search }), 300);
    return () => clearTimeout(id);
  }, [search]);
  useEffect(() => setSearch(q), [q]);

  const list = useQuery({
    queryKey: ['inventory', 'by-job', job.manifest_id, { q, page, limit }],
    queryFn: () =>
      apiJson<InventoryByJob>(
        `/api/inventory/by-job/${encodeURIComponent(job.manifest_id)}${qs({ q, limit, offset: page * limit })}`,
      ),
    placeholderData: keepPreviousData,
  });
  const display: DisplayField[] = list.data?.display ?? job.display;
  const columns = useMemo<Column<InventoryFleetRow>[]>(
    () => [
      {
        id: 'pc_id',
        header: t('agents.col.pc_id'),
        cell: (r) => (
          <button
            type="button"
            className="link font-mono whitespace-nowrap"
            onClick={() => set({ pc: r.pc_id }, false)}
          >
            {r.pc_id}
          </button>
        ),
      },
      {
        id: 'user',
        header: t('agents.col.lastLogon'),
        cell: (r) => r.last_logon_display_name || r.last_logon_user || '—',
      },
      {
        id: 'collected',
        header: t('inventory.collected'),
        cell: (r) => <span title={dateTime(r.collected_at)}>{ago(r.collected_at)}</span>,
      },
      ...display.map((d) => ({
        id: `f:${d.field}`,
        header: d.label,
        cell: (r: InventoryFleetRow) => {
          const v = factAt(r.facts, d.field);
          if (Array.isArray(v))
            return <span className="tabular-nums">{t('inventory.rows', { n: num(v.length) })}</span>;
          return formatFact(v, d.type, fmt);
        },
      })),
    ],
    [t, display, fmt, set],
  );

  return (
    <>
      <div className="mb-3">
        <input
          type="search"
          className="input max-w-xs"
          placeholder={t('inventory.searchPc')}
          aria-label={t('inventory.searchPc')}
          value={search}
          onChange={(e) => setSearch(e.target.value)}
        />
      </div>
      <div className="card overflow-x-auto p-2 max-lg:border-0 max-lg:bg-transparent max-lg:p-0 max-lg:shadow-none">
        {list.isError ? (
          <ErrorCard error={list.error} />
        ) : !list.data ? (
          <Loading />
        ) : list.data.rows.length === 0 ? (
          <Empty>{q ? t('inventory.noMatch') : t('inventory.noFacts')}</Empty>
        ) : (
          <DataTable
            testId="inventory-table"
            rows={list.data.rows}
            rowKey={(r) => r.pc_id}
            columns={columns}
          />
        )}
      </div>
      <Pager
        page={page}
        limit={limit}
        total={list.data?.total}
        rows={list.data?.rows.length ?? 0}
        onPage={(p) => set({ page: p > 0 ? String(p + 1) : null }, false)}
        sizes={PAGE_SIZES}
        onLimit={(n) => set({ limit: String(n) })}
        testId="inventory-range"
      />
    </>
  );
}

export default function Inventory() {
  const { t } = useTranslation();
  const location = useLocation();
  const navigate = useNavigate();
  const [params, set] = useUrlState();
  const jobs = useInventoryJobs();
  const tab = location.pathname.endsWith('/search') ? 'search' : 'overview';
  const pc = params.get('pc');
  const list = jobs.data ?? [];
  const job = list.find((j) => j.manifest_id === params.get('job')) ?? list[0];

  return (
    <div className="space-y-4" data-testid="inventory-page">
      <PageHeader title={t('nav.inventory')}>
        <Segmented
          label={t('inventory.view')}
          value={tab}
          onChange={(v) => {
            const keep = job ? `?job=${encodeURIComponent(job.manifest_id)}` : '';
            navigate(`/inventory${v === 'search' ? '/search' : ''}${keep}`);
          }}
          options={[
            { value: 'overview', label: t('inventory.overview') },
            { value: 'search', label: t('inventory.search') },
          ]}
        />
      </PageHeader>
      {jobs.isError ? (
        <ErrorCard error={jobs.error} />
      ) : !jobs.data ? (
        <Loading />
      ) : pc ? (
        <PcFacts pcId={pc} focus={job?.manifest_id} onBack={() => set({ pc: null }, false)} />
      ) : list.length === 0 || !job ? (
        <Empty>{t('inventory.noProbes')}</Empty>
      ) : (
        <>
          <div className="flex flex-wrap items-center gap-3">
            <ProbePicker
              jobs={list}
              value={job.manifest_id}
              onChange={(id) => set({ job: id, q: null, f: null })}
            />
            {job.description ? <span className="muted text-sm">{job.description}</span> : null}
            <Link className="link text-sm" to={`/jobs?edit=${encodeURIComponent(job.manifest_id)}`}>
              {t('inventory.editProbe')}
            </Link>
          </div>
          {tab === 'search' ? (
            <InventorySearch key={job.manifest_id} job={job} />
          ) : (
            <FleetTable key={job.manifest_id} job={job} />
          )}
        </>
      )}
    </div>
  );
}
