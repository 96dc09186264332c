import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration, parseRfc3339, toRfc3339 } from '../src/index.js';

describe('parseDuration', () => {
  it.each([
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['2h 15m', 8_100_000],
    ['500ms', 500],
    ['7d', 604_800_000],
    ['10 minutes', 600_000],
  ])('%s = %i ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', '5', 'm', '5x', '-5m', '5m garbage', '1e3s'])('rejects %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  it('formats back to the shortest form', () => {
    expect(formatDuration(5_400_000)).toBe('1h30m');
    expect(formatDuration(0)).toBe('0s');
  });
});

describe('RFC 3339', () => {
  it('reads upstream chrono output with offset and nanoseconds', () => {
    expect(parseRfc3339('2026-05-01T10:00:00.123456789+00:00')).toBe(Date.UTC(2026, 4, 1, 10, 0, 0, 123));
    expect(parseRfc3339('2026-05-01T12:00:00+02:00')).toBe(Date.UTC(2026, 4, 1, 10));
    expect(parseRfc3339('2026-05-01T10:00:00Z')).toBe(Date.UTC(2026, 4, 1, 10));
  });

  it.each(['2026-13-01T00:00:00Z', '2026-02-30T00:00:00Z', '2026-05-01', 'NaN', '2026-05-01T25:00:00Z'])(
    'rejects %s',
    (text) => expect(Number.isNaN(parseRfc3339(text))).toBe(true),
  );

  it('writes UTC with milliseconds', () => {
    expect(toRfc3339(Date.UTC(2026, 4, 1, 10))).toBe('2026-05-01T10:00:00.000Z');
  });
});

describe('parseRfc3339 edge cases', () => {
  it('handles leap years, fractions of any length and lowercase separators', () => {
    expect(parseRfc3339('2024-02-29T00:00:00Z')).toBe(Date.UTC(2024, 1, 29));
    expect(Number.isNaN(parseRfc3339('2023-02-29T00:00:00Z'))).toBe(true);
    expect(Number.isNaN(parseRfc3339('1900-02-29T00:00:00Z'))).toBe(true);
    expect(parseRfc3339('2026-05-01t10:00:00.5z')).toBe(Date.UTC(2026, 4, 1, 10, 0, 0, 500));
    expect(parseRfc3339('2026-05-01T10:00:00.12-01:30')).toBe(Date.UTC(2026, 4, 1, 11, 30, 0, 120));
  });

  it('reads each timestamp right when consecutive ones share or change their date and minute', () => {
    // parseRfc3339 remembers the last date-and-minute prefix; a run of mixed ones must not mix them up.
    const texts = [
      '2026-05-01T10:00:59.999Z',
      '2026-05-01T10:00:01Z',
      '2026-05-01T10:01:00Z',
      '2026-05-01T10:01:30.25+02:00',
      '2026-05-01T10:01:60Z',
      '2025-12-31T23:59:59.9-00:30',
      '2026-05-01T10:00:01Z',
    ];
    for (const t of texts) {
      const leap = t.includes(':60Z');
      const expected = leap ? Date.parse(t.replace(':60Z', ':59Z')) + 1000 : Date.parse(t);
      expect(parseRfc3339(t), t).toBe(expected);
    }
    expect(Number.isNaN(parseRfc3339('2026-05-01T10:00:61Z'))).toBe(true);
    expect(Number.isNaN(parseRfc3339('2026-05-01T10:00-01Z'))).toBe(true);
  });

  it.each([
    '2026-05-01T10:00:00',
    '2026-05-01T10:00:00.Z',
    '2026-05-01T10:00:00+0100',
    '2026-05-01T10:00:00Zjunk',
    '２026-05-01T10:00:00Z',
  ])('rejects %s', (text) => expect(Number.isNaN(parseRfc3339(text))).toBe(true));
});
