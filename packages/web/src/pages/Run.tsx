// An ad-hoc script on one PC (POST /api/run): the backend sends it and waits
// for the agent's result (the timeout plus 10 s). Nothing can be undone, so
// it is confirmed first; the exit code and both outputs are shown.
import { useMutation } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useSearchParams } from 'react-router';
import { ExitCodeBadge } from '../components/badges.js';
import { useConfirm } from '../components/Confirm.js';
import { Output } from '../components/Output.js';
import { Card, ErrorCard, PageHeader } from '../components/ui.js';
import { apiJson } from '../lib/api.js';
import type { RunResult } from '../lib/types.js';

const SHELLS = ['powershell', 'pwsh', 'cmd', 'sh'] as const;
const RUN_AS = ['system', 'user', 'system_gui'] as const;

export default function Run() {
  const { t } = useTranslation();
  const confirm = useConfirm();
  const [params] = useSearchParams();
  const [pcId, setPcId] = useState(params.get('pc') ?? '');
  const [shell, setShell] = useState<(typeof SHELLS)[number]>('powershell');
  const [runAs, setRunAs] = useState<(typeof RUN_AS)[number]>('system');
  const [timeout, setTimeoutSecs] = useState(60);
  const [script, setScript] = useState('');
  const run = useMutation({
    mutationFn: () =>
      apiJson<RunResult>('/api/run', {
        method: 'POST',
        body: { pc_id: pcId.trim(), shell, run_as: runAs, timeout_secs: timeout, script },
      }),
  });

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (
      await confirm({
        title: t('run.confirmTitle', { pc: pcId.trim() }),
        body: t('run.confirmBody'),
        confirmLabel: t('run.submit'),
        danger: true,
      })
    )
      run.mutate();
  }

  return (
    <div className="space-y-4" data-testid="run-page">
      <PageHeader title={t('nav.run')} />
      <Card>
        <form className="grid max-w-3xl gap-4" onSubmit={submit}>
          <div className="grid gap-4 sm:grid-cols-4">
            <div className="sm:col-span-2">
              <label className="label" htmlFor="run-pc">
                {t('run.pc')}
              </label>
              <input
                id="run-pc"
                className="input font-mono"
                value={pcId}
                onChange={(e) => setPcId(e.target.value)}
                required
              />
            </div>
            <div>
              <label className="label" htmlFor="run-shell">
                {t('run.shell')}
              </label>
              <select
                id="run-shell"
                className="input"
                value={shell}
                onChange={(e) => setShell(e.target.value as typeof shell)}
              >
                {SHELLS.map((s) => (
                  <option key={s}>{s}</option>
                ))}
              </select>
            </div>
            <div>
              <label className="label" htmlFor="run-as">
                {t('run.runAs')}
              </label>
              <select
                id="run-as"
                className="input"
                value={runAs}
                onChange={(e) => setRunAs(e.target.value as typeof runAs)}
              >
                {RUN_AS.map((s) => (
                  <option key={s}>{s}</option>
                ))}
              </select>
            </div>
          </div>
          <div className="max-w-40">
            <label className="label" htmlFor="run-timeout">
              {t('run.timeout')}
            </label>
            <input
              id="run-timeout"
              className="input"
              type="number"
              min={1}
              max={86_400}
              value={timeout}
              onChange={(e) => setTimeoutSecs(Number(e.target.value))}
            />
          </div>
          <div>
            <label className="label" htmlFor="run-script">
              {t('run.script')}
            </label>
            <textarea
              id="run-script"
              className="input h-40 font-mono"
              value={script}
              onChange={(e) => setScript(e.target.value)}
              required
            />
          </div>
          <div>
            <button type="submit" className="btn btn-primary" disabled={run.isPending}>
              {run.isPending ? t('run.waiting') : t('run.submit')}
            </button>
          </div>
        </form>
      </Card>
      {run.isError ? <ErrorCard error={run.error} what={t('run.failed')} /> : null}
      {run.data ? (
        <Card
          title={t('run.result')}
          actions={<ExitCodeBadge exitCode={run.data.exit_code} />}
          testId="run-result"
        >
          <p className="muted mb-2 text-xs">
            <Link className="link" to={`/activity/${encodeURIComponent(run.data.result_id)}`}>
              {run.data.result_id}
            </Link>
          </p>
          <Output label="stdout" text={run.data.stdout} />
          <Output label="stderr" text={run.data.stderr} />
        </Card>
      ) : null}
    </div>
  );
}
