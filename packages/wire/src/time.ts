// RFC 3339 timestamps on the wire. Upstream writes chrono values such as
// `2026-05-01T10:00:00.123456789+00:00`; readers accept any offset and any
// number of fractional digits, and everything is converted to epoch
// milliseconds before it reaches the database (see docs/adr/0001).

const RFC3339_RE = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** Epoch milliseconds of an RFC 3339 timestamp, or NaN when it is not one. */
export function parseRfc3339(text: string): number {
  const m = RFC3339_RE.exec(text);
  if (!m) return Number.NaN;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > 31 || Number(h) > 23 || Number(mi) > 59 || Number(s) > 60) {
    return Number.NaN;
  }
  const ms = frac ? Math.floor(Number(`0${frac}`) * 1000) : 0;
  let t = Date.UTC(Number(y), month - 1, day, Number(h), Number(mi), Number(s), ms);
  // Date.UTC rolls 31 Feb over into March; a real timestamp never does.
  if (new Date(t).getUTCDate() !== day) return Number.NaN;
  if (zone !== 'Z' && zone !== 'z') {
    const sign = zone!.startsWith('-') ? -1 : 1;
    t -= sign * (Number(zone!.slice(1, 3)) * 60 + Number(zone!.slice(4, 6))) * 60_000;
  }
  return t;
}

export function isRfc3339(text: string): boolean {
  return !Number.isNaN(parseRfc3339(text));
}

/** The API's time format: RFC 3339 UTC with milliseconds and `Z`. */
export function toRfc3339(ms: number): string {
  return new Date(ms).toISOString();
}
