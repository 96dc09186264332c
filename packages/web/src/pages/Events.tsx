// Events: the per-PC observability timeline (obs_events: power, sessions,
// sleep ... as the agents or the watchdog report them), newest first.
// Filters (all in the URL, all applied by the server): PC, a preset window
// (1h to 30d; day presets from local midnight) or a custom range, kind and
// source chips that cycle include -> exclude -> off, a payload key = value,
// text in the PC's operator metadata, and the row limit. "Collapse
// duplicates" folds the double entries one action logs (UAC split-token).
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { DataTable } from '../components/DataTable.js';
import { Payload } from '../components/Payload.js';
import { Chip, Empty, ErrorCard, Loading, PageHeader, Segmented } from '../components/ui.js';
import { apiJson, qs } from '../lib/api.js';
import {
  type Collapsed,
  collapseDuplicates,
  EVENT_PRESETS,
  type EventPreset,
  nextTri,
  presetRange,
  type TriState,
  triLists,
} from '../lib/events.js';
import { ago, dateTime, num } from '../lib/format.js';
import { usePollInterval } from '../lib/live.js';
import type { ObsEvent } from '../lib/types.js';
import { useUrlState } from '../lib/url-state.js';

const LIMITS = [200, 1000, 5000];
type Range = EventPreset | 'custom';

const csv = (v: string | null) => (v ? v.split(',').filter(Boolean) : []);

/** A datetime-local value from an ISO time, in the browser's zone. */
function localInput(iso: string | null): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

function TriChips({
  label,
  values,
  include,
  exclude,
  onChange,
  testId,
}: {
  label: string;
  values: string[];
  include: string[];
  exclude: string[];
  onChange(include: string[], exclude: string[]): void;
  testId: string;
}) {
  const { t } = useTranslation();
  const state = new Map<string, TriState>([
    ...include.map((k) => [k, 'include'] as const),
    ...exclude.map((k) => [k, 'exclude'] as const),
  ]);
  const all = [...new Set([...values, ...include, ...exclude])].sort();
  return (
    <div className="flex flex-wrap items-center gap-1.5" data-testid={testId}>
      <span className="label mb-0 mr-1">{label}</span>
      {all.length === 0 ? <span className="muted text-xs">{t('events.noneSeen')}</span> : null}
      {all.map((v) => {
        const s = state.get(v);
        return (
          <button
            key={v}
            type="button"
            data-state={s ?? 'off'}
            title={t(`events.tri.${s ?? 'off'}`)}
            onClick={() => {
              const next = new Map(state);
              const n = nextTri(s);
              if (n) next.set(v, n);
              else next.delete(v);
              const l = triLists(next);
              onChange(l.include, l.exclude);
            }}
            className={`chip cursor-pointer ${
              s === 'include'
                ? 'border-violet-600 bg-violet-600 text-white'
                : s === 'exclude'
                  ? 'border-red-400 bg-red-50 text-red-800 line-through dark:border-red-800 dark:bg-red-950/60 dark:text-red-200'
                  : 'border-zinc-300 bg-white text-zinc-700 hover:bg-zinc-100 dark:border-zinc-700 dark:bg-zinc-900 dark:text-zinc-300'
            }`}
          >
            {v}
          </button>
        );
      })}
    </div>
  );
}

export default function Events() {
  const { t } = useTranslation();
  const [params, set] = useUrlState();
  const range: Range =
    params.get('range') === 'custom'
      ? 'custom'
      : (EVENT_PRESETS as readonly string[]).includes(params.get('range') ?? '')
        ? (params.get('range') as EventPreset)
        : '24h';
  const limitParam = Number(params.get('limit'));
  const limit = LIMITS.includes(limitParam) ? limitParam : 200;
  const collapse = params.get('collapse') === '1';
  const filters = {
    pc_id: params.get('pc') ?? '',
    payload_key: params.get('pk') ?? '',
    payload_value: params.get('pv') ?? '',
    meta_any: params.get('meta') ?? '',
    from: params.get('from'),
    to: params.get('to'),
    kinds: csv(params.get('kinds')),
    kinds_ex: csv(params.get('kinds_ex')),
    sources: csv(params.get('sources')),
    sources_ex: csv(params.get('sources_ex')),
  };
  const [text, setText] = useState({
    pc: filters.pc_id,
    pk: filters.payload_key,
    pv: filters.payload_value,
    meta: filters.meta_any,
  });

  const kinds = useQuery({
    queryKey: ['obs', 'kinds'],
    queryFn: () => apiJson<{ kinds: string[] }>('/api/obs_events/kinds'),
    staleTime: 60_000,
  });
  const sources = useQuery({
    queryKey: ['obs', 'sources'],
    queryFn: () => apiJson<{ sources: string[] }>('/api/obs_events/sources'),
    staleTime: 60_000,
  });
  const events = useQuery({
    queryKey: ['obs', 'list', range, filters, limit],
    queryFn: () => {
      const w =
        range === 'custom'
          ? {
              from: filters.from ? Date.parse(filters.from) : undefined,
              to: filters.to ? Date.parse(filters.to) : undefined,
            }
          : presetRange(range, Date.now());
      const iso = (ms: number | undefined) =>
        ms === undefined || Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
      return apiJson<{ events: ObsEvent[] }>(
        `/api/obs_events${qs({
          pc_id: filters.pc_id,
          from: iso(w.from),
          to: iso(w.to),
          kinds: filters.kinds.join(','),
          kinds_ex: filters.kinds_ex.join(','),
          sources: filters.sources.join(','),
          sources_ex: filters.sources_ex.join(','),
          ...(filters.payload_key && filters.payload_value
            ? { payload_key: filters.payload_key, payload_value: filters.payload_value }
            : {}),
          meta_any: filters.meta_any,
          limit,
        })}`,
      );
    },
    placeholderData: keepPreviousData,
    refetchInterval: usePollInterval(30_000, 60_000),
  });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    set({ pc: text.pc.trim(), pk: text.pk.trim(), pv: text.pv, meta: text.meta.trim() });
  };

  const rows: Collapsed[] = collapse
    ? collapseDuplicates(events.data?.events ?? [])
    : (events.data?.events ?? []).map((event) => ({ event, count: 1 }));

  return (
    <div className="space-y-4" data-testid="events-page">
      <PageHeader title={t('nav.events')} />
      <form className="card space-y-3" onSubmit={submit}>
        <div className="grid gap-2 sm:grid-cols-2 lg:grid-cols-5">
          <input
            className="input font-mono"
            placeholder={t('events.pc')}
            aria-label={t('events.pc')}
            value={text.pc}
            onChange={(e) => setText({ ...text, pc: e.target.value })}
          />
          <input
            className="input font-mono"
            placeholder={t('events.payloadKey')}
            aria-label={t('events.payloadKey')}
            value={text.pk}
            onChange={(e) => setText({ ...text, pk: e.target.value })}
          />
          <input
            className="input font-mono"
            placeholder={t('events.payloadValue')}
            aria-label={t('events.payloadValue')}
            value={text.pv}
            onChange={(e) => setText({ ...text, pv: e.target.value })}
          />
          <input
            className="input"
            placeholder={t('events.metaAny')}
            aria-label={t('events.metaAny')}
            value={text.meta}
            onChange={(e) => setText({ ...text, meta: e.target.value })}
          />
          <button type="submit" className="btn btn-primary">
            {t('events.apply')}
          </button>
        </div>
        <div className="flex flex-wrap items-center gap-2">
          <Segmented<Range>
            label={t('events.range')}
            value={range}
            onChange={(v) =>
              set(
                v === 'custom'
                  ? { range: v, from: new Date(Date.now() - 86_400_000).toISOString(), to: null }
                  : { range: v === '24h' ? null : v, from: null, to: null },
              )
            }
            options={[
              ...EVENT_PRESETS.map((p) => ({ value: p, label: t(`events.presets.${p}`) })),
              { value: 'custom' as const, label: t('events.custom') },
            ]}
          />
          {range === 'custom' ? (
            <>
              <input
                type="datetime-local"
                className="input w-auto"
                aria-label={t('events.from')}
                value={localInput(filters.from)}
                onChange={(e) =>
                  set({ from: e.target.value ? new Date(e.target.value).toISOString() : null })
                }
              />
              <span className="muted">–</span>
              <input
                type="datetime-local"
                className="input w-auto"
                aria-label={t('events.to')}
                value={localInput(filters.to)}
                onChange={(e) => set({ to: e.target.value ? new Date(e.target.value).toISOString() : null })}
              />
            </>
          ) : null}
          <select
            className="input w-auto"
            aria-label={t('events.limit')}
            value={limit}
            onChange={(e) => set({ limit: e.target.value === '200' ? null : e.target.value })}
          >
            {LIMITS.map((n) => (
              <option key={n} value={n}>
                {t('events.limitN', { n: num(n) })}
              </option>
            ))}
          </select>
          <label className="flex items-center gap-1.5 text-sm">
            <input
              type="checkbox"
              checked={collapse}
              onChange={(e) => set({ collapse: e.target.checked ? '1' : null })}
            />
            {t('events.collapse')}
          </label>
        </div>
        <TriChips
          label={t('events.kinds')}
          values={kinds.data?.kinds ?? []}
          include={filters.kinds}
          exclude={filters.kinds_ex}
          onChange={(inc, ex) => set({ kinds: inc.join(','), kinds_ex: ex.join(',') })}
          testId="kind-chips"
        />
        <TriChips
          label={t('events.sources')}
          values={sources.data?.sources ?? []}
          include={filters.sources}
          exclude={filters.sources_ex}
          onChange={(inc, ex) => set({ sources: inc.join(','), sources_ex: ex.join(',') })}
          testId="source-chips"
        />
      </form>
      <div className="card overflow-x-auto p-2 max-lg:border-0 max-lg:bg-transparent max-lg:p-0 max-lg:shadow-none">
        {events.isError ? (
          <ErrorCard error={events.error} />
        ) : !events.data ? (
          <Loading />
        ) : rows.length === 0 ? (
          <Empty>{t('events.none')}</Empty>
        ) : (
          <DataTable
            testId="events-table"
            rows={rows}
            rowKey={(r) => String(r.event.id)}
            columns={[
              {
                id: 'at',
                header: t('events.at'),
                cell: (r) => (
                  <span className="whitespace-nowrap" title={ago(r.event.at)}>
                    {dateTime(r.event.at)}
                  </span>
                ),
              },
              {
                id: 'pc',
                header: t('agents.col.pc_id'),
                cell: (r) => (
                  <Link
                    className="link font-mono whitespace-nowrap"
                    to={`/agents/${encodeURIComponent(r.event.pc_id)}`}
                  >
                    {r.event.pc_id}
                  </Link>
                ),
              },
              {
                id: 'kind',
                header: t('events.kind'),
                cell: (r) => (
                  <span className="inline-flex items-center gap-1">
                    <Chip tone="info">{r.event.kind}</Chip>
                    {r.count > 1 ? <Chip>×{r.count}</Chip> : null}
                  </span>
                ),
              },
              {
                id: 'source',
                header: t('events.source'),
                cell: (r) => <span className="font-mono text-xs">{r.event.source}</span>,
              },
              {
                id: 'payload',
                header: t('events.payload'),
                cell: (r) => <Payload value={r.event.payload} />,
              },
            ]}
          />
        )}
      </div>
      {events.data ? (
        <p className="muted text-xs tabular-nums" data-testid="events-count">
          {events.data.events.length >= limit
            ? t('events.limited', { n: num(events.data.events.length) })
            : t('events.count', { n: num(events.data.events.length) })}
        </p>
      ) : null}
    </div>
  );
}
