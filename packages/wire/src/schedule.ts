// The Schedule (`schedules` KV), the fleet freeze (`fleet_config/freeze`)
// and the keys of the scheduler's dispatch marks, with upstream's field
// names (kanade-shared `manifest.rs`, `docs/schemas/schedule.schema.json`).
//
// As with the manifest, one definition gives two schemas: the writer
// (`Schedule`) rejects unknown keys at every level and checks upstream's
// cross-field rules (`Schedule::validate`), so a typo is a 400 naming its
// path; the reader (`ScheduleRecord`) strips unknown keys, because the bucket
// is shared with upstream backends and agents that may be newer (#492). The
// fan-out fields (target, rollout, jitter, deadline_at) are the FanoutPlan's,
// flattened in, and the plan's own rule (a target or waves) applies.
//
// `when` is a singleton map. It is declared as an object of four optional
// keys that must hold exactly one, rather than a union of four objects, so a
// mistake inside it is reported at its own path (`when.calendar.at`) instead
// of as "no union member matched"; the JSON Schema says the same thing with
// min/maxProperties 1. Time-of-day and date fields are strings checked here
// by shape; the backend lowers them to croner patterns, which is the final
// check of a `days` spec.
import { z } from 'zod';
import { parseDuration } from './duration.js';
import { FanoutPlan, Rollout, Target, Wave } from './manifest.js';
import { isRfc3339, parseRfc3339 } from './time.js';

/** Schedule and job ids are KV keys and audit subject tokens (the manifest id rule). */
const ID_RE = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
const DOW = `(?:${DAY_NAMES.join('|')}|[0-7])`;
/** One `days` entry: a day, a range (`mon-fri`), the nth weekday (`tue#2`) or the last one (`friL`). */
const DAY_SPEC_RE = new RegExp(`^(?:${DOW}(?:-${DOW})?|${DOW}#[1-5]|${DOW}L)$`, 'i');
const HHMM_RE = /^([01]\d|2[0-3]):([0-5]\d)$/;
const DATE_TIME_RE = /^(\d{4})[-/](\d{2})[-/](\d{2})[ T]([01]\d|2[0-3]):([0-5]\d)$/;
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

export type CalendarAt =
  | { kind: 'daily'; hour: number; minute: number }
  | { kind: 'once'; year: number; month: number; day: number; hour: number; minute: number };

function validDate(y: number, m: number, d: number): boolean {
  const t = new Date(Date.UTC(y, m - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
}

/** `HH:MM` (repeating) or `YYYY-MM-DD HH:MM` (one-shot; `/` and `T` separators accepted). */
export function parseCalendarAt(at: string): CalendarAt | undefined {
  const t = HHMM_RE.exec(at.trim());
  if (t) return { kind: 'daily', hour: Number(t[1]), minute: Number(t[2]) };
  const d = DATE_TIME_RE.exec(at.trim());
  if (!d) return undefined;
  const [year, month, day, hour, minute] = d.slice(1).map(Number) as [number, number, number, number, number];
  return validDate(year, month, day) ? { kind: 'once', year, month, day, hour, minute } : undefined;
}

/** Minutes after midnight of each end of `HH:MM-HH:MM`; `start > end` wraps past midnight. */
export function parseWindow(w: string): { start: number; end: number } | undefined {
  const m = /^\s*(\d{2}:\d{2})\s*-\s*(\d{2}:\d{2})\s*$/.exec(w);
  const a = m ? HHMM_RE.exec(m[1]!) : null;
  const b = m ? HHMM_RE.exec(m[2]!) : null;
  if (!a || !b) return undefined;
  const start = Number(a[1]) * 60 + Number(a[2]);
  const end = Number(b[1]) * 60 + Number(b[2]);
  return start === end ? undefined : { start, end };
}

export function isDate(s: string): boolean {
  const m = DATE_RE.exec(s);
  return m !== null && validDate(Number(m[1]), Number(m[2]), Number(m[3]));
}

export function isDaySpec(s: string): boolean {
  return DAY_SPEC_RE.test(s.trim());
}

/** An `active` bound: a wall-clock date (00:00 in the schedule's tz) or an RFC 3339 instant. */
export type ActiveBound = { kind: 'date'; date: string } | { kind: 'instant'; ms: number };

export function parseActiveBound(s: string): ActiveBound | undefined {
  if (isDate(s)) return { kind: 'date', date: s };
  const ms = parseRfc3339(s);
  return Number.isNaN(ms) ? undefined : { kind: 'instant', ms };
}

const duration = (minMs: number) =>
  z
    .string()
    .max(64)
    .refine(
      (s) => {
        const ms = parseDuration(s);
        return ms !== undefined && ms >= minMs;
      },
      { message: `expected a duration of at least ${minMs / 1000}s such as 30s, 5m or 6h` },
    );
const opt = <T extends z.ZodType>(t: T) => t.nullish();
const id = (what: string) =>
  z
    .string()
    .min(1)
    .max(128)
    .regex(ID_RE, `${what}: letters, digits, _ and - in dot-separated parts (it is a KV key)`);

export const SCHEDULE_TZ = ['local', 'utc'] as const;
export const ON_TRIGGERS = ['startup', 'logon', 'lock', 'unlock', 'network_change'] as const;
export const WHEN_KEYS = ['per_pc', 'per_target', 'calendar', 'on'] as const;

type ObjectFactory = typeof z.object;

function build(strict: boolean) {
  const o: ObjectFactory = strict ? (z.strictObject as unknown as ObjectFactory) : z.object;

  const Every = o({ every: duration(1000) });
  const PerPolicy = z.union([z.literal('once'), Every], {
    error: 'expected once or {every: <duration such as 6h>}',
  });
  const Calendar = o({
    at: z
      .string()
      .max(32)
      .refine(
        (s) => parseCalendarAt(s) !== undefined,
        'expected "HH:MM" or "YYYY-MM-DD HH:MM" (24-hour clock)',
      ),
    days: z
      .array(
        z
          .string()
          .max(32)
          .refine(isDaySpec, 'expected a day such as mon, a range such as mon-fri, tue#2 or friL'),
      )
      .max(64)
      .optional(),
  });
  const When = o({
    per_pc: PerPolicy.optional(),
    per_target: PerPolicy.optional(),
    calendar: Calendar.optional(),
    on: z.array(z.enum(ON_TRIGGERS)).min(1, 'list at least one event').max(8).optional(),
  })
    .meta({ minProperties: 1, maxProperties: 1 })
    .refine((w) => WHEN_KEYS.filter((k) => w[k] !== undefined).length === 1, {
      message: 'must hold exactly one of per_pc, per_target, calendar or on',
    });

  const bound = z
    .string()
    .max(64)
    .refine((s) => parseActiveBound(s) !== undefined, 'expected YYYY-MM-DD or an RFC 3339 timestamp');
  const Active = o({ from: opt(bound), until: opt(bound) });
  const Require = o({
    ac_power: z.boolean().optional(),
    idle: opt(duration(1000)),
    cpu_below: opt(z.number().min(0).max(100)),
    network: z.boolean().optional(),
  });
  const Constraints = o({
    window: opt(
      z
        .string()
        .max(32)
        .refine((s) => parseWindow(s) !== undefined, 'expected "HH:MM-HH:MM" with two different times'),
    ),
    max_concurrent: opt(z.number().int().min(1).max(1_000_000)),
    skip_dates: z.array(z.string().refine(isDate, 'expected a date YYYY-MM-DD')).max(1000).optional(),
    require: opt(Require),
  });
  const OnFailure = o({
    retry: opt(o({ max: z.number().int().min(1).max(10), backoff: duration(0) })),
  });

  const plan = strict
    ? FanoutPlan.shape
    : {
        target: Target.strip().default({ all: false, groups: [], pcs: [] }),
        rollout: opt(Rollout.extend({ waves: z.array(Wave.strip()).min(1).max(100) }).strip()),
        jitter: opt(z.string()),
        deadline_at: opt(z.string()),
      };

  const Schedule = o({
    id: id('id'),
    job_id: id('job_id'),
    when: When,
    ...plan,
    tz: z.enum(SCHEDULE_TZ).default('local'),
    active: opt(Active),
    constraints: opt(Constraints),
    on_failure: opt(OnFailure),
    runs_on: z.enum(['backend', 'agent']).default('backend'),
    starting_deadline: opt(duration(1000)),
    enabled: z.boolean().default(true),
    tags: z.array(z.string().max(128)).max(64).optional(),
  });
  return { Schedule, When };
}

const writer = build(true);
const reader = build(false);

export type Schedule = z.infer<typeof writer.Schedule>;
export type ScheduleWhen = Schedule['when'];

/** Upstream `Schedule::validate`: the rules that span fields, checked at the write boundary. */
function validateSchedule(s: Schedule, ctx: z.RefinementCtx) {
  const plan = FanoutPlan.safeParse({
    target: s.target,
    rollout: s.rollout,
    jitter: s.jitter,
    deadline_at: s.deadline_at,
  });
  for (const issue of plan.success ? [] : plan.error.issues) {
    ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
  }
  const agent = s.runs_on === 'agent';
  if (s.when.on && !agent) {
    ctx.addIssue({
      code: 'custom',
      path: ['when', 'on'],
      message: 'event triggers (when.on) fire on the agent: set runs_on: agent',
    });
  }
  if (s.when.per_target && agent) {
    ctx.addIssue({
      code: 'custom',
      path: ['when', 'per_target'],
      message: 'per_target needs fleet-wide completions, so it runs on the backend only (runs_on: backend)',
    });
  }
  if (s.constraints?.max_concurrent && agent) {
    ctx.addIssue({
      code: 'custom',
      path: ['constraints', 'max_concurrent'],
      message: 'max_concurrent needs a central counter, so it runs on the backend only (runs_on: backend)',
    });
  }
  if (s.constraints?.require && !agent) {
    ctx.addIssue({
      code: 'custom',
      path: ['constraints', 'require'],
      message: 'require is sensed on the host, so it needs runs_on: agent',
    });
  }
  const cal = s.when.calendar;
  if (cal?.days?.length && parseCalendarAt(cal.at)?.kind === 'once') {
    ctx.addIssue({
      code: 'custom',
      path: ['when', 'calendar', 'days'],
      message: 'a dated at (one-shot) already pins the day: leave days out',
    });
  }
  const from = s.active?.from ? parseActiveBound(s.active.from) : undefined;
  const until = s.active?.until ? parseActiveBound(s.active.until) : undefined;
  if (from && until && from.kind === until.kind) {
    const ordered =
      from.kind === 'date' ? from.date < (until as typeof from).date : from.ms < (until as typeof from).ms;
    if (!ordered) {
      ctx.addIssue({
        code: 'custom',
        path: ['active', 'until'],
        message: 'active.until must be after active.from',
      });
    }
  }
}

/** Writer schema of a schedule: unknown keys rejected, upstream's cross-field rules checked. */
export const Schedule = writer.Schedule.superRefine(validateSchedule);
/** Reader schema for schedules already in the `schedules` bucket (unknown keys stripped). */
export const ScheduleRecord: z.ZodType<Schedule> = reader.Schedule as unknown as z.ZodType<Schedule>;

/** JSON Schema (draft 2020-12) of a schedule as an author writes it, for editors and `/api/schemas/schedule.json`. */
export function scheduleJsonSchema(): Record<string, unknown> {
  return {
    title: 'Schedule',
    description:
      'kanade schedule (the `schedules` KV value): when to run which job on which target. ' +
      'Durations are humantime strings such as 30s or 6h; wall-clock fields are read in `tz`.',
    ...z.toJSONSchema(writer.Schedule, { io: 'input', target: 'draft-2020-12' }),
  };
}

/** `when` as upstream prints it in logs and lists (`per_pc: every 6h`, `calendar: 09:00 mon-fri`). */
export function describeWhen(w: ScheduleWhen): string {
  const per = (p: 'once' | { every: string }) => (p === 'once' ? 'once' : `every ${p.every}`);
  if (w.per_pc) return `per_pc: ${per(w.per_pc)}`;
  if (w.per_target) return `per_target: ${per(w.per_target)}`;
  if (w.calendar) return `calendar: ${[w.calendar.at, ...(w.calendar.days ?? [])].join(' ')}`;
  return `on: ${(w.on ?? []).join(', ')}`;
}

// ---------------------------------------------------------------------------
// Freeze (`fleet_config/freeze`): key absent = not frozen; `{}` = frozen until
// lifted; a value that does not decode counts as frozen (fail-safe).

export const FREEZE_KEY = 'freeze';

const FreezeWindow = z.strictObject({
  from: opt(
    z.string().max(64).refine(isRfc3339, 'expected an RFC 3339 timestamp such as 2026-05-01T10:00:00Z'),
  ),
  until: opt(
    z.string().max(64).refine(isRfc3339, 'expected an RFC 3339 timestamp such as 2026-05-01T10:00:00Z'),
  ),
  reason: opt(z.string().max(1024)),
});

/** Writer schema of `PUT /api/freeze`. */
export const Freeze = FreezeWindow.superRefine((f, ctx) => {
  if (f.from && f.until && parseRfc3339(f.from) >= parseRfc3339(f.until)) {
    ctx.addIssue({ code: 'custom', path: ['until'], message: 'until must be after from' });
  }
});
export type Freeze = z.infer<typeof FreezeWindow>;
const FreezeRecord = FreezeWindow.strip();

export type FreezeState = { kind: 'absent' } | { kind: 'set'; freeze: Freeze } | { kind: 'corrupt' };

/** The freeze as stored: absent, a window, or corrupt (unreadable JSON or bad bounds). */
export function freezeStateOf(value: Uint8Array | undefined): FreezeState {
  if (value === undefined) return { kind: 'absent' };
  try {
    const r = FreezeRecord.safeParse(JSON.parse(new TextDecoder().decode(value)));
    return r.success ? { kind: 'set', freeze: r.data } : { kind: 'corrupt' };
  } catch {
    return { kind: 'corrupt' };
  }
}

/** Whether the fleet is frozen at `now`: a window [from, until) with open ends, or a corrupt value. */
export function isFrozen(state: FreezeState, now: number): boolean {
  if (state.kind === 'absent') return false;
  if (state.kind === 'corrupt') return true;
  const { from, until } = state.freeze;
  return (!from || now >= parseRfc3339(from)) && (!until || now < parseRfc3339(until));
}

// ---------------------------------------------------------------------------
// Dispatch marks (`scheduler_dispatch`): length-prefixed so that no schedule
// id and pc_id pair can spell another pair's key. Lengths are UTF-8 bytes, as
// upstream's `str::len`. Values are the RFC 3339 dispatch instant.

const utf8Len = (s: string) => new TextEncoder().encode(s).length;

export const dispatchKey = {
  pc: (scheduleId: string, pcId: string) =>
    `pc.${utf8Len(scheduleId)}.${scheduleId}.${utf8Len(pcId)}.${pcId}`,
  target: (scheduleId: string) => `target.${utf8Len(scheduleId)}.${scheduleId}`,
};
