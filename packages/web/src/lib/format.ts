// Display formatting shared by every page: sizes, rates, percentages and
// times in the operator's language (Intl, so Japanese gets 「3 分前」).
import i18n from './i18n.js';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

// Building an Intl formatter costs far more than formatting with one (it loads the locale's rules), and a
// table calls these for every cell on every render: 50 agents rows spent a tenth of a second in
// constructors under load. One formatter per kind and language, built on first use.
const formatters = new Map<string, Intl.NumberFormat | Intl.DateTimeFormat | Intl.RelativeTimeFormat>();

function cached<F extends Intl.NumberFormat | Intl.DateTimeFormat | Intl.RelativeTimeFormat>(
  kind: string,
  make: (language: string) => F,
): F {
  const key = `${kind}\u0000${i18n.language}`;
  let f = formatters.get(key) as F | undefined;
  if (!f) {
    f = make(i18n.language);
    formatters.set(key, f);
  }
  return f;
}

export function bytes(n: number | null | undefined, digits = 1): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  let v = Math.abs(n);
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return `${n < 0 ? '-' : ''}${u === 0 ? v.toFixed(0) : v.toFixed(digits)} ${UNITS[u]}`;
}

export const rate = (n: number | null | undefined) => (n === null || n === undefined ? '—' : `${bytes(n)}/s`);

export function pct(n: number | null | undefined, digits = 1): string {
  return n === null || n === undefined || !Number.isFinite(n) ? '—' : `${n.toFixed(digits)}%`;
}

export function num(n: number | null | undefined): string {
  return n === null || n === undefined
    ? '—'
    : cached('number', (language) => new Intl.NumberFormat(language)).format(n);
}

export function dateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime())
    ? iso
    : cached(
        'dateTime',
        (language) => new Intl.DateTimeFormat(language, { dateStyle: 'medium', timeStyle: 'medium' }),
      ).format(d);
}

const STEPS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['second', 60],
  ['minute', 60],
  ['hour', 24],
  ['day', 30],
  ['month', 12],
  ['year', Number.POSITIVE_INFINITY],
];

/** "3 minutes ago" / "in 2 hours", relative to `now` (ms). */
export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  let v = (t - now) / 1000;
  const fmt = cached('relative', (language) => new Intl.RelativeTimeFormat(language, { numeric: 'auto' }));
  for (const [unit, size] of STEPS) {
    if (Math.abs(v) < size) return fmt.format(Math.round(v), unit);
    v /= size;
  }
  return fmt.format(Math.round(v), 'year');
}
