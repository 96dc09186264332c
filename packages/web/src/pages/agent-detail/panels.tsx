// The operator-managed side of one PC on its detail page: its groups
// (assigned by operators, plus the ones derived from group definitions,
// which change only with the definition), its metadata (free key/value
// pairs such as primary user, site or asset tag: viewers read, operators
// edit, and Save replaces the whole set, as upstream), and the effective
// configuration its agent runs with (hidden for accounts that may not open
// Config).
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { EffectiveTable } from '../../components/EffectiveConfig.js';
import { Card, Chip, Empty, ErrorCard, errorText, Loading } from '../../components/ui.js';
import { ApiError, apiJson } from '../../lib/api.js';
import { useAuth } from '../../lib/auth.js';
import type { EffectiveView, MetaEntry } from '../../lib/types.js';

const TOKEN = /^[A-Za-z0-9_=-]{1,128}$/;

export function GroupsCard({ pcId }: { pcId: string }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const operator = useAuth().hasRole('operator');
  const key = ['agents', 'groups', pcId];
  const path = `/api/agents/${encodeURIComponent(pcId)}/groups`;
  const groups = useQuery({
    queryKey: key,
    queryFn: () => apiJson<{ groups: string[]; derived: string[] }>(path),
  });
  const [name, setName] = useState('');
  const change = useMutation({
    mutationFn: (op: { add?: string; remove?: string }) =>
      op.add
        ? apiJson<{ groups: string[] }>(path, { method: 'POST', body: { group: op.add } })
        : apiJson<{ groups: string[] }>(`${path}/${encodeURIComponent(op.remove!)}`, { method: 'DELETE' }),
    onSuccess: (r) => {
      qc.setQueryData(key, { groups: r.groups, derived: groups.data?.derived ?? [] });
      setName('');
      return Promise.all([
        qc.invalidateQueries({ queryKey: ['groups'] }),
        qc.invalidateQueries({ queryKey: ['agents', 'effective', pcId] }),
      ]);
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (TOKEN.test(name)) change.mutate({ add: name });
  };
  return (
    <Card title={t('agentDetail.groups')} testId="agent-groups">
      {groups.isError ? (
        <ErrorCard error={groups.error} />
      ) : !groups.data ? (
        <Loading />
      ) : (
        <div className="space-y-3">
          <div className="flex flex-wrap gap-1.5">
            {groups.data.groups.length + groups.data.derived.length === 0 ? (
              <span className="muted text-sm">{t('agentDetail.noGroups')}</span>
            ) : null}
            {groups.data.groups.map((g) => (
              <Chip key={g} tone="info">
                <Link to={`/groups?group=${encodeURIComponent(g)}`}>{g}</Link>
                {operator ? (
                  <button
                    type="button"
                    aria-label={t('agentDetail.removeGroup', { group: g })}
                    disabled={change.isPending}
                    onClick={() => change.mutate({ remove: g })}
                  >
                    ×
                  </button>
                ) : null}
              </Chip>
            ))}
            {groups.data.derived.map((g) => (
              <Chip key={`d-${g}`} title={t('agentDetail.derivedHelp')}>
                <Link to={`/groups?tab=defs&preview=${encodeURIComponent(g)}`}>{g}</Link>
                <span className="opacity-70">· {t('agentDetail.derived')}</span>
              </Chip>
            ))}
          </div>
          {operator ? (
            <form className="flex gap-2" onSubmit={submit}>
              <input
                className="input max-w-xs font-mono"
                placeholder={t('agentDetail.groupName')}
                aria-label={t('agentDetail.groupName')}
                value={name}
                onChange={(e) => setName(e.target.value.trim())}
              />
              <button type="submit" className="btn" disabled={!TOKEN.test(name) || change.isPending}>
                {t('agentDetail.addGroup')}
              </button>
            </form>
          ) : null}
          {change.isError ? (
            <p className="text-sm text-red-700 dark:text-red-400">{errorText(change.error)}</p>
          ) : null}
        </div>
      )}
    </Card>
  );
}

export function MetaCard({ pcId }: { pcId: string }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const operator = useAuth().hasRole('operator');
  const key = ['agents', 'meta', pcId];
  const path = `/api/agents/${encodeURIComponent(pcId)}/meta`;
  const meta = useQuery({ queryKey: key, queryFn: () => apiJson<{ entries: MetaEntry[] }>(path) });
  const keys = useQuery({
    queryKey: ['agents', 'meta-keys'],
    queryFn: () => apiJson<string[]>('/api/agents/meta-keys'),
    enabled: operator,
    staleTime: 60_000,
  });
  const [draft, setDraft] = useState<MetaEntry[] | null>(null);
  const save = useMutation({
    mutationFn: (entries: MetaEntry[]) =>
      apiJson<{ entries: MetaEntry[] }>(path, { method: 'PUT', body: { entries } }),
    onSuccess: (r) => {
      qc.setQueryData(key, r);
      setDraft(null);
      return qc.invalidateQueries({ queryKey: ['agents', 'meta-keys'] });
    },
  });
  const entries = meta.data?.entries ?? [];
  const setRow = (i: number, patch: Partial<MetaEntry>) =>
    setDraft((d) => (d ?? []).map((e, j) => (j === i ? { ...e, ...patch } : e)));

  return (
    <Card
      title={t('agentDetail.meta')}
      testId="agent-meta"
      actions={
        operator && draft === null && meta.data ? (
          <button
            type="button"
            className="btn px-2 py-0.5 text-xs"
            onClick={() => setDraft(entries.length ? entries : [{ key: '', value: '' }])}
          >
            {t('agentDetail.editMeta')}
          </button>
        ) : null
      }
    >
      {meta.isError ? (
        <ErrorCard error={meta.error} />
      ) : !meta.data ? (
        <Loading />
      ) : draft === null ? (
        entries.length === 0 ? (
          <Empty>{t('agentDetail.noMeta')}</Empty>
        ) : (
          <dl className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-1 text-sm" data-testid="meta-entries">
            {entries.map((e) => (
              <div key={e.key} className="contents">
                <dt className="muted font-medium">{e.key}</dt>
                <dd className="break-words whitespace-pre-wrap">{e.value || '—'}</dd>
              </div>
            ))}
          </dl>
        )
      ) : (
        <form
          className="space-y-2"
          onSubmit={(e) => {
            e.preventDefault();
            save.mutate(draft.filter((x) => x.key.trim() !== ''));
          }}
        >
          <datalist id="meta-keys">
            {(keys.data ?? []).map((k) => (
              <option key={k} value={k} />
            ))}
          </datalist>
          {draft.map((e, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: rows are positional while editing
            <div key={i} className="flex gap-2" data-testid="meta-row">
              <input
                className="input w-40"
                list="meta-keys"
                placeholder={t('agentDetail.metaKey')}
                aria-label={t('agentDetail.metaKey')}
                value={e.key}
                onChange={(ev) => setRow(i, { key: ev.target.value })}
              />
              <input
                className="input"
                placeholder={t('agentDetail.metaValue')}
                aria-label={t('agentDetail.metaValue')}
                value={e.value}
                onChange={(ev) => setRow(i, { value: ev.target.value })}
              />
              <button
                type="button"
                className="btn"
                aria-label={t('agentDetail.removeMeta')}
                onClick={() => setDraft(draft.filter((_, j) => j !== i))}
              >
                ✕
              </button>
            </div>
          ))}
          <p className="muted text-xs">{t('agentDetail.metaHelp')}</p>
          {save.isError ? <ErrorCard error={save.error} what={t('settings.notSaved')} /> : null}
          <div className="flex gap-2">
            <button
              type="button"
              className="btn"
              onClick={() => setDraft([...draft, { key: '', value: '' }])}
            >
              {t('agentDetail.addMeta')}
            </button>
            <button type="submit" className="btn btn-primary" disabled={save.isPending}>
              {t('jobs.save')}
            </button>
            <button type="button" className="btn" onClick={() => setDraft(null)}>
              {t('common.cancel')}
            </button>
          </div>
        </form>
      )}
    </Card>
  );
}

export function EffectiveConfigCard({ pcId }: { pcId: string }) {
  const { t } = useTranslation();
  const { canSee } = useAuth();
  const view = useQuery({
    queryKey: ['agents', 'effective', pcId],
    queryFn: () => apiJson<EffectiveView>(`/api/agents/${encodeURIComponent(pcId)}/effective_config`),
    enabled: canSee('config'),
  });
  if (!canSee('config') || (view.error instanceof ApiError && view.error.status === 403)) return null;
  return (
    <Card
      title={t('agentDetail.effective')}
      testId="agent-effective"
      actions={
        <Link className="link text-xs" to={`/config?scope=pc&pc=${encodeURIComponent(pcId)}`}>
          {t('agentDetail.editConfig')}
        </Link>
      }
    >
      {view.isError ? (
        <ErrorCard error={view.error} />
      ) : !view.data ? (
        <Loading />
      ) : (
        <EffectiveTable view={view.data} />
      )}
    </Card>
  );
}
