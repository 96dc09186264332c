// Changing one's own password (POST /api/auth/change-password): used by the
// forced change after sign-in and by the Account page. The change ends every
// session of the account; the response's fresh token replaces ours.
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { apiJson } from '../lib/api.js';
import { useAuth } from '../lib/auth.js';
import type { FreshSession } from '../lib/types.js';
import { errorText } from './ui.js';

export function PasswordForm({ onDone }: { onDone(): void | Promise<void> }) {
  const { t } = useTranslation();
  const { renewSession } = useAuth();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [confirm, setConfirm] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (next.length < 8) return setError(t('password.tooShort'));
    if (next !== confirm) return setError(t('password.mismatch'));
    setBusy(true);
    setError(null);
    try {
      const fresh = await apiJson<FreshSession>('/api/auth/change-password', {
        method: 'POST',
        body: { old_password: current, new_password: next },
      });
      await renewSession(fresh.token);
      setCurrent('');
      setNext('');
      setConfirm('');
      await onDone();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  }

  const fields = [
    ['current', current, setCurrent, 'current-password'],
    ['new', next, setNext, 'new-password'],
    ['confirm', confirm, setConfirm, 'new-password'],
  ] as const;
  return (
    <form className="space-y-3" onSubmit={submit}>
      {fields.map(([id, value, set, auto]) => (
        <div key={id}>
          <label className="label" htmlFor={`pw-${id}`}>
            {t(`password.${id}`)}
          </label>
          <input
            id={`pw-${id}`}
            type="password"
            className="input"
            autoComplete={auto}
            value={value}
            onChange={(e) => set(e.target.value)}
            required
          />
        </div>
      ))}
      {error ? (
        <p role="alert" className="text-sm text-red-600 dark:text-red-400">
          {error}
        </p>
      ) : null}
      <button type="submit" className="btn btn-primary" disabled={busy}>
        {t('password.submit')}
      </button>
    </form>
  );
}
