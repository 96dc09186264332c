// agent_meta KV -> agent_meta table, as upstream's agent_meta projector: a
// KV watch, not a stream consumer. After every (re)attach it reconciles the
// whole table from a snapshot of the bucket (a watch delivering only updates
// would miss changes made while it was down), then applies each update as a
// per-PC delete-then-insert. The updates-only watch opens before the
// snapshot is read, so nothing falls between the two; an update at or below
// the revision the snapshot already holds for that key is skipped. A read or
// write failure reopens the watch after RETRY_MS and reconciles again. It
// runs on the main thread: writes are rare (operator edits) and small.
import { KV } from '@kanade/wire';
import { type KV as Bucket, Kvm, KvWatchInclude } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { decodeMeta } from '../services/agent-meta.js';
import type { MetaEntry } from '../store/agent-meta.js';
import type { Store } from '../store/index.js';

const RETRY_MS = 5000;
const SNAPSHOT_TIMEOUT_MS = 30_000;

/** Every live key with its entries and revision. */
async function snapshot(kv: Bucket): Promise<Map<string, { entries: MetaEntry[]; revision: number }>> {
  const out = new Map<string, { entries: MetaEntry[]; revision: number }>();
  if ((await kv.status()).values === 0) return out;
  const it = await kv.watch();
  const timer = setTimeout(() => it.stop(), SNAPSHOT_TIMEOUT_MS);
  try {
    for await (const e of it) {
      if (e.operation === 'PUT') out.set(e.key, { entries: decodeMeta(e.value), revision: e.revision });
      else out.delete(e.key);
      if (e.delta === 0) break;
    }
  } finally {
    clearTimeout(timer);
    it.stop();
  }
  return out;
}

export interface AgentMetaProjector {
  /** Resolves after the first reconcile (tests and startup ordering). */
  readonly ready: Promise<void>;
  stop(): void;
}

export function startAgentMetaProjector(deps: {
  nc: NatsConnection;
  store: Store;
  log: Logger;
}): AgentMetaProjector {
  const { nc, store, log } = deps;
  let stopped = false;
  let stopWatch: (() => void) | undefined;
  let markReady!: () => void;
  const ready = new Promise<void>((r) => (markReady = r));

  void (async () => {
    while (!stopped) {
      try {
        const kv = await new Kvm(nc).open(KV.AGENT_META);
        const updates = await kv.watch({ include: KvWatchInclude.UpdatesOnly });
        stopWatch = () => updates.stop();
        const snap = await snapshot(kv);
        store.tx(() => store.agentMeta.replaceAll(new Map([...snap].map(([k, v]) => [k, v.entries]))));
        const known = new Map([...snap].map(([k, v]) => [k, v.revision]));
        markReady();
        log.debug({ pcs: snap.size }, 'agent_meta reconciled');
        for await (const e of updates) {
          if ((known.get(e.key) ?? 0) >= e.revision) continue;
          known.set(e.key, e.revision);
          const entries = e.operation === 'PUT' ? decodeMeta(e.value) : [];
          store.tx(() => store.agentMeta.replacePc(e.key, entries));
        }
      } catch (err) {
        if (!stopped) log.warn({ err: (err as Error).message }, 'agent_meta projection failed; reopening');
      }
      if (!stopped) await new Promise((r) => setTimeout(r, RETRY_MS).unref());
    }
  })();

  return {
    ready,
    stop() {
      stopped = true;
      stopWatch?.();
    },
  };
}
