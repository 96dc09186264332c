// Display formatting (src/lib/format.ts) keeps one Intl formatter per kind and
// language; a language switch must still reach every formatted value.
import { beforeAll, describe, expect, it, vi } from 'vitest';

// The i18n module reads these at import (a browser has them; Node 20 has none).
vi.stubGlobal('navigator', { language: 'en-US' });
vi.stubGlobal('localStorage', { getItem: () => null, setItem: () => undefined });
vi.stubGlobal('document', { documentElement: { lang: '' } });

let format: typeof import('../src/lib/format.js');
let i18n: typeof import('../src/lib/i18n.js').default;
beforeAll(async () => {
  i18n = (await import('../src/lib/i18n.js')).default;
  format = await import('../src/lib/format.js');
});

describe('display formatting', () => {
  it('formats in the current language, and follows a switch both ways', async () => {
    const now = Date.UTC(2026, 11, 1, 12, 0, 0);
    const threeMinutesAgo = new Date(now - 3 * 60_000).toISOString();
    expect(format.num(1234567)).toBe('1,234,567');
    expect(format.ago(threeMinutesAgo, now)).toBe('3 minutes ago');
    const enDate = format.dateTime('2026-12-01T12:00:00Z');
    expect(enDate).toMatch(/2026/);

    await i18n.changeLanguage('ja');
    expect(format.ago(threeMinutesAgo, now)).toBe('3 分前');
    expect(format.dateTime('2026-12-01T12:00:00Z')).not.toBe(enDate);

    await i18n.changeLanguage('en');
    expect(format.ago(threeMinutesAgo, now)).toBe('3 minutes ago');
    expect(format.dateTime('2026-12-01T12:00:00Z')).toBe(enDate);
  });
});
