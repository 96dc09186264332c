// Settings. Personal (this browser): language and theme, applied at once and
// kept in localStorage. Server (shared, the `server_settings` KV, for
// accounts that may open Settings): agent pruning, bundle retention, session
// lifetime, check staleness, controller group, SMTP, and what agent installers
// carry (broker URL and token). Empty fields are unset and fall back to the
// defaults shown as placeholders; saving replaces the document and the
// backend names a bad field (422). The installers' broker token is write-only:
// the server says only whether one is set, an empty field keeps it, and
// "remove" clears it.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Card, ErrorCard, Loading, PageHeader, Segmented } from '../components/ui.js';
import { apiJson } from '../lib/api.js';
import { useAuth } from '../lib/auth.js';
import { LANGUAGES, type Language, setLanguage } from '../lib/i18n.js';
import { type ThemeChoice, useTheme } from '../lib/theme.js';

const LANGUAGE_NAMES: Record<Language, string> = { en: 'English', ja: '日本語' };
const NUMBER_FIELDS = [
  'agent_prune_days',
  'collect_retention_days',
  'session_ttl_hours',
  'check_status_stale_days',
] as const;

interface Mail {
  host: string;
  port: number;
  encryption: 'starttls' | 'tls' | 'none';
  from: string;
  username?: string | null;
}

interface Editable {
  agent_prune_days?: number | null;
  controller_group?: string | null;
  mail?: Mail | null;
  collect_retention_days?: number | null;
  session_ttl_hours?: number | null;
  check_status_stale_days?: number | null;
}

interface ServerSettings extends Editable {
  agent_install?: { nats_url?: string | null; nats_token_set: boolean } | null;
}

/** PUT body: `nats_token` left out keeps the stored token, a string replaces it, null clears it. */
interface ServerSettingsInput extends Editable {
  agent_install?: { nats_url?: string | null; nats_token?: string | null } | null;
}

type Form = Record<(typeof NUMBER_FIELDS)[number] | 'controller_group', string> & {
  mailOn: boolean;
  mail: { host: string; port: string; encryption: Mail['encryption']; from: string; username: string };
  natsUrl: string;
  /** A new broker token; empty keeps the stored one. */
  natsToken: string;
  clearNatsToken: boolean;
};

function toForm(s: ServerSettings): Form {
  const str = (v: number | string | null | undefined) => (v === null || v === undefined ? '' : String(v));
  return {
    agent_prune_days: str(s.agent_prune_days),
    collect_retention_days: str(s.collect_retention_days),
    session_ttl_hours: str(s.session_ttl_hours),
    check_status_stale_days: str(s.check_status_stale_days),
    controller_group: str(s.controller_group),
    mailOn: Boolean(s.mail),
    mail: {
      host: s.mail?.host ?? '',
      port: str(s.mail?.port ?? 587),
      encryption: s.mail?.encryption ?? 'starttls',
      from: s.mail?.from ?? '',
      username: s.mail?.username ?? '',
    },
    natsUrl: s.agent_install?.nats_url ?? '',
    natsToken: '',
    clearNatsToken: false,
  };
}

function fromForm(f: Form): ServerSettingsInput {
  const n = (v: string) => (v.trim() === '' ? null : Number(v));
  return {
    agent_prune_days: n(f.agent_prune_days),
    collect_retention_days: n(f.collect_retention_days),
    session_ttl_hours: n(f.session_ttl_hours),
    check_status_stale_days: n(f.check_status_stale_days),
    controller_group: f.controller_group.trim() || null,
    mail: f.mailOn
      ? {
          host: f.mail.host.trim(),
          port: Number(f.mail.port),
          encryption: f.mail.encryption,
          from: f.mail.from.trim(),
          username: f.mail.username.trim() || null,
        }
      : null,
    agent_install: {
      nats_url: f.natsUrl.trim() || null,
      ...(f.clearNatsToken ? { nats_token: null } : f.natsToken ? { nats_token: f.natsToken } : {}),
    },
  };
}

function ServerSettingsCard() {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const { hasRole } = useAuth();
  const editable = hasRole('operator');
  const current = useQuery({
    queryKey: ['server-settings'],
    queryFn: () => apiJson<ServerSettings>('/api/server-settings'),
  });
  const defaults = useQuery({
    queryKey: ['server-settings', 'defaults'],
    queryFn: () => apiJson<ServerSettings>('/api/server-settings/defaults'),
    staleTime: Number.POSITIVE_INFINITY,
  });
  const [form, setForm] = useState<Form | null>(null);
  const [saved, setSaved] = useState(false);
  const save = useMutation({
    mutationFn: (body: ServerSettingsInput) =>
      apiJson<ServerSettings>('/api/server-settings', { method: 'PUT', body }),
    onSuccess: async (s) => {
      qc.setQueryData(['server-settings'], s);
      // The Add agents page shows the broker URL and token state these settings decide.
      void qc.invalidateQueries({ queryKey: ['agent-installer'] });
      setForm(null);
      setSaved(true);
    },
  });

  if (current.isError) return <ErrorCard error={current.error} what={t('settings.server')} />;
  if (!current.data) return <Loading />;
  const f = form ?? toForm(current.data);
  const set = (patch: Partial<Form>) => {
    setSaved(false);
    setForm({ ...f, ...patch });
  };
  const setMail = (patch: Partial<Form['mail']>) => set({ mail: { ...f.mail, ...patch } });
  const tokenSet = current.data.agent_install?.nats_token_set ?? false;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate(fromForm(f));
  };

  return (
    <Card title={t('settings.server')} testId="server-settings">
      <form className="grid max-w-2xl gap-4" onSubmit={submit}>
        <fieldset disabled={!editable} className="grid gap-4 sm:grid-cols-2">
          {NUMBER_FIELDS.map((k) => (
            <div key={k}>
              <label className="label" htmlFor={`ss-${k}`}>
                {t(`settings.fields.${k}`)}
              </label>
              <input
                id={`ss-${k}`}
                className="input"
                type="number"
                min={1}
                value={f[k]}
                placeholder={defaults.data?.[k] != null ? String(defaults.data[k]) : ''}
                onChange={(e) => set({ [k]: e.target.value })}
              />
            </div>
          ))}
          <div className="sm:col-span-2">
            <label className="label" htmlFor="ss-controller">
              {t('settings.fields.controller_group')}
            </label>
            <input
              id="ss-controller"
              className="input font-mono"
              value={f.controller_group}
              onChange={(e) => set({ controller_group: e.target.value })}
            />
            <p className="muted mt-1 text-xs">{t('settings.controllerHelp')}</p>
          </div>
          <label className="flex items-center gap-2 text-sm sm:col-span-2">
            <input type="checkbox" checked={f.mailOn} onChange={(e) => set({ mailOn: e.target.checked })} />
            {t('settings.mailOn')}
          </label>
          {f.mailOn ? (
            <>
              <div>
                <label className="label" htmlFor="ss-host">
                  {t('settings.mail.host')}
                </label>
                <input
                  id="ss-host"
                  className="input"
                  value={f.mail.host}
                  onChange={(e) => setMail({ host: e.target.value })}
                  required
                />
              </div>
              <div>
                <label className="label" htmlFor="ss-port">
                  {t('settings.mail.port')}
                </label>
                <input
                  id="ss-port"
                  className="input"
                  type="number"
                  min={1}
                  max={65_535}
                  value={f.mail.port}
                  onChange={(e) => setMail({ port: e.target.value })}
                  required
                />
              </div>
              <div>
                <label className="label" htmlFor="ss-enc">
                  {t('settings.mail.encryption')}
                </label>
                <select
                  id="ss-enc"
                  className="input"
                  value={f.mail.encryption}
                  onChange={(e) => setMail({ encryption: e.target.value as Mail['encryption'] })}
                >
                  <option value="starttls">STARTTLS</option>
                  <option value="tls">TLS</option>
                  <option value="none">{t('settings.mail.none')}</option>
                </select>
              </div>
              <div>
                <label className="label" htmlFor="ss-from">
                  {t('settings.mail.from')}
                </label>
                <input
                  id="ss-from"
                  className="input"
                  value={f.mail.from}
                  onChange={(e) => setMail({ from: e.target.value })}
                  required
                />
              </div>
              <div>
                <label className="label" htmlFor="ss-user">
                  {t('settings.mail.username')}
                </label>
                <input
                  id="ss-user"
                  className="input"
                  value={f.mail.username}
                  onChange={(e) => setMail({ username: e.target.value })}
                />
              </div>
              <p className="muted self-end text-xs">{t('settings.mail.passwordHelp')}</p>
            </>
          ) : null}
          <fieldset
            aria-labelledby="ss-agent-install"
            className="grid gap-4 border-t border-zinc-200 pt-4 sm:col-span-2 sm:grid-cols-2 dark:border-zinc-800"
          >
            <h3 id="ss-agent-install" className="text-sm font-semibold sm:col-span-2">
              {t('settings.agentInstall')}
            </h3>
            <div className="sm:col-span-2">
              <label className="label" htmlFor="ss-nats-url">
                {t('settings.fields.nats_url')}
              </label>
              <input
                id="ss-nats-url"
                className="input font-mono"
                value={f.natsUrl}
                placeholder="nats://broker.example.net:4222"
                onChange={(e) => set({ natsUrl: e.target.value })}
              />
              <p className="muted mt-1 text-xs">{t('settings.natsUrlHelp')}</p>
            </div>
            <div>
              <label className="label" htmlFor="ss-nats-token">
                {t('settings.fields.nats_token')}
              </label>
              <input
                id="ss-nats-token"
                className="input font-mono"
                type="password"
                autoComplete="new-password"
                value={f.natsToken}
                disabled={f.clearNatsToken}
                placeholder={tokenSet ? t('settings.natsTokenSet') : t('settings.natsTokenUnset')}
                onChange={(e) => set({ natsToken: e.target.value })}
              />
              <p className="muted mt-1 text-xs">{t('settings.natsTokenHelp')}</p>
            </div>
            {tokenSet ? (
              <label className="flex items-center gap-2 self-start text-sm sm:mt-6">
                <input
                  id="ss-nats-token-clear"
                  type="checkbox"
                  checked={f.clearNatsToken}
                  onChange={(e) => set({ clearNatsToken: e.target.checked, natsToken: '' })}
                />
                {t('settings.natsTokenClear')}
              </label>
            ) : null}
          </fieldset>
        </fieldset>
        {save.isError ? <ErrorCard error={save.error} what={t('settings.notSaved')} /> : null}
        {saved ? (
          <p className="text-sm text-emerald-700 dark:text-emerald-400">{t('settings.saved')}</p>
        ) : null}
        {editable ? (
          <div>
            <button type="submit" className="btn btn-primary" disabled={save.isPending || form === null}>
              {t('jobs.save')}
            </button>
          </div>
        ) : null}
      </form>
    </Card>
  );
}

export default function Settings() {
  const { t, i18n } = useTranslation();
  const { choice, setChoice } = useTheme();
  const { canSee } = useAuth();
  return (
    <div className="space-y-4" data-testid="settings-page">
      <PageHeader title={t('nav.settings')} />
      <Card title={t('settings.personal')}>
        <div className="space-y-4">
          <div>
            <div className="label">{t('settings.language')}</div>
            <Segmented<Language>
              label={t('settings.language')}
              value={
                (LANGUAGES as readonly string[]).includes(i18n.language) ? (i18n.language as Language) : 'en'
              }
              onChange={setLanguage}
              options={LANGUAGES.map((l) => ({ value: l, label: LANGUAGE_NAMES[l] }))}
            />
          </div>
          <div>
            <div className="label">{t('settings.theme')}</div>
            <Segmented<ThemeChoice>
              label={t('settings.theme')}
              value={choice}
              onChange={setChoice}
              options={(['system', 'light', 'dark'] as const).map((c) => ({
                value: c,
                label: t(`settings.themes.${c}`),
              }))}
            />
          </div>
          <p className="muted text-xs">{t('settings.personalHelp')}</p>
        </div>
      </Card>
      {canSee('settings') ? <ServerSettingsCard /> : null}
    </div>
  );
}
