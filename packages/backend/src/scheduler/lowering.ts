// `when` lowered to what the engine runs (upstream `Schedule::lowered`): a
// croner pattern, an exec mode and a cooldown. Pure (croner computes dates,
// it starts no timer here), so preview, status and the unit tests use the
// same functions as the live scheduler.
//
// - per_pc / per_target poll every minute (POLL_CRON, 6 fields with
//   seconds) with a completion-based cooldown = `every` (`once` = none).
// - calendar `at: "HH:MM"` + days -> `0 m h * * <days>`; a dated `at` is a
//   one-shot -> `0 m h D M * YYYY` (7 fields). Day specs go verbatim into the
//   day-of-week field, which croner reads with names, ranges, `#n` and `L`.
// - on: [...] has no cron: agents fire it.
//
// Time zones: `tz: utc` is croner's `Etc/UTC`; `tz: local` is the host's
// zone (no timezone option). The functions take the zone as a parameter so
// tests can pin an IANA zone across a DST change.
import { parseCalendarAt, parseDuration, type Schedule, type ScheduleWhen } from '@kanade/wire';
import { Cron } from 'croner';
import { type ExecMode, gate } from './policy.js';

/** Every minute at second 0 (upstream POLL_CRON). */
export const POLL_CRON = '0 * * * * *';

export interface Lowered {
  /** Croner pattern, or null for agent-only event triggers. */
  cron: string | null;
  mode: ExecMode;
  /** Re-arm interval of the reconcile shapes; null = `once` (or not a reconcile shape). */
  cooldownMs: number | null;
}

export function lower(when: ScheduleWhen, pollCron = POLL_CRON): Lowered {
  const per = when.per_pc ?? when.per_target;
  if (per !== undefined) {
    return {
      cron: pollCron,
      mode: when.per_pc !== undefined ? 'once_per_pc' : 'once_per_target',
      cooldownMs: per === 'once' ? null : (parseDuration(per.every) ?? null),
    };
  }
  if (when.calendar) {
    const at = parseCalendarAt(when.calendar.at);
    if (!at) throw new RangeError(`not a calendar time: ${when.calendar.at}`);
    const days = when.calendar.days?.length ? when.calendar.days.map((d) => d.trim()).join(',') : '*';
    const cron =
      at.kind === 'daily'
        ? `0 ${at.minute} ${at.hour} * * ${days}`
        : `0 ${at.minute} ${at.hour} ${at.day} ${at.month} * ${at.year}`;
    return { cron, mode: 'every_tick', cooldownMs: null };
  }
  return { cron: null, mode: 'event', cooldownMs: null };
}

/** The croner zone of a schedule's `tz`. */
export function zoneOf(tz: Schedule['tz']): string | undefined {
  return tz === 'utc' ? 'Etc/UTC' : undefined;
}

/** A croner job for `pattern` in `zone`: paused (a calculator) unless `run` is given. */
export function cronOf(pattern: string, zone: string | undefined, run?: (self: Cron) => void): Cron {
  const opts = { mode: '6-or-7-parts' as const, ...(zone ? { timezone: zone } : {}) };
  return run
    ? new Cron(pattern, { ...opts, catch: true }, run)
    : new Cron(pattern, { ...opts, paused: true });
}

/**
 * What croner says of a schedule's `when`, as a 400 would phrase it: the path
 * of the offending field and why, or undefined when it lowers cleanly.
 */
export function whenProblem(s: Schedule): { path: string; message: string } | undefined {
  const l = lower(s.when);
  if (!l.cron || !s.when.calendar) return undefined;
  try {
    cronOf(l.cron, zoneOf(s.tz)).stop();
    return undefined;
  } catch (err) {
    const path = s.when.calendar.days?.length ? 'when.calendar.days' : 'when.calendar.at';
    return { path, message: (err as Error).message.replace(/^CronPattern: /, '') };
  }
}

export interface FireOptions {
  /** Override the zone of `tz` (tests pin an IANA zone). */
  zone?: string | undefined;
  frozen?: boolean;
}

/** The scheduled instants of a calendar schedule after `from`, skipping those its gates would refuse. */
export function nextFires(s: Schedule, from: number, count: number, opts: FireOptions = {}): number[] {
  const l = lower(s.when);
  if (l.mode !== 'every_tick' || !l.cron) return [];
  const zone = opts.zone ?? zoneOf(s.tz);
  const cron = cronOf(l.cron, zone);
  const out: number[] = [];
  let cursor = new Date(from);
  // Gates can refuse most instants (a window, skip dates); bound the walk so a schedule that never fires ends.
  for (let scanned = 0; out.length < count && scanned < 500; scanned += 50) {
    const batch = cron.nextRuns(50, cursor);
    for (const d of batch) {
      if (!gate(s, opts.frozen ?? false, d.getTime(), zone)) out.push(d.getTime());
      if (out.length === count) break;
    }
    if (batch.length < 50) break;
    cursor = batch[batch.length - 1]!;
  }
  cron.stop();
  return out;
}

/** The latest scheduled instant of a calendar schedule at or before `now`, if any. */
export function previousFire(s: Schedule, now: number, zone = zoneOf(s.tz)): number | undefined {
  const l = lower(s.when);
  if (l.mode !== 'every_tick' || !l.cron) return undefined;
  const cron = cronOf(l.cron, zone);
  const prev = cron.previousRuns(1, new Date(now + 1))[0];
  cron.stop();
  return prev?.getTime();
}
