// The fleet freeze (upstream `fleet_config/freeze`): while it is active every
// scheduler fire is skipped (the backend's here, and agents' local
// schedulers); operator exec and run still work. `{}` freezes until lifted,
// `{from, until}` plans a window. A stored value that does not decode counts
// as frozen, so a damaged key fails safe; GET says so (`corrupt: true`) and
// DELETE clears it. Bounds are stored as RFC 3339 UTC.
import {
  FREEZE_KEY,
  type Freeze,
  type FreezeState,
  freezeStateOf,
  isFrozen,
  KV,
  parseRfc3339,
  toRfc3339,
} from '@kanade/wire';
import type { AuditService, Caller } from './audit.js';
import type { KvAccess } from './kv.js';

export interface FreezeView {
  from: string | null;
  until: string | null;
  reason: string | null;
  /** Whether fires are being skipped now. */
  active: boolean;
  /** The stored value does not decode (it counts as frozen). */
  corrupt: boolean;
}

function view(state: FreezeState, now: number): FreezeView | null {
  if (state.kind === 'absent') return null;
  const f = state.kind === 'set' ? state.freeze : {};
  return {
    from: f.from ?? null,
    until: f.until ?? null,
    reason: f.reason ?? null,
    active: isFrozen(state, now),
    corrupt: state.kind === 'corrupt',
  };
}

export function createFreezeService(deps: { kv: KvAccess; audit: AuditService; now: () => number }) {
  const bucket = () => deps.kv.bucket(KV.FLEET_CONFIG);
  const utc = (s: string | null | undefined) => (s ? toRfc3339(parseRfc3339(s)) : undefined);

  return {
    /** The freeze, or null when none is set. */
    async get(): Promise<FreezeView | null> {
      const e = await (await bucket()).get(FREEZE_KEY);
      return view(freezeStateOf(e?.operation === 'PUT' ? e.value : undefined), deps.now());
    },

    async set(f: Freeze, caller: Caller): Promise<FreezeView> {
      const stored: Freeze = {
        ...(utc(f.from) ? { from: utc(f.from) } : {}),
        ...(utc(f.until) ? { until: utc(f.until) } : {}),
        ...(f.reason ? { reason: f.reason } : {}),
      };
      await (await bucket()).put(FREEZE_KEY, JSON.stringify(stored));
      await deps.audit.record({
        actor: 'operator',
        action: 'freeze_set',
        target: FREEZE_KEY,
        payload: stored,
        caller,
      });
      return view({ kind: 'set', freeze: stored }, deps.now())!;
    },

    async clear(caller: Caller): Promise<void> {
      await (await bucket()).delete(FREEZE_KEY);
      await deps.audit.record({ actor: 'operator', action: 'freeze_clear', target: FREEZE_KEY, caller });
    },
  };
}
export type FreezeService = ReturnType<typeof createFreezeService>;
