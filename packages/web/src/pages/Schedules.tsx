// Schedules: when each job runs on which target. Every row carries a rollout
// coverage bar from one batch request (/api/schedules/coverage: ok / fail /
// skipped / running / pending out of the full roster, offline PCs
// included). A row opens a drawer with the status (next and last run, last
// 24 h), the next fires and the per-agent coverage, loaded only then.
// Operators enable, soft-disable (no more fires), hard-disable (also revoke
// the job, optionally kill its running executions), edit the YAML (checked
// against /api/schemas/schedule.json) or delete. Coverage refreshes when the
// live stream reports results. The fleet freeze (every scheduled fire
// skipped) is shown here, and operators set or lift it here.
import { useQuery, useQueryClient } from '@tanstack/react-query';
import type { TFunction } from 'i18next';
import { useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useSearchParams } from 'react-router';
import { useConfirm } from '../components/Confirm.js';
import { DataTable } from '../components/DataTable.js';
import { FreezeBanner } from '../components/Freeze.js';
import { Card, Chip, Empty, ErrorCard, errorText, Loading, PageHeader } from '../components/ui.js';
import { YamlDocumentEditor } from '../components/YamlDocumentEditor.js';
import { apiFetch, apiJson } from '../lib/api.js';
import { useAuth } from '../lib/auth.js';
import { ago, dateTime, num } from '../lib/format.js';
import { usePollInterval } from '../lib/live.js';

type Per = 'once' | { every: string };
interface When {
  per_pc?: Per;
  per_target?: Per;
  calendar?: { at: string; days?: string[] };
  on?: string[];
}
interface ScheduleRow {
  id: string;
  job_id: string;
  when: When;
  enabled: boolean;
  runs_on?: string;
  tz?: string;
  target?: { all?: boolean; groups?: string[]; pcs?: string[] };
  rollout?: { waves?: { group: string; delay: string }[] } | null;
  jitter?: string | null;
}
interface Coverage {
  id: string;
  total: number;
  ok: number;
  fail: number;
  skipped: number;
  running: number;
  pending: number;
}
interface Status {
  next_run: string | null;
  frozen: boolean;
  tz: string;
  runs_on: string;
  last_run: {
    pc_id: string;
    exit_code: number | null;
    started_at: string;
    finished_at: string | null;
  } | null;
  recent: { window_hours: number; ok: number; fail: number };
}
interface Preview {
  fires: string[];
  note?: string;
}
interface AgentCoverage extends Coverage {
  agents: { pc_id: string; state: string; version: string | null; finished_at: string | null }[];
}

const TEMPLATE = `# When to run which job on which target.
id: nightly-hello
job_id: hello-world
when:
  calendar:
    at: "03:00"
    days: [mon-fri]
target:
  groups: [lab]
jitter: 5m
`;

/** `when` as upstream prints it (`per_pc: every 6h`, `calendar: 09:00 mon-fri`). */
export function describeWhen(w: When): string {
  const per = (p: Per) => (p === 'once' ? 'once' : `every ${p.every}`);
  if (w.per_pc) return `per_pc: ${per(w.per_pc)}`;
  if (w.per_target) return `per_target: ${per(w.per_target)}`;
  if (w.calendar) return `calendar: ${[w.calendar.at, ...(w.calendar.days ?? [])].join(' ')}`;
  return `on: ${(w.on ?? []).join(', ')}`;
}

function describeTarget(s: ScheduleRow, t: TFunction): string {
  const parts: string[] = [];
  if (s.target?.all) parts.push(t('exec.all'));
  if (s.target?.groups?.length) parts.push(s.target.groups.join(', '));
  if (s.target?.pcs?.length) parts.push(t('exec.pcCount', { n: s.target.pcs.length }));
  if (s.rollout?.waves?.length) parts.push(t('schedules.waves', { n: s.rollout.waves.length }));
  return parts.join(' · ') || '—';
}

const SEGMENTS = [
  ['ok', 'bg-emerald-500'],
  ['fail', 'bg-red-500'],
  ['skipped', 'bg-zinc-400'],
  ['running', 'bg-violet-500'],
] as const;

function CoverageBar({ c }: { c: Coverage | undefined }) {
  const { t } = useTranslation();
  if (!c) return <span className="muted">—</span>;
  const total = Math.max(1, c.total);
  return (
    <div className="w-44" data-testid="coverage" data-ok={c.ok} data-total={c.total}>
      <div className="flex h-1.5 overflow-hidden rounded bg-zinc-200 dark:bg-zinc-800">
        {SEGMENTS.map(([k, color]) => (
          <div key={k} className={color} style={{ width: `${(c[k] / total) * 100}%` }} />
        ))}
      </div>
      <div className="muted mt-0.5 text-xs tabular-nums">
        {t('schedules.coverageText', {
          ok: num(c.ok),
          fail: num(c.fail),
          running: num(c.running),
          pending: num(c.pending),
          total: num(c.total),
        })}
      </div>
    </div>
  );
}

function Drawer({ s, onClose }: { s: ScheduleRow; onClose(): void }) {
  const { t } = useTranslation();
  const id = encodeURIComponent(s.id);
  const status = useQuery({
    queryKey: ['schedules', 'status', s.id],
    queryFn: () => apiJson<Status>(`/api/schedules/${id}/status`),
  });
  const preview = useQuery({
    queryKey: ['schedules', 'preview', s.id],
    queryFn: () => apiJson<Preview>(`/api/schedules/${id}/preview?count=5`),
  });
  const coverage = useQuery({
    queryKey: ['schedules', 'coverage', s.id],
    queryFn: () => apiJson<AgentCoverage>(`/api/schedules/${id}/coverage`),
  });
  return (
    <div className="fixed inset-0 z-40 flex justify-end">
      <button
        type="button"
        aria-label={t('common.close')}
        className="absolute inset-0 bg-black/30"
        onClick={onClose}
      />
      <aside
        className="relative h-full w-full max-w-lg space-y-4 overflow-y-auto bg-zinc-50 p-4 shadow-xl dark:bg-zinc-950"
        data-testid="schedule-drawer"
      >
        <div className="flex items-center justify-between">
          <h2 className="font-mono text-lg font-semibold">{s.id}</h2>
          <button type="button" className="btn" onClick={onClose}>
            {t('common.close')}
          </button>
        </div>
        <Card title={t('schedules.status')}>
          {status.isError ? (
            <ErrorCard error={status.error} />
          ) : !status.data ? (
            <Loading />
          ) : (
            <dl className="grid grid-cols-2 gap-2 text-sm">
              <dt className="muted">{t('schedules.nextRun')}</dt>
              <dd>{status.data.next_run ? dateTime(status.data.next_run) : '—'}</dd>
              <dt className="muted">{t('schedules.lastRun')}</dt>
              <dd>
                {status.data.last_run
                  ? `${status.data.last_run.pc_id} · ${ago(status.data.last_run.started_at)}`
                  : '—'}
              </dd>
              <dt className="muted">{t('schedules.recent', { h: status.data.recent.window_hours })}</dt>
              <dd>{t('schedules.okFail', { ok: status.data.recent.ok, fail: status.data.recent.fail })}</dd>
              <dt className="muted">{t('schedules.runsOn')}</dt>
              <dd>
                {status.data.runs_on} · {status.data.tz}
                {status.data.frozen ? (
                  <>
                    {' '}
                    <Chip tone="warn">{t('schedules.frozen')}</Chip>
                  </>
                ) : null}
              </dd>
            </dl>
          )}
        </Card>
        <Card title={t('schedules.preview')}>
          {preview.isError ? (
            <ErrorCard error={preview.error} />
          ) : !preview.data ? (
            <Loading />
          ) : (
            <>
              {preview.data.note ? <p className="muted mb-2 text-xs">{preview.data.note}</p> : null}
              <ul className="text-sm">
                {preview.data.fires.map((f) => (
                  <li key={f}>{dateTime(f)}</li>
                ))}
              </ul>
            </>
          )}
        </Card>
        <Card title={t('schedules.coverage')}>
          {coverage.isError ? (
            <ErrorCard error={coverage.error} />
          ) : !coverage.data ? (
            <Loading />
          ) : (
            <>
              <CoverageBar c={coverage.data} />
              <DataTable
                rows={coverage.data.agents.slice(0, 500)}
                rowKey={(a) => a.pc_id}
                columns={[
                  {
                    id: 'pc',
                    header: 'pc_id',
                    cell: (a) => (
                      <Link
                        className="link font-mono whitespace-nowrap"
                        to={`/agents/${encodeURIComponent(a.pc_id)}`}
                      >
                        {a.pc_id}
                      </Link>
                    ),
                  },
                  { id: 'state', header: t('jobs.col.status'), cell: (a) => t(`schedules.state.${a.state}`) },
                  { id: 'version', header: t('jobs.col.version'), cell: (a) => a.version ?? '—' },
                  { id: 'at', header: t('activity.finished'), cell: (a) => ago(a.finished_at) },
                ]}
              />
              {coverage.data.agents.length > 500 ? (
                <p className="muted mt-2 text-xs">
                  {t('schedules.firstN', { n: 500, total: num(coverage.data.agents.length) })}
                </p>
              ) : null}
            </>
          )}
        </Card>
      </aside>
    </div>
  );
}

/** The hard-disable question: the job is revoked; killing its running executions is the operator's choice. */
function HardDisableBody({ choice }: { choice: { kill: boolean } }) {
  const { t } = useTranslation();
  const [kill, setKill] = useState(false);
  return (
    <div className="space-y-2">
      <p>{t('schedules.hardBody')}</p>
      <label className="flex items-center gap-2">
        <input
          type="checkbox"
          checked={kill}
          onChange={(e) => {
            choice.kill = e.target.checked;
            setKill(e.target.checked);
          }}
        />
        {t('schedules.alsoKill')}
      </label>
    </div>
  );
}

export default function Schedules() {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const confirm = useConfirm();
  const { hasRole } = useAuth();
  const operator = hasRole('operator');
  const [params, setParams] = useSearchParams();
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const hardChoice = useRef({ kill: false });
  const poll = usePollInterval(15_000, 60_000);
  const list = useQuery({
    queryKey: ['schedules', 'list'],
    queryFn: () => apiJson<ScheduleRow[]>('/api/schedules'),
    refetchInterval: poll,
  });
  const coverage = useQuery({
    queryKey: ['schedules', 'coverage-all'],
    queryFn: () => apiJson<Coverage[]>('/api/schedules/coverage'),
    refetchInterval: poll,
  });
  const byId = new Map((coverage.data ?? []).map((c) => [c.id, c]));
  const open = params.get('open');
  const editing = params.get('edit');
  const selected = list.data?.find((s) => s.id === open);
  const setParam = (k: string, v: string | null) =>
    setParams(
      (p) => {
        const n = new URLSearchParams(p);
        if (v === null) n.delete(k);
        else n.set(k, v);
        return n;
      },
      { replace: true },
    );

  const act = async (done: string, path: string, method = 'POST') => {
    setMessage(null);
    try {
      await apiFetch(path, { method });
      setMessage({ ok: true, text: done });
    } catch (err) {
      setMessage({ ok: false, text: errorText(err) });
    }
    await qc.invalidateQueries({ queryKey: ['schedules'] });
    await qc.invalidateQueries({ queryKey: ['jobs'] });
  };

  return (
    <div className="space-y-4" data-testid="schedules-page">
      <PageHeader title={t('nav.schedules')}>
        {operator ? (
          <button type="button" className="btn btn-primary" onClick={() => setParam('edit', '')}>
            {t('schedules.new')}
          </button>
        ) : null}
      </PageHeader>
      <FreezeBanner controls />
      {editing !== null ? (
        <YamlDocumentEditor
          key={editing}
          id={editing === '' ? null : editing}
          readOnly={!operator}
          onClose={() => setParam('edit', null)}
          endpoint="/api/schedules"
          sourceKey={['schedules', 'yaml']}
          invalidate={['schedules']}
          schema="schedule"
          template={TEMPLATE}
          newTitle={t('schedules.newTitle')}
          testId="schedule-editor"
        />
      ) : null}
      {message ? (
        <p role="status" className={`text-sm ${message.ok ? '' : 'text-red-700 dark:text-red-400'}`}>
          {message.text}
        </p>
      ) : null}
      <div className="card overflow-x-auto p-2 max-lg:border-0 max-lg:bg-transparent max-lg:p-0 max-lg:shadow-none">
        {list.isError ? (
          <ErrorCard error={list.error} />
        ) : !list.data ? (
          <Loading />
        ) : list.data.length === 0 ? (
          <Empty>{t('schedules.none')}</Empty>
        ) : (
          <DataTable
            testId="schedules-table"
            rows={list.data}
            rowKey={(s) => s.id}
            columns={[
              {
                id: 'id',
                header: t('schedules.col.schedule'),
                cell: (s) => (
                  <div>
                    <button type="button" className="link font-mono" onClick={() => setParam('open', s.id)}>
                      {s.id}
                    </button>
                    <div className="muted font-mono text-xs">{s.job_id}</div>
                  </div>
                ),
              },
              {
                id: 'when',
                header: t('schedules.col.when'),
                cell: (s) => <span className="font-mono text-xs">{describeWhen(s.when)}</span>,
              },
              { id: 'target', header: t('schedules.col.target'), cell: (s) => describeTarget(s, t) },
              {
                id: 'enabled',
                header: t('jobs.col.status'),
                cell: (s) =>
                  s.enabled ? (
                    <Chip tone="ok">{t('schedules.enabled')}</Chip>
                  ) : (
                    <Chip tone="neutral">{t('schedules.disabled')}</Chip>
                  ),
              },
              {
                id: 'coverage',
                header: t('schedules.coverage'),
                cell: (s) => <CoverageBar c={byId.get(s.id)} />,
              },
              ...(operator
                ? [
                    {
                      id: 'actions',
                      header: t('common.actions'),
                      cell: (s: ScheduleRow) => {
                        const id = encodeURIComponent(s.id);
                        return (
                          <span className="flex flex-wrap justify-end gap-1">
                            <button
                              type="button"
                              className="btn px-2 py-0.5 text-xs"
                              onClick={() => setParam('edit', s.id)}
                            >
                              {t('schedules.edit')}
                            </button>
                            {s.enabled ? (
                              <>
                                <button
                                  type="button"
                                  className="btn px-2 py-0.5 text-xs"
                                  onClick={() =>
                                    act(
                                      t('schedules.disabledDone', { id: s.id }),
                                      `/api/schedules/${id}/disable`,
                                    )
                                  }
                                >
                                  {t('schedules.softDisable')}
                                </button>
                                <button
                                  type="button"
                                  className="btn px-2 py-0.5 text-xs text-red-700 dark:text-red-400"
                                  onClick={async () => {
                                    hardChoice.current = { kill: false };
                                    if (
                                      await confirm({
                                        title: t('schedules.hardTitle', { id: s.id, job: s.job_id }),
                                        body: <HardDisableBody choice={hardChoice.current} />,
                                        confirmLabel: t('schedules.hardDisable'),
                                        danger: true,
                                      })
                                    )
                                      await act(
                                        t('schedules.hardDone', { id: s.id, job: s.job_id }),
                                        `/api/schedules/${id}/disable?cascade=true${hardChoice.current.kill ? '&cascade_kill=true' : ''}`,
                                      );
                                  }}
                                >
                                  {t('schedules.hardDisable')}
                                </button>
                              </>
                            ) : (
                              <button
                                type="button"
                                className="btn px-2 py-0.5 text-xs"
                                onClick={() =>
                                  act(t('schedules.enabledDone', { id: s.id }), `/api/schedules/${id}/enable`)
                                }
                              >
                                {t('schedules.enable')}
                              </button>
                            )}
                            <button
                              type="button"
                              className="btn px-2 py-0.5 text-xs text-red-700 dark:text-red-400"
                              onClick={async () => {
                                if (
                                  await confirm({
                                    title: t('schedules.deleteTitle', { id: s.id }),
                                    confirmLabel: t('common.delete'),
                                    danger: true,
                                  })
                                )
                                  await act(
                                    t('jobs.deleted', { id: s.id }),
                                    `/api/schedules/${id}`,
                                    'DELETE',
                                  );
                              }}
                            >
                              {t('common.delete')}
                            </button>
                          </span>
                        );
                      },
                    },
                  ]
                : []),
            ]}
          />
        )}
      </div>
      {selected ? <Drawer s={selected} onClose={() => setParam('open', null)} /> : null}
    </div>
  );
}
