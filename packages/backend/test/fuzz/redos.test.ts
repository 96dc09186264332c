// Regression for the API fuzzer's first finding: a filter regex such as
// `(a+)+$` (results `stdout`, agents `q`, audit `payload` ...) against a row
// holding a long run of `a` froze the HTTP thread for hours. Filters now
// compile through src/regex.ts: refused when V8's linear engine cannot run
// them, otherwise matched with a fallback to that engine, case-insensitively.
import { describe, expect, it } from 'vitest';
import { regexParam } from '../../src/http/params.js';
import { compileFilter, filterProblem, lowerPattern } from '../../src/regex.js';
import { matchSnippet } from '../../src/services/results.js';
import { openDb } from '../../src/store/db.js';
import { REGEX_BOMBS } from './api-cases.js';

const victim = `${'a'.repeat(5_000)}!`;

describe('filter regexes', () => {
  it.each(REGEX_BOMBS)('%s is refused or answers in well under a second on a 5,000-character run', (p) => {
    if (filterProblem(p)) return;
    const started = performance.now();
    compileFilter(p).test(victim.toLowerCase());
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('refuses what the linear engine cannot run, with a message that says so', () => {
    for (const p of ['(a)\\1', '(?=a)b', '(?<=a)b', '(?!x)y', 'a{1000}'])
      expect(filterProblem(p), p).toMatch(/not supported/);
    expect(filterProblem('(')).toBe('not a valid regular expression');
    expect(regexParam.safeParse('(a)\\1').success).toBe(false);
    for (const p of ['error|warn', '^host-[0-9]+$', '\\bfoo\\b', 'a{2,5}', '(?:ab)+', '日本'])
      expect(filterProblem(p), p).toBeUndefined();
  });

  it('matches case-insensitively, keeping the case of escapes', () => {
    expect(lowerPattern('Err\\D\\W[A-Z]\\S')).toBe('err\\D\\W[a-z]\\S');
    const m = (p: string, text: string) => compileFilter(p).test(text.toLowerCase());
    expect(m('ERROR', 'an error here')).toBe(true);
    expect(m('error', 'AN ERROR HERE')).toBe(true);
    expect(m('^HOST-[A-Z]+$', 'host-abc')).toBe(true);
    expect(m('\\D+', '123')).toBe(false);
    expect(m('\\W', 'abc')).toBe(false);
    expect(matchSnippet('xx Disk FULL yy', 'disk full')).toMatchObject({ matched: 'Disk FULL' });
  });

  it('runs through SQLite REGEXP without hanging on a bomb', () => {
    const db = openDb(':memory:', { migrate: false });
    try {
      db.exec('CREATE TABLE t (s TEXT)');
      const ins = db.prepare('INSERT INTO t VALUES (?)');
      for (let i = 0; i < 200; i++) ins.run(victim);
      const started = performance.now();
      const n = db.prepare('SELECT COUNT(*) AS n FROM t WHERE s REGEXP ?').get('(a+)+$') as { n: number };
      expect(n.n).toBe(0);
      expect(performance.now() - started).toBeLessThan(5_000);
      expect(
        (db.prepare('SELECT COUNT(*) AS n FROM t WHERE s REGEXP ?').get('A+!$') as { n: number }).n,
      ).toBe(200);
    } finally {
      db.close();
    }
  });
});
