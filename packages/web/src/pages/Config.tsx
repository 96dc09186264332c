// Layered agent configuration. Agents resolve built-in defaults -> the
// global scope -> each of their groups' scopes (alphabetically, the last
// wins) -> their own PC scope. The editor works on one scope (?scope=
// global | group&name= | pc&pc=): each field is either set here or
// inherited, and the inherited value (from the backend's `inherited` view
// of that scope) is shown beside it. Save replaces the scope; a group or PC
// scope can be dropped. The effective view (?eff=<pc>) shows what one
// agent runs with, its groups, and a warning for every field two of its
// groups set differently. Viewers read; operators edit.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useConfirm } from '../components/Confirm.js';
import { Conflicts, EffectiveTable } from '../components/EffectiveConfig.js';
import { Card, Chip, Empty, ErrorCard, Loading, PageHeader, Segmented } from '../components/ui.js';
import { apiJson } from '../lib/api.js';
import { useAuth } from '../lib/auth.js';
import { type ConfigForm, configValueText, FIELD_KIND, fromForm, toForm } from '../lib/config-form.js';
import type { ConfigScope, EffectiveConfig, EffectiveView, GroupSummary } from '../lib/types.js';
import { useUrlState } from '../lib/url-state.js';
import { CONFIG_FIELDS, type ConfigField } from '../lib/wire-constants.js';

type ScopeKind = 'global' | 'group' | 'pc';

function scopePaths(kind: ScopeKind, name: string) {
  const n = encodeURIComponent(name);
  if (kind === 'global') return { scope: '/api/config', inherited: '/api/config/defaults' };
  if (kind === 'group')
    return { scope: `/api/groups/${n}/config`, inherited: `/api/groups/${n}/config/inherited` };
  return { scope: `/api/pcs/${n}/config`, inherited: `/api/pcs/${n}/config/inherited` };
}

/** A datetime-local value from an RFC 3339 time, in the browser's zone. */
function localInput(iso: string): string {
  const d = new Date(iso);
  if (!iso || Number.isNaN(d.getTime())) return '';
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

function FieldInput({
  field,
  value,
  disabled,
  onChange,
}: {
  field: ConfigField;
  value: string;
  disabled: boolean;
  onChange(v: string): void;
}) {
  const { t } = useTranslation();
  const kind = FIELD_KIND[field];
  const common = { id: `cfg-${field}`, disabled, className: 'input' };
  if (kind === 'bool')
    return (
      <select
        {...common}
        value={value === 'true' ? 'true' : 'false'}
        onChange={(e) => onChange(e.target.value)}
      >
        <option value="true">{t('common.yes')}</option>
        <option value="false">{t('common.no')}</option>
      </select>
    );
  if (kind === 'time')
    return (
      <input
        {...common}
        type="datetime-local"
        value={localInput(value)}
        onChange={(e) => onChange(e.target.value ? new Date(e.target.value).toISOString() : '')}
      />
    );
  return (
    <input
      {...common}
      className={`input ${kind === 'text' ? '' : 'font-mono'}`}
      type={kind === 'int' ? 'number' : 'text'}
      min={kind === 'int' ? 0 : undefined}
      placeholder={kind === 'duration' ? '30s, 5m, 1h30m' : undefined}
      value={value}
      onChange={(e) => onChange(e.target.value)}
    />
  );
}

function ScopeEditor({ kind, name }: { kind: ScopeKind; name: string }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const confirm = useConfirm();
  const editable = useAuth().hasRole('operator');
  const paths = scopePaths(kind, name);
  const scope = useQuery({
    queryKey: ['config', 'scope', kind, name],
    queryFn: () => apiJson<ConfigScope>(paths.scope),
  });
  const inherited = useQuery({
    queryKey: ['config', 'inherited', kind, name],
    queryFn: async (): Promise<{ effective: EffectiveConfig; view?: EffectiveView }> => {
      if (kind === 'global') return { effective: await apiJson<EffectiveConfig>(paths.inherited) };
      if (kind === 'group')
        return { effective: (await apiJson<{ effective: EffectiveConfig }>(paths.inherited)).effective };
      const view = await apiJson<EffectiveView>(paths.inherited);
      return { effective: view.effective, view };
    },
  });
  const [form, setForm] = useState<ConfigForm | null>(null);
  const [saved, setSaved] = useState(false);
  const invalidate = () => qc.invalidateQueries({ queryKey: ['config'] });
  const save = useMutation({
    mutationFn: (body: ConfigScope) => apiJson<ConfigScope>(paths.scope, { method: 'PUT', body }),
    onSuccess: async (s) => {
      qc.setQueryData(['config', 'scope', kind, name], s);
      setForm(null);
      setSaved(true);
      await invalidate();
    },
  });
  const drop = useMutation({
    mutationFn: () => apiJson<void>(paths.scope, { method: 'DELETE' }),
    onSuccess: async () => {
      setForm(null);
      await invalidate();
      await qc.invalidateQueries({ queryKey: ['groups'] });
    },
  });

  if (scope.isError) return <ErrorCard error={scope.error} />;
  if (!scope.data) return <Loading />;
  const f = form ?? toForm(scope.data);
  const { scope: body, errors } = fromForm(f);
  const setField = (field: ConfigField, patch: Partial<ConfigForm[ConfigField]>) => {
    setSaved(false);
    setForm({ ...f, [field]: { ...f[field], ...patch } });
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate(body);
  };
  const title =
    kind === 'global'
      ? t('config.globalScope')
      : kind === 'group'
        ? t('config.groupScope', { name })
        : t('config.pcScope', { name });
  const stored = Object.keys(scope.data).length > 0;

  return (
    <Card title={<span className="normal-case">{title}</span>} testId="scope-editor">
      <form onSubmit={submit} className="space-y-3">
        <p className="muted text-xs">{t(`config.inheritsFrom.${kind}`)}</p>
        {inherited.data?.view?.my_groups.length ? (
          <p className="text-xs">
            {t('config.groupsOfPc')}: {inherited.data.view.my_groups.join(', ')}
          </p>
        ) : null}
        <div className="overflow-x-auto">
          <table className="w-full text-sm">
            <thead>
              <tr className="border-b border-zinc-200 text-left text-xs text-zinc-500 uppercase dark:border-zinc-800">
                <th className="px-2 py-1.5">{t('config.setHere')}</th>
                <th className="px-2 py-1.5">{t('config.field')}</th>
                <th className="px-2 py-1.5">{t('config.value')}</th>
                <th className="px-2 py-1.5">{t('config.inherited')}</th>
              </tr>
            </thead>
            <tbody>
              {CONFIG_FIELDS.map((field) => {
                const row = f[field];
                const err = errors[field];
                return (
                  <tr
                    key={field}
                    className="border-b border-zinc-100 align-top dark:border-zinc-800/70"
                    data-testid={`field-${field}`}
                  >
                    <td className="px-2 py-1.5">
                      <input
                        type="checkbox"
                        aria-label={t('config.setField', { field })}
                        checked={row.set}
                        disabled={!editable}
                        onChange={(e) =>
                          setField(field, {
                            set: e.target.checked,
                            value:
                              row.value ||
                              (e.target.checked ? configValueText(inherited.data?.effective[field], '') : ''),
                          })
                        }
                      />
                    </td>
                    <td className="px-2 py-1.5">
                      <label htmlFor={`cfg-${field}`} className="font-mono text-xs">
                        {field}
                      </label>
                      <div className="muted text-xs">{t(`config.fields.${field}`)}</div>
                    </td>
                    <td className="px-2 py-1.5">
                      {row.set ? (
                        <FieldInput
                          field={field}
                          value={row.value}
                          disabled={!editable}
                          onChange={(v) => setField(field, { value: v })}
                        />
                      ) : (
                        <span className="muted text-xs">{t('config.inherits')}</span>
                      )}
                      {err ? (
                        <div className="mt-1 text-xs text-red-700 dark:text-red-400">
                          {t(`config.errors.${err}`)}
                        </div>
                      ) : null}
                    </td>
                    <td className="muted px-2 py-1.5 font-mono text-xs">
                      {inherited.data
                        ? configValueText(inherited.data.effective[field], t('config.none'))
                        : '…'}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
        {inherited.data?.view?.warnings.length ? <Conflicts view={inherited.data.view} /> : null}
        {save.isError ? <ErrorCard error={save.error} what={t('settings.notSaved')} /> : null}
        {drop.isError ? <ErrorCard error={drop.error} /> : null}
        {saved ? (
          <p className="text-sm text-emerald-700 dark:text-emerald-400">{t('settings.saved')}</p>
        ) : null}
        <details>
          <summary className="muted cursor-pointer text-xs">{t('config.json')}</summary>
          <pre className="mt-1 rounded bg-zinc-100 p-2 text-xs dark:bg-zinc-950" data-testid="scope-json">
            {JSON.stringify(body, null, 2)}
          </pre>
        </details>
        {editable ? (
          <div className="flex gap-2">
            <button
              type="submit"
              className="btn btn-primary"
              disabled={save.isPending || form === null || Object.keys(errors).length > 0}
            >
              {t('jobs.save')}
            </button>
            {kind !== 'global' && stored ? (
              <button
                type="button"
                className="btn text-red-700 dark:text-red-400"
                disabled={drop.isPending}
                onClick={async () => {
                  if (
                    await confirm({
                      title: t('config.dropTitle', { name }),
                      body: t('config.dropBody'),
                      confirmLabel: t('config.drop'),
                      danger: true,
                    })
                  )
                    drop.mutate();
                }}
              >
                {t('config.drop')}
              </button>
            ) : null}
          </div>
        ) : null}
      </form>
    </Card>
  );
}

function Effective({ pc, onPc }: { pc: string; onPc(pc: string): void }) {
  const { t } = useTranslation();
  const [text, setText] = useState(pc);
  useEffect(() => setText(pc), [pc]);
  const view = useQuery({
    queryKey: ['config', 'effective', pc],
    queryFn: () => apiJson<EffectiveView>(`/api/agents/${encodeURIComponent(pc)}/effective_config`),
    enabled: pc !== '',
  });
  return (
    <Card title={t('config.effective')} testId="effective-card">
      <form
        className="mb-3 flex gap-2"
        onSubmit={(e) => {
          e.preventDefault();
          onPc(text.trim());
        }}
      >
        <input
          className="input max-w-xs font-mono"
          placeholder="pc_id"
          aria-label={t('config.effectivePc')}
          value={text}
          onChange={(e) => setText(e.target.value)}
        />
        <button type="submit" className="btn">
          {t('config.resolve')}
        </button>
      </form>
      <p className="muted mb-3 text-xs">{t('config.order')}</p>
      {pc === '' ? null : view.isError ? (
        <ErrorCard error={view.error} />
      ) : !view.data ? (
        <Loading />
      ) : (
        <EffectiveTable view={view.data} />
      )}
    </Card>
  );
}

function GroupChooser({ value, onChange }: { value: string; onChange(v: string): void }) {
  const { t } = useTranslation();
  const groups = useQuery({
    queryKey: ['groups', 'list'],
    queryFn: () => apiJson<{ groups: GroupSummary[] }>('/api/groups'),
    staleTime: 60_000,
  });
  const [text, setText] = useState(value);
  useEffect(() => setText(value), [value]);
  const configured = (groups.data?.groups ?? []).filter((g) => g.has_config);
  return (
    <div className="flex flex-wrap items-center gap-2">
      <form
        className="flex gap-2"
        onSubmit={(e) => {
          e.preventDefault();
          onChange(text.trim());
        }}
      >
        <input
          className="input w-56 font-mono"
          list="config-groups"
          placeholder={t('config.groupName')}
          aria-label={t('config.groupName')}
          value={text}
          onChange={(e) => setText(e.target.value)}
        />
        <datalist id="config-groups">
          {(groups.data?.groups ?? []).map((g) => (
            <option key={g.name} value={g.name} />
          ))}
        </datalist>
        <button type="submit" className="btn">
          {t('config.open')}
        </button>
      </form>
      {configured.map((g) => (
        <button key={g.name} type="button" onClick={() => onChange(g.name)} aria-pressed={g.name === value}>
          <Chip tone={g.name === value ? 'info' : 'neutral'}>{g.name}</Chip>
        </button>
      ))}
    </div>
  );
}

export default function Config() {
  const { t } = useTranslation();
  const [params, set] = useUrlState();
  const kind: ScopeKind =
    params.get('scope') === 'group' ? 'group' : params.get('scope') === 'pc' ? 'pc' : 'global';
  const name = kind === 'group' ? (params.get('name') ?? '') : kind === 'pc' ? (params.get('pc') ?? '') : '';
  const [pcText, setPcText] = useState(kind === 'pc' ? name : '');
  const eff = params.get('eff') ?? (kind === 'pc' ? name : '');

  return (
    <div className="space-y-4" data-testid="config-page">
      <PageHeader title={t('nav.config')} />
      <div className="flex flex-wrap items-center gap-3">
        <Segmented<ScopeKind>
          label={t('config.scope')}
          value={kind}
          onChange={(v) => set({ scope: v === 'global' ? null : v, name: null, pc: null })}
          options={[
            { value: 'global', label: t('config.global') },
            { value: 'group', label: t('config.group') },
            { value: 'pc', label: t('config.pc') },
          ]}
        />
        {kind === 'group' ? <GroupChooser value={name} onChange={(n) => set({ name: n })} /> : null}
        {kind === 'pc' ? (
          <form
            className="flex gap-2"
            onSubmit={(e) => {
              e.preventDefault();
              set({ pc: pcText.trim() });
            }}
          >
            <input
              className="input w-56 font-mono"
              placeholder="pc_id"
              aria-label={t('config.pcId')}
              value={pcText}
              onChange={(e) => setPcText(e.target.value)}
            />
            <button type="submit" className="btn">
              {t('config.open')}
            </button>
          </form>
        ) : null}
      </div>
      <div className="grid gap-4 xl:grid-cols-[3fr_2fr]">
        {kind !== 'global' && name === '' ? (
          <Empty>{t(kind === 'group' ? 'config.pickGroup' : 'config.pickPc')}</Empty>
        ) : (
          <ScopeEditor key={`${kind}/${name}`} kind={kind} name={name} />
        )}
        <Effective pc={eff} onPc={(pc) => set({ eff: pc })} />
      </div>
    </div>
  );
}
