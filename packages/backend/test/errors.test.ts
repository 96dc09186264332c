// docs/errors.md must list every code of the error catalogue with its status.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE } from '../src/http/errors.js';

const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
const documented = new Map(
  [...doc.matchAll(/^\| `(KANADE_ERR_[A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1]!, Number(m[2])]),
);

describe('docs/errors.md', () => {
  it('documents every error code with its HTTP status', () => {
    for (const [code, e] of Object.entries(ERROR_CATALOGUE))
      expect(documented.get(code), code).toBe(e.status);
  });

  it('documents no code that does not exist', () => {
    for (const code of documented.keys()) expect(ERROR_CATALOGUE).toHaveProperty(code);
  });
});
