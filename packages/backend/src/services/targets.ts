// Who is expected to answer an exec (upstream `resolve_expected_pcs`):
// `all` = every alive agent (heartbeat within ONLINE_THRESHOLD_MS), a group =
// its alive members (union of the operator's `agent_groups` and the
// materialized `agent_groups_derived`), `pcs` = the listed PCs with no
// liveness filter. The executions row's target_count is the size of that set
// (floor 1), so a fleet-wide exec completes when every alive PC answered,
// not on its first reply. Group membership is read only when a target or a
// rollout names groups.
import { KV, ONLINE_THRESHOLD_MS, type Target } from '@kanade/wire';
import type { Store } from '../store/index.js';
import { jsonOf, type KvAccess, readEntries } from './kv.js';

export interface TargetResolver {
  /** The alive members of each group (one read of the membership buckets for all of them). */
  groupMembers(groups: readonly string[]): Promise<Map<string, Set<string>>>;
  /** The PCs expected to answer `target`. */
  expected(target: Target): Promise<Set<string>>;
  alive(): Set<string>;
}

function groupsOf(value: Uint8Array): string[] {
  const v = jsonOf(value) as { groups?: unknown } | undefined;
  return Array.isArray(v?.groups) ? v.groups.filter((g): g is string => typeof g === 'string') : [];
}

export function createTargetResolver(store: Store, kv: KvAccess, now: () => number): TargetResolver {
  const alive = () => new Set(store.executions.alivePcIds(now() - ONLINE_THRESHOLD_MS));

  async function groupMembers(groups: readonly string[]): Promise<Map<string, Set<string>>> {
    const out = new Map(groups.map((g) => [g, new Set<string>()]));
    if (groups.length === 0) return out;
    const live = alive();
    for (const bucket of [KV.AGENT_GROUPS, KV.AGENT_GROUPS_DERIVED]) {
      for (const [pcId, value] of await readEntries(await kv.bucket(bucket))) {
        if (!live.has(pcId)) continue;
        for (const g of groupsOf(value)) out.get(g)?.add(pcId);
      }
    }
    return out;
  }

  return {
    alive,
    groupMembers,
    async expected(target) {
      const pcs = new Set<string>(target.all ? alive() : []);
      if (!target.all && target.groups.length > 0) {
        for (const members of (await groupMembers(target.groups)).values())
          for (const pc of members) pcs.add(pc);
      }
      for (const pc of target.pcs) pcs.add(pc);
      return pcs;
    },
  };
}
