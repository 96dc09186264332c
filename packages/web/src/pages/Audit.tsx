// The audit log: who did what to which target, newest first. Filters (actor,
// regexes on action, target and payload, since) live in the URL and are
// applied by the server, which pages with X-Total-Count. New entries appear
// when the live stream reports them.
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useSearchParams } from 'react-router';
import { DataTable } from '../components/DataTable.js';
import { Payload } from '../components/Payload.js';
import { Chip, Empty, ErrorCard, Loading, PageHeader, Segmented } from '../components/ui.js';
import { apiPage, qs } from '../lib/api.js';
import { ago, dateTime, num } from '../lib/format.js';
import { usePollInterval } from '../lib/live.js';
import type { AuditEntry } from '../lib/types.js';

const SINCE = {
  '1h': 3_600_000,
  '24h': 86_400_000,
  '7d': 7 * 86_400_000,
  '30d': 30 * 86_400_000,
  all: 0,
} as const;
type Since = keyof typeof SINCE;
const ACTORS = ['operator', 'admin', 'scheduler', 'auth', 'agent', 'system'];
const REGEX_FILTERS = ['action', 'target', 'payload'] as const;
const PAGE = 100;

export default function Audit() {
  const { t } = useTranslation();
  const [params, setParams] = useSearchParams();
  const actor = params.get('actor') ?? '';
  const sinceParam = params.get('since') ?? '7d';
  const since: Since = sinceParam in SINCE ? (sinceParam as Since) : '7d';
  const page = Math.max(0, Number(params.get('page') ?? '1') - 1 || 0);
  const filters = Object.fromEntries(REGEX_FILTERS.map((f) => [f, params.get(f) ?? '']));
  const [text, setText] = useState(filters);

  const set = (changes: Record<string, string | null>, resetPage = true) =>
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

  // biome-ignore lint/correctness/useExhaustiveDependencies: restart the debounce only when the text changes
  useEffect(() => {
    const id = setTimeout(() => {
      const changed = REGEX_FILTERS.filter((f) => (text[f] ?? '') !== (params.get(f) ?? ''));
      if (changed.length) set(Object.fromEntries(changed.map((f) => [f, text[f] ?? ''])));
    }, 400);
    return () => clearTimeout(id);
  }, [text]);

  const list = useQuery({
    queryKey: ['audit', 'list', { actor, filters, since, page }],
    queryFn: () =>
      apiPage<AuditEntry>(
        `/api/audit${qs({
          actor,
          ...filters,
          since: SINCE[since] ? new Date(Date.now() - SINCE[since]).toISOString() : undefined,
          limit: PAGE,
          offset: page * PAGE,
        })}`,
      ),
    placeholderData: keepPreviousData,
    refetchInterval: usePollInterval(15_000, false),
  });
  const total = list.data?.total ?? 0;
  const pages = Math.max(1, Math.ceil(total / PAGE));

  return (
    <div data-testid="audit-page">
      <PageHeader title={t('nav.audit')} />
      <div className="mb-3 grid gap-2 sm:grid-cols-2 lg:grid-cols-4">
        <select
          className="input"
          aria-label={t('audit.actor')}
          value={actor}
          onChange={(e) => set({ actor: e.target.value })}
        >
          <option value="">{t('audit.anyActor')}</option>
          {ACTORS.map((a) => (
            <option key={a} value={a}>
              {a}
            </option>
          ))}
        </select>
        {REGEX_FILTERS.map((f) => (
          <input
            key={f}
            className="input font-mono"
            placeholder={t(`audit.${f}`)}
            aria-label={t(`audit.${f}`)}
            value={text[f] ?? ''}
            onChange={(e) => setText({ ...text, [f]: e.target.value })}
          />
        ))}
      </div>
      <div className="mb-3">
        <Segmented
          label={t('activity.since')}
          value={since}
          onChange={(v) => set({ since: v === '7d' ? null : v })}
          options={(Object.keys(SINCE) as Since[]).map((s) => ({
            value: s,
            label: t(`activity.sinceOpt.${s}`),
          }))}
        />
      </div>
      <div className="card overflow-x-auto p-2 max-lg:border-0 max-lg:bg-transparent max-lg:p-0 max-lg:shadow-none">
        {list.isError ? (
          <ErrorCard error={list.error} />
        ) : !list.data ? (
          <Loading />
        ) : list.data.rows.length === 0 ? (
          <Empty>{t('audit.none')}</Empty>
        ) : (
          <DataTable
            testId="audit-table"
            rows={list.data.rows}
            rowKey={(e) => String(e.id)}
            columns={[
              {
                id: 'when',
                header: t('audit.when'),
                cell: (e) => <span title={dateTime(e.occurred_at)}>{ago(e.occurred_at)}</span>,
              },
              { id: 'actor', header: t('audit.actor'), cell: (e) => <Chip>{e.actor}</Chip> },
              {
                id: 'action',
                header: t('audit.action'),
                cell: (e) => <span className="font-mono">{e.action}</span>,
              },
              {
                id: 'target',
                header: t('audit.target'),
                cell: (e) => <span className="font-mono">{e.target ?? '—'}</span>,
              },
              { id: 'payload', header: t('audit.payload'), cell: (e) => <Payload value={e.payload} /> },
            ]}
          />
        )}
      </div>
      <div className="mt-3 flex items-center justify-between gap-2 text-sm">
        <span className="muted tabular-nums">
          {t('table.range', {
            first: num(total ? page * PAGE + 1 : 0),
            last: num(Math.min(total, (page + 1) * PAGE)),
            total: num(total),
          })}
        </span>
        <span className="flex items-center gap-2">
          <button
            type="button"
            className="btn"
            disabled={page === 0}
            onClick={() => set({ page: page > 1 ? String(page) : null }, false)}
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
            onClick={() => set({ page: String(page + 2) }, false)}
          >
            {t('table.next')}
          </button>
        </span>
      </div>
    </div>
  );
}
