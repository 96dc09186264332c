// The fleet roster ("is it there"). Everything that narrows the list —
// status chips, regex search, operator-metadata attribute filters
// (`meta.<key>.<op>=<value>`), sort, page — lives in the URL
// (`/agents?status=offline&q=^lab-&meta.site.eq=osaka&sort=meta:site&page=3`)
// so a view can be linked, and is done by the server: the page only ever
// holds one page of rows, which keeps it smooth at 100,000 agents. Counts
// come from the X-Total-Count / X-Online-Count / X-Offline-Count headers.
// Every metadata key in use is also a column in the picker; its values are
// fetched in one bulk request for the rows on screen, only while shown.
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useEffect, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useSearchParams } from 'react-router';
import {
  type Column,
  ColumnPicker,
  DataTable,
  type SortState,
  useColumnChoice,
} from '../components/DataTable.js';
import { Chip, Empty, ErrorCard, Loading, OnlineChip, PageHeader } from '../components/ui.js';
import { type MetaFilter, PAGE_SIZES, rosterUrl, rosterView, type Status } from '../lib/agents-query.js';
import { apiJson, apiPage, qs } from '../lib/api.js';
import { ago, bytes, dateTime, num, pct } from '../lib/format.js';
import { usePollInterval } from '../lib/live.js';
import { META_KEYS } from '../lib/page-data.js';
import type { Agent, MetaEntry } from '../lib/types.js';
import { META_OPS, type MetaOp } from '../lib/wire-constants.js';

const VALUELESS: readonly MetaOp[] = ['empty', 'set', 'absent'];

function AttributeFilters({
  filters,
  onAdd,
  onRemove,
}: {
  filters: MetaFilter[];
  onAdd(param: string, value: string): void;
  onRemove(param: string): void;
}) {
  const { t } = useTranslation();
  const [open, setOpen] = useState(false);
  const [key, setKey] = useState('');
  const [op, setOp] = useState<MetaOp>('contains');
  const [value, setValue] = useState('');
  const keys = useQuery({
    queryKey: ['agents', 'meta-keys'],
    queryFn: () => apiJson<string[]>(META_KEYS),
    staleTime: 60_000,
    enabled: open,
  });
  const valueless = VALUELESS.includes(op);
  return (
    <div className="flex flex-wrap items-center gap-1.5" data-testid="attribute-filters">
      {filters.map((f) => (
        <span
          key={f.param}
          className="chip border-teal-300 bg-teal-50 text-teal-800 dark:border-teal-800 dark:bg-teal-950/60 dark:text-teal-200"
        >
          {f.key} {t(`agents.metaOps.${f.op}`)}
          {VALUELESS.includes(f.op) ? '' : ` “${f.value}”`}
          <button
            type="button"
            aria-label={t('agents.removeFilter', { key: f.key })}
            onClick={() => onRemove(f.param)}
          >
            ×
          </button>
        </span>
      ))}
      <button
        type="button"
        className="btn px-2 py-0.5 text-xs"
        aria-expanded={open}
        onClick={() => setOpen((o) => !o)}
      >
        {t('agents.attributeFilter')}
      </button>
      {open ? (
        <form
          className="flex flex-wrap items-center gap-1.5"
          onSubmit={(e) => {
            e.preventDefault();
            if (!key.trim() || (!valueless && value === '')) return;
            onAdd(`meta.${key.trim()}.${op}`, valueless ? '1' : value);
            setValue('');
          }}
        >
          <input
            className="input w-36"
            list="agent-meta-keys"
            placeholder={t('agents.metaKey')}
            aria-label={t('agents.metaKey')}
            value={key}
            onChange={(e) => setKey(e.target.value)}
          />
          <datalist id="agent-meta-keys">
            {(keys.data ?? []).map((k) => (
              <option key={k} value={k} />
            ))}
          </datalist>
          <select
            className="input w-auto"
            aria-label={t('agents.metaOp')}
            value={op}
            onChange={(e) => setOp(e.target.value as MetaOp)}
          >
            {META_OPS.map((o) => (
              <option key={o} value={o}>
                {t(`agents.metaOps.${o}`)}
              </option>
            ))}
          </select>
          {valueless ? null : (
            <input
              className="input w-40"
              placeholder={t('agents.metaValue')}
              aria-label={t('agents.metaValue')}
              value={value}
              onChange={(e) => setValue(e.target.value)}
            />
          )}
          <button type="submit" className="btn px-2 py-1 text-xs">
            {t('agents.addFilter')}
          </button>
        </form>
      ) : null}
    </div>
  );
}

function useAgentColumns(
  metaKeys: string[],
  meta: Map<string, Map<string, string>> | undefined,
): Column<Agent>[] {
  const { t } = useTranslation();
  return useMemo(
    () => [
      { id: 'status', header: t('agents.col.status'), cell: (a: Agent) => <OnlineChip online={a.online} /> },
      {
        id: 'pc_id',
        header: t('agents.col.pc_id'),
        sortKey: 'pc_id',
        cell: (a: Agent) => (
          <Link className="link font-mono whitespace-nowrap" to={`/agents/${encodeURIComponent(a.pc_id)}`}>
            {a.pc_id}
          </Link>
        ),
      },
      {
        id: 'hostname',
        header: t('agents.col.hostname'),
        sortKey: 'hostname',
        cell: (a: Agent) => a.hostname ?? '—',
      },
      {
        id: 'os_family',
        header: t('agents.col.os'),
        sortKey: 'os_family',
        cell: (a: Agent) => a.os_family ?? '—',
      },
      {
        id: 'agent_version',
        header: t('agents.col.version'),
        sortKey: 'agent_version',
        cell: (a: Agent) => (
          <span className="inline-flex items-center gap-1">
            <span className="font-mono">{a.agent_version ?? '—'}</span>
            {a.quarantined_versions?.map((v) => (
              <Chip key={v} tone="warn" title={t('agents.quarantinedHelp')}>
                {t('agents.quarantined', { version: v })}
              </Chip>
            ))}
          </span>
        ),
      },
      {
        id: 'last_heartbeat',
        header: t('agents.col.lastHeartbeat'),
        sortKey: 'last_heartbeat',
        cell: (a: Agent) => <span title={dateTime(a.last_heartbeat)}>{ago(a.last_heartbeat)}</span>,
      },
      {
        id: 'last_logon',
        header: t('agents.col.lastLogon'),
        sortKey: 'last_logon_user',
        cell: (a: Agent) =>
          a.last_logon_user ? (
            <span title={a.last_logon_user}>{a.last_logon_display_name || a.last_logon_user}</span>
          ) : (
            '—'
          ),
      },
      {
        id: 'signing',
        header: t('agents.col.signing'),
        defaultVisible: false,
        cell: (a: Agent) =>
          a.enforcing ? (
            <Chip tone="ok">{t('agents.signing.enforcing')}</Chip>
          ) : a.command_keys ? (
            <Chip>{t('agents.signing.keys', { n: a.command_keys.length })}</Chip>
          ) : (
            <span className="muted">{t('common.unknown')}</span>
          ),
      },
      {
        id: 'agent_cpu',
        header: t('agents.col.agentCpu'),
        defaultVisible: false,
        className: 'text-right tabular-nums',
        cell: (a: Agent) => pct(a.agent_cpu_pct),
      },
      {
        id: 'agent_rss',
        header: t('agents.col.agentRss'),
        defaultVisible: false,
        className: 'text-right tabular-nums',
        cell: (a: Agent) => bytes(a.agent_rss_bytes),
      },
      {
        id: 'nats_user',
        header: t('agents.col.natsUser'),
        defaultVisible: false,
        cell: (a: Agent) => a.nats_user ?? <span className="muted">{t('agents.notSeen')}</span>,
      },
      {
        id: 'updated_at',
        header: t('agents.col.updated'),
        sortKey: 'updated_at',
        defaultVisible: false,
        cell: (a: Agent) => <span title={dateTime(a.updated_at)}>{ago(a.updated_at)}</span>,
      },
      ...metaKeys.map((k) => ({
        id: `meta:${k}`,
        header: k,
        sortKey: `meta:${k}`,
        defaultVisible: false,
        cell: (a: Agent) => (meta ? (meta.get(a.pc_id)?.get(k) ?? '—') : '…'),
      })),
    ],
    [t, metaKeys, meta],
  );
}

export default function Agents() {
  const { t } = useTranslation();
  const [params, setParams] = useSearchParams();
  const view = rosterView(params);
  const { status, q, limit, page, filters } = view;
  const sort: SortState | null = view.sort;
  const [search, setSearch] = useState(q);

  const update = (changes: Record<string, string | null>, resetPage = true) => {
    setParams(
      (prev) => {
        const next = new URLSearchParams(prev);
        for (const [k, v] of Object.entries(changes)) {
          if (v === null || v === '') next.delete(k);
          else next.set(k, v);
        }
        if (resetPage) next.delete('page');
        return next;
      },
      { replace: true },
    );
  };

  // Debounced search into the URL.
  // biome-ignore lint/correctness/useExhaustiveDependencies: restart the debounce only when the text changes
  useEffect(() => {
    if (search === q) return;
    const id = setTimeout(() => update({ q: search }), 300);
    return () => clearTimeout(id);
  }, [search]);
  // Back/forward or a link changed q: show it in the box.
  useEffect(() => setSearch(q), [q]);

  const query = useQuery({
    queryKey: ['agents', 'list', view],
    queryFn: () => apiPage<Agent>(rosterUrl(view)),
    placeholderData: keepPreviousData,
    refetchInterval: usePollInterval(30_000, 60_000),
  });

  const metaKeys = useQuery({
    queryKey: ['agents', 'meta-keys'],
    queryFn: () => apiJson<string[]>(META_KEYS),
    staleTime: 60_000,
  });
  // Whether a metadata column is shown: known only after the columns (which render the bulk data) exist.
  const [metaShown, setMetaShown] = useState(false);
  const ids = (query.data?.rows ?? []).map((a) => a.pc_id);
  const bulkMeta = useQuery({
    queryKey: ['agents', 'meta-bulk', ids],
    queryFn: async () => {
      const r = await apiJson<{ meta: Record<string, MetaEntry[]> }>(
        `/api/agents/meta${qs({ pc_ids: ids.join(',') })}`,
      );
      return new Map(
        Object.entries(r.meta).map(([pc, es]) => [pc, new Map(es.map((e) => [e.key, e.value]))]),
      );
    },
    enabled: metaShown && ids.length > 0,
    placeholderData: keepPreviousData,
  });
  const columns = useAgentColumns(metaKeys.data ?? [], bulkMeta.data);
  const choice = useColumnChoice('kanade-agents-columns', columns);
  const anyMeta = choice.visible.some((v) => v.startsWith('meta:'));
  useEffect(() => setMetaShown(anyMeta), [anyMeta]);
  const data = query.data;
  const online = Number(data?.headers.get('x-online-count') ?? Number.NaN);
  const offline = Number(data?.headers.get('x-offline-count') ?? Number.NaN);
  const total = data?.total ?? 0;
  const pages = Math.max(1, Math.ceil(total / limit));
  const first = total === 0 ? 0 : page * limit + 1;
  const last = Math.min(total, (page + 1) * limit);

  const chips: { value: Status; label: string; count: number }[] = [
    { value: 'all', label: t('agents.all'), count: online + offline },
    { value: 'online', label: t('agents.online'), count: online },
    { value: 'offline', label: t('agents.offline'), count: offline },
  ];

  return (
    <div data-testid="agents-page">
      <PageHeader title={t('nav.agents')}>
        <ColumnPicker columns={columns} visible={choice.visible} toggle={choice.toggle} />
      </PageHeader>
      <div className="mb-3 flex flex-wrap items-center gap-2">
        <div role="tablist" aria-label={t('agents.statusFilter')} className="flex flex-wrap gap-1.5">
          {chips.map((c) => (
            <button
              key={c.value}
              type="button"
              role="tab"
              aria-selected={status === c.value}
              data-testid={`status-${c.value}`}
              onClick={() => update({ status: c.value === 'all' ? null : c.value })}
              className={`chip cursor-pointer text-sm ${
                status === c.value
                  ? 'border-violet-600 bg-violet-600 text-white'
                  : 'border-zinc-300 bg-white text-zinc-700 hover:bg-zinc-100 dark:border-zinc-700 dark:bg-zinc-900 dark:text-zinc-300'
              }`}
            >
              {c.label}
              <span className="tabular-nums opacity-80" data-testid={`count-${c.value}`}>
                {Number.isNaN(c.count) ? '…' : num(c.count)}
              </span>
            </button>
          ))}
        </div>
        <input
          type="search"
          className="input max-w-xs"
          placeholder={t('agents.search')}
          aria-label={t('agents.search')}
          value={search}
          onChange={(e) => setSearch(e.target.value)}
        />
        <AttributeFilters
          filters={filters}
          onAdd={(param, value) => update({ [param]: value })}
          onRemove={(param) => update({ [param]: null })}
        />
      </div>
      <div className="card overflow-x-auto p-2 max-lg:border-0 max-lg:bg-transparent max-lg:p-0 max-lg:shadow-none">
        {query.isError ? (
          <ErrorCard error={query.error} />
        ) : !data ? (
          <Loading />
        ) : data.rows.length === 0 ? (
          <Empty>{q || status !== 'all' ? t('agents.noMatch') : t('agents.none')}</Empty>
        ) : (
          <DataTable
            testId="agents-table"
            rows={data.rows}
            columns={choice.shown}
            rowKey={(a) => a.pc_id}
            sort={sort}
            onSort={(s) => update({ sort: s?.key ?? null, dir: s?.dir ?? null }, true)}
          />
        )}
      </div>
      <div className="mt-3 flex flex-wrap items-center justify-between gap-2 text-sm">
        <span className="muted tabular-nums" data-testid="agents-range">
          {t('table.range', { first: num(first), last: num(last), total: num(total) })}
        </span>
        <div className="flex items-center gap-2">
          <select
            className="input w-auto"
            aria-label={t('table.pageSize')}
            value={limit}
            onChange={(e) => update({ limit: e.target.value })}
          >
            {PAGE_SIZES.map((n) => (
              <option key={n} value={n}>
                {t('table.perPage', { n })}
              </option>
            ))}
          </select>
          <button
            type="button"
            className="btn"
            disabled={page === 0}
            onClick={() => update({ page: page > 1 ? String(page) : null }, false)}
          >
            {t('table.prev')}
          </button>
          <span className="tabular-nums">
            {num(page + 1)} / {num(pages)}
          </span>
          <button
            type="button"
            className="btn"
            disabled={page + 1 >= pages}
            onClick={() => update({ page: String(page + 2) }, false)}
          >
            {t('table.next')}
          </button>
        </div>
      </div>
    </div>
  );
}
