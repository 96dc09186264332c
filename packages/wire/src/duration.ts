// Durations in upstream's humantime form (`30s`, `5m`, `1h30m`, `2h 15m`,
// `500ms`, `7d`). Config scopes, manifests, schedules and HTTP parameters all
// use it, so agent, backend and CLI share this one parser.

const UNIT_MS: Record<string, number> = {
  ms: 1,
  msec: 1,
  s: 1000,
  sec: 1000,
  secs: 1000,
  second: 1000,
  seconds: 1000,
  m: 60_000,
  min: 60_000,
  mins: 60_000,
  minute: 60_000,
  minutes: 60_000,
  h: 3_600_000,
  hr: 3_600_000,
  hrs: 3_600_000,
  hour: 3_600_000,
  hours: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
  days: 86_400_000,
  w: 604_800_000,
  week: 604_800_000,
  weeks: 604_800_000,
};

const PART_RE = /(\d+)\s*([a-z]+)/gy;

/** Milliseconds of a humantime string, or undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const src = text.trim().toLowerCase();
  if (src.length === 0 || src.length > 64) return undefined;
  let total = 0;
  let pos = 0;
  PART_RE.lastIndex = 0;
  while (pos < src.length) {
    while (src[pos] === ' ') pos++;
    if (pos >= src.length) break;
    PART_RE.lastIndex = pos;
    const m = PART_RE.exec(src);
    if (!m) return undefined;
    const unit = UNIT_MS[m[2]!];
    if (unit === undefined) return undefined;
    total += Number(m[1]) * unit;
    pos = PART_RE.lastIndex;
  }
  return Number.isSafeInteger(total) ? total : undefined;
}

/** The shortest humantime string for a whole number of milliseconds (`90000` -> `1m30s`). */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`not a duration: ${ms}`);
  if (ms === 0) return '0s';
  const parts: string[] = [];
  let rest = Math.round(ms);
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
    ['ms', 1],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join('');
}
