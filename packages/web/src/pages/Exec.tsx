// Fire a catalog job at the fleet: every agent, some groups or some PCs,
// with optional jitter and rollout waves (each wave a group and a delay,
// optionally stopping when too many finished results failed). Targeting
// "all" shows a red warning and must be confirmed by typing "all". The
// answer (exec id, targets, subjects) links to Activity, where the results
// arrive live.
import { useMutation, useQuery } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useSearchParams } from 'react-router';
import { useConfirm } from '../components/Confirm.js';
import { Card, ErrorCard, PageHeader, Segmented } from '../components/ui.js';
import { apiJson } from '../lib/api.js';
import { num } from '../lib/format.js';
import type { ExecResponse, JobRow } from '../lib/types.js';

type TargetMode = 'all' | 'groups' | 'pcs';

/** Comma-, space- or newline-separated tokens, de-duplicated. */
export function splitList(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).filter(Boolean))];
}

export default function Exec() {
  const { t } = useTranslation();
  const confirm = useConfirm();
  const [params] = useSearchParams();
  const jobs = useQuery({ queryKey: ['jobs', 'list'], queryFn: () => apiJson<JobRow[]>('/api/jobs') });
  const [jobId, setJobId] = useState(params.get('job') ?? '');
  const [mode, setMode] = useState<TargetMode>('groups');
  const [groups, setGroups] = useState('');
  const [pcs, setPcs] = useState('');
  const [jitter, setJitter] = useState('');
  const [waves, setWaves] = useState<{ group: string; delay: string }[]>([]);
  const [abortPct, setAbortPct] = useState('');

  const exec = useMutation({
    mutationFn: (body: unknown) =>
      apiJson<ExecResponse>(`/api/exec/${encodeURIComponent(jobId)}`, { method: 'POST', body }),
  });

  async function submit(e: FormEvent) {
    e.preventDefault();
    const target = {
      all: mode === 'all',
      groups: mode === 'groups' ? splitList(groups) : [],
      pcs: mode === 'pcs' ? splitList(pcs) : [],
    };
    const body: Record<string, unknown> = { target };
    if (jitter.trim()) body.jitter = jitter.trim();
    const w = waves.filter((x) => x.group.trim());
    if (w.length) {
      body.rollout = {
        strategy: 'wave',
        waves: w.map((x) => ({ group: x.group.trim(), delay: x.delay.trim() || '0s' })),
        ...(abortPct.trim() ? { abort_on_failure_pct: Number(abortPct) } : {}),
      };
    }
    const ok = await confirm({
      title: t('exec.confirmTitle', { job: jobId }),
      body:
        mode === 'all'
          ? t('exec.confirmAll')
          : t('exec.confirmSome', {
              what:
                mode === 'groups' ? target.groups.join(', ') : t('exec.pcCount', { n: target.pcs.length }),
            }),
      confirmLabel: t('exec.submit'),
      danger: mode === 'all',
      ...(mode === 'all' ? { typeToConfirm: 'all' } : {}),
    });
    if (ok) exec.mutate(body);
  }

  return (
    <div className="space-y-4" data-testid="exec-page">
      <PageHeader title={t('nav.exec')} />
      <Card>
        <form className="grid max-w-2xl gap-4" onSubmit={submit}>
          <div>
            <label className="label" htmlFor="exec-job">
              {t('exec.job')}
            </label>
            <select
              id="exec-job"
              className="input"
              value={jobId}
              onChange={(e) => setJobId(e.target.value)}
              required
            >
              <option value="">{t('exec.pickJob')}</option>
              {(jobs.data ?? []).map((j) => (
                <option key={j.id} value={j.id}>
                  {j.id} ({j.version}){j.description ? ` — ${j.description}` : ''}
                </option>
              ))}
            </select>
          </div>
          <div>
            <div className="label">{t('exec.target')}</div>
            <Segmented<TargetMode>
              label={t('exec.target')}
              value={mode}
              onChange={setMode}
              options={[
                { value: 'groups', label: t('exec.groups') },
                { value: 'pcs', label: t('exec.pcs') },
                { value: 'all', label: t('exec.all') },
              ]}
            />
          </div>
          {mode === 'all' ? (
            <div
              role="alert"
              className="rounded-lg border-2 border-red-500 bg-red-50 p-3 text-sm font-medium text-red-800 dark:bg-red-950/60 dark:text-red-200"
            >
              {t('exec.allWarning')}
            </div>
          ) : mode === 'groups' ? (
            <div>
              <label className="label" htmlFor="exec-groups">
                {t('exec.groupsLabel')}
              </label>
              <input
                id="exec-groups"
                className="input font-mono"
                value={groups}
                onChange={(e) => setGroups(e.target.value)}
                placeholder="lab, canary"
                required
              />
            </div>
          ) : (
            <div>
              <label className="label" htmlFor="exec-pcs">
                {t('exec.pcsLabel')}
              </label>
              <textarea
                id="exec-pcs"
                className="input h-28 font-mono"
                value={pcs}
                onChange={(e) => setPcs(e.target.value)}
                required
              />
            </div>
          )}
          <div className="grid gap-4 sm:grid-cols-2">
            <div>
              <label className="label" htmlFor="exec-jitter">
                {t('exec.jitter')}
              </label>
              <input
                id="exec-jitter"
                className="input"
                placeholder="30s"
                value={jitter}
                onChange={(e) => setJitter(e.target.value)}
              />
            </div>
            <div>
              <label className="label" htmlFor="exec-abort">
                {t('exec.abortPct')}
              </label>
              <input
                id="exec-abort"
                className="input"
                type="number"
                min={0}
                max={100}
                value={abortPct}
                onChange={(e) => setAbortPct(e.target.value)}
                disabled={waves.length === 0}
              />
            </div>
          </div>
          <div>
            <div className="label">{t('exec.waves')}</div>
            <p className="muted mb-2 text-xs">{t('exec.wavesHelp')}</p>
            {waves.map((w, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: waves are positional
              <div key={i} className="mb-2 flex gap-2">
                <input
                  className="input font-mono"
                  aria-label={t('exec.waveGroup', { n: i + 1 })}
                  placeholder={t('exec.waveGroup', { n: i + 1 })}
                  value={w.group}
                  onChange={(e) =>
                    setWaves(waves.map((x, j) => (j === i ? { ...x, group: e.target.value } : x)))
                  }
                />
                <input
                  className="input w-32"
                  aria-label={t('exec.waveDelay', { n: i + 1 })}
                  placeholder="10m"
                  value={w.delay}
                  onChange={(e) =>
                    setWaves(waves.map((x, j) => (j === i ? { ...x, delay: e.target.value } : x)))
                  }
                />
                <button
                  type="button"
                  className="btn"
                  onClick={() => setWaves(waves.filter((_, j) => j !== i))}
                >
                  ✕
                </button>
              </div>
            ))}
            <button
              type="button"
              className="btn"
              onClick={() => setWaves([...waves, { group: '', delay: '' }])}
            >
              {t('exec.addWave')}
            </button>
          </div>
          <div>
            <button
              type="submit"
              className={`btn ${mode === 'all' ? 'btn-danger' : 'btn-primary'}`}
              disabled={exec.isPending || !jobId}
            >
              {exec.isPending ? t('common.working') : t('exec.submit')}
            </button>
          </div>
        </form>
      </Card>
      {exec.isError ? <ErrorCard error={exec.error} what={t('exec.failed')} /> : null}
      {exec.data ? (
        <Card title={t('exec.accepted')} testId="exec-accepted">
          <p className="text-sm">
            {t('exec.acceptedBody', {
              targets: num(exec.data.target_count),
              subjects: num(exec.data.subjects.length),
            })}
          </p>
          <p className="mt-2 font-mono text-xs">{exec.data.exec_id}</p>
          <Link
            className="link mt-2 inline-block text-sm"
            to={`/activity?exec_id=${encodeURIComponent(`^${exec.data.exec_id}$`)}`}
          >
            {t('exec.watch')}
          </Link>
        </Card>
      ) : null}
    </div>
  );
}
