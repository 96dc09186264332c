// Compliance: every operator-defined check (a job with a `check:` hint) with
// its ok / warn / fail / unknown counts, the ones needing attention first.
// Choosing a check (?check=) lists its PCs: status, the detail in the host's
// own words, and when it was recorded; by default only the rows needing
// attention, with ok rows on request (?ok=1), paged by the server. Rows
// older than the server's check_status_stale_days are hidden by the
// backend, which the page says. Operators clear a retired check.
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { useConfirm } from '../components/Confirm.js';
import { byAttention, CheckBar, CheckCountsText, STATUS_TONE } from '../components/checks.js';
import { DataTable } from '../components/DataTable.js';
import { Pager } from '../components/Pager.js';
import { Card, Chip, Empty, ErrorCard, errorText, Loading, PageHeader } from '../components/ui.js';
import { apiJson, qs } from '../lib/api.js';
import { useAuth } from '../lib/auth.js';
import { ago, dateTime } from '../lib/format.js';
import { usePollInterval } from '../lib/live.js';
import type { ChecksResponse } from '../lib/types.js';
import { pageOf, useUrlState } from '../lib/url-state.js';

const PAGE = 100;
export default function Compliance() {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const confirm = useConfirm();
  const { hasRole } = useAuth();
  const [params, set] = useUrlState();
  const check = params.get('check') ?? undefined;
  const includeOk = params.get('ok') === '1';
  const page = pageOf(params);
  const poll = usePollInterval(60_000, 120_000);
  const data = useQuery({
    queryKey: ['checks', { check, includeOk, page }],
    queryFn: () =>
      apiJson<ChecksResponse>(
        `/api/checks${qs({ check, include_ok: includeOk || undefined, limit: PAGE, offset: page * PAGE })}`,
      ),
    placeholderData: keepPreviousData,
    refetchInterval: poll,
  });
  const clear = useMutation({
    mutationFn: (name: string) =>
      apiJson<{ deleted: number }>(`/api/checks/${encodeURIComponent(name)}`, { method: 'DELETE' }),
    onSuccess: () => {
      set({ check: null });
      return qc.invalidateQueries({ queryKey: ['checks'] });
    },
  });
  const counts = [...(data.data?.counts ?? [])].sort(byAttention);
  const selected = counts.find((c) => c.check_name === check);

  return (
    <div className="space-y-4" data-testid="compliance-page">
      <PageHeader title={t('nav.compliance')} />
      {data.isError ? <ErrorCard error={data.error} /> : null}
      {!data.data ? (
        data.isError ? null : (
          <Loading />
        )
      ) : counts.length === 0 ? (
        <Empty>{t('compliance.none')}</Empty>
      ) : (
        <>
          <div className="grid gap-3 sm:grid-cols-2 xl:grid-cols-3" data-testid="check-cards">
            {counts.map((c) => (
              <button
                key={c.check_name}
                type="button"
                aria-pressed={c.check_name === check}
                data-testid={`check-${c.check_name}`}
                onClick={() => set({ check: c.check_name === check ? null : c.check_name })}
                className={`card space-y-2 text-left hover:border-violet-400 ${c.check_name === check ? 'border-violet-500 ring-2 ring-violet-500/30' : ''}`}
              >
                <div className="flex items-baseline justify-between gap-2">
                  <span className="font-medium">{c.label ?? c.check_name}</span>
                  {c.label ? <span className="muted font-mono text-xs">{c.check_name}</span> : null}
                </div>
                <CheckBar c={c} />
                <CheckCountsText c={c} />
              </button>
            ))}
          </div>
          <p className="muted text-xs">
            {data.data.stale_days > 0
              ? t('compliance.staleNote', { days: data.data.stale_days })
              : t('compliance.neverStale')}
          </p>
          <Card
            title={selected ? (selected.label ?? selected.check_name) : t('compliance.attention')}
            actions={
              <div className="flex items-center gap-3">
                <label className="flex items-center gap-1.5 text-sm">
                  <input
                    type="checkbox"
                    checked={includeOk}
                    onChange={(e) => set({ ok: e.target.checked ? '1' : null })}
                  />
                  {t('compliance.includeOk')}
                </label>
                {selected && hasRole('operator') ? (
                  <button
                    type="button"
                    className="btn px-2 py-0.5 text-xs text-red-700 dark:text-red-400"
                    disabled={clear.isPending}
                    onClick={async () => {
                      if (
                        await confirm({
                          title: t('compliance.clearTitle', { name: selected.check_name }),
                          body: t('compliance.clearBody'),
                          confirmLabel: t('compliance.clear'),
                          danger: true,
                        })
                      )
                        clear.mutate(selected.check_name);
                    }}
                  >
                    {t('compliance.clear')}
                  </button>
                ) : null}
              </div>
            }
            testId="check-rows"
          >
            {clear.isError ? (
              <p className="mb-2 text-sm text-red-700 dark:text-red-400">{errorText(clear.error)}</p>
            ) : null}
            {data.data.rows.length === 0 ? (
              <Empty>{includeOk ? t('compliance.noRows') : t('compliance.allOk')}</Empty>
            ) : (
              <DataTable
                testId="check-table"
                rows={data.data.rows}
                rowKey={(r) => `${r.check_name}/${r.pc_id}`}
                columns={[
                  {
                    id: 'status',
                    header: t('compliance.col.status'),
                    cell: (r) => (
                      <Chip tone={STATUS_TONE[r.status]}>{t(`compliance.status.${r.status}`)}</Chip>
                    ),
                  },
                  {
                    id: 'pc',
                    header: t('agents.col.pc_id'),
                    cell: (r) => (
                      <Link
                        className="link font-mono whitespace-nowrap"
                        to={`/agents/${encodeURIComponent(r.pc_id)}`}
                      >
                        {r.pc_id}
                      </Link>
                    ),
                  },
                  ...(selected
                    ? []
                    : [
                        {
                          id: 'check',
                          header: t('compliance.col.check'),
                          cell: (r: ChecksResponse['rows'][number]) => r.label ?? r.check_name,
                        },
                      ]),
                  {
                    id: 'detail',
                    header: t('compliance.col.detail'),
                    cell: (r) => <span className="break-words whitespace-pre-wrap">{r.detail ?? '—'}</span>,
                  },
                  {
                    id: 'recorded',
                    header: t('compliance.col.updated'),
                    cell: (r) => <span title={dateTime(r.recorded_at)}>{ago(r.recorded_at)}</span>,
                  },
                ]}
              />
            )}
            <Pager
              page={page}
              limit={PAGE}
              total={data.data.total}
              rows={data.data.rows.length}
              onPage={(p) => set({ page: p > 0 ? String(p + 1) : null }, false)}
            />
          </Card>
        </>
      )}
    </div>
  );
}
