// The editor's YAML reading agrees with YAML on what manifests contain, and
// says where the problems are.
import { describe, expect, it } from 'vitest';
import { parseYamlValue } from '../src/lib/yaml-value.js';

describe('parseYamlValue', () => {
  it('reads mappings, sequences, flow collections and core scalars', () => {
    const r = parseYamlValue(
      [
        '# a job',
        'id: hello.world',
        'version: "1"',
        'n: 12.5',
        'i: -3',
        'b: true',
        'nul: ~',
        'empty:',
        'tags: [a, "b c"]',
        "flow: {x: 1, y: 'it''s'}",
        'list:',
        '  - one',
        '  - k: v',
        '    k2: 2',
        '  -',
        '    - nested',
      ].join('\n'),
    );
    expect(r.problems).toEqual([]);
    expect(r.value).toEqual({
      id: 'hello.world',
      version: '1',
      n: 12.5,
      i: -3,
      b: true,
      nul: null,
      empty: null,
      tags: ['a', 'b c'],
      flow: { x: 1, y: "it's" },
      list: ['one', { k: 'v', k2: 2 }, ['nested']],
    });
    expect(r.lines.get('id')).toBe(2);
    expect(r.lines.get('list.1.k2')).toBe(14);
  });

  it('reads literal and folded block scalars with chomping', () => {
    const r = parseYamlValue(
      [
        'lit: |',
        '  echo hi',
        '    indented',
        '  echo there',
        'strip: |-',
        '  x',
        'fold: >',
        '  a',
        '  b',
        '',
        '  c',
        'end: 1',
      ].join('\n'),
    );
    expect(r.value).toEqual({
      lit: 'echo hi\n  indented\necho there\n',
      strip: 'x',
      fold: 'a b\nc\n',
      end: 1,
    });
  });

  it('decodes double-quoted escapes and resolves anchors', () => {
    const r = parseYamlValue('a: "tab\\there \\u00e9"\nb: &x {k: 1}\nc: *x\n');
    expect(r.value).toEqual({ a: 'tab\there é', b: { k: 1 }, c: { k: 1 } });
  });

  it('reports syntax errors and duplicate keys with their lines', () => {
    const r = parseYamlValue('id: a\nid: b\nbad: [1, 2\n');
    expect(r.problems).toContainEqual({ line: 2, message: 'duplicate key id' });
    expect(r.problems.some((p) => p.message === 'YAML syntax error' && p.line >= 3)).toBe(true);
  });
});
