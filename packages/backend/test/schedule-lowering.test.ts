// The Schedule contract and its lowering, without a broker: the strict writer
// schema (each mistake a 400 naming its path) and the tolerant reader, the
// `when` shapes lowered to croner patterns, `days` specs with ranges, #n and
// L, one-shot dates, time zones across a DST change (pinned IANA zones), and
// the wall-clock gates (active window, maintenance window, skip dates) that
// preview and the live scheduler share.
import {
  describeWhen,
  dispatchKey,
  freezeStateOf,
  isFrozen,
  KV,
  LAZY_KV_BUCKETS,
  parseCalendarAt,
  SCHEDULER_LEASE_TTL_MS,
  Schedule,
  ScheduleRecord,
  scheduleJsonSchema,
} from '@kanade/wire';
import { describe, expect, it } from 'vitest';
import { lower, nextFires, POLL_CRON, previousFire, whenProblem } from '../src/scheduler/lowering.js';
import { activeContains, constraintsAllow, gate, inWindow, wallClock } from '../src/scheduler/policy.js';
import { patchEnabledLine } from '../src/services/schedules.js';

const base = { id: 'nightly', job_id: 'inventory', target: { all: true } };
const schedule = (extra: Record<string, unknown>) => Schedule.parse({ ...base, ...extra });
const issues = (value: unknown) => {
  const r = Schedule.safeParse(value);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};
const iso = (ms: number[]) => ms.map((t) => new Date(t).toISOString());
const at = (s: string) => Date.parse(s);

describe('Schedule writer schema', () => {
  it('applies upstream defaults: tz local, runs_on backend, enabled true, empty target lists', () => {
    expect(schedule({ when: { per_pc: 'once' } })).toEqual({
      id: 'nightly',
      job_id: 'inventory',
      when: { per_pc: 'once' },
      target: { all: true, groups: [], pcs: [] },
      tz: 'local',
      runs_on: 'backend',
      enabled: true,
    });
  });

  it('names the path of each mistake', () => {
    expect(issues({ ...base, when: { per_pc: { evry: '6h' } } })).toEqual([
      'when.per_pc: expected once or {every: <duration such as 6h>}',
    ]);
    expect(issues({ ...base, when: { per_target: { every: 'soon' } } })).toEqual([
      'when.per_target.every: expected a duration of at least 1s such as 30s, 5m or 6h',
    ]);
    expect(issues({ ...base, when: { calendar: { at: '24:00' } } })).toEqual([
      'when.calendar.at: expected "HH:MM" or "YYYY-MM-DD HH:MM" (24-hour clock)',
    ]);
    expect(issues({ ...base, when: { calendar: { at: '09:00', days: ['mon-fri', 'tue#6'] } } })).toEqual([
      'when.calendar.days.1: expected a day such as mon, a range such as mon-fri, tue#2 or friL',
    ]);
    expect(issues({ ...base, when: {} })).toEqual([
      'when: must hold exactly one of per_pc, per_target, calendar or on',
    ]);
    expect(issues({ ...base, when: { per_pc: 'once', calendar: { at: '09:00' } } })).toEqual([
      'when: must hold exactly one of per_pc, per_target, calendar or on',
    ]);
    expect(issues({ ...base, when: { per_pc: 'once' }, tz: 'Asia/Tokyo' })[0]).toMatch(/^tz: /);
    expect(issues({ ...base, when: { per_pc: 'once' }, starting_deadline: '10 parsecs' })).toEqual([
      'starting_deadline: expected a duration of at least 1s such as 30s, 5m or 6h',
    ]);
    expect(issues({ ...base, when: { per_pc: 'once' }, cron: '* * * * *' })).toEqual([
      ': Unrecognized key: "cron"',
    ]);
    expect(issues({ ...base, when: { per_pc: 'once' }, constraints: { window: '09:00-09:00' } })).toEqual([
      'constraints.window: expected "HH:MM-HH:MM" with two different times',
    ]);
    expect(
      issues({ ...base, when: { per_pc: 'once' }, constraints: { skip_dates: ['2026-02-30'] } }),
    ).toEqual(['constraints.skip_dates.0: expected a date YYYY-MM-DD']);
    expect(
      issues({ ...base, when: { per_pc: 'once' }, on_failure: { retry: { max: 11, backoff: '1m' } } })[0],
    ).toMatch(/^on_failure\.retry\.max: /);
  });

  it("checks upstream's cross-field rules", () => {
    expect(issues({ ...base, when: { on: ['logon'] } })).toEqual([
      'when.on: event triggers (when.on) fire on the agent: set runs_on: agent',
    ]);
    expect(issues({ ...base, when: { on: ['logon'] }, runs_on: 'agent' })).toEqual([]);
    expect(issues({ ...base, when: { per_target: 'once' }, runs_on: 'agent' })[0]).toMatch(
      /^when\.per_target: /,
    );
    expect(
      issues({ ...base, when: { per_pc: 'once' }, runs_on: 'agent', constraints: { max_concurrent: 5 } })[0],
    ).toMatch(/^constraints\.max_concurrent: /);
    expect(
      issues({ ...base, when: { per_pc: 'once' }, constraints: { require: { ac_power: true } } })[0],
    ).toMatch(/^constraints\.require: /);
    expect(issues({ ...base, when: { calendar: { at: '2026-06-10 09:00', days: ['mon'] } } })).toEqual([
      'when.calendar.days: a dated at (one-shot) already pins the day: leave days out',
    ]);
    expect(issues({ id: 'x', job_id: 'j', when: { per_pc: 'once' } })).toEqual([
      'target: target must set at least one of all, groups or pcs (or give rollout.waves)',
    ]);
    expect(
      issues({ ...base, when: { per_pc: 'once' }, active: { from: '2026-06-10', until: '2026-06-01' } }),
    ).toEqual(['active.until: active.until must be after active.from']);
  });

  it('reader keeps what a newer writer stored and drops unknown keys', () => {
    const r = ScheduleRecord.parse({
      ...base,
      when: { per_pc: { every: '6h', splay: '5m' } },
      target: { all: true, labels: ['x'] },
      future_field: 1,
    });
    expect(r).toMatchObject({ id: 'nightly', when: { per_pc: { every: '6h' } }, target: { all: true } });
    expect(r).not.toHaveProperty('future_field');
    expect(r.target).not.toHaveProperty('labels');
  });

  it('has a JSON Schema whose when is a singleton map', () => {
    const js = scheduleJsonSchema() as {
      properties: Record<string, Record<string, unknown>>;
      required: string[];
    };
    expect(js.required).toEqual(expect.arrayContaining(['id', 'job_id', 'when']));
    expect(js.properties.when).toMatchObject({
      minProperties: 1,
      maxProperties: 1,
      additionalProperties: false,
    });
    expect(Object.keys(js.properties.when!.properties as object)).toEqual([
      'per_pc',
      'per_target',
      'calendar',
      'on',
    ]);
  });

  it('describes when as upstream logs it', () => {
    expect(describeWhen({ per_pc: { every: '6h' } })).toBe('per_pc: every 6h');
    expect(describeWhen({ calendar: { at: '09:00', days: ['mon-fri'] } })).toBe('calendar: 09:00 mon-fri');
  });

  it('parses calendar times with -, / and T separators', () => {
    expect(parseCalendarAt('07:05')).toEqual({ kind: 'daily', hour: 7, minute: 5 });
    expect(parseCalendarAt('2026/06/10T09:30')).toEqual({
      kind: 'once',
      year: 2026,
      month: 6,
      day: 10,
      hour: 9,
      minute: 30,
    });
    expect(parseCalendarAt('2026-02-29 09:30')).toBeUndefined();
  });
});

describe('lowering', () => {
  it('reconcile shapes poll every minute with the every as cooldown', () => {
    expect(lower({ per_pc: 'once' })).toEqual({ cron: POLL_CRON, mode: 'once_per_pc', cooldownMs: null });
    expect(lower({ per_target: { every: '6h' } })).toEqual({
      cron: '0 * * * * *',
      mode: 'once_per_target',
      cooldownMs: 6 * 3_600_000,
    });
    expect(lower({ per_pc: { every: '2s' } }, '* * * * * *').cron).toBe('* * * * * *');
  });

  it('calendar shapes become 6-field repeating or 7-field one-shot patterns; on has none', () => {
    expect(lower({ calendar: { at: '09:30', days: ['mon-fri'] } })).toEqual({
      cron: '0 30 9 * * mon-fri',
      mode: 'every_tick',
      cooldownMs: null,
    });
    expect(lower({ calendar: { at: '23:05' } }).cron).toBe('0 5 23 * * *');
    expect(lower({ calendar: { at: '2026-06-10 09:00' } }).cron).toBe('0 0 9 10 6 * 2026');
    expect(lower({ on: ['startup'] })).toEqual({ cron: null, mode: 'event', cooldownMs: null });
  });

  it('days: ranges, lists, the nth weekday and the last one', () => {
    const utc = (days: string[]) => schedule({ when: { calendar: { at: '09:00', days } }, tz: 'utc' });
    const from = at('2026-03-01T00:00:00Z'); // a Sunday
    expect(iso(nextFires(utc(['mon-fri']), from, 6))).toEqual([
      '2026-03-02T09:00:00.000Z',
      '2026-03-03T09:00:00.000Z',
      '2026-03-04T09:00:00.000Z',
      '2026-03-05T09:00:00.000Z',
      '2026-03-06T09:00:00.000Z',
      '2026-03-09T09:00:00.000Z',
    ]);
    expect(iso(nextFires(utc(['tue#2']), from, 3))).toEqual([
      '2026-03-10T09:00:00.000Z',
      '2026-04-14T09:00:00.000Z',
      '2026-05-12T09:00:00.000Z',
    ]);
    expect(iso(nextFires(utc(['friL']), from, 3))).toEqual([
      '2026-03-27T09:00:00.000Z',
      '2026-04-24T09:00:00.000Z',
      '2026-05-29T09:00:00.000Z',
    ]);
    expect(iso(nextFires(utc(['mon', 'TUE#1', 'sunL']), from, 4))).toEqual([
      '2026-03-02T09:00:00.000Z',
      '2026-03-03T09:00:00.000Z',
      '2026-03-09T09:00:00.000Z',
      '2026-03-16T09:00:00.000Z',
    ]);
  });

  it('a one-shot fires once and then never', () => {
    const s = schedule({ when: { calendar: { at: '2026-06-10 09:00' } }, tz: 'utc' });
    expect(iso(nextFires(s, at('2026-01-01T00:00:00Z'), 5))).toEqual(['2026-06-10T09:00:00.000Z']);
    expect(nextFires(s, at('2026-06-10T09:00:00Z'), 5)).toEqual([]);
    expect(previousFire(s, at('2026-06-10T09:00:00Z'))).toBe(at('2026-06-10T09:00:00Z'));
    expect(previousFire(s, at('2026-06-10T08:59:59Z'))).toBeUndefined();
  });

  it('follows the wall clock across DST changes in a pinned zone', () => {
    const s = schedule({ when: { calendar: { at: '02:30' } } });
    // New York springs forward on 2026-03-08 (02:00 -> 03:00): 02:30 does not exist, the fire moves to 03:00 EDT.
    expect(iso(nextFires(s, at('2026-03-07T00:00:00Z'), 3, { zone: 'America/New_York' }))).toEqual([
      '2026-03-07T07:30:00.000Z',
      '2026-03-08T07:00:00.000Z',
      '2026-03-09T06:30:00.000Z',
    ]);
    // ... and falls back on 2026-11-01: 01:30 happens twice, the schedule fires once.
    const early = schedule({ when: { calendar: { at: '01:30' } } });
    expect(iso(nextFires(early, at('2026-10-31T00:00:00Z'), 3, { zone: 'America/New_York' }))).toEqual([
      '2026-10-31T05:30:00.000Z',
      '2026-11-01T05:30:00.000Z',
      '2026-11-02T06:30:00.000Z',
    ]);
    // Europe/Berlin, same local 09:00 on both sides of its change (UTC+1 -> UTC+2 on 2026-03-29).
    const nine = schedule({ when: { calendar: { at: '09:00' } } });
    expect(iso(nextFires(nine, at('2026-03-28T00:00:00Z'), 2, { zone: 'Europe/Berlin' }))).toEqual([
      '2026-03-28T08:00:00.000Z',
      '2026-03-29T07:00:00.000Z',
    ]);
  });

  it('tz utc ignores the host zone', () => {
    const s = schedule({ when: { calendar: { at: '09:00' } }, tz: 'utc' });
    expect(iso(nextFires(s, at('2026-03-28T00:00:00Z'), 2))).toEqual([
      '2026-03-28T09:00:00.000Z',
      '2026-03-29T09:00:00.000Z',
    ]);
  });

  it("croner's verdict on a pattern is a 400 for the field", () => {
    expect(whenProblem(schedule({ when: { calendar: { at: '09:00', days: ['mon-fri'] } } }))).toBeUndefined();
    expect(whenProblem(schedule({ when: { calendar: { at: '09:00', days: ['fri-mon'] } } }))).toMatchObject({
      path: 'when.calendar.days',
    });
  });
});

describe('gates', () => {
  const tokyo = 'Asia/Tokyo';

  it('reads the wall clock of the zone', () => {
    expect(wallClock(at('2026-03-01T15:30:00Z'), tokyo)).toEqual({ date: '2026-03-02', minutes: 30 });
    expect(wallClock(at('2026-03-01T15:30:00Z'), 'Etc/UTC')).toEqual({ date: '2026-03-01', minutes: 930 });
  });

  it('active: half-open, dates at 00:00 of the zone, instants as given', () => {
    const active = { from: '2026-03-02', until: '2026-03-03' };
    expect(activeContains(active, at('2026-03-01T14:59:59Z'), tokyo)).toBe(false); // 23:59:59 on the 1st in Tokyo
    expect(activeContains(active, at('2026-03-01T15:00:00Z'), tokyo)).toBe(true); // 00:00 on the 2nd
    expect(activeContains(active, at('2026-03-02T14:59:59Z'), tokyo)).toBe(true);
    expect(activeContains(active, at('2026-03-02T15:00:00Z'), tokyo)).toBe(false); // until is exclusive
    const instants = { from: '2026-03-02T10:00:00+09:00', until: '2026-03-02T11:00:00Z' };
    expect(activeContains(instants, at('2026-03-02T00:59:59Z'), 'Etc/UTC')).toBe(false);
    expect(activeContains(instants, at('2026-03-02T01:00:00Z'), 'Etc/UTC')).toBe(true);
    expect(activeContains(instants, at('2026-03-02T11:00:00Z'), 'Etc/UTC')).toBe(false);
    expect(activeContains(undefined, 0, undefined)).toBe(true);
  });

  it('maintenance window: start inclusive, end exclusive, wrapping past midnight', () => {
    expect(inWindow('09:00-17:00', 9 * 60)).toBe(true);
    expect(inWindow('09:00-17:00', 17 * 60)).toBe(false);
    expect(inWindow('22:00-05:00', 23 * 60)).toBe(true);
    expect(inWindow('22:00-05:00', 4 * 60 + 59)).toBe(true);
    expect(inWindow('22:00-05:00', 5 * 60)).toBe(false);
    expect(inWindow('22:00-05:00', 12 * 60)).toBe(false);
  });

  it('skip dates are wall-clock dates of the zone', () => {
    const c = { skip_dates: ['2026-03-02'] };
    expect(constraintsAllow(c, at('2026-03-01T14:59:00Z'), tokyo)).toBe(true);
    expect(constraintsAllow(c, at('2026-03-01T15:00:00Z'), tokyo)).toBe(false);
    expect(constraintsAllow(c, at('2026-03-01T15:00:00Z'), 'Etc/UTC')).toBe(true);
  });

  it('checks freeze, then active, then the window', () => {
    const s = schedule({
      when: { calendar: { at: '09:00' } },
      active: { until: '2026-01-01' },
      constraints: { window: '22:00-05:00' },
    });
    const t = at('2026-06-01T12:00:00Z');
    expect(gate(s, true, t, 'Etc/UTC')).toBe('frozen');
    expect(gate(s, false, t, 'Etc/UTC')).toBe('inactive');
    expect(gate({ ...s, active: null }, false, t, 'Etc/UTC')).toBe('outside_window');
    expect(gate({ ...s, active: null }, false, at('2026-06-01T23:00:00Z'), 'Etc/UTC')).toBeUndefined();
  });

  it('preview skips instants the gates refuse', () => {
    const s = schedule({
      when: { calendar: { at: '09:00', days: ['mon-fri'] } },
      tz: 'utc',
      constraints: { skip_dates: ['2026-03-03'] },
      active: { until: '2026-03-06' },
    });
    expect(iso(nextFires(s, at('2026-03-01T00:00:00Z'), 10))).toEqual([
      '2026-03-02T09:00:00.000Z',
      '2026-03-04T09:00:00.000Z',
      '2026-03-05T09:00:00.000Z',
    ]);
    const never = schedule({
      when: { calendar: { at: '09:00' } },
      tz: 'utc',
      constraints: { window: '22:00-05:00' },
    });
    expect(nextFires(never, at('2026-03-01T00:00:00Z'), 3)).toEqual([]);
  });
});

describe('freeze and dispatch keys', () => {
  const bytes = (s: string) => new TextEncoder().encode(s);

  it('absent is not frozen, {} is frozen until lifted, a window is half-open, corrupt is frozen', () => {
    expect(isFrozen(freezeStateOf(undefined), 0)).toBe(false);
    expect(isFrozen(freezeStateOf(bytes('{}')), 0)).toBe(true);
    const w = freezeStateOf(
      bytes('{"from":"2026-03-01T00:00:00Z","until":"2026-03-02T00:00:00Z","reason":"x"}'),
    );
    expect(isFrozen(w, at('2026-02-28T23:59:59Z'))).toBe(false);
    expect(isFrozen(w, at('2026-03-01T00:00:00Z'))).toBe(true);
    expect(isFrozen(w, at('2026-03-02T00:00:00Z'))).toBe(false);
    expect(freezeStateOf(bytes('{not json'))).toEqual({ kind: 'corrupt' });
    expect(isFrozen(freezeStateOf(bytes('{"from":"yesterday"}')), 0)).toBe(true);
    expect(isFrozen(freezeStateOf(bytes('[1,2]')), 0)).toBe(true);
  });

  it('dispatch marks are length-prefixed as upstream, in a lazy bucket with a one-hour max age', () => {
    expect(dispatchKey.pc('patch', 'pc-01')).toBe('pc.5.patch.5.pc-01');
    expect(dispatchKey.target('a.b')).toBe('target.3.a.b');
    expect(dispatchKey.pc('a.5.b', 'c')).not.toBe(dispatchKey.pc('a', 'b.1.c'));
    expect(LAZY_KV_BUCKETS.find((b) => b.name === KV.SCHEDULER_DISPATCH)).toEqual({
      name: 'scheduler_dispatch',
      history: 1,
      maxAgeMs: 3_600_000,
    });
    expect(LAZY_KV_BUCKETS.filter((b) => b.name.startsWith('scheduler_'))).toEqual([
      { name: 'scheduler_dispatch', history: 1, maxAgeMs: 3_600_000 },
      { name: 'scheduler_lease', history: 1, maxAgeMs: SCHEDULER_LEASE_TTL_MS },
      { name: 'scheduler_fires', history: 1, maxAgeMs: 0 },
    ]);
  });
});

describe('YAML mirror', () => {
  it('patches the enabled: line and keeps comments and layout', () => {
    const src = '# nightly patrol\nid: nightly\nenabled: true   # flip me\nwhen:\n  per_pc: once\n';
    expect(patchEnabledLine(src, false)).toBe(
      '# nightly patrol\nid: nightly\nenabled: false   # flip me\nwhen:\n  per_pc: once\n',
    );
    expect(patchEnabledLine('id: x\nwhen:\n  enabled: 1\n', false)).toBe(
      'id: x\nwhen:\n  enabled: 1\nenabled: false\n',
    );
    expect(patchEnabledLine('{id: x}', false)).toContain('enabled: false');
  });
});
