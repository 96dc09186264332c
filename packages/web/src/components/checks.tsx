// Compliance pieces shared by the Compliance page and the Dashboard card:
// the status colours, the stacked ok / warn / fail / unknown bar, the count
// chips, and the order that puts checks needing attention first.
import { useTranslation } from 'react-i18next';
import { num } from '../lib/format.js';
import type { CheckCounts, CheckStatus } from '../lib/types.js';
import { Chip, type Tone } from './ui.js';

export const STATUS_TONE: Record<CheckStatus, Tone> = {
  ok: 'ok',
  warn: 'warn',
  fail: 'bad',
  unknown: 'neutral',
};
const STATUSES: CheckStatus[] = ['fail', 'warn', 'unknown', 'ok'];
const BAR: Record<CheckStatus, string> = {
  ok: 'bg-emerald-500',
  warn: 'bg-amber-400',
  fail: 'bg-red-500',
  unknown: 'bg-zinc-400',
};

/** Checks with failures first, then warnings, then unknowns, then by name. */
export function byAttention(a: CheckCounts, b: CheckCounts): number {
  return (
    b.fail - a.fail || b.warn - a.warn || b.unknown - a.unknown || a.check_name.localeCompare(b.check_name)
  );
}

export function CheckBar({ c }: { c: CheckCounts }) {
  const total = c.ok + c.warn + c.fail + c.unknown;
  return (
    <div className="flex h-2 overflow-hidden rounded bg-zinc-200 dark:bg-zinc-800">
      {total
        ? STATUSES.map((s) => (
            <div key={s} className={BAR[s]} style={{ width: `${(c[s] / total) * 100}%` }} />
          ))
        : null}
    </div>
  );
}

export function CheckCountsText({ c }: { c: CheckCounts }) {
  const { t } = useTranslation();
  return (
    <span className="flex flex-wrap gap-1">
      {STATUSES.map((s) =>
        c[s] ? (
          <Chip key={s} tone={STATUS_TONE[s]}>
            {t(`compliance.status.${s}`)} {num(c[s])}
          </Chip>
        ) : null,
      )}
    </span>
  );
}
