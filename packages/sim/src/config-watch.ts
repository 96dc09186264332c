// The layered agent config for the whole virtual fleet, followed live: one
// watch over every `agent_config` key, resolved per agent with the same
// @kanade/wire resolve() real agents use. What comes out is a FleetPlan
// (per-agent heartbeat / host_perf interval and process_perf setting) for
// the simulator's schedule.
//
// Cost stays flat at 100,000 agents: agents with no PC scope and no scoped
// group share one resolution; only the others are resolved one by one.
// Group membership comes from the same buckets the command responder reads
// (watchMembership); since a membership change has no event here, the plan
// is recomputed every MEMBERSHIP_POLL_MS while any group scope exists, and
// handed over only when it changed. As for the real agent, a field no scope
// sets keeps the simulator's own setting (its command line).

import { type ConfigScope, configDurationMs, decodeScope, KV, parseConfigKey, resolve } from '@kanade/wire';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Fleet } from './fleet.js';
import { agentIndexOf, type Membership, watchMembership } from './groups.js';

const RETRY_MS = 5000;
const MEMBERSHIP_POLL_MS = 5000;

export interface FleetPlan {
  heartbeatMs: Float64Array;
  hostPerfMs: Float64Array;
  /** Processes per process_perf message; 0 = off. */
  topN: Uint16Array;
  /** Epoch ms after which process_perf stops (Infinity = no expiry). */
  perfUntil: Float64Array;
}

export interface LocalSettings {
  heartbeatMs: number;
  hostPerfMs: number;
  /** 0 = no process_perf unless a scope turns it on. */
  topN: number;
}

type Resolved = ReturnType<typeof resolve>;

function fill(plan: FleetPlan, i: number, r: Resolved, local: LocalSettings) {
  const eff = r.effective;
  plan.heartbeatMs[i] = r.setFields.has('heartbeat_interval')
    ? configDurationMs(eff, 'heartbeat_interval')
    : local.heartbeatMs;
  plan.hostPerfMs[i] = r.setFields.has('host_perf_interval')
    ? configDurationMs(eff, 'host_perf_interval')
    : local.hostPerfMs;
  if (r.setFields.has('process_perf_enabled')) {
    plan.topN[i] = eff.process_perf_enabled ? Math.max(1, Math.min(eff.process_perf_top_n, 1000)) : 0;
    plan.perfUntil[i] = eff.process_perf_expires_at
      ? Date.parse(eff.process_perf_expires_at)
      : Number.POSITIVE_INFINITY;
  } else {
    plan.topN[i] = local.topN;
    plan.perfUntil[i] = Number.POSITIVE_INFINITY;
  }
}

/** The plan for `fleet` under the given scopes (`members(g)` = agent indices of group g). */
export function planFleet(
  fleet: Fleet,
  scopes: {
    global: ConfigScope | undefined;
    groups: Map<string, ConfigScope>;
    pcs: Map<number, ConfigScope>;
  },
  members: (group: string) => number[],
  local: LocalSettings,
): FleetPlan {
  const n = fleet.size;
  const plan: FleetPlan = {
    heartbeatMs: new Float64Array(n),
    hostPerfMs: new Float64Array(n),
    topN: new Uint16Array(n),
    perfUntil: new Float64Array(n),
  };
  const base = resolve(scopes.global, new Map(), undefined, []);
  for (let i = 0; i < n; i++) fill(plan, i, base, local);
  const groupsOf = new Map<number, string[]>();
  for (const g of scopes.groups.keys()) {
    for (const i of members(g)) {
      const list = groupsOf.get(i);
      if (list) list.push(g);
      else groupsOf.set(i, [g]);
    }
  }
  for (const i of new Set([...groupsOf.keys(), ...scopes.pcs.keys()])) {
    fill(plan, i, resolve(scopes.global, scopes.groups, scopes.pcs.get(i), groupsOf.get(i) ?? []), local);
  }
  return plan;
}

function samePlan(a: FleetPlan, b: FleetPlan): boolean {
  for (let i = 0; i < a.topN.length; i++) {
    if (
      a.heartbeatMs[i] !== b.heartbeatMs[i] ||
      a.hostPerfMs[i] !== b.hostPerfMs[i] ||
      a.topN[i] !== b.topN[i] ||
      a.perfUntil[i] !== b.perfUntil[i]
    )
      return false;
  }
  return true;
}

export interface FleetConfigWatch {
  /** Resolves once the bucket has been read once (or turned out to be missing). */
  readonly ready: Promise<void>;
  stop(): void;
}

export function watchFleetConfig(opts: {
  nc: NatsConnection;
  fleet: Fleet;
  local: LocalSettings;
  onChange(plan: FleetPlan): void;
  log(line: string): void;
}): FleetConfigWatch {
  const { nc, fleet } = opts;
  const entries = new Map<string, ConfigScope>();
  const membership: Membership = watchMembership(nc, fleet, opts.log);
  // The plan the simulator starts with (its own settings): onChange fires only for a difference.
  let current = planFleet(
    fleet,
    { global: undefined, groups: new Map(), pcs: new Map() },
    () => [],
    opts.local,
  );
  let stopped = false;
  let stopWatch: (() => void) | undefined;
  let initial = true;
  let markReady!: () => void;
  const ready = new Promise<void>((r) => (markReady = r));

  function recompute() {
    if (initial) return;
    let global: ConfigScope | undefined;
    const groups = new Map<string, ConfigScope>();
    const pcs = new Map<number, ConfigScope>();
    for (const [key, scope] of entries) {
      const k = parseConfigKey(key);
      if (!k) continue;
      if (k.scope === 'global') global = scope;
      else if (k.scope === 'group') groups.set(k.name, scope);
      else {
        const i = agentIndexOf(fleet, k.pcId);
        if (i >= 0) pcs.set(i, scope);
      }
    }
    const plan = planFleet(fleet, { global, groups, pcs }, (g) => membership.members(g), opts.local);
    if (samePlan(current, plan)) return;
    current = plan;
    opts.log(`agent_config: ${entries.size} scope(s) apply; the fleet's intervals changed`);
    opts.onChange(plan);
  }

  const poll = setInterval(() => {
    if ([...entries.keys()].some((k) => k.startsWith('groups.'))) recompute();
  }, MEMBERSHIP_POLL_MS);
  poll.unref();

  void (async () => {
    await membership.ready;
    while (!stopped) {
      try {
        const kv = await new Kvm(nc).open(KV.AGENT_CONFIG);
        entries.clear();
        initial = true;
        if ((await kv.status()).values === 0) {
          initial = false;
          recompute();
          markReady();
        }
        const it = await kv.watch();
        stopWatch = () => it.stop();
        for await (const e of it) {
          if (e.operation === 'PUT') entries.set(e.key, decodeScope(e.value));
          else entries.delete(e.key);
          if (initial && e.delta === 0) {
            initial = false;
            markReady();
          }
          recompute();
        }
      } catch (err) {
        if (!stopped)
          opts.log(`watching agent_config: ${(err as Error).message}; retrying in ${RETRY_MS / 1000}s`);
      }
      markReady();
      if (!stopped) await new Promise((r) => setTimeout(r, RETRY_MS).unref());
    }
  })();

  return {
    ready,
    stop() {
      stopped = true;
      clearInterval(poll);
      stopWatch?.();
      membership.stop();
    },
  };
}
