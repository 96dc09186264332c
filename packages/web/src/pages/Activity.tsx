// Run history. Results: regex filters on pc_id, job_id, exec_id, stdout and
// stderr, status (running / success / failure), since (1h ... all), paged by
// the server with X-Total-Count; a row's full output loads only when opened;
// running rows link to their live tail and can be killed (the backend kills
// every in-flight run of that job). Executions: one row per fan-out with its
// progress. Filters live in the URL; both lists refresh when the live stream
// reports started or finished results (polling every 10 s while it is down).
import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useSearchParams } from 'react-router';
import { ExecutionStatusChip, ExitCodeBadge } from '../components/badges.js';
import { useConfirm } from '../components/Confirm.js';
import { DataTable } from '../components/DataTable.js';
import { Output } from '../components/Output.js';
import { Empty, ErrorCard, errorText, Loading, PageHeader, Segmented } from '../components/ui.js';
import { apiFetch, apiJson, apiPage, qs } from '../lib/api.js';
import { useAuth } from '../lib/auth.js';
import { ago, dateTime, num } from '../lib/format.js';
import { usePollInterval } from '../lib/live.js';
import type { Execution, ResultDetail, ResultRow } from '../lib/types.js';

const SINCE = {
  '1h': 3_600_000,
  '24h': 86_400_000,
  '7d': 7 * 86_400_000,
  '30d': 30 * 86_400_000,
  all: 0,
} as const;
type Since = keyof typeof SINCE;
const TEXT_FILTERS = ['pc_id', 'job_id', 'exec_id', 'stdout', 'stderr'] as const;
const PAGE = 50;

function useUrlState() {
  const [params, setParams] = useSearchParams();
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
  return { params, set };
}

function Pager({ page, total, onPage }: { page: number; total: number; onPage(p: number): void }) {
  const { t } = useTranslation();
  const pages = Math.max(1, Math.ceil(total / PAGE));
  return (
    <div className="mt-3 flex items-center justify-between gap-2 text-sm">
      <span className="muted tabular-nums">
        {t('table.range', {
          first: num(total ? page * PAGE + 1 : 0),
          last: num(Math.min(total, (page + 1) * PAGE)),
          total: num(total),
        })}
      </span>
      <span className="flex items-center gap-2">
        <button type="button" className="btn" disabled={page === 0} onClick={() => onPage(page - 1)}>
          {t('table.prev')}
        </button>
        <span className="tabular-nums">
          {num(page + 1)} / {num(pages)}
        </span>
        <button type="button" className="btn" disabled={page + 1 >= pages} onClick={() => onPage(page + 1)}>
          {t('table.next')}
        </button>
      </span>
    </div>
  );
}

/** The full output of one result, fetched the first time the row is opened. */
function LazyOutput({ row }: { row: ResultRow }) {
  const { t } = useTranslation();
  const [open, setOpen] = useState(false);
  const detail = useQuery({
    queryKey: ['results', 'detail', row.result_id],
    queryFn: () => apiJson<ResultDetail>(`/api/results/${encodeURIComponent(row.result_id)}`),
    enabled: open,
  });
  const preview = (row.stdout || row.stderr).split('\n', 1)[0];
  return (
    <details onToggle={(e) => setOpen(e.currentTarget.open)} className="max-w-xl">
      <summary className="cursor-pointer truncate font-mono text-xs">
        {preview || t('activity.noOutput')}
      </summary>
      <div className="mt-2">
        {detail.isError ? (
          <ErrorCard error={detail.error} />
        ) : detail.data ? (
          <>
            <Output label="stdout" text={detail.data.stdout} />
            <Output label="stderr" text={detail.data.stderr} />
          </>
        ) : (
          <Loading />
        )}
      </div>
    </details>
  );
}

function Results() {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const confirm = useConfirm();
  const { hasRole } = useAuth();
  const { params, set } = useUrlState();
  const [text, setText] = useState(() =>
    Object.fromEntries(TEXT_FILTERS.map((f) => [f, params.get(f) ?? ''])),
  );
  const [notice, setNotice] = useState<string | null>(null);
  const status = params.get('status') ?? '';
  const since = (params.get('since') ?? '24h') in SINCE ? ((params.get('since') ?? '24h') as Since) : '24h';
  const page = Math.max(0, Number(params.get('page') ?? '1') - 1 || 0);
  const filters = Object.fromEntries(TEXT_FILTERS.map((f) => [f, params.get(f) ?? '']));

  // Typing goes to the URL after a pause; the URL is the source of the query.
  // biome-ignore lint/correctness/useExhaustiveDependencies: restart the debounce only when the text changes
  useEffect(() => {
    const id = setTimeout(() => {
      const changed = TEXT_FILTERS.filter((f) => (text[f] ?? '') !== (params.get(f) ?? ''));
      if (changed.length) set(Object.fromEntries(changed.map((f) => [f, text[f] ?? ''])));
    }, 400);
    return () => clearTimeout(id);
  }, [text]);

  const list = useQuery({
    queryKey: ['results', 'list', { filters, status, since, page }],
    queryFn: () =>
      apiPage<ResultRow>(
        `/api/results${qs({
          ...filters,
          status,
          since: SINCE[since] ? new Date(Date.now() - SINCE[since]).toISOString() : undefined,
          limit: PAGE,
          offset: page * PAGE,
        })}`,
      ),
    placeholderData: keepPreviousData,
    refetchInterval: usePollInterval(10_000, false),
  });

  const kill = async (jobId: string) => {
    if (
      !(await confirm({
        title: t('jobs.killTitle', { id: jobId }),
        body: t('jobs.killBody'),
        confirmLabel: t('jobs.kill'),
        danger: true,
      }))
    )
      return;
    try {
      await apiFetch(`/api/jobs/${encodeURIComponent(jobId)}/kill`, { method: 'POST' });
      setNotice(t('jobs.killed', { id: jobId }));
      await qc.invalidateQueries({ queryKey: ['results'] });
    } catch (err) {
      setNotice(errorText(err));
    }
  };

  return (
    <div>
      <div className="mb-3 grid gap-2 sm:grid-cols-3 lg:grid-cols-6">
        {TEXT_FILTERS.map((f) => (
          <input
            key={f}
            className="input font-mono"
            placeholder={`${f} (regex)`}
            aria-label={`${f} (regex)`}
            value={text[f] ?? ''}
            onChange={(e) => setText({ ...text, [f]: e.target.value })}
          />
        ))}
        <select
          className="input"
          aria-label={t('activity.statusFilter')}
          value={status}
          onChange={(e) => set({ status: e.target.value })}
        >
          <option value="">{t('activity.anyStatus')}</option>
          <option value="running">{t('activity.running')}</option>
          <option value="success">{t('activity.success')}</option>
          <option value="failure">{t('activity.failure')}</option>
        </select>
      </div>
      <div className="mb-3">
        <Segmented
          label={t('activity.since')}
          value={since}
          onChange={(v) => set({ since: v === '24h' ? null : v })}
          options={(Object.keys(SINCE) as Since[]).map((s) => ({
            value: s,
            label: t(`activity.sinceOpt.${s}`),
          }))}
        />
      </div>
      {notice ? (
        <p role="status" className="mb-2 text-sm">
          {notice}
        </p>
      ) : null}
      <div className="card overflow-x-auto p-2 max-lg:border-0 max-lg:bg-transparent max-lg:p-0 max-lg:shadow-none">
        {list.isError ? (
          <ErrorCard error={list.error} />
        ) : !list.data ? (
          <Loading />
        ) : list.data.rows.length === 0 ? (
          <Empty>{t('activity.noResults')}</Empty>
        ) : (
          <DataTable
            testId="results-table"
            rows={list.data.rows}
            rowKey={(r) => r.result_id}
            columns={[
              {
                id: 'status',
                header: t('activity.col.status'),
                cell: (r) => (
                  <Link to={`/activity/${encodeURIComponent(r.result_id)}`}>
                    <ExitCodeBadge
                      exitCode={r.exit_code}
                      skipped={r.skipped}
                      running={r.finished_at === null}
                    />
                  </Link>
                ),
              },
              {
                id: 'pc',
                header: 'pc_id',
                cell: (r) => (
                  <Link
                    className="link font-mono whitespace-nowrap"
                    to={`/agents/${encodeURIComponent(r.pc_id)}`}
                  >
                    {r.pc_id}
                  </Link>
                ),
              },
              {
                id: 'job',
                header: 'job_id',
                cell: (r) => <span className="font-mono">{r.job_id ?? '—'}</span>,
              },
              {
                id: 'exec',
                header: 'exec_id',
                cell: (r) =>
                  r.exec_id ? (
                    <button
                      type="button"
                      className="link max-w-32 truncate font-mono text-xs"
                      title={r.exec_id}
                      onClick={() => {
                        const v = `^${r.exec_id}$`;
                        setText({ ...text, exec_id: v });
                        set({ exec_id: v });
                      }}
                    >
                      {r.exec_id}
                    </button>
                  ) : (
                    '—'
                  ),
              },
              {
                id: 'started',
                header: t('activity.started'),
                cell: (r) => <span title={dateTime(r.started_at)}>{ago(r.started_at)}</span>,
              },
              { id: 'output', header: t('activity.output'), cell: (r) => <LazyOutput row={r} /> },
              {
                id: 'actions',
                header: '',
                cell: (r) =>
                  r.finished_at === null ? (
                    <span className="flex gap-1">
                      <Link
                        className="btn px-2 py-0.5 text-xs"
                        to={`/activity/${encodeURIComponent(r.result_id)}`}
                      >
                        {t('activity.live')}
                      </Link>
                      {hasRole('operator') && r.job_id ? (
                        <button
                          type="button"
                          className="btn px-2 py-0.5 text-xs"
                          onClick={() => kill(r.job_id!)}
                        >
                          {t('jobs.kill')}
                        </button>
                      ) : null}
                    </span>
                  ) : null,
              },
            ]}
          />
        )}
      </div>
      {list.data ? (
        <Pager
          page={page}
          total={list.data.total}
          onPage={(p) => set({ page: p ? String(p + 1) : null }, false)}
        />
      ) : null}
    </div>
  );
}

function Executions() {
  const { t } = useTranslation();
  const { params, set } = useUrlState();
  const status = params.get('status') ?? '';
  const jobId = params.get('job_id') ?? '';
  const page = Math.max(0, Number(params.get('page') ?? '1') - 1 || 0);
  const list = useQuery({
    queryKey: ['executions', 'list', { status, jobId, page }],
    queryFn: () =>
      apiPage<Execution>(`/api/executions${qs({ status, job_id: jobId, limit: PAGE, offset: page * PAGE })}`),
    placeholderData: keepPreviousData,
    refetchInterval: usePollInterval(10_000, false),
  });
  return (
    <div>
      <div className="mb-3 flex flex-wrap gap-2">
        <select
          className="input w-auto"
          aria-label={t('activity.statusFilter')}
          value={status}
          onChange={(e) => set({ status: e.target.value })}
        >
          <option value="">{t('activity.anyStatus')}</option>
          {(['pending', 'running', 'completed', 'expired'] as const).map((s) => (
            <option key={s} value={s}>
              {t(`activity.status.${s}`)}
            </option>
          ))}
        </select>
        {jobId ? (
          <button
            type="button"
            className="chip cursor-pointer border-violet-400"
            onClick={() => set({ job_id: null })}
          >
            job_id = {jobId} ✕
          </button>
        ) : null}
      </div>
      <div className="card overflow-x-auto p-2 max-lg:border-0 max-lg:bg-transparent max-lg:p-0 max-lg:shadow-none">
        {list.isError ? (
          <ErrorCard error={list.error} />
        ) : !list.data ? (
          <Loading />
        ) : list.data.rows.length === 0 ? (
          <Empty>{t('activity.noExecutions')}</Empty>
        ) : (
          <DataTable
            testId="executions-table"
            rows={list.data.rows}
            rowKey={(e) => e.exec_id}
            columns={[
              {
                id: 'status',
                header: t('activity.col.status'),
                cell: (e) => <ExecutionStatusChip status={e.status} />,
              },
              {
                id: 'exec',
                header: 'exec_id',
                cell: (e) => (
                  <Link
                    className="link font-mono text-xs"
                    to={`/activity?exec_id=${encodeURIComponent(`^${e.exec_id}$`)}&since=all`}
                  >
                    {e.exec_id}
                  </Link>
                ),
              },
              {
                id: 'job',
                header: 'job_id',
                cell: (e) => <span className="font-mono">{`${e.job_id} (${e.version})`}</span>,
              },
              { id: 'by', header: t('activity.initiatedBy'), cell: (e) => e.initiated_by },
              {
                id: 'at',
                header: t('activity.started'),
                cell: (e) => <span title={dateTime(e.initiated_at)}>{ago(e.initiated_at)}</span>,
              },
              {
                id: 'progress',
                header: t('activity.progress'),
                cell: (e) => {
                  const total = Math.max(e.target_count, e.success_count + e.failure_count, 1);
                  return (
                    <div className="w-40">
                      <div className="flex h-1.5 overflow-hidden rounded bg-zinc-200 dark:bg-zinc-800">
                        <div
                          className="bg-emerald-500"
                          style={{ width: `${(e.success_count / total) * 100}%` }}
                        />
                        <div
                          className="bg-red-500"
                          style={{ width: `${(e.failure_count / total) * 100}%` }}
                        />
                      </div>
                      <div className="muted mt-0.5 text-xs tabular-nums">
                        {t('activity.progressText', {
                          ok: num(e.success_count),
                          failed: num(e.failure_count),
                          total: num(e.target_count),
                        })}
                        {/* Completed by the sweeper: the command can no longer reach the rest. */}
                        {e.status === 'completed' && e.success_count + e.failure_count < e.target_count
                          ? ` · ${t('activity.noAnswer', { count: e.target_count - e.success_count - e.failure_count })}`
                          : null}
                      </div>
                    </div>
                  );
                },
              },
            ]}
          />
        )}
      </div>
      {list.data ? (
        <Pager
          page={page}
          total={list.data.total}
          onPage={(p) => set({ page: p ? String(p + 1) : null }, false)}
        />
      ) : null}
    </div>
  );
}

export default function Activity() {
  const { t } = useTranslation();
  const { params, set } = useUrlState();
  const tab = params.get('tab') === 'executions' ? 'executions' : 'results';
  return (
    <div data-testid="activity-page">
      <PageHeader title={t('nav.activity')}>
        <Segmented
          label={t('activity.view')}
          value={tab}
          onChange={(v) => set({ tab: v === 'results' ? null : v, status: null })}
          options={[
            { value: 'results', label: t('activity.results') },
            { value: 'executions', label: t('activity.executions') },
          ]}
        />
      </PageHeader>
      {tab === 'results' ? <Results /> : <Executions />}
    </div>
  );
}
