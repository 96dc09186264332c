// The group materializer (upstream `projector/group_materializer.rs`): turns
// the group definitions into `agent_groups_derived` (pc_id ->
// {"groups":[...]}, written only here), which agents union with
// `agent_groups` and the target resolver counts.
//
// A pass resolves every definition (static list, or the dynamic query with
// its refresh cache), inverts the result to a per-PC set, writes the PCs
// whose set changed and deletes the PCs that left every group, at most 16 KV
// operations at a time. A definition whose resolve fails keeps the members it
// has in the bucket now, so a broken query never empties a group. The
// bucket is read in full on the first pass and every tenth (another writer,
// such as a second backend, is picked up then); in between, what this
// process last read and wrote is the comparison base. It runs
// every 60 s, right after a definition is written or deleted (trigger()),
// and when the `group_defs` watch reports a change made elsewhere; passes
// never overlap (a trigger during a pass runs one more pass after it).
import { KV } from '@kanade/wire';
import { Kvm, KvWatchInclude } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { GroupDefService } from './group-defs.js';
import { groupsOf } from './groups.js';
import { readEntries } from './kv.js';

export const MATERIALIZE_INTERVAL_MS = 60_000;
const CONCURRENCY = 16;
const WATCH_RETRY_MS = 5000;
const REREAD_EVERY = 10;

export interface MaterializeReport {
  groups: number;
  written: number;
  deleted: number;
  failed: string[];
}

export function createGroupMaterializer(deps: {
  nc: NatsConnection;
  defs: GroupDefService;
  log: Logger;
  now: () => number;
}) {
  const { nc, defs, log, now } = deps;
  const encoder = new TextEncoder();
  let running: Promise<MaterializeReport | undefined> | undefined;
  /** The bucket as this process last read or wrote it; re-read every REREAD_EVERY passes and after a failure. */
  let known: Map<string, string[]> | undefined;
  let passes = 0;
  let again = false;
  let timer: NodeJS.Timeout | undefined;
  let stopped = true;
  let stopWatch: (() => void) | undefined;

  async function pass(): Promise<MaterializeReport> {
    const list = await defs.list();
    const derived = await new Kvm(nc).open(KV.AGENT_GROUPS_DERIVED);
    if (!known || ++passes % REREAD_EVERY === 0) {
      const read = new Map<string, string[]>();
      for (const [pcId, value] of await readEntries(derived)) read.set(pcId, groupsOf(value));
      known = read;
    }
    const current = known;

    const desired = new Map<string, Set<string>>();
    const join = (pcId: string, group: string) => {
      let s = desired.get(pcId);
      if (!s) {
        s = new Set();
        desired.set(pcId, s);
      }
      s.add(group);
    };
    const failed: string[] = [];
    for (const g of list) {
      try {
        for (const pcId of await defs.resolve(g, now())) join(pcId, g.id);
      } catch (err) {
        failed.push(g.id);
        log.warn(
          { group: g.id, err: (err as Error).message },
          'group definition did not resolve; keeping its members',
        );
        for (const [pcId, groups] of current) if (groups.includes(g.id)) join(pcId, g.id);
      }
    }

    const ops: (() => Promise<unknown>)[] = [];
    let written = 0;
    let deleted = 0;
    for (const [pcId, set] of desired) {
      const next = [...set].sort();
      const cur = current.get(pcId);
      if (cur && cur.join('\n') === next.join('\n')) continue;
      written++;
      ops.push(async () => {
        await derived.put(pcId, encoder.encode(JSON.stringify({ groups: next })));
        current.set(pcId, next);
      });
    }
    for (const pcId of [...current.keys()]) {
      if (desired.has(pcId)) continue;
      deleted++;
      ops.push(async () => {
        await derived.delete(pcId);
        current.delete(pcId);
      });
    }
    try {
      for (let i = 0; i < ops.length; i += CONCURRENCY) {
        await Promise.all(ops.slice(i, i + CONCURRENCY).map((op) => op()));
      }
    } catch (err) {
      known = undefined;
      throw err;
    }
    return { groups: list.length, written, deleted, failed };
  }

  function run(): Promise<MaterializeReport | undefined> {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      let report: MaterializeReport | undefined;
      do {
        again = false;
        try {
          report = await pass();
          if (report.written + report.deleted > 0) log.info(report, 'group memberships materialized');
        } catch (err) {
          log.warn({ err: (err as Error).message }, 'group materializer pass failed; retrying next trigger');
          report = undefined;
        }
      } while (again && !stopped);
      running = undefined;
      return report;
    })();
    return running;
  }

  /** Watch group_defs so edits made by another backend (or a tool) materialize promptly. */
  async function watchDefs() {
    while (!stopped) {
      try {
        const kv = await new Kvm(nc).open(KV.GROUP_DEFS);
        await kv.status();
        const it = await kv.watch({ include: KvWatchInclude.UpdatesOnly });
        stopWatch = () => it.stop();
        for await (const _ of it) void run();
      } catch {
        // The bucket does not exist until the first definition is written.
      }
      if (!stopped) await new Promise((r) => setTimeout(r, WATCH_RETRY_MS).unref());
    }
  }

  return {
    /** Run a pass now (waits for one in progress, then runs again). */
    runOnce: run,
    trigger() {
      if (!stopped) void run();
    },
    start(intervalMs = MATERIALIZE_INTERVAL_MS) {
      stopped = false;
      void run();
      timer = setInterval(() => void run(), intervalMs);
      timer.unref();
      void watchDefs();
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      stopWatch?.();
      await running;
    },
  };
}
export type GroupMaterializer = ReturnType<typeof createGroupMaterializer>;
