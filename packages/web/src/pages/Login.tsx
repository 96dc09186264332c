// Sign-in (eager: it is the first page most visits see) and the forced
// password change. Two ways in: an account (username, password, and the MFA
// code when the account has one) through /api/auth/login, or the backend's
// API token pasted as is (the all-in-one backend writes it to
// <data dir>/admin-token). A backend without accounts answers the account
// form with a 401 for an unknown route; the form then says to use the token.
// A right password on an MFA account gets KANADE_ERR_MFA_REQUIRED, which
// brings up the code field.
import { useQueryClient } from '@tanstack/react-query';
import { type FormEvent, type ReactNode, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Navigate, useNavigate, useSearchParams } from 'react-router';
import { PasswordForm } from '../components/PasswordForm.js';
import { errorText, Segmented } from '../components/ui.js';
import { ApiError } from '../lib/api.js';
import { useAuth } from '../lib/auth.js';

const MODE_KEY = 'kanade_login_mode';
type Mode = 'account' | 'token';

function safeNext(next: string | null): string {
  return next?.startsWith('/') && !next.startsWith('//') ? next : '/dashboard';
}

function Frame({ children }: { children: ReactNode }) {
  return (
    <div className="flex min-h-dvh items-center justify-center p-4">
      <div className="card w-full max-w-sm">
        <div className="mb-5 text-center text-2xl font-semibold">
          <span className="bg-gradient-to-r from-violet-600 via-amber-500 to-teal-500 bg-clip-text text-transparent">
            奏 kanade
          </span>
        </div>
        {children}
      </div>
    </div>
  );
}

/** The password was right but the account uses MFA: ask for the code. */
const isMfaChallenge = (err: unknown) => err instanceof ApiError && err.code === 'KANADE_ERR_MFA_REQUIRED';

export function Login() {
  const { t } = useTranslation();
  const { session, loginWithPassword, loginWithToken } = useAuth();
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const [mode, setModeState] = useState<Mode>(() =>
    localStorage.getItem(MODE_KEY) === 'token' ? 'token' : 'account',
  );
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [needCode, setNeedCode] = useState(false);
  const [token, setTokenInput] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const next = safeNext(params.get('next'));

  if (session && !busy)
    return <Navigate to={session.mustChangePassword ? '/change-password' : next} replace />;

  const setMode = (m: Mode) => {
    localStorage.setItem(MODE_KEY, m);
    setModeState(m);
    setError(null);
  };

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (mode === 'token') {
        await loginWithToken(token.trim());
        navigate(next, { replace: true });
      } else {
        const r = await loginWithPassword(username, password, needCode ? code : undefined);
        navigate(r.must_change_pw ? '/change-password' : next, { replace: true });
      }
    } catch (err) {
      if (mode === 'account' && isMfaChallenge(err)) {
        setNeedCode(true);
        setError(t('login.enterCode'));
      } else if (mode === 'account' && needCode && err instanceof ApiError && err.status === 401) {
        setError(t('login.badCode'));
      } else if (mode === 'account' && err instanceof ApiError && /bearer token/i.test(err.message)) {
        setMode('token');
        setError(t('login.noAccounts'));
      } else if (err instanceof ApiError && err.status === 401) {
        setError(mode === 'token' ? t('login.badToken') : t('login.badCredentials'));
      } else {
        setError(errorText(err));
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <Frame>
      <div className="mb-4 flex justify-center">
        <Segmented
          label={t('login.mode')}
          value={mode}
          onChange={setMode}
          options={[
            { value: 'account', label: t('login.account') },
            { value: 'token', label: t('login.token') },
          ]}
        />
      </div>
      <form className="space-y-3" onSubmit={submit}>
        {mode === 'account' ? (
          <>
            <div>
              <label className="label" htmlFor="username">
                {t('login.username')}
              </label>
              <input
                id="username"
                className="input"
                autoComplete="username"
                value={username}
                onChange={(e) => setUsername(e.target.value)}
                required
              />
            </div>
            <div>
              <label className="label" htmlFor="password">
                {t('login.password')}
              </label>
              <input
                id="password"
                type="password"
                className="input"
                autoComplete="current-password"
                value={password}
                onChange={(e) => setPassword(e.target.value)}
                required
              />
            </div>
            {needCode ? (
              <div>
                <label className="label" htmlFor="totp">
                  {t('login.code')}
                </label>
                <input
                  id="totp"
                  className="input tracking-widest"
                  inputMode="numeric"
                  autoComplete="one-time-code"
                  pattern="[0-9]{6}"
                  maxLength={6}
                  value={code}
                  onChange={(e) => setCode(e.target.value.replace(/\D/g, ''))}
                  required
                  // biome-ignore lint/a11y/noAutofocus: the code field appears because the server asked for it
                  autoFocus
                />
              </div>
            ) : null}
          </>
        ) : (
          <div>
            <label className="label" htmlFor="token">
              {t('login.tokenLabel')}
            </label>
            <input
              id="token"
              type="password"
              className="input font-mono"
              autoComplete="off"
              value={token}
              onChange={(e) => setTokenInput(e.target.value)}
              required
            />
            <p className="muted mt-1 text-xs">{t('login.tokenHelp')}</p>
          </div>
        )}
        {error ? (
          <p role="alert" className="text-sm text-red-600 dark:text-red-400">
            {error}
          </p>
        ) : null}
        <button type="submit" className="btn btn-primary w-full" disabled={busy}>
          {busy ? t('common.working') : t('login.submit')}
        </button>
      </form>
    </Frame>
  );
}

export function ChangePassword() {
  const { t } = useTranslation();
  const { session, loading, logout } = useAuth();
  const qc = useQueryClient();
  const navigate = useNavigate();

  if (!loading && !session) return <Navigate to="/login" replace />;

  return (
    <Frame>
      <h1 className="mb-1 font-semibold">{t('password.changeTitle')}</h1>
      {session?.mustChangePassword ? <p className="muted mb-3 text-sm">{t('password.forced')}</p> : null}
      <PasswordForm
        onDone={async () => {
          await qc.invalidateQueries({ queryKey: ['auth'] });
          navigate('/dashboard', { replace: true });
        }}
      />
      <button type="button" className="link mt-3 block w-full text-center text-sm" onClick={logout}>
        {t('auth.logout')}
      </button>
    </Frame>
  );
}
