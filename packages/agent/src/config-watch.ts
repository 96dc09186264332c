// The layered configuration this agent runs with, followed live: the
// `agent_config` keys that can apply to it (`global`, every `groups.<name>`,
// its own `pcs.<pc_id>`) are watched, and @kanade/wire resolve() flattens
// them with its current groups, exactly as the backend's effective_config
// view does. onChange fires with the new settings whenever the result
// changes (a scope edit, or a group membership change via setGroups()).
//
// Three filtered watches (the broker may predate multi-filter consumers),
// each opened updates-only before the current values are read, so no edit
// falls between the read and the watch; an update at or below the revision
// already applied for its key is ignored. A watch that ends or fails is
// reopened after RETRY_MS and re-reads its keys. `ready` resolves once every
// filter has been read once (or its bucket turned out to be missing).
//
// Settings: a field no scope sets keeps the agent's local value (its command
// line / options), so an agent started with a short test interval is not
// moved back to the 30 s built-in; a field some scope sets wins.

import {
  type ConfigScope,
  configDurationMs,
  decodeScope,
  type EffectiveConfig,
  KV,
  processPerfActiveAt,
  resolve,
} from '@kanade/wire';
import { Kvm, KvWatchInclude } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';

const RETRY_MS = 5000;

export interface LiveSettings {
  heartbeatMs: number;
  hostPerfMs: number;
  /** Processes per process_perf sample while investigation mode is on. */
  processTopN: number;
  /** Epoch ms until which process_perf is on (Infinity = no expiry); 0 = off. */
  processPerfUntil: number;
  effective: EffectiveConfig;
}

export interface LocalDefaults {
  heartbeatMs: number;
  hostPerfMs: number;
}

/** What the agent does with an effective config and the set of fields a scope set. */
export function settingsOf(r: ReturnType<typeof resolve>, local: LocalDefaults, nowMs: number): LiveSettings {
  const eff = r.effective;
  const active = processPerfActiveAt(eff, nowMs);
  const until = eff.process_perf_expires_at
    ? Date.parse(eff.process_perf_expires_at)
    : Number.POSITIVE_INFINITY;
  return {
    heartbeatMs: r.setFields.has('heartbeat_interval')
      ? configDurationMs(eff, 'heartbeat_interval')
      : local.heartbeatMs,
    hostPerfMs: r.setFields.has('host_perf_interval')
      ? configDurationMs(eff, 'host_perf_interval')
      : local.hostPerfMs,
    processTopN: Math.max(1, Math.min(eff.process_perf_top_n, 1000)),
    processPerfUntil: active ? until : 0,
    effective: eff,
  };
}

export interface ConfigWatch {
  readonly ready: Promise<void>;
  current(): LiveSettings;
  setGroups(groups: readonly string[]): void;
  stop(): void;
}

export function watchConfig(opts: {
  nc: NatsConnection;
  pcId: string;
  groups: readonly string[];
  local: LocalDefaults;
  onChange(settings: LiveSettings): void;
  log(line: string): void;
}): ConfigWatch {
  const scopes = new Map<string, { scope: ConfigScope | undefined; revision: number }>();
  let groups = [...opts.groups];
  let stopped = false;
  const stops: (() => void)[] = [];
  const pcKey = `pcs.${opts.pcId}`;
  const keyOf = (x: LiveSettings) => JSON.stringify({ ...x, effective: undefined });
  let settings = compute();
  let last = keyOf(settings);

  function compute(): LiveSettings {
    const groupScopes = new Map<string, ConfigScope>();
    for (const [key, v] of scopes)
      if (key.startsWith('groups.') && v.scope) groupScopes.set(key.slice(7), v.scope);
    const r = resolve(scopes.get('global')?.scope, groupScopes, scopes.get(pcKey)?.scope, groups);
    return settingsOf(r, opts.local, Date.now());
  }

  /** Recompute; tell the agent only when what it does changes. */
  function recompute() {
    settings = compute();
    const key = keyOf(settings);
    if (key === last) return;
    last = key;
    opts.log(
      `config: heartbeat ${settings.heartbeatMs} ms, host_perf ${settings.hostPerfMs} ms, process_perf ${
        settings.processPerfUntil > 0 ? `top ${settings.processTopN}` : 'off'
      }`,
    );
    opts.onChange(settings);
  }

  function apply(key: string, scope: ConfigScope | undefined, revision: number) {
    const prev = scopes.get(key);
    if (prev && prev.revision >= revision) return;
    scopes.set(key, { scope, revision });
    recompute();
  }

  const readies = ['global', 'groups.>', pcKey].map(
    (filter) =>
      new Promise<void>((markReady) => {
        void (async () => {
          while (!stopped) {
            try {
              const kv = await new Kvm(opts.nc).open(KV.AGENT_CONFIG);
              const watch = await kv.watch({ key: filter, include: KvWatchInclude.UpdatesOnly });
              stops.push(() => watch.stop());
              const keys: string[] = [];
              if (filter.endsWith('>')) for await (const k of await kv.keys(filter)) keys.push(k);
              else keys.push(filter);
              for (const k of keys) {
                const e = await kv.get(k);
                if (e) apply(k, e.operation === 'PUT' ? decodeScope(e.value) : undefined, e.revision);
              }
              markReady();
              for await (const e of watch)
                apply(e.key, e.operation === 'PUT' ? decodeScope(e.value) : undefined, e.revision);
            } catch (err) {
              if (stopped) break;
              markReady();
              opts.log(
                `watching agent_config ${filter}: ${(err as Error).message}; retrying in ${RETRY_MS / 1000}s`,
              );
            }
            if (!stopped) await new Promise((r) => setTimeout(r, RETRY_MS).unref());
          }
        })();
      }),
  );

  return {
    ready: Promise.all(readies).then(() => {}),
    current: () => settings,
    setGroups(next) {
      groups = [...next];
      recompute();
    },
    stop() {
      stopped = true;
      for (const s of stops.splice(0)) s();
    },
  };
}
