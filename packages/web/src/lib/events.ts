// Pure helpers of the Events page: the time window of a preset (hour
// presets end now; day presets start at local midnight, as upstream, so
// "7 days" means today and the six days before), the tri-state kind and
// source chips (include -> exclude -> off), and the "collapse duplicates"
// view that folds events a single action logs twice (Windows logs a UAC
// split-token logon as two events with the same time, kind and source).
import type { ObsEvent } from './types.js';

export const EVENT_PRESETS = ['1h', '6h', '24h', '7d', '30d'] as const;
export type EventPreset = (typeof EVENT_PRESETS)[number];
const HOUR = 3_600_000;

/** [from, to) of a preset at `now` (to undefined = open end). */
export function presetRange(p: EventPreset, now: number): { from: number; to?: number } {
  if (p.endsWith('h')) return { from: now - Number.parseInt(p, 10) * HOUR };
  const days = Number.parseInt(p, 10);
  const midnight = new Date(now);
  midnight.setHours(0, 0, 0, 0);
  midnight.setDate(midnight.getDate() - (days - 1));
  return { from: midnight.getTime() };
}

export type TriState = 'include' | 'exclude';

/** include -> exclude -> off. */
export function nextTri(s: TriState | undefined): TriState | undefined {
  return s === undefined ? 'include' : s === 'include' ? 'exclude' : undefined;
}

/** The include and exclude lists of a chip state map. */
export function triLists(state: ReadonlyMap<string, TriState>): { include: string[]; exclude: string[] } {
  const include: string[] = [];
  const exclude: string[] = [];
  for (const [k, v] of state) (v === 'include' ? include : exclude).push(k);
  return { include: include.sort(), exclude: exclude.sort() };
}

export interface Collapsed {
  event: ObsEvent;
  count: number;
}

/** Folds consecutive events of one PC with the same time (to the second), kind and source. */
export function collapseDuplicates(events: readonly ObsEvent[]): Collapsed[] {
  const out: Collapsed[] = [];
  const keyOf = (e: ObsEvent) => `${e.pc_id}\u0000${e.at.slice(0, 19)}\u0000${e.kind}\u0000${e.source}`;
  let lastKey = '';
  for (const e of events) {
    const k = keyOf(e);
    const last = out[out.length - 1];
    if (last && k === lastKey) last.count++;
    else out.push({ event: e, count: 1 });
    lastKey = k;
  }
  return out;
}
