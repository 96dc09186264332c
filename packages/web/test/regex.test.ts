// Roster regexes: a pasted list of pc_ids is checked in exact-match chunks
// that each fit the API's 256-character regex limit.
import { describe, expect, it } from 'vitest';
import { escapeRegex, exactRegexes } from '../src/lib/regex.js';

describe('roster regexes', () => {
  it('escapes regex syntax', () => {
    expect(escapeRegex('a.b*(c)')).toBe('a\\.b\\*\\(c\\)');
    expect(new RegExp(`^${escapeRegex('x+y?')}$`).test('x+y?')).toBe(true);
  });

  it('chunks exact matches under 256 characters and covers every id once', () => {
    const ids = Array.from({ length: 100 }, (_, i) => `sim-${String(i).padStart(6, '0')}`);
    const res = exactRegexes(ids);
    expect(res.length).toBeGreaterThan(1);
    for (const r of res) expect(r.length).toBeLessThanOrEqual(256);
    const matched = ids.filter((id) => res.some((r) => new RegExp(r).test(id)));
    expect(matched).toEqual(ids);
    expect(res.some((r) => new RegExp(r).test('sim-0000011'))).toBe(false);
  });

  it('skips an id too long to fit at all', () => {
    expect(exactRegexes(['x'.repeat(300), 'ok'])).toEqual(['^(ok)$']);
  });
});
