// The job catalog: every manifest with its revoke state and live
// running/pending counts, searchable by id, description and tag. Operators
// create and edit jobs in the YAML editor (checked against
// /api/schemas/manifest.json as they type; the stored YAML is kept verbatim,
// comments included), run them (to the Exec page), revoke / unrevoke, kill
// every in-flight run, or delete them (the backend revokes first and refuses
// while a schedule uses the job). Viewers see the same list and read-only
// YAML. Live counts refresh when the live stream reports results.
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useSearchParams } from 'react-router';
import { useConfirm } from '../components/Confirm.js';
import { DataTable } from '../components/DataTable.js';
import { Chip, Empty, ErrorCard, errorText, Loading, PageHeader } from '../components/ui.js';
import { YamlDocumentEditor } from '../components/YamlDocumentEditor.js';
import { apiFetch, apiJson } from '../lib/api.js';
import { useAuth } from '../lib/auth.js';
import { usePollInterval } from '../lib/live.js';
import type { JobRow } from '../lib/types.js';

const TEMPLATE = `# A job: what to run, where it may run and for how long.
id: hello-world
version: "1"
description: Print the host name
execute:
  shell: sh            # powershell | pwsh | cmd | sh
  script: |
    hostname
  timeout: 30s
tags: [demo]
`;

export default function Jobs() {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const confirm = useConfirm();
  const { hasRole } = useAuth();
  const operator = hasRole('operator');
  const [params, setParams] = useSearchParams();
  const [search, setSearch] = useState('');
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const editing = params.get('edit');
  const poll = usePollInterval(15_000, 60_000);
  const jobs = useQuery({
    queryKey: ['jobs', 'list'],
    queryFn: () => apiJson<JobRow[]>('/api/jobs'),
    refetchInterval: poll,
  });
  const status = useQuery({
    queryKey: ['jobs', 'status'],
    queryFn: () => apiJson<Record<string, string>>('/api/scripts/status'),
    refetchInterval: poll,
  });
  const tag = params.get('tag');

  const setEditing = (id: string | null) =>
    setParams(
      (p) => {
        const n = new URLSearchParams(p);
        if (id === null) n.delete('edit');
        else n.set('edit', id);
        return n;
      },
      { replace: true },
    );

  const act = async (what: string, run: () => Promise<unknown>) => {
    setMessage(null);
    try {
      await run();
      setMessage({ ok: true, text: what });
      await qc.invalidateQueries({ queryKey: ['jobs'] });
    } catch (err) {
      setMessage({ ok: false, text: errorText(err) });
    }
  };

  const rows = useMemo(() => {
    const re = search.trim().toLowerCase();
    return (jobs.data ?? []).filter(
      (j) =>
        (!tag || j.tags?.includes(tag)) &&
        (!re ||
          j.id.toLowerCase().includes(re) ||
          (j.description ?? '').toLowerCase().includes(re) ||
          j.tags?.some((x) => x.toLowerCase().includes(re))),
    );
  }, [jobs.data, search, tag]);
  const tags = useMemo(
    () => [...new Set((jobs.data ?? []).flatMap((j) => j.tags ?? []))].sort(),
    [jobs.data],
  );

  return (
    <div className="space-y-4" data-testid="jobs-page">
      <PageHeader title={t('nav.jobs')}>
        {operator ? (
          <button type="button" className="btn btn-primary" onClick={() => setEditing('')}>
            {t('jobs.new')}
          </button>
        ) : null}
      </PageHeader>
      {editing !== null ? (
        <YamlDocumentEditor
          key={editing}
          id={editing === '' ? null : editing}
          readOnly={!operator}
          onClose={() => setEditing(null)}
          endpoint="/api/jobs"
          sourceKey={['jobs', 'yaml']}
          invalidate={['jobs']}
          schema="manifest"
          template={TEMPLATE}
          newTitle={t('jobs.newTitle')}
          testId="job-editor"
        />
      ) : null}
      {message ? (
        <div
          role="status"
          className={`rounded-lg border p-2 text-sm ${message.ok ? 'border-emerald-300 text-emerald-800 dark:border-emerald-800 dark:text-emerald-200' : 'border-red-300 text-red-800 dark:border-red-900 dark:text-red-200'}`}
        >
          {message.text}
        </div>
      ) : null}
      <div className="flex flex-wrap items-center gap-2">
        <input
          type="search"
          className="input max-w-xs"
          placeholder={t('jobs.search')}
          aria-label={t('jobs.search')}
          value={search}
          onChange={(e) => setSearch(e.target.value)}
        />
        {tags.map((x) => (
          <button
            key={x}
            type="button"
            aria-pressed={tag === x}
            className={`chip cursor-pointer ${tag === x ? 'border-violet-600 bg-violet-600 text-white' : 'border-zinc-300 dark:border-zinc-700'}`}
            onClick={() =>
              setParams(
                (p) => {
                  const n = new URLSearchParams(p);
                  if (tag === x) n.delete('tag');
                  else n.set('tag', x);
                  return n;
                },
                { replace: true },
              )
            }
          >
            {x}
          </button>
        ))}
      </div>
      <div className="card overflow-x-auto p-2 max-lg:border-0 max-lg:bg-transparent max-lg:p-0 max-lg:shadow-none">
        {jobs.isError ? (
          <ErrorCard error={jobs.error} />
        ) : !jobs.data ? (
          <Loading />
        ) : rows.length === 0 ? (
          <Empty>{jobs.data.length === 0 ? t('jobs.none') : t('jobs.noMatch')}</Empty>
        ) : (
          <DataTable
            testId="jobs-table"
            rows={rows}
            rowKey={(j) => j.id}
            columns={[
              {
                id: 'id',
                header: t('jobs.col.job'),
                cell: (j) => (
                  <div className="min-w-0">
                    <button
                      type="button"
                      className="link font-mono whitespace-nowrap"
                      onClick={() => setEditing(j.id)}
                    >
                      {j.id}
                    </button>
                    {j.description ? <div className="muted truncate text-xs">{j.description}</div> : null}
                  </div>
                ),
              },
              {
                id: 'version',
                header: t('jobs.col.version'),
                cell: (j) => <span className="font-mono">{j.version}</span>,
              },
              {
                id: 'status',
                header: t('jobs.col.status'),
                cell: (j) =>
                  status.data?.[j.id] === 'REVOKED' ? (
                    <Chip tone="bad">{t('jobs.revoked')}</Chip>
                  ) : (
                    <Chip tone="ok">{t('jobs.active')}</Chip>
                  ),
              },
              {
                id: 'live',
                header: t('jobs.col.live'),
                cell: (j) =>
                  j.live.running + j.live.pending > 0 ? (
                    <Link to={`/activity?tab=executions&job_id=${encodeURIComponent(j.id)}`}>
                      <Chip tone="info">
                        {t('jobs.liveCounts', { running: j.live.running, pending: j.live.pending })}
                      </Chip>
                    </Link>
                  ) : (
                    <span className="muted">—</span>
                  ),
              },
              { id: 'shell', header: t('jobs.col.shell'), cell: (j) => j.execute?.shell ?? '—' },
              { id: 'run_as', header: t('jobs.col.runAs'), cell: (j) => j.execute?.run_as ?? '—' },
              { id: 'timeout', header: t('jobs.col.timeout'), cell: (j) => j.execute?.timeout ?? '—' },
              {
                id: 'tags',
                header: t('jobs.col.tags'),
                cell: (j) => (
                  <span className="flex flex-wrap gap-1">
                    {(j.tags ?? []).map((x) => (
                      <Chip key={x}>{x}</Chip>
                    ))}
                  </span>
                ),
              },
              ...(operator
                ? [
                    {
                      id: 'actions',
                      header: t('common.actions'),
                      cell: (j: JobRow) => {
                        const revoked = status.data?.[j.id] === 'REVOKED';
                        const id = encodeURIComponent(j.id);
                        return (
                          <span className="flex flex-wrap justify-end gap-1">
                            <Link className="btn px-2 py-0.5 text-xs" to={`/exec?job=${id}`}>
                              {t('jobs.run')}
                            </Link>
                            <button
                              type="button"
                              className="btn px-2 py-0.5 text-xs"
                              onClick={async () => {
                                if (
                                  !revoked &&
                                  !(await confirm({
                                    title: t('jobs.revokeTitle', { id: j.id }),
                                    body: t('jobs.revokeBody'),
                                    confirmLabel: t('jobs.revoke'),
                                    danger: true,
                                  }))
                                )
                                  return;
                                await act(
                                  t(revoked ? 'jobs.unrevoked' : 'jobs.revokedDone', { id: j.id }),
                                  () =>
                                    apiFetch(`/api/scripts/${id}/${revoked ? 'unrevoke' : 'revoke'}`, {
                                      method: 'POST',
                                    }),
                                );
                              }}
                            >
                              {revoked ? t('jobs.unrevoke') : t('jobs.revoke')}
                            </button>
                            <button
                              type="button"
                              className="btn px-2 py-0.5 text-xs"
                              onClick={async () => {
                                if (
                                  await confirm({
                                    title: t('jobs.killTitle', { id: j.id }),
                                    body: t('jobs.killBody'),
                                    confirmLabel: t('jobs.kill'),
                                    danger: true,
                                  })
                                )
                                  await act(t('jobs.killed', { id: j.id }), () =>
                                    apiFetch(`/api/jobs/${id}/kill`, { method: 'POST' }),
                                  );
                              }}
                            >
                              {t('jobs.kill')}
                            </button>
                            <button
                              type="button"
                              className="btn px-2 py-0.5 text-xs text-red-700 dark:text-red-400"
                              onClick={async () => {
                                if (
                                  await confirm({
                                    title: t('jobs.deleteTitle', { id: j.id }),
                                    body: t('jobs.deleteBody'),
                                    confirmLabel: t('common.delete'),
                                    danger: true,
                                  })
                                )
                                  await act(t('jobs.deleted', { id: j.id }), () =>
                                    apiFetch(`/api/jobs/${id}`, { method: 'DELETE' }),
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
    </div>
  );
}
