// The fleet freeze (GET /api/freeze): while it is active every scheduled
// fire is skipped; manual exec and run still work. The banner names the
// window and the reason, says when a freeze is only planned, and treats an
// unreadable value as frozen, as the schedulers do. With `controls`,
// operators freeze (until lifted, or a planned from/until window) and lift
// it here; the Schedules page carries the controls, the Dashboard only the
// banner.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { apiJson } from '../lib/api.js';
import { useAuth } from '../lib/auth.js';
import { dateTime } from '../lib/format.js';
import { DASHBOARD } from '../lib/page-data.js';
import type { FreezeState } from '../lib/types.js';
import { useConfirm } from './Confirm.js';
import { ErrorCard } from './ui.js';

/** An ISO timestamp from a datetime-local value (the browser's time zone), or undefined when empty. */
function isoOf(local: string): string | undefined {
  if (!local) return undefined;
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

function FreezeForm({ onDone }: { onDone(): void }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const [reason, setReason] = useState('');
  const [from, setFrom] = useState('');
  const [until, setUntil] = useState('');
  const save = useMutation({
    mutationFn: () => {
      const f = isoOf(from);
      const u = isoOf(until);
      return apiJson<FreezeState>('/api/freeze', {
        method: 'PUT',
        body: {
          ...(reason.trim() ? { reason: reason.trim() } : {}),
          ...(f ? { from: f } : {}),
          ...(u ? { until: u } : {}),
        },
      });
    },
    onSuccess: (s) => {
      qc.setQueryData(['freeze'], s);
      onDone();
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate();
  };
  return (
    <form className="card grid gap-3 sm:grid-cols-4" onSubmit={submit} data-testid="freeze-form">
      <div className="sm:col-span-2">
        <label className="label" htmlFor="freeze-reason">
          {t('freeze.reason')}
        </label>
        <input
          id="freeze-reason"
          className="input"
          value={reason}
          onChange={(e) => setReason(e.target.value)}
        />
      </div>
      <div>
        <label className="label" htmlFor="freeze-from">
          {t('freeze.from')}
        </label>
        <input
          id="freeze-from"
          type="datetime-local"
          className="input"
          value={from}
          onChange={(e) => setFrom(e.target.value)}
        />
      </div>
      <div>
        <label className="label" htmlFor="freeze-until">
          {t('freeze.until')}
        </label>
        <input
          id="freeze-until"
          type="datetime-local"
          className="input"
          value={until}
          onChange={(e) => setUntil(e.target.value)}
        />
      </div>
      <p className="muted text-xs sm:col-span-4">{t('freeze.help')}</p>
      {save.isError ? (
        <div className="sm:col-span-4">
          <ErrorCard error={save.error} what={t('freeze.notSet')} />
        </div>
      ) : null}
      <div className="flex gap-2 sm:col-span-4">
        <button type="submit" className="btn btn-danger" disabled={save.isPending}>
          {t('freeze.submit')}
        </button>
        <button type="button" className="btn" onClick={onDone}>
          {t('common.cancel')}
        </button>
      </div>
    </form>
  );
}

export function useFreeze() {
  return useQuery({
    queryKey: ['freeze'],
    queryFn: () => apiJson<FreezeState | null>(DASHBOARD.freeze),
    refetchInterval: 60_000,
  });
}

export function FreezeBanner({ controls = false }: { controls?: boolean }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const confirm = useConfirm();
  const { hasRole } = useAuth();
  const operator = controls && hasRole('operator');
  const freeze = useFreeze();
  const [form, setForm] = useState(false);
  const lift = useMutation({
    mutationFn: () => apiJson<void>('/api/freeze', { method: 'DELETE' }),
    onSuccess: () => qc.setQueryData(['freeze'], null),
  });

  const f = freeze.data;
  if (!f) {
    if (!operator || freeze.isPending || freeze.isError) return null;
    return form ? (
      <FreezeForm onDone={() => setForm(false)} />
    ) : (
      <div className="flex justify-end">
        <button type="button" className="btn" onClick={() => setForm(true)}>
          {t('freeze.open')}
        </button>
      </div>
    );
  }

  const span = [
    f.from ? t('freeze.fromAt', { at: dateTime(f.from) }) : null,
    f.until ? t('freeze.untilAt', { at: dateTime(f.until) }) : t('freeze.untilLifted'),
  ]
    .filter(Boolean)
    .join(' · ');
  const planned = !f.active && !f.corrupt && f.from !== null && Date.parse(f.from) > Date.now();
  const title = f.corrupt
    ? t('freeze.corrupt')
    : f.active
      ? t('freeze.active')
      : planned
        ? t('freeze.planned')
        : t('freeze.over');
  const tone =
    f.active || f.corrupt
      ? 'border-red-300 bg-red-50 text-red-900 dark:border-red-900 dark:bg-red-950/50 dark:text-red-100'
      : 'border-amber-300 bg-amber-50 text-amber-900 dark:border-amber-800 dark:bg-amber-950/50 dark:text-amber-100';
  return (
    <div
      role="status"
      data-testid="freeze-banner"
      data-active={f.active || f.corrupt}
      className={`flex flex-wrap items-center justify-between gap-2 rounded-lg border p-3 text-sm ${tone}`}
    >
      <div>
        <strong>{title}</strong> {f.corrupt ? null : <span>{span}</span>}
        {f.reason ? <div className="text-xs">{t('freeze.reasonIs', { reason: f.reason })}</div> : null}
        <div className="text-xs opacity-80">{t('freeze.effect')}</div>
      </div>
      {operator ? (
        <button
          type="button"
          className="btn"
          disabled={lift.isPending}
          onClick={async () => {
            if (
              await confirm({
                title: t('freeze.liftTitle'),
                body: t('freeze.liftBody'),
                confirmLabel: t('freeze.lift'),
              })
            )
              lift.mutate();
          }}
        >
          {t('freeze.lift')}
        </button>
      ) : controls ? null : (
        <Link className="link text-xs" to="/schedules">
          {t('nav.schedules')} →
        </Link>
      )}
      {lift.isError ? <ErrorCard error={lift.error} /> : null}
    </div>
  );
}
