// The scheduler's rules as pure functions (upstream `scheduler/policy.rs` and
// the gates of `scheduler::tick`), so each boundary is pinned by a unit test
// without a broker: the wall-clock gates (active window, maintenance window,
// skip dates) read in the schedule's time zone, the fire decision of the
// reconcile shapes, the in-flight suppression by dispatch marks, and the
// max_concurrent cap.
//
// One refinement over upstream: a dispatch mark is ignored once the PC (or,
// for per_target, the target) has a successful completion at or after the
// mark. Upstream's own comment says the completion-based cooldown "takes back
// over the moment a completion is recorded"; with a cooldown longer than the
// suppression window that is what happens anyway, and with a shorter one it
// keeps the mark from muting an `every` the completion already re-armed.
import { type ActiveBound, parseActiveBound, parseDuration, parseWindow, type Schedule } from '@kanade/wire';

// ---------------------------------------------------------------------------
// Wall clock in a time zone. `zone` undefined = the host's local zone (what
// `tz: local` means for the backend); tests pass IANA names.

export interface WallClock {
  /** YYYY-MM-DD */
  date: string;
  /** Minutes after midnight. */
  minutes: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

export function wallClock(ms: number, zone: string | undefined): WallClock {
  const key = zone ?? '';
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone: zone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(key, f);
  }
  const p: Record<string, string> = {};
  for (const part of f.formatToParts(ms)) p[part.type] = part.value;
  return { date: `${p.year}-${p.month}-${p.day}`, minutes: Number(p.hour) * 60 + Number(p.minute) };
}

function before(now: number, clock: WallClock, b: ActiveBound): boolean {
  return b.kind === 'date' ? clock.date < b.date : now < b.ms;
}

/** `active: {from, until}`, half-open; a date bound is that day's 00:00 in the zone. */
export function activeContains(active: Schedule['active'], now: number, zone: string | undefined): boolean {
  if (!active || (!active.from && !active.until)) return true;
  const clock = wallClock(now, zone);
  const from = active.from ? parseActiveBound(active.from) : undefined;
  const until = active.until ? parseActiveBound(active.until) : undefined;
  if (from && before(now, clock, from)) return false;
  if (until && !before(now, clock, until)) return false;
  return true;
}

/** `HH:MM-HH:MM`, start inclusive, end exclusive; start > end wraps past midnight. A bad window never allows. */
export function inWindow(window: string, minutes: number): boolean {
  const w = parseWindow(window);
  if (!w) return false;
  return w.start < w.end ? minutes >= w.start && minutes < w.end : minutes >= w.start || minutes < w.end;
}

/** `constraints.window` and `constraints.skip_dates` at `now` in the zone. */
export function constraintsAllow(c: Schedule['constraints'], now: number, zone: string | undefined): boolean {
  if (!c || (!c.window && !c.skip_dates?.length)) return true;
  const clock = wallClock(now, zone);
  if (c.skip_dates?.includes(clock.date)) return false;
  return !c.window || inWindow(c.window, clock.minutes);
}

export type GateVerdict = 'frozen' | 'inactive' | 'outside_window' | undefined;

/** Upstream's gates, in its order: freeze, then `active`, then `constraints` (window, skip dates). */
export function gate(s: Schedule, frozen: boolean, now: number, zone: string | undefined): GateVerdict {
  if (frozen) return 'frozen';
  if (!activeContains(s.active, now, zone)) return 'inactive';
  if (!constraintsAllow(s.constraints, now, zone)) return 'outside_window';
  return undefined;
}

// ---------------------------------------------------------------------------
// Fire decision of the reconcile shapes (upstream `decide_fire`).

export type ExecMode = 'every_tick' | 'once_per_pc' | 'once_per_target' | 'event';

/** A successful run (exit 0) of the job on a PC. */
export interface Completion {
  pcId: string;
  finishedAt: number;
}

export type FireAction = { kind: 'skip' } | { kind: 'whole_target' } | { kind: 'pcs'; pcs: string[] };

function latestPerPc(completions: readonly Completion[]): Map<string, number> {
  const last = new Map<string, number>();
  for (const c of completions) {
    const t = last.get(c.pcId);
    if (t === undefined || c.finishedAt > t) last.set(c.pcId, c.finishedAt);
  }
  return last;
}

/**
 * `expected` is the alive dispatch set; `roster` the full target membership
 * (alive or not), which only once_per_target reads (upstream #912: a member
 * that completed and then went offline keeps the target muted). A null
 * cooldown (`once`) means one success is enough forever. Elapsed >= cooldown
 * re-arms.
 */
export function decideFire(
  mode: ExecMode,
  cooldownMs: number | null,
  expected: readonly string[],
  roster: readonly string[],
  completions: readonly Completion[],
  now: number,
): FireAction {
  const armed = (t: number | undefined) => t === undefined || (cooldownMs !== null && now - t >= cooldownMs);
  switch (mode) {
    case 'every_tick':
      return { kind: 'whole_target' };
    case 'event':
      return { kind: 'skip' };
    case 'once_per_pc': {
      const last = latestPerPc(completions);
      const pcs = expected.filter((pc) => armed(last.get(pc)));
      return pcs.length ? { kind: 'pcs', pcs } : { kind: 'skip' };
    }
    case 'once_per_target': {
      const members = new Set(roster);
      let latest: number | undefined;
      for (const c of completions) {
        if (members.has(c.pcId) && (latest === undefined || c.finishedAt > latest)) latest = c.finishedAt;
      }
      return armed(latest) && expected.length > 0 ? { kind: 'whole_target' } : { kind: 'skip' };
    }
  }
}

/**
 * How long a dispatch mark suppresses a re-fire (upstream): the round trip of
 * a run, clamp(jitter + timeout + 90 s, 90 s, 30 min), plus the retry budget
 * max x (timeout + backoff).
 */
export function suppressionWindowMs(
  jitterMs: number,
  timeoutMs: number,
  retry?: { max: number; backoffMs: number },
): number {
  const base = Math.min(Math.max(jitterMs + timeoutMs + 90_000, 90_000), 30 * 60_000);
  return base + (retry ? retry.max * (timeoutMs + retry.backoffMs) : 0);
}

/** The suppression window of a schedule whose job times out after `timeoutMs`. */
export function scheduleSuppressionMs(s: Schedule, timeoutMs: number): number {
  const retry = s.on_failure?.retry;
  return suppressionWindowMs(
    s.jitter ? (parseDuration(s.jitter) ?? 0) : 0,
    timeoutMs,
    retry ? { max: retry.max, backoffMs: parseDuration(retry.backoff) ?? 0 } : undefined,
  );
}

/**
 * Upstream `suppress_dispatched`: drop every PC (or the whole target) whose
 * last dispatch is younger than `windowMs`; elapsed >= window re-arms.
 */
export function suppressDispatched(
  action: FireAction,
  pcMarks: ReadonlyMap<string, number>,
  targetMark: number | undefined,
  windowMs: number,
  now: number,
): FireAction {
  const fresh = (t: number | undefined) => t !== undefined && now - t < windowMs;
  if (action.kind === 'whole_target') return fresh(targetMark) ? { kind: 'skip' } : action;
  if (action.kind !== 'pcs') return action;
  const pcs = action.pcs.filter((pc) => !fresh(pcMarks.get(pc)));
  return pcs.length ? { kind: 'pcs', pcs } : { kind: 'skip' };
}

/** The marks still in flight: a mark is settled by a completion at or after it (see the header). */
export function unsettledMarks(
  pcMarks: ReadonlyMap<string, number>,
  targetMark: number | undefined,
  completions: readonly Completion[],
): { pcMarks: Map<string, number>; targetMark: number | undefined } {
  const last = latestPerPc(completions);
  const pcs = new Map<string, number>();
  for (const [pc, at] of pcMarks) {
    const done = last.get(pc);
    if (done === undefined || done < at) pcs.set(pc, at);
  }
  let newest: number | undefined;
  for (const t of last.values()) if (newest === undefined || t > newest) newest = t;
  const target =
    targetMark !== undefined && (newest === undefined || newest < targetMark) ? targetMark : undefined;
  return { pcMarks: pcs, targetMark: target };
}

/**
 * `constraints.max_concurrent`: with `inFlight` runs of the job unfinished,
 * a per-PC fire keeps the first (max - inFlight) PCs (upstream
 * `cap_pcs_to_slots`); a whole-target fire, which cannot be split, waits
 * until a slot is free.
 */
export function capToSlots(action: FireAction, max: number | null | undefined, inFlight: number): FireAction {
  if (!max || action.kind === 'skip') return action;
  const free = max - inFlight;
  if (free <= 0) return { kind: 'skip' };
  if (action.kind === 'pcs') return { kind: 'pcs', pcs: action.pcs.slice(0, free) };
  return action;
}
