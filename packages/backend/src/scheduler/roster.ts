// Who a schedule's target covers. Two views, as upstream's scheduler needs:
// - roster: every member, alive or not (`all` = every registered agent,
//   groups = union of `agent_groups` and `agent_groups_derived`, `pcs` as
//   listed). per_target completion checks and coverage read it (#912).
// - expected: the roster members alive now (heartbeat within
//   ONLINE_THRESHOLD_MS), plus listed `pcs` unfiltered: whom a fire targets,
//   as the exec service resolves it.
// The group membership buckets are read whole (one watch each) and the map is
// kept for a few seconds, so a minute's burst of ticks reads them once.
import { KV, ONLINE_THRESHOLD_MS, type Target } from '@kanade/wire';
import { jsonOf, type KvAccess, readEntries } from '../services/kv.js';
import type { Store } from '../store/index.js';

const MEMBERSHIP_TTL_MS = 5_000;

export interface Roster {
  roster: string[];
  expected: string[];
}

export function createRosterResolver(store: Store, kv: KvAccess, now: () => number) {
  let membership: { at: number; groups: Promise<Map<string, Set<string>>> } | undefined;

  async function readMembership(): Promise<Map<string, Set<string>>> {
    const out = new Map<string, Set<string>>();
    for (const bucket of [KV.AGENT_GROUPS, KV.AGENT_GROUPS_DERIVED]) {
      for (const [pcId, value] of await readEntries(await kv.bucket(bucket))) {
        const groups = (jsonOf(value) as { groups?: unknown } | undefined)?.groups;
        if (!Array.isArray(groups)) continue;
        for (const g of groups) {
          if (typeof g !== 'string') continue;
          const members = out.get(g) ?? new Set<string>();
          members.add(pcId);
          out.set(g, members);
        }
      }
    }
    return out;
  }

  function groups(): Promise<Map<string, Set<string>>> {
    const t = now();
    if (!membership || t - membership.at > MEMBERSHIP_TTL_MS) {
      const p = readMembership();
      membership = { at: t, groups: p };
      p.catch(() => {
        membership = undefined;
      });
    }
    return membership.groups;
  }

  return {
    async resolve(target: Target): Promise<Roster> {
      const roster = new Set<string>(target.all ? store.schedules.allPcIds() : []);
      if (!target.all && target.groups.length > 0) {
        const members = await groups();
        for (const g of target.groups) for (const pc of members.get(g) ?? []) roster.add(pc);
      }
      const alive = new Set(store.executions.alivePcIds(now() - ONLINE_THRESHOLD_MS));
      const expected = new Set([...roster].filter((pc) => alive.has(pc)));
      for (const pc of target.pcs) {
        roster.add(pc);
        expected.add(pc);
      }
      return { roster: [...roster].sort(), expected: [...expected].sort() };
    },
  };
}
export type RosterResolver = ReturnType<typeof createRosterResolver>;
