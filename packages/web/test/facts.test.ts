// Inventory facts: reading display fields, formatting them by type, and the
// Search tab's filter encoding (URL form and API query).
import { describe, expect, it } from 'vitest';
import {
  type FactFormatters,
  factAt,
  filterParam,
  filterQuery,
  formatFact,
  parseFilterParam,
} from '../src/lib/facts.js';

const fmt: FactFormatters = {
  bytes: (n) => `${n}B`,
  number: (n) => `#${n}`,
  date: (s) => `D(${s})`,
  yes: 'yes',
  no: 'no',
};

describe('inventory facts', () => {
  it('reads dotted paths and misses cleanly', () => {
    const facts = { os: { version: '10' }, ram: 8, list: [1, 2] };
    expect(factAt(facts, 'os.version')).toBe('10');
    expect(factAt(facts, 'ram')).toBe(8);
    expect(factAt(facts, 'os.build')).toBeUndefined();
    expect(factAt(facts, 'ram.x')).toBeUndefined();
    expect(factAt(null, 'a')).toBeUndefined();
  });

  it('formats by display type', () => {
    expect(formatFact(1024, 'bytes', fmt)).toBe('1024B');
    expect(formatFact('2048', 'bytes', fmt)).toBe('2048B');
    expect(formatFact(3, null, fmt)).toBe('#3');
    expect(formatFact('2026-05-01T10:00:00Z', 'datetime', fmt)).toBe('D(2026-05-01T10:00:00Z)');
    expect(formatFact('not a date', 'date', fmt)).toBe('not a date');
    expect(formatFact(true, undefined, fmt)).toBe('yes');
    expect(formatFact([1, 2, 3], undefined, fmt)).toBe('[3]');
    expect(formatFact({ a: 1 }, undefined, fmt)).toBe('{"a":1}');
    expect(formatFact(null, 'bytes', fmt)).toBe('—');
    expect(formatFact('', undefined, fmt)).toBe('—');
  });

  it('round-trips search filters through the URL, values with colons included', () => {
    const f = { column: 'path', op: 'prefix' as const, value: 'C:\\Program Files' };
    expect(parseFilterParam(filterParam(f))).toEqual(f);
    expect(parseFilterParam('name:eq:')).toEqual({ column: 'name', op: 'eq', value: '' });
    expect(parseFilterParam('name:like:x')).toBeNull();
    expect(parseFilterParam(':eq:x')).toBeNull();
    expect(parseFilterParam('name')).toBeNull();
  });

  it('turns filters into the API query, repeats kept', () => {
    const q = filterQuery([
      { column: 'name', op: 'contains', value: 'Chrome' },
      { column: 'size_mb', op: 'ge', value: '100' },
      { column: 'size_mb', op: 'lt', value: '500' },
      { column: 'version', op: 'eq', value: '1' },
    ]);
    expect(q.toString()).toBe('name__contains=Chrome&size_mb__ge=100&size_mb__lt=500&version__eq=1');
  });
});
