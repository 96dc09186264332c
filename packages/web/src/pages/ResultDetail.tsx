// One result: who ran what, when, and how it ended, with both outputs in full
// and copy buttons. While the run is still going, the live tail (on by
// default) asks the agent for its output so far every 5 s
// (/api/results/{id}/tail); the row itself refreshes when the live stream
// reports the result finished.
import { useQuery } from '@tanstack/react-query';
import { type ReactNode, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useParams } from 'react-router';
import { ExitCodeBadge } from '../components/badges.js';
import { Output } from '../components/Output.js';
import { Card, ErrorCard, Loading, PageHeader } from '../components/ui.js';
import { apiJson } from '../lib/api.js';
import { dateTime } from '../lib/format.js';
import { usePollInterval } from '../lib/live.js';
import type { ResultDetail as Detail, ResultTail } from '../lib/types.js';

function Meta({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="min-w-0">
      <dt className="muted text-xs">{label}</dt>
      <dd className="truncate font-mono text-xs">{children ?? '—'}</dd>
    </div>
  );
}

export default function ResultDetail() {
  const { t } = useTranslation();
  const { resultId = '' } = useParams();
  const [tail, setTail] = useState(true);
  const id = encodeURIComponent(resultId);
  const result = useQuery({
    queryKey: ['results', 'detail', resultId],
    queryFn: () => apiJson<Detail>(`/api/results/${id}`),
    refetchInterval: usePollInterval(10_000, 30_000),
  });
  const running = result.data ? result.data.finished_at === null : false;
  const live = useQuery({
    queryKey: ['results', 'tail', resultId],
    queryFn: () => apiJson<ResultTail>(`/api/results/${id}/tail`),
    enabled: running && tail,
    refetchInterval: 5000,
  });
  const r = result.data;

  return (
    <div className="space-y-4" data-testid="result-detail">
      <PageHeader title={t('activity.resultTitle')}>
        <Link className="link text-sm" to="/activity">
          {t('activity.back')}
        </Link>
      </PageHeader>
      {result.isError ? <ErrorCard error={result.error} /> : null}
      {!r && result.isPending ? <Loading /> : null}
      {r ? (
        <>
          <Card actions={<ExitCodeBadge exitCode={r.exit_code} skipped={r.skipped} running={running} />}>
            <dl className="grid grid-cols-2 gap-3 sm:grid-cols-3 lg:grid-cols-4">
              <Meta label="pc_id">
                <Link className="link" to={`/agents/${encodeURIComponent(r.pc_id)}`}>
                  {r.pc_id}
                </Link>
              </Meta>
              <Meta label="job_id">{r.job_id}</Meta>
              <Meta label={t('activity.manifestVersion')}>{r.version}</Meta>
              <Meta label="exec_id">
                {r.exec_id ? (
                  <Link className="link" to={`/activity?exec_id=${encodeURIComponent(`^${r.exec_id}$`)}`}>
                    {r.exec_id}
                  </Link>
                ) : null}
              </Meta>
              <Meta label="request_id">{r.request_id}</Meta>
              <Meta label="result_id">{r.result_id}</Meta>
              <Meta label={t('activity.started')}>{dateTime(r.started_at)}</Meta>
              <Meta label={t('activity.finished')}>{r.finished_at ? dateTime(r.finished_at) : null}</Meta>
            </dl>
          </Card>
          {running ? (
            <Card
              title={t('activity.liveTail')}
              actions={
                <label className="flex items-center gap-2 text-sm">
                  <input type="checkbox" checked={tail} onChange={(e) => setTail(e.target.checked)} />
                  {t('activity.followTail')}
                </label>
              }
              testId="live-tail"
            >
              {live.isError ? <ErrorCard error={live.error} /> : null}
              {live.data ? (
                <>
                  {!live.data.live ? <p className="muted mb-2 text-xs">{t('activity.tailWaiting')}</p> : null}
                  <Output label="stdout" text={live.data.stdout} truncated={live.data.stdout_truncated} />
                  <Output label="stderr" text={live.data.stderr} truncated={live.data.stderr_truncated} />
                </>
              ) : tail ? (
                <Loading />
              ) : null}
            </Card>
          ) : (
            <Card title={t('activity.output')}>
              <Output label="stdout" text={r.stdout} />
              <Output label="stderr" text={r.stderr} />
            </Card>
          )}
          {r.finalize_children.length ? (
            <Card title={t('activity.finalize')}>
              {r.finalize_children.map((c) => (
                <div key={c.result_id} className="mb-3">
                  <div className="mb-1 flex items-center gap-2 text-xs">
                    <ExitCodeBadge
                      exitCode={c.exit_code}
                      skipped={c.skipped}
                      running={c.finished_at === null}
                    />
                    <span className="font-mono">{c.result_id}</span>
                  </div>
                  <Output label="stdout" text={c.stdout} />
                  <Output label="stderr" text={c.stderr} />
                </div>
              ))}
            </Card>
          ) : null}
        </>
      ) : null}
    </div>
  );
}
