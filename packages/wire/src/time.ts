// RFC 3339 timestamps on the wire. Upstream writes chrono values such as
// `2026-05-01T10:00:00.123456789+00:00`; readers accept any offset and any
// number of fractional digits, and everything is converted to epoch
// milliseconds before it reaches the database (see docs/adr/0001).

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Digits at [from, to) of `s` as a number, or -1 if any is not a digit. Reads in place, without
 * slicing: the ingest hot path uses it for timestamps and for the numbers of JetStream reply subjects.
 */
export function digits(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

/** The last date-and-minute prefix (`YYYY-MM-DDTHH:MM`) parsed, and its epoch ms. */
let lastPrefix = '';
let lastPrefixMs = 0;

/** Epoch ms of the `YYYY-MM-DDTHH:MM` prefix of `s`, or NaN when it is not a valid one. */
function prefixMs(s: string): number {
  if (lastPrefix !== '' && s.startsWith(lastPrefix)) return lastPrefixMs;
  const y = digits(s, 0, 4);
  const mo = digits(s, 5, 7);
  const d = digits(s, 8, 10);
  const h = digits(s, 11, 13);
  const mi = digits(s, 14, 16);
  const t = s.charCodeAt(10);
  if (
    y < 0 ||
    mo < 1 ||
    mo > 12 ||
    d < 1 ||
    h < 0 ||
    h > 23 ||
    mi < 0 ||
    mi > 59 ||
    s[4] !== '-' ||
    s[7] !== '-' ||
    s[13] !== ':' ||
    (t !== 84 && t !== 116 && t !== 32)
  ) {
    return Number.NaN;
  }
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  if (d > (mo === 2 && leap ? 29 : DAYS_IN_MONTH[mo - 1]!)) return Number.NaN;
  lastPrefix = s.slice(0, 16);
  lastPrefixMs = Date.UTC(y, mo - 1, d, h, mi);
  return lastPrefixMs;
}

/**
 * Epoch milliseconds of an RFC 3339 timestamp, or NaN when it is not one.
 * Hand-rolled (no regex, no Date allocation) because every telemetry message
 * carries one and this runs once per message on the ingest hot path; the date
 * and minute are looked up once per minute of timestamps (a results backlog
 * spent a twentieth of its receiving thread in here before).
 */
export function parseRfc3339(s: string): number {
  const len = s.length;
  if (len < 20 || len > 64) return Number.NaN;
  const base = prefixMs(s);
  const sec = digits(s, 17, 19);
  if (Number.isNaN(base) || s[16] !== ':' || sec < 0 || sec > 60) return Number.NaN;
  let i = 19;
  let ms = 0;
  if (s[i] === '.') {
    const start = ++i;
    while (i < len && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) i++;
    if (i === start) return Number.NaN;
    ms = digits(s, start, Math.min(i, start + 3)) * 10 ** Math.max(0, 3 - (i - start));
  }
  let offsetMin = 0;
  const z = s[i];
  if ((z === 'Z' || z === 'z') && i + 1 === len) {
    offsetMin = 0;
  } else if ((z === '+' || z === '-') && i + 6 === len && s[i + 3] === ':') {
    const oh = digits(s, i + 1, i + 3);
    const om = digits(s, i + 4, i + 6);
    if (oh < 0 || oh > 23 || om < 0 || om > 59) return Number.NaN;
    offsetMin = (z === '-' ? -1 : 1) * (oh * 60 + om);
  } else {
    return Number.NaN;
  }
  return base + sec * 1000 + ms - offsetMin * 60_000;
}

export function isRfc3339(text: string): boolean {
  return !Number.isNaN(parseRfc3339(text));
}

/** The API's time format: RFC 3339 UTC with milliseconds and `Z`. */
export function toRfc3339(ms: number): string {
  return new Date(ms).toISOString();
}
