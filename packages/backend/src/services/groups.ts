// Group membership: the `agent_groups` bucket (pc_id -> {"groups":[...]},
// written only by operators through here) and the read-only view over it
// and `agent_groups_derived` (written by the group materializer). Agents
// union the two buckets and follow them live. Stored lists are sorted and
// de-duplicated, as upstream; add and remove are CAS read-modify-writes, so
// concurrent edits of one PC never lose a member.
import { AgentGroups, CONFIG_KEY, KV } from '@kanade/wire';
import type { KV as Bucket } from '@nats-io/kv';
import type { AuditService, Caller } from './audit.js';
import { jsonOf, type KvAccess, readEntries } from './kv.js';
import { readModifyWrite } from './kv-cas.js';

const encoder = new TextEncoder();

export function normalizeGroups(groups: Iterable<string>): string[] {
  return [...new Set(groups)].sort();
}

export function groupsOf(value: Uint8Array | undefined): string[] {
  if (!value || value.length === 0) return [];
  const r = AgentGroups.safeParse(jsonOf(value));
  return r.success ? r.data.groups.filter((g) => typeof g === 'string') : [];
}

const codec = {
  decode: (v: Uint8Array | undefined) => groupsOf(v),
  encode: (groups: string[]) => encoder.encode(JSON.stringify({ groups })),
};

export interface GroupSummary {
  name: string;
  members: string[];
  has_config: boolean;
  emails: string[];
}

export function createGroupService(deps: { kv: KvAccess; audit: AuditService }) {
  const { kv, audit } = deps;

  async function groupsIn(bucket: string, pcId: string): Promise<string[]> {
    const e = await (await kv.bucket(bucket)).get(pcId);
    return e?.operation === 'PUT' ? groupsOf(e.value) : [];
  }

  async function change(
    pcId: string,
    action: string,
    payload: Record<string, unknown>,
    caller: Caller,
    mutate: (current: string[]) => string[] | undefined,
  ): Promise<{ groups: string[] }> {
    const bucket: Bucket = await kv.bucket(KV.AGENT_GROUPS);
    const r = await readModifyWrite(bucket, pcId, codec, mutate);
    if (r.changed) await audit.record({ actor: 'operator', action, target: pcId, payload, caller });
    return { groups: r.value };
  }

  return {
    /** The operator-assigned groups of a PC and the ones the materializer derived. */
    async memberships(pcId: string): Promise<{ groups: string[]; derived: string[] }> {
      const [groups, derived] = await Promise.all([
        groupsIn(KV.AGENT_GROUPS, pcId),
        groupsIn(KV.AGENT_GROUPS_DERIVED, pcId),
      ]);
      return { groups, derived };
    },

    /** Every group the PC belongs to (both buckets), sorted. */
    async myGroups(pcId: string): Promise<string[]> {
      const m = await this.memberships(pcId);
      return normalizeGroups([...m.groups, ...m.derived]);
    },

    set(pcId: string, groups: readonly string[], caller: Caller) {
      const next = normalizeGroups(groups);
      return change(pcId, 'agent_groups_set', { groups: next }, caller, (cur) =>
        cur.join('\n') === next.join('\n') ? undefined : next,
      );
    },

    add(pcId: string, group: string, caller: Caller) {
      return change(pcId, 'agent_groups_add', { group }, caller, (cur) =>
        cur.includes(group) ? undefined : normalizeGroups([...cur, group]),
      );
    },

    remove(pcId: string, group: string, caller: Caller) {
      return change(pcId, 'agent_groups_remove', { group }, caller, (cur) =>
        cur.includes(group) ? cur.filter((g) => g !== group) : undefined,
      );
    },

    /** Every group known from membership (both buckets) or a config scope, with members, config flag and contacts. */
    async listAll(): Promise<{ groups: GroupSummary[] }> {
      const members = new Map<string, Set<string>>();
      const add = (g: string) => {
        let s = members.get(g);
        if (!s) {
          s = new Set();
          members.set(g, s);
        }
        return s;
      };
      for (const bucket of [KV.AGENT_GROUPS, KV.AGENT_GROUPS_DERIVED]) {
        for (const [pcId, value] of await readEntries(await kv.bucket(bucket))) {
          for (const g of groupsOf(value)) add(g).add(pcId);
        }
      }
      const configured = new Set<string>();
      for (const key of (await readEntries(await kv.bucket(KV.AGENT_CONFIG))).keys()) {
        if (key.startsWith(CONFIG_KEY.group(''))) {
          const name = key.slice(CONFIG_KEY.group('').length);
          configured.add(name);
          add(name);
        }
      }
      const emails = new Map<string, string[]>();
      for (const [name, value] of await readEntries(await kv.bucket(KV.GROUP_CONTACTS))) {
        const v = jsonOf(value) as { emails?: unknown } | undefined;
        if (Array.isArray(v?.emails))
          emails.set(
            name,
            v.emails.filter((e): e is string => typeof e === 'string'),
          );
      }
      const groups = [...members.keys()].sort().map((name) => ({
        name,
        members: [...members.get(name)!].sort(),
        has_config: configured.has(name),
        emails: emails.get(name) ?? [],
      }));
      return { groups };
    },
  };
}
export type GroupService = ReturnType<typeof createGroupService>;
