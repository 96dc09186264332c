// The English and Japanese catalogs must stay in step: the same keys, no empty
// strings, and the same {{placeholders}} in each translation.
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

const placeholders = (s: string) => [...s.matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((m) => m[1]).sort();

describe('locale catalogs', () => {
  const enKeys = flatten(en as Tree);
  const jaKeys = flatten(ja as Tree);

  it('have the same keys in English and Japanese', () => {
    expect([...jaKeys.keys()].sort()).toEqual([...enKeys.keys()].sort());
  });

  it('have no empty translations', () => {
    for (const [k, v] of [...enKeys, ...jaKeys]) expect(v.trim(), k).not.toBe('');
  });

  it('use the same placeholders in both languages', () => {
    for (const [k, v] of enKeys) expect(placeholders(jaKeys.get(k) ?? ''), k).toEqual(placeholders(v));
  });
});
