// The editor's schema check against the real manifest schema the backend
// serves: a good manifest passes, typical mistakes are named by path.
import { manifestJsonSchema } from '@kanade/wire';
import { describe, expect, it } from 'vitest';
import { type Schema, validateSchema } from '../src/lib/json-schema.js';

const schema = manifestJsonSchema() as Schema;
const good = {
  id: 'hello',
  version: '1',
  description: 'says hello',
  execute: { shell: 'sh', script: 'echo hi', timeout: '30s' },
  staleness: { mode: 'strict', max_cache_age: '5m' },
  tags: ['demo'],
};

describe('validateSchema with the manifest schema', () => {
  it('accepts a valid manifest', () => {
    expect(validateSchema(schema, good)).toEqual([]);
  });

  it('names missing, unknown and mistyped fields by path', () => {
    const problems = validateSchema(schema, {
      ...good,
      execute: { script: 'x', timeout: 30, shel: 'sh' },
      tags: 'demo',
    });
    expect(problems).toContainEqual({ path: 'execute.shell', message: 'is required' });
    expect(problems).toContainEqual({ path: 'execute.shel', message: 'is not a known field' });
    expect(problems).toContainEqual({ path: 'execute.timeout', message: 'expected string, got integer' });
    expect(problems).toContainEqual({ path: 'tags', message: 'expected array, got string' });
  });

  it('checks enums and the staleness variants', () => {
    const problems = validateSchema(schema, {
      ...good,
      execute: { ...good.execute, shell: 'bash' },
      staleness: { mode: 'strict' },
    });
    expect(problems.find((p) => p.path === 'execute.shell')?.message).toMatch(/one of "powershell"/);
    expect(problems).toContainEqual({ path: 'staleness.max_cache_age', message: 'is required' });
  });
});
