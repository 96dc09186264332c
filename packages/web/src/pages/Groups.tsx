// Groups. Membership: every group the backend knows (operator-assigned in
// agent_groups, derived from definitions, or named by a config scope) with
// its member count, config override and contacts; a group opens its
// members, and operators add PCs (picked from the roster, unknown ids
// dropped) or remove one or all. Membership is stored per PC, so bulk
// changes are one request per PC, shown with progress. Definitions
// (?tab=defs): static member lists or dynamic read-only SQL queries
// re-evaluated by the backend, edited as YAML, with a resolved-members
// preview. Members derived from a definition change only with it.
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { useConfirm } from '../components/Confirm.js';
import { DataTable } from '../components/DataTable.js';
import { Pager } from '../components/Pager.js';
import { PcPicker } from '../components/PcPicker.js';
import { Card, Chip, Empty, ErrorCard, errorText, Loading, PageHeader, Segmented } from '../components/ui.js';
import { YamlDocumentEditor } from '../components/YamlDocumentEditor.js';
import { apiFetch, apiJson } from '../lib/api.js';
import { useAuth } from '../lib/auth.js';
import { runBulk } from '../lib/bulk.js';
import { num } from '../lib/format.js';
import type { GroupDef, GroupDefMembers, GroupSummary } from '../lib/types.js';
import { useUrlState } from '../lib/url-state.js';

const MEMBERS_PAGE = 100;
const TOKEN = /^[A-Za-z0-9_=-]{1,128}$/;

const TEMPLATE = `# A group definition: exactly one of members (static) or query (dynamic).
id: lab-pcs
description: PCs in the lab
# Static:
members: []
# Dynamic: a read-only SELECT returning a pc_id column, re-run every refresh.
# query: SELECT pc_id FROM agents WHERE hostname LIKE 'lab-%'
# refresh: 5m
`;

interface Progress {
  done: number;
  total: number;
}

function useGroups() {
  return useQuery({
    queryKey: ['groups', 'list'],
    queryFn: () => apiJson<{ groups: GroupSummary[] }>('/api/groups'),
  });
}

function useGroupDefs() {
  return useQuery({ queryKey: ['groups', 'defs'], queryFn: () => apiJson<GroupDef[]>('/api/group-defs') });
}

/** Adds the picked PCs to a group (a new name creates it). */
function AddMembers({ group, onDone }: { group?: string; onDone(name: string): void }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const [name, setName] = useState(group ?? '');
  const [pcs, setPcs] = useState<string[]>([]);
  const [progress, setProgress] = useState<Progress | null>(null);
  const [error, setError] = useState<string | null>(null);
  const valid = TOKEN.test(name);

  async function submit() {
    setError(null);
    setProgress({ done: 0, total: pcs.length });
    const r = await runBulk(
      pcs,
      (pc) =>
        apiJson(`/api/agents/${encodeURIComponent(pc)}/groups`, { method: 'POST', body: { group: name } }),
      (done, total) => setProgress({ done, total }),
    );
    await qc.invalidateQueries({ queryKey: ['groups'] });
    setProgress(null);
    if (r.failed.length) {
      setError(
        t('groups.someFailed', {
          n: r.failed.length,
          first: `${r.failed[0]!.item}: ${errorText(r.failed[0]!.error)}`,
        }),
      );
      setPcs(r.failed.map((f) => f.item));
    } else {
      setPcs([]);
      onDone(name);
    }
  }

  return (
    <div className="space-y-3" data-testid="add-members">
      {group === undefined ? (
        <div>
          <label className="label" htmlFor="group-name">
            {t('groups.name')}
          </label>
          <input
            id="group-name"
            className="input max-w-xs font-mono"
            value={name}
            onChange={(e) => setName(e.target.value.trim())}
          />
          {name && !valid ? (
            <p className="mt-1 text-xs text-red-700 dark:text-red-400">{t('groups.badName')}</p>
          ) : null}
        </div>
      ) : null}
      <div>
        <label className="label" htmlFor="group-pcs">
          {t('groups.pcsToAdd')}
        </label>
        <PcPicker id="group-pcs" value={pcs} onChange={setPcs} disabled={progress !== null} />
      </div>
      {error ? <p className="text-sm text-red-700 dark:text-red-400">{error}</p> : null}
      <button
        type="button"
        className="btn btn-primary"
        disabled={!valid || pcs.length === 0 || progress !== null}
        onClick={() => void submit()}
      >
        {progress
          ? t('groups.progress', { done: num(progress.done), total: num(progress.total) })
          : t('groups.addN', { n: pcs.length, group: name || '…' })}
      </button>
    </div>
  );
}

function Members({ group, defined, onClose }: { group: GroupSummary; defined: boolean; onClose(): void }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const confirm = useConfirm();
  const operator = useAuth().hasRole('operator');
  const [filter, setFilter] = useState('');
  const [page, setPage] = useState(0);
  const [adding, setAdding] = useState(false);
  const [progress, setProgress] = useState<Progress | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const members = useMemo(
    () => group.members.filter((m) => m.toLowerCase().includes(filter.toLowerCase())),
    [group.members, filter],
  );
  const shown = members.slice(page * MEMBERS_PAGE, (page + 1) * MEMBERS_PAGE);

  async function remove(pcs: string[]) {
    setMessage(null);
    setProgress({ done: 0, total: pcs.length });
    const r = await runBulk(
      pcs,
      (pc) =>
        apiFetch(`/api/agents/${encodeURIComponent(pc)}/groups/${encodeURIComponent(group.name)}`, {
          method: 'DELETE',
        }),
      (done, total) => setProgress({ done, total }),
    );
    setProgress(null);
    if (r.failed.length)
      setMessage(
        t('groups.someFailed', {
          n: r.failed.length,
          first: `${r.failed[0]!.item}: ${errorText(r.failed[0]!.error)}`,
        }),
      );
    await qc.invalidateQueries({ queryKey: ['groups'] });
  }

  return (
    <Card
      testId="group-members"
      title={
        <span className="normal-case">
          <span className="font-mono">{group.name}</span> ·{' '}
          {t('groups.memberCount', { n: num(group.members.length) })}
        </span>
      }
      actions={
        <div className="flex flex-wrap items-center gap-2">
          {group.has_config ? (
            <Link className="link text-xs" to={`/config?scope=group&name=${encodeURIComponent(group.name)}`}>
              {t('groups.config')}
            </Link>
          ) : null}
          {operator ? (
            <>
              <button type="button" className="btn px-2 py-0.5 text-xs" onClick={() => setAdding((a) => !a)}>
                {t('groups.addPcs')}
              </button>
              <button
                type="button"
                className="btn px-2 py-0.5 text-xs text-red-700 dark:text-red-400"
                disabled={progress !== null || group.members.length === 0}
                onClick={async () => {
                  if (
                    await confirm({
                      title: t('groups.removeAllTitle', { group: group.name, n: num(group.members.length) }),
                      body: t('groups.removeAllBody'),
                      confirmLabel: t('groups.removeAll'),
                      danger: true,
                      typeToConfirm: group.name,
                    })
                  )
                    await remove(group.members);
                }}
              >
                {t('groups.removeAll')}
              </button>
            </>
          ) : null}
          <button type="button" className="btn px-2 py-0.5 text-xs" onClick={onClose}>
            {t('common.close')}
          </button>
        </div>
      }
    >
      <div className="space-y-3">
        {defined ? <p className="muted text-xs">{t('groups.definedNote')}</p> : null}
        {group.emails.length ? (
          <p className="text-xs">
            {t('groups.contacts')}: {group.emails.join(', ')}
          </p>
        ) : null}
        {adding ? <AddMembers group={group.name} onDone={() => setAdding(false)} /> : null}
        {progress ? (
          <p className="text-sm" role="status">
            {t('groups.progress', { done: num(progress.done), total: num(progress.total) })}
          </p>
        ) : null}
        {message ? <p className="text-sm text-red-700 dark:text-red-400">{message}</p> : null}
        <input
          type="search"
          className="input max-w-xs"
          placeholder={t('groups.filterMembers')}
          aria-label={t('groups.filterMembers')}
          value={filter}
          onChange={(e) => {
            setFilter(e.target.value);
            setPage(0);
          }}
        />
        {members.length === 0 ? (
          <Empty>{t('groups.noMembers')}</Empty>
        ) : (
          <>
            <DataTable
              testId="members-table"
              rows={shown}
              rowKey={(pc) => pc}
              columns={[
                {
                  id: 'pc',
                  header: t('agents.col.pc_id'),
                  cell: (pc) => (
                    <Link className="link font-mono" to={`/agents/${encodeURIComponent(pc)}`}>
                      {pc}
                    </Link>
                  ),
                },
                ...(operator
                  ? [
                      {
                        id: 'remove',
                        header: '',
                        className: 'text-right',
                        cell: (pc: string) => (
                          <button
                            type="button"
                            className="btn px-2 py-0.5 text-xs"
                            aria-label={t('groups.removeOne', { pc })}
                            disabled={progress !== null}
                            onClick={() => void remove([pc])}
                          >
                            {t('groups.remove')}
                          </button>
                        ),
                      },
                    ]
                  : []),
              ]}
            />
            <Pager
              page={page}
              limit={MEMBERS_PAGE}
              total={members.length}
              rows={shown.length}
              onPage={setPage}
            />
          </>
        )}
      </div>
    </Card>
  );
}

function Membership() {
  const { t } = useTranslation();
  const operator = useAuth().hasRole('operator');
  const [params, set] = useUrlState();
  const groups = useGroups();
  const defs = useGroupDefs();
  const [creating, setCreating] = useState(false);
  const defIds = new Set((defs.data ?? []).map((d) => d.id));
  const selected = groups.data?.groups.find((g) => g.name === params.get('group'));

  return (
    <div className="space-y-4">
      {operator ? (
        <div className="flex justify-end">
          <button type="button" className="btn btn-primary" onClick={() => setCreating((c) => !c)}>
            {t('groups.new')}
          </button>
        </div>
      ) : null}
      {creating ? (
        <Card title={t('groups.new')}>
          <AddMembers
            onDone={(name) => {
              setCreating(false);
              set({ group: name });
            }}
          />
        </Card>
      ) : null}
      {selected ? (
        <Members
          key={selected.name}
          group={selected}
          defined={defIds.has(selected.name)}
          onClose={() => set({ group: null })}
        />
      ) : null}
      <div className="card overflow-x-auto p-2 max-lg:border-0 max-lg:bg-transparent max-lg:p-0 max-lg:shadow-none">
        {groups.isError ? (
          <ErrorCard error={groups.error} />
        ) : !groups.data ? (
          <Loading />
        ) : groups.data.groups.length === 0 ? (
          <Empty>{t('groups.none')}</Empty>
        ) : (
          <DataTable
            testId="groups-table"
            rows={groups.data.groups}
            rowKey={(g) => g.name}
            columns={[
              {
                id: 'name',
                header: t('groups.name'),
                cell: (g) => (
                  <button type="button" className="link font-mono" onClick={() => set({ group: g.name })}>
                    {g.name}
                  </button>
                ),
              },
              {
                id: 'members',
                header: t('groups.members'),
                className: 'text-right tabular-nums',
                cell: (g) => num(g.members.length),
              },
              {
                id: 'flags',
                header: '',
                cell: (g) => (
                  <span className="flex flex-wrap gap-1">
                    {g.has_config ? (
                      <Link to={`/config?scope=group&name=${encodeURIComponent(g.name)}`}>
                        <Chip tone="info">{t('groups.hasConfig')}</Chip>
                      </Link>
                    ) : null}
                    {defIds.has(g.name) ? <Chip>{t('groups.defined')}</Chip> : null}
                  </span>
                ),
              },
              { id: 'emails', header: t('groups.contacts'), cell: (g) => g.emails.join(', ') || '—' },
            ]}
          />
        )}
      </div>
    </div>
  );
}

function Preview({ id }: { id: string }) {
  const { t } = useTranslation();
  const members = useQuery({
    queryKey: ['groups', 'def-members', id],
    queryFn: () => apiJson<GroupDefMembers>(`/api/group-defs/${encodeURIComponent(id)}/members`),
    staleTime: 0,
  });
  if (members.isError) return <ErrorCard error={members.error} what={t('groups.previewFailed')} />;
  if (!members.data) return <Loading />;
  const first = members.data.members.slice(0, 200);
  return (
    <div className="space-y-2" data-testid="def-preview">
      <p className="text-sm">
        {t('groups.resolved', { n: num(members.data.count) })}
        {members.data.count > first.length ? ` ${t('groups.firstShown', { n: first.length })}` : ''}
      </p>
      <div className="flex flex-wrap gap-1">
        {first.map((pc) => (
          <Link key={pc} to={`/agents/${encodeURIComponent(pc)}`}>
            <Chip>
              <span className="font-mono">{pc}</span>
            </Chip>
          </Link>
        ))}
      </div>
    </div>
  );
}

function Definitions() {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const confirm = useConfirm();
  const operator = useAuth().hasRole('operator');
  const [params, set] = useUrlState();
  const defs = useGroupDefs();
  // `?new=1` opens the editor on the template, `?edit=<id>` on a stored definition.
  const editing = params.has('new') ? '' : params.get('edit');
  const previewing = params.get('preview');
  const [message, setMessage] = useState<string | null>(null);

  return (
    <div className="space-y-4">
      {operator ? (
        <div className="flex justify-end">
          <button type="button" className="btn btn-primary" onClick={() => set({ edit: null, new: '1' })}>
            {t('groups.newDef')}
          </button>
        </div>
      ) : null}
      {editing !== null ? (
        <YamlDocumentEditor
          key={editing}
          id={editing === '' ? null : editing}
          readOnly={!operator}
          onClose={() => set({ edit: null, new: null })}
          endpoint="/api/group-defs"
          sourceKey={['groups', 'def-yaml']}
          invalidate={['groups']}
          template={TEMPLATE}
          newTitle={t('groups.newDef')}
          testId="def-editor"
        />
      ) : null}
      {previewing ? (
        <Card
          title={<span className="font-mono normal-case">{previewing}</span>}
          actions={
            <button type="button" className="btn" onClick={() => set({ preview: null })}>
              {t('common.close')}
            </button>
          }
        >
          <Preview id={previewing} />
        </Card>
      ) : null}
      {message ? <p className="text-sm text-red-700 dark:text-red-400">{message}</p> : null}
      <div className="card overflow-x-auto p-2 max-lg:border-0 max-lg:bg-transparent max-lg:p-0 max-lg:shadow-none">
        {defs.isError ? (
          <ErrorCard error={defs.error} />
        ) : !defs.data ? (
          <Loading />
        ) : defs.data.length === 0 ? (
          <Empty>{t('groups.noDefs')}</Empty>
        ) : (
          <DataTable
            testId="defs-table"
            rows={defs.data}
            rowKey={(d) => d.id}
            columns={[
              {
                id: 'id',
                header: t('groups.name'),
                cell: (d) => (
                  <div>
                    <button
                      type="button"
                      className="link font-mono"
                      onClick={() => set({ edit: d.id, new: null })}
                    >
                      {d.id}
                    </button>
                    {d.description ? <div className="muted text-xs">{d.description}</div> : null}
                  </div>
                ),
              },
              {
                id: 'kind',
                header: t('groups.kind'),
                cell: (d) =>
                  d.query ? (
                    <Chip tone="info">{t('groups.dynamic')}</Chip>
                  ) : (
                    <Chip>{t('groups.static')}</Chip>
                  ),
              },
              {
                id: 'what',
                header: t('groups.definition'),
                cell: (d) =>
                  d.query ? (
                    <span className="font-mono text-xs break-all" title={d.query}>
                      {d.query.length > 80 ? `${d.query.slice(0, 80)}…` : d.query}
                      <span className="muted"> · {t('groups.every', { refresh: d.refresh ?? '5m' })}</span>
                    </span>
                  ) : (
                    t('groups.memberCount', { n: num(d.members?.length ?? 0) })
                  ),
              },
              {
                id: 'tags',
                header: t('jobs.col.tags'),
                cell: (d) => (
                  <span className="flex flex-wrap gap-1">
                    {(d.tags ?? []).map((x) => (
                      <Chip key={x}>{x}</Chip>
                    ))}
                  </span>
                ),
              },
              {
                id: 'actions',
                header: t('common.actions'),
                className: 'text-right',
                cell: (d) => (
                  <span className="flex flex-wrap justify-end gap-1">
                    <button
                      type="button"
                      className="btn px-2 py-0.5 text-xs"
                      onClick={() => set({ preview: d.id })}
                    >
                      {t('groups.preview')}
                    </button>
                    <Link
                      className="btn px-2 py-0.5 text-xs"
                      to={`/groups?group=${encodeURIComponent(d.id)}`}
                    >
                      {t('groups.members')}
                    </Link>
                    {operator ? (
                      <button
                        type="button"
                        className="btn px-2 py-0.5 text-xs text-red-700 dark:text-red-400"
                        onClick={async () => {
                          if (
                            !(await confirm({
                              title: t('groups.deleteDefTitle', { id: d.id }),
                              body: t('groups.deleteDefBody'),
                              confirmLabel: t('common.delete'),
                              danger: true,
                            }))
                          )
                            return;
                          setMessage(null);
                          try {
                            await apiFetch(`/api/group-defs/${encodeURIComponent(d.id)}`, {
                              method: 'DELETE',
                            });
                          } catch (err) {
                            setMessage(errorText(err));
                          }
                          await qc.invalidateQueries({ queryKey: ['groups'] });
                        }}
                      >
                        {t('common.delete')}
                      </button>
                    ) : null}
                  </span>
                ),
              },
            ]}
          />
        )}
      </div>
    </div>
  );
}

export default function Groups() {
  const { t } = useTranslation();
  const [params, set] = useUrlState();
  const tab = params.get('tab') === 'defs' ? 'defs' : 'members';
  return (
    <div className="space-y-4" data-testid="groups-page">
      <PageHeader title={t('nav.groups')}>
        <Segmented
          label={t('groups.view')}
          value={tab}
          onChange={(v) =>
            set({ tab: v === 'defs' ? 'defs' : null, group: null, edit: null, new: null, preview: null })
          }
          options={[
            { value: 'members', label: t('groups.membership') },
            { value: 'defs', label: t('groups.definitions') },
          ]}
        />
      </PageHeader>
      {tab === 'defs' ? <Definitions /> : <Membership />}
    </div>
  );
}
