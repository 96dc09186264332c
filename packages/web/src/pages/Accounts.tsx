// Account administration (admin only): create accounts with a role and an
// initial password (changed at first sign-in), change a role, disable or
// enable, set a new password (forces a change), turn off MFA for a lost
// authenticator, delete, and limit which pages an account may open. The
// backend refuses to demote, disable or delete the last enabled admin (409),
// and that message is shown as is.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useConfirm } from '../components/Confirm.js';
import { DataTable } from '../components/DataTable.js';
import { Card, Chip, ErrorCard, errorText, Loading, PageHeader } from '../components/ui.js';
import { apiFetch, apiJson } from '../lib/api.js';
import { dateTime } from '../lib/format.js';
import type { Role } from '../lib/types.js';
import { FEATURES } from '../lib/wire-constants.js';

interface AccountRow {
  username: string;
  role: Role;
  disabled: boolean;
  must_change_pw: boolean;
  email: string | null;
  allowed_features: string[] | null;
  permission_group: string | null;
  mfa_enabled: boolean;
  created_at: string;
  updated_at: string;
}

const ROLES: Role[] = ['viewer', 'operator', 'admin'];

function CreateForm({ onDone }: { onDone(): void }) {
  const { t } = useTranslation();
  const [username, setUsername] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [password, setPassword] = useState('');
  const create = useMutation({
    mutationFn: () => apiJson('/api/accounts', { method: 'POST', body: { username, role, password } }),
    onSuccess: () => {
      setUsername('');
      setPassword('');
      onDone();
    },
  });
  return (
    <Card title={t('accounts.create')}>
      <form
        className="flex flex-wrap items-end gap-2"
        onSubmit={(e: FormEvent) => {
          e.preventDefault();
          create.mutate();
        }}
      >
        <div>
          <label className="label" htmlFor="acc-user">
            {t('login.username')}
          </label>
          <input
            id="acc-user"
            className="input"
            value={username}
            onChange={(e) => setUsername(e.target.value)}
            required
          />
        </div>
        <div>
          <label className="label" htmlFor="acc-role">
            {t('accounts.role')}
          </label>
          <select
            id="acc-role"
            className="input"
            value={role}
            onChange={(e) => setRole(e.target.value as Role)}
          >
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {t(`roles.${r}`)}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label className="label" htmlFor="acc-pw">
            {t('accounts.initialPassword')}
          </label>
          <input
            id="acc-pw"
            className="input"
            type="password"
            autoComplete="new-password"
            minLength={8}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            required
          />
        </div>
        <button type="submit" className="btn btn-primary" disabled={create.isPending}>
          {t('accounts.createSubmit')}
        </button>
      </form>
      {create.isError ? (
        <div className="mt-2">
          <ErrorCard error={create.error} />
        </div>
      ) : null}
    </Card>
  );
}

function PagesEditor({ account, onSave }: { account: AccountRow; onSave(v: string[] | null): void }) {
  const { t } = useTranslation();
  const [value, setValue] = useState<string[] | null>(account.allowed_features);
  return (
    <details>
      <summary className="cursor-pointer text-xs">
        {account.permission_group
          ? t('accounts.group', { name: account.permission_group })
          : account.allowed_features === null
            ? t('accounts.allPages')
            : t('accounts.somePages', { n: account.allowed_features.length })}
      </summary>
      <div className="mt-2 w-72 space-y-1 rounded border border-zinc-200 p-2 text-xs dark:border-zinc-700">
        <label className="flex items-center gap-2">
          <input
            type="checkbox"
            checked={value === null}
            onChange={(e) => setValue(e.target.checked ? null : [])}
          />
          {t('accounts.unrestricted')}
        </label>
        {value !== null ? (
          <div className="grid grid-cols-2 gap-x-2">
            {FEATURES.map((f) => (
              <label key={f} className="flex items-center gap-1">
                <input
                  type="checkbox"
                  checked={value.includes(f)}
                  onChange={(e) => setValue(e.target.checked ? [...value, f] : value.filter((x) => x !== f))}
                />
                {f}
              </label>
            ))}
          </div>
        ) : null}
        <button type="button" className="btn mt-1 px-2 py-0.5 text-xs" onClick={() => onSave(value)}>
          {t('jobs.save')}
        </button>
      </div>
    </details>
  );
}

/** A new password for someone else; they must change it at their next sign-in. */
function SetPassword({ name, onSave }: { name: string; onSave(pw: string): Promise<void> }) {
  const { t } = useTranslation();
  const [pw, setPw] = useState('');
  return (
    <details className="relative">
      <summary className="btn cursor-pointer list-none px-2 py-0.5 text-xs">
        {t('accounts.setPassword')}
      </summary>
      <form
        className="absolute right-0 z-10 mt-1 flex w-64 gap-1 rounded border border-zinc-200 bg-white p-2 shadow dark:border-zinc-700 dark:bg-zinc-900"
        onSubmit={async (e: FormEvent) => {
          e.preventDefault();
          await onSave(pw);
          setPw('');
        }}
      >
        <input
          className="input py-0.5"
          type="password"
          autoComplete="new-password"
          aria-label={t('accounts.newPasswordFor', { name })}
          minLength={8}
          value={pw}
          onChange={(e) => setPw(e.target.value)}
          required
        />
        <button type="submit" className="btn px-2 py-0.5 text-xs">
          {t('jobs.save')}
        </button>
      </form>
    </details>
  );
}

export default function Accounts() {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const confirm = useConfirm();
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const list = useQuery({ queryKey: ['accounts'], queryFn: () => apiJson<AccountRow[]>('/api/accounts') });

  const act = async (done: string, run: () => Promise<unknown>) => {
    setMessage(null);
    try {
      await run();
      setMessage({ ok: true, text: done });
    } catch (err) {
      setMessage({ ok: false, text: errorText(err) });
    }
    await qc.invalidateQueries({ queryKey: ['accounts'] });
  };
  const patch = (name: string, body: unknown) =>
    apiFetch(`/api/accounts/${encodeURIComponent(name)}`, { method: 'PATCH', body });

  return (
    <div className="space-y-4" data-testid="accounts-page">
      <PageHeader title={t('nav.accounts')} />
      <CreateForm onDone={() => void qc.invalidateQueries({ queryKey: ['accounts'] })} />
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
        ) : (
          <DataTable
            testId="accounts-table"
            rows={list.data}
            rowKey={(a) => a.username}
            columns={[
              {
                id: 'user',
                header: t('login.username'),
                cell: (a) => <span className="font-mono">{a.username}</span>,
              },
              {
                id: 'role',
                header: t('accounts.role'),
                cell: (a) => (
                  <select
                    className="input w-auto py-0.5"
                    aria-label={t('accounts.roleOf', { name: a.username })}
                    value={a.role}
                    onChange={(e) =>
                      act(t('accounts.updated', { name: a.username }), () =>
                        patch(a.username, { role: e.target.value }),
                      )
                    }
                  >
                    {ROLES.map((r) => (
                      <option key={r} value={r}>
                        {t(`roles.${r}`)}
                      </option>
                    ))}
                  </select>
                ),
              },
              {
                id: 'state',
                header: t('accounts.state'),
                cell: (a) => (
                  <span className="flex flex-wrap gap-1">
                    {a.disabled ? (
                      <Chip tone="bad">{t('accounts.disabled')}</Chip>
                    ) : (
                      <Chip tone="ok">{t('accounts.enabled')}</Chip>
                    )}
                    {a.must_change_pw ? <Chip tone="warn">{t('accounts.mustChange')}</Chip> : null}
                    {a.mfa_enabled ? <Chip tone="info">MFA</Chip> : null}
                  </span>
                ),
              },
              {
                id: 'pages',
                header: t('accounts.pages'),
                cell: (a) => (
                  <PagesEditor
                    account={a}
                    onSave={(v) =>
                      act(t('accounts.updated', { name: a.username }), () =>
                        patch(a.username, { allowed_features: v }),
                      )
                    }
                  />
                ),
              },
              { id: 'updated', header: t('agents.col.updated'), cell: (a) => dateTime(a.updated_at) },
              {
                id: 'actions',
                header: t('common.actions'),
                cell: (a) => (
                  <span className="flex flex-wrap justify-end gap-1">
                    <button
                      type="button"
                      className="btn px-2 py-0.5 text-xs"
                      onClick={() =>
                        act(t('accounts.updated', { name: a.username }), () =>
                          patch(a.username, { disabled: !a.disabled }),
                        )
                      }
                    >
                      {a.disabled ? t('accounts.enable') : t('accounts.disable')}
                    </button>
                    <SetPassword
                      name={a.username}
                      onSave={(pw) =>
                        act(t('accounts.passwordSet', { name: a.username }), () =>
                          patch(a.username, { password: pw }),
                        )
                      }
                    />
                    {a.mfa_enabled ? (
                      <button
                        type="button"
                        className="btn px-2 py-0.5 text-xs"
                        onClick={async () => {
                          if (
                            await confirm({
                              title: t('accounts.resetMfaTitle', { name: a.username }),
                              confirmLabel: t('accounts.resetMfa'),
                              danger: true,
                            })
                          )
                            await act(t('accounts.updated', { name: a.username }), () =>
                              patch(a.username, { reset_mfa: true }),
                            );
                        }}
                      >
                        {t('accounts.resetMfa')}
                      </button>
                    ) : null}
                    <button
                      type="button"
                      className="btn px-2 py-0.5 text-xs text-red-700 dark:text-red-400"
                      onClick={async () => {
                        if (
                          await confirm({
                            title: t('accounts.deleteTitle', { name: a.username }),
                            confirmLabel: t('common.delete'),
                            danger: true,
                          })
                        )
                          await act(t('accounts.deleted', { name: a.username }), () =>
                            apiFetch(`/api/accounts/${encodeURIComponent(a.username)}`, { method: 'DELETE' }),
                          );
                      }}
                    >
                      {t('common.delete')}
                    </button>
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
