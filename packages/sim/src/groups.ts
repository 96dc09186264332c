// Group membership of the virtual agents, read from the same KV buckets real
// agents watch: `agent_groups` (operators) and `agent_groups_derived` (the
// backend's materializer), keyed by pc_id. One watch per bucket over all keys
// serves the whole fleet; keys that are not this simulator's pc_ids are
// skipped. An index per bucket (group -> agent indices) makes a
// `commands.group.{g}` fan-out one lookup.
//
// `ready` resolves once each bucket's current values have been delivered (or
// the bucket turned out empty or missing), so a test or benchmark can write
// memberships, start the simulator and exec at once. A watch that ends is
// reopened after 5 s and rebuilds its bucket's index from the values it
// delivers again.

import { AgentGroups, KV } from '@kanade/wire';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { type Fleet, pcIdOf } from './fleet.js';

const RETRY_MS = 5000;
const BUCKETS = [KV.AGENT_GROUPS, KV.AGENT_GROUPS_DERIVED] as const;

export interface Membership {
  /** Indices of the virtual agents in `group` (a fresh array). */
  members(group: string): number[];
  readonly ready: Promise<void>;
  stop(): void;
}

/** The agent index of a pc_id of this fleet, or -1. */
export function agentIndexOf(fleet: Fleet, pcId: string): number {
  const head = `${fleet.prefix}-`;
  if (!pcId.startsWith(head)) return -1;
  const n = Number(pcId.slice(head.length));
  if (!Number.isSafeInteger(n) || n < 1 || n > fleet.size) return -1;
  return pcIdOf(fleet, n - 1) === pcId ? n - 1 : -1;
}

class BucketIndex {
  readonly groupsOf = new Map<number, string[]>();
  readonly byGroup = new Map<string, Set<number>>();

  set(i: number, groups: string[]): void {
    for (const g of this.groupsOf.get(i) ?? []) this.byGroup.get(g)?.delete(i);
    if (groups.length === 0) this.groupsOf.delete(i);
    else this.groupsOf.set(i, groups);
    for (const g of groups) {
      const s = this.byGroup.get(g);
      if (s) s.add(i);
      else this.byGroup.set(g, new Set([i]));
    }
  }

  clear(): void {
    this.groupsOf.clear();
    this.byGroup.clear();
  }
}

function parse(value: Uint8Array): string[] {
  try {
    return AgentGroups.parse(JSON.parse(new TextDecoder().decode(value))).groups;
  } catch {
    return [];
  }
}

export function watchMembership(nc: NatsConnection, fleet: Fleet, log: (line: string) => void): Membership {
  const indexes = BUCKETS.map(() => new BucketIndex());
  let stopped = false;
  const stops: (() => void)[] = [];
  const readies: Promise<void>[] = [];

  BUCKETS.forEach((bucket, b) => {
    const index = indexes[b]!;
    let markReady!: () => void;
    readies.push(new Promise<void>((r) => (markReady = r)));
    void (async () => {
      while (!stopped) {
        try {
          const kv = await new Kvm(nc).open(bucket);
          const watch = await kv.watch();
          stops.push(() => watch.stop());
          index.clear();
          if ((await kv.status()).values === 0) markReady();
          for await (const e of watch) {
            const i = agentIndexOf(fleet, e.key);
            if (i >= 0) index.set(i, e.operation === 'PUT' ? parse(e.value) : []);
            if (e.delta === 0) markReady();
          }
        } catch (err) {
          if (stopped) break;
          markReady();
          log(`watching ${bucket}: ${(err as Error).message}; retrying in ${RETRY_MS / 1000}s`);
        }
        if (!stopped) await new Promise((r) => setTimeout(r, RETRY_MS).unref());
      }
    })();
  });

  return {
    members(group) {
      const out = new Set<number>();
      for (const index of indexes) for (const i of index.byGroup.get(group) ?? []) out.add(i);
      return [...out];
    },
    ready: Promise.all(readies).then(() => {}),
    stop() {
      stopped = true;
      for (const s of stops.splice(0)) s();
    },
  };
}
