// The Events page's pure parts: preset windows, tri-state chips and the
// duplicate folding.
import { describe, expect, it } from 'vitest';
import { collapseDuplicates, nextTri, presetRange, triLists } from '../src/lib/events.js';
import type { ObsEvent } from '../src/lib/types.js';

const ev = (id: number, pc: string, at: string, kind = 'logon', source = 'Security'): ObsEvent => ({
  id,
  pc_id: pc,
  at,
  kind,
  source,
  event_record_id: null,
  payload: null,
});

describe('events helpers', () => {
  it('ends hour presets now and starts day presets at local midnight', () => {
    const now = new Date(2026, 4, 10, 15, 30).getTime();
    expect(presetRange('1h', now)).toEqual({ from: now - 3_600_000 });
    expect(presetRange('24h', now)).toEqual({ from: now - 24 * 3_600_000 });
    expect(presetRange('7d', now).from).toBe(new Date(2026, 4, 4, 0, 0).getTime());
    expect(presetRange('30d', now).from).toBe(new Date(2026, 3, 11, 0, 0).getTime());
  });

  it('cycles chips include -> exclude -> off and splits them into lists', () => {
    expect(nextTri(undefined)).toBe('include');
    expect(nextTri('include')).toBe('exclude');
    expect(nextTri('exclude')).toBeUndefined();
    expect(
      triLists(
        new Map([
          ['logon', 'include'],
          ['boot', 'exclude'],
          ['app', 'include'],
        ]),
      ),
    ).toEqual({ include: ['app', 'logon'], exclude: ['boot'] });
  });

  it('folds adjacent events of one PC with the same second, kind and source', () => {
    const out = collapseDuplicates([
      ev(1, 'a', '2026-05-01T10:00:00.100Z'),
      ev(2, 'a', '2026-05-01T10:00:00.900Z'),
      ev(3, 'b', '2026-05-01T10:00:00.900Z'),
      ev(4, 'a', '2026-05-01T10:00:00.900Z', 'logoff'),
      ev(5, 'a', '2026-05-01T10:00:00.900Z', 'logoff', 'System'),
    ]);
    expect(out.map((c) => [c.event.id, c.count])).toEqual([
      [1, 2],
      [3, 1],
      [4, 1],
      [5, 1],
    ]);
  });
});
