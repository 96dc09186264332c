// The English and Japanese catalogs must stay in step: the same keys, no empty
// strings, and the same {{placeholders}} in each translation. A plural key
// (i18next's `key_one`, `key_other`, ...) counts as one key: English has a
// singular and a plural form where Japanese has one (`_other`).
import { describe, expect, it } from 'vitest';
import en from '../src/locales/en.json' with { type: 'json' };
import ja from '../src/locales/ja.json' with { type: 'json' };

type Tree = { [k: string]: string | Tree };

function flatten(tree: Tree, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(tree)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (typeof v === 'string') out.set(key, v);
    else for (const [kk, vv] of flatten(v, key)) out.set(kk, vv);
  }
  return out;
}

const PLURAL = /_(zero|one|two|few|many|other)$/;

/** The catalog's keys with the plural forms of a key folded into it, each with its texts. */
function folded(flat: Map<string, string>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [k, v] of flat) {
    const base = k.replace(PLURAL, '');
    out.set(base, [...(out.get(base) ?? []), v]);
  }
  return out;
}

const placeholders = (s: string) => [...s.matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((m) => m[1]).sort();

describe('locale catalogs', () => {
  const enKeys = folded(flatten(en as Tree));
  const jaKeys = folded(flatten(ja as Tree));

  it('have the same keys in English and Japanese', () => {
    expect([...jaKeys.keys()].sort()).toEqual([...enKeys.keys()].sort());
  });

  it('have no empty translations', () => {
    for (const [k, vs] of [...enKeys, ...jaKeys]) for (const v of vs) expect(v.trim(), k).not.toBe('');
  });

  it('use the same placeholders in both languages, in every plural form', () => {
    for (const [k, vs] of enKeys) {
      const expected = placeholders(vs[0]!);
      for (const v of [...vs, ...(jaKeys.get(k) ?? [''])]) expect(placeholders(v), k).toEqual(expected);
    }
  });
});
