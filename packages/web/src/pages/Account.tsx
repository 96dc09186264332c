// Self-service for a signed-in account: change the password, and turn
// two-factor sign-in (TOTP) on or off. Enrolment shows a QR code and the
// setup key for the authenticator app; the backend keeps the secret only once
// a current code proves the app has it. Turning MFA off needs the password.
// Both MFA changes end every session of the account; the fresh token they
// answer replaces ours.
// The QR encoder (qrcode) loads with this page only.
import { useMutation } from '@tanstack/react-query';
import { type FormEvent, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { PasswordForm } from '../components/PasswordForm.js';
import { Card, Chip, ErrorCard, PageHeader } from '../components/ui.js';
import { apiJson } from '../lib/api.js';
import { useAuth } from '../lib/auth.js';
import type { FreshSession } from '../lib/types.js';

function QrCode({ text }: { text: string }) {
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    void import('qrcode').then((q) =>
      q.toDataURL(text, { margin: 1, width: 200 }).then((u) => {
        if (live) setUrl(u);
      }),
    );
    return () => {
      live = false;
    };
  }, [text]);
  return url ? (
    <img src={url} alt="otpauth QR code" width={200} height={200} className="rounded bg-white p-1" />
  ) : (
    <div className="size-[200px] animate-pulse rounded bg-zinc-200 dark:bg-zinc-800" />
  );
}

function Mfa() {
  const { t } = useTranslation();
  const { session, renewSession } = useAuth();
  const [code, setCode] = useState('');
  const [password, setPassword] = useState('');
  const renewWith = async (path: string, body: object) =>
    renewSession((await apiJson<FreshSession>(path, { method: 'POST', body })).token);
  const init = useMutation({
    mutationFn: () =>
      apiJson<{ secret: string; otpauth_url: string }>('/api/auth/mfa/init', { method: 'POST', body: {} }),
  });
  const verify = useMutation({
    mutationFn: () => renewWith('/api/auth/mfa/verify', { code }),
    onSuccess: () => {
      init.reset();
      setCode('');
    },
  });
  const disable = useMutation({
    mutationFn: () => renewWith('/api/auth/mfa/disable', { password }),
    onSuccess: () => {
      setPassword('');
    },
  });

  if (session?.mfaEnabled) {
    return (
      <Card title={t('account.mfa')} actions={<Chip tone="ok">{t('account.mfaOn')}</Chip>}>
        <form
          className="flex max-w-md flex-wrap items-end gap-2"
          onSubmit={(e: FormEvent) => {
            e.preventDefault();
            disable.mutate();
          }}
        >
          <div className="flex-1">
            <label className="label" htmlFor="mfa-password">
              {t('account.passwordToDisable')}
            </label>
            <input
              id="mfa-password"
              type="password"
              className="input"
              autoComplete="current-password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              required
            />
          </div>
          <button type="submit" className="btn btn-danger" disabled={disable.isPending}>
            {t('account.disableMfa')}
          </button>
        </form>
        {disable.isError ? (
          <div className="mt-2">
            <ErrorCard error={disable.error} />
          </div>
        ) : null}
      </Card>
    );
  }

  return (
    <Card title={t('account.mfa')} actions={<Chip>{t('account.mfaOff')}</Chip>}>
      {!init.data ? (
        <>
          <p className="muted mb-3 text-sm">{t('account.mfaHelp')}</p>
          <button
            type="button"
            className="btn btn-primary"
            disabled={init.isPending}
            onClick={() => init.mutate()}
          >
            {t('account.enableMfa')}
          </button>
        </>
      ) : (
        <div className="flex flex-wrap gap-6">
          <QrCode text={init.data.otpauth_url} />
          <form
            className="max-w-sm flex-1 space-y-3"
            onSubmit={(e: FormEvent) => {
              e.preventDefault();
              verify.mutate();
            }}
          >
            <p className="text-sm">{t('account.scan')}</p>
            <div>
              <div className="label">{t('account.setupKey')}</div>
              <code className="text-sm break-all" data-testid="mfa-secret">
                {init.data.secret}
              </code>
            </div>
            <div>
              <label className="label" htmlFor="mfa-code">
                {t('login.code')}
              </label>
              <input
                id="mfa-code"
                className="input tracking-widest"
                inputMode="numeric"
                autoComplete="one-time-code"
                pattern="[0-9]{6}"
                maxLength={6}
                value={code}
                onChange={(e) => setCode(e.target.value.replace(/\D/g, ''))}
                required
              />
            </div>
            <button type="submit" className="btn btn-primary" disabled={verify.isPending}>
              {t('account.confirmMfa')}
            </button>
          </form>
        </div>
      )}
      {init.isError || verify.isError ? (
        <div className="mt-2">
          <ErrorCard error={init.error ?? verify.error} />
        </div>
      ) : null}
    </Card>
  );
}

/** End every other session of the account (other browsers, the CLI); this one gets a fresh token. */
function Sessions() {
  const { t } = useTranslation();
  const { renewSession } = useAuth();
  const end = useMutation({
    mutationFn: async () =>
      renewSession(
        (await apiJson<FreshSession>('/api/auth/logout-everywhere', { method: 'POST', body: {} })).token,
      ),
  });
  return (
    <Card title={t('account.sessions')}>
      <p className="muted mb-3 text-sm">{t('account.sessionsHelp')}</p>
      {end.isSuccess ? (
        <p className="mb-2 text-sm text-emerald-700 dark:text-emerald-400">{t('account.sessionsEnded')}</p>
      ) : null}
      <button type="button" className="btn" disabled={end.isPending} onClick={() => end.mutate()}>
        {t('account.endSessions')}
      </button>
      {end.isError ? (
        <div className="mt-2">
          <ErrorCard error={end.error} />
        </div>
      ) : null}
    </Card>
  );
}

export default function Account() {
  const { t } = useTranslation();
  const { session } = useAuth();
  const [changed, setChanged] = useState(false);
  if (session?.kind !== 'account') {
    return (
      <div>
        <PageHeader title={t('nav.account')} />
        <Card>
          <p className="text-sm">{t('account.notAnAccount')}</p>
        </Card>
      </div>
    );
  }
  return (
    <div className="space-y-4" data-testid="account-page">
      <PageHeader title={`${t('nav.account')}: ${session.username}`} />
      <Card title={t('password.changeTitle')}>
        <div className="max-w-sm">
          {changed ? (
            <p className="mb-2 text-sm text-emerald-700 dark:text-emerald-400">{t('account.changed')}</p>
          ) : null}
          <PasswordForm onDone={() => setChanged(true)} />
        </div>
      </Card>
      <Mfa />
      <Sessions />
    </div>
  );
}
