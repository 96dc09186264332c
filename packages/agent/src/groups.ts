// This PC's group membership: the union of its key in `agent_groups`
// (written by operators) and `agent_groups_derived` (written by the backend's
// group materializer), followed live with one KV watch per bucket.
//
// `ready` resolves once both buckets have been read (a value, no key, or a
// bucket that does not exist yet), so the command intake does not judge a
// replayed `commands.group.{g}` before it knows the groups. Each watch starts
// with the key's current value (nats.js delivers the last value first) and
// is reopened after WATCH_RETRY_MS whenever it ends or fails; entries older
// than the revision already applied are ignored.

import { AgentGroups, KV, subject } from '@kanade/wire';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';

const WATCH_RETRY_MS = 5000;
const BUCKETS = [KV.AGENT_GROUPS, KV.AGENT_GROUPS_DERIVED] as const;

export interface GroupWatch {
  current(): string[];
  readonly ready: Promise<void>;
  stop(): void;
}

/** True when a command on `subj` is addressed to this PC. */
export function isForMe(subj: string, pcId: string, groups: readonly string[]): boolean {
  if (subj === subject.commandsAll()) return true;
  if (subj === subject.commandsPc(pcId)) return true;
  const prefix = 'commands.group.';
  return subj.startsWith(prefix) && groups.includes(subj.slice(prefix.length));
}

export function parseGroups(value: Uint8Array | undefined, log: (line: string) => void): string[] {
  if (!value || value.length === 0) return [];
  try {
    return AgentGroups.parse(JSON.parse(new TextDecoder().decode(value))).groups;
  } catch (err) {
    log(`agent_groups value is not {"groups":[...]}: ${(err as Error).message}; treating it as no groups`);
    return [];
  }
}

export function watchGroups(
  nc: NatsConnection,
  pcId: string,
  log: (line: string) => void,
  onChange: (groups: string[]) => void,
): GroupWatch {
  const byBucket = new Map<string, { groups: string[]; revision: number }>();
  let union: string[] = [];
  let stopped = false;
  const stops: (() => void)[] = [];
  const readies: Promise<void>[] = [];

  const apply = (bucket: string, groups: string[], revision: number) => {
    const prev = byBucket.get(bucket);
    if (prev && prev.revision > revision) return;
    byBucket.set(bucket, { groups, revision });
    const next = [...new Set([...byBucket.values()].flatMap((b) => b.groups))].sort();
    if (next.join('\n') === union.join('\n')) return;
    log(`groups: ${next.length ? next.join(', ') : '(none)'}`);
    union = next;
    onChange(next);
  };

  for (const bucket of BUCKETS) {
    let markReady!: () => void;
    readies.push(new Promise<void>((r) => (markReady = r)));
    void (async () => {
      while (!stopped) {
        try {
          const kv = await new Kvm(nc).open(bucket);
          const watch = await kv.watch({ key: pcId });
          stops.push(() => watch.stop());
          const now = await kv.get(pcId);
          if (now?.operation === 'PUT') apply(bucket, parseGroups(now.value, log), now.revision);
          else apply(bucket, [], now?.revision ?? 0);
          markReady();
          for await (const e of watch) {
            apply(bucket, e.operation === 'PUT' ? parseGroups(e.value, log) : [], e.revision);
          }
        } catch (err) {
          if (stopped) break;
          // A bucket the backend has not created yet means no groups for now.
          markReady();
          log(`watching ${bucket}: ${(err as Error).message}; retrying in ${WATCH_RETRY_MS / 1000}s`);
        }
        if (!stopped) await new Promise((r) => setTimeout(r, WATCH_RETRY_MS).unref());
      }
    })();
  }

  return {
    current: () => union,
    ready: Promise.all(readies).then(() => {}),
    stop() {
      stopped = true;
      for (const s of stops.splice(0)) s();
    },
  };
}
