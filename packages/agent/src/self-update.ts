// The agent updates itself: it follows its effective `target_version` (the
// layered `agent_config` resolved with @kanade/wire resolve(), as the
// backend's effective_config view does) and, when that names another
// version, waits a random delay of up to `target_version_jitter` (so a fleet
// does not download at once), downloads and digest-checks the release
// bundle, and hands it to the launcher (launcher.ts), which stops this agent,
// starts the new version and keeps it only if it confirms it runs.
//
// Never tried: an empty target, the running version, a quarantined version
// (one that failed to start here before) and a version string that is not a
// plain object-key segment. A target that changes during the jitter wait
// restarts the wait; a failed download (not published yet, broker trouble)
// is retried every RETRY_MS while the target stays. Going back to the
// launcher's own build needs no download.
//
// The watch: three filtered KV watches (`global`, `groups.>`, `pcs.<pc_id>`;
// the broker may predate multi-filter consumers), each opened updates-only
// before the current values are read so no edit falls in between; an entry
// at or below the revision already applied for its key is ignored; a watch
// that ends or fails is reopened after RETRY_MS.
import {
  type ConfigScope,
  configDurationMs,
  decodeScope,
  formatDuration,
  isObjectSegment,
  KV,
  resolve,
} from '@kanade/wire';
import { Kvm, KvWatchInclude } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { downloadRelease } from './release-download.js';
import type { ReleaseRef } from './release-state.js';

const RETRY_MS = 60_000;
const WATCH_RETRY_MS = 5000;

export interface SelfUpdateHooks {
  /** Versions that failed to start here; they are never tried again. */
  quarantined(): readonly string[];
  /** The launcher's own build: going back to it needs no download. */
  builtinVersion?: string | undefined;
  /** A verified release is ready; the agent is about to be replaced. Called at most once. */
  onReady(release: ReleaseRef): void;
}

export interface SelfUpdateOptions extends SelfUpdateHooks {
  nc: NatsConnection;
  pcId: string;
  currentVersion: string;
  /** Where bundles are downloaded (release-state.ts: `<state-dir>/releases`). */
  dir: string;
  groups: readonly string[];
  log(line: string): void;
  retryMs?: number;
}

export interface SelfUpdate {
  setGroups(groups: readonly string[]): void;
  stop(): void;
}

/** The version to move to, or undefined to stay (pure: unit-tested). */
export function updateTarget(
  target: string | null,
  current: string,
  quarantined: readonly string[],
): string | undefined {
  if (!target || target === current || quarantined.includes(target) || !isObjectSegment(target))
    return undefined;
  return target;
}

export function startSelfUpdate(o: SelfUpdateOptions): SelfUpdate {
  const scopes = new Map<string, { scope: ConfigScope | undefined; revision: number }>();
  const pcKey = `pcs.${o.pcId}`;
  const retryMs = o.retryMs ?? RETRY_MS;
  let groups = [...o.groups];
  let stopped = false;
  let handedOver = false;
  const stops: (() => void)[] = [];
  let pending: { version: string; timer: NodeJS.Timeout } | undefined;
  let noted = '';

  function cancel() {
    if (pending) clearTimeout(pending.timer);
    pending = undefined;
  }

  async function fetchAndHandOver(version: string) {
    if (stopped || pending?.version !== version) return;
    try {
      let release: ReleaseRef;
      if (version === o.builtinVersion) release = { version, file: null };
      else {
        const r = await downloadRelease(o.nc, version, o.dir);
        o.log(`self-update: release ${version} downloaded (${r.size} bytes, sha256 ${r.sha256})`);
        release = { version, file: r.file };
      }
      if (stopped || pending?.version !== version) return;
      handedOver = true;
      stop();
      o.onReady(release);
    } catch (err) {
      if (stopped || pending?.version !== version) return;
      o.log(
        `self-update: cannot fetch ${version}: ${(err as Error).message}; retrying in ${formatDuration(retryMs)}`,
      );
      pending.timer = setTimeout(() => void fetchAndHandOver(version), retryMs);
    }
  }

  function decide() {
    if (stopped || handedOver) return;
    const groupScopes = new Map<string, ConfigScope>();
    for (const [key, v] of scopes)
      if (key.startsWith('groups.') && v.scope) groupScopes.set(key.slice(7), v.scope);
    const eff = resolve(scopes.get('global')?.scope, groupScopes, scopes.get(pcKey)?.scope, groups).effective;
    const quarantined = o.quarantined();
    const target = updateTarget(eff.target_version, o.currentVersion, quarantined);
    if (!target) {
      cancel();
      const note =
        eff.target_version && eff.target_version !== o.currentVersion
          ? `self-update: not moving to ${eff.target_version} (${quarantined.includes(eff.target_version) ? 'quarantined: it failed to start here' : 'not a valid version'})`
          : '';
      if (note && note !== noted) o.log(note);
      noted = note;
      return;
    }
    if (pending?.version === target) return;
    cancel();
    const jitterMs = configDurationMs(eff, 'target_version_jitter');
    const delay = Math.floor(Math.random() * jitterMs);
    o.log(
      `self-update: target_version ${target} (running ${o.currentVersion}); fetching in ${formatDuration(delay)}`,
    );
    pending = { version: target, timer: setTimeout(() => void fetchAndHandOver(target), delay) };
  }

  function apply(key: string, scope: ConfigScope | undefined, revision: number) {
    const prev = scopes.get(key);
    if (prev && prev.revision >= revision) return;
    scopes.set(key, { scope, revision });
    decide();
  }

  for (const filter of ['global', 'groups.>', pcKey]) {
    void (async () => {
      while (!stopped) {
        try {
          const kv = await new Kvm(o.nc).open(KV.AGENT_CONFIG);
          const watch = await kv.watch({ key: filter, include: KvWatchInclude.UpdatesOnly });
          stops.push(() => watch.stop());
          const keys: string[] = [];
          if (filter.endsWith('>')) for await (const k of await kv.keys(filter)) keys.push(k);
          else keys.push(filter);
          for (const k of keys) {
            const e = await kv.get(k);
            if (e) apply(k, e.operation === 'PUT' ? decodeScope(e.value) : undefined, e.revision);
          }
          for await (const e of watch) {
            apply(e.key, e.operation === 'PUT' ? decodeScope(e.value) : undefined, e.revision);
          }
        } catch (err) {
          if (stopped) break;
          o.log(`self-update: watching agent_config ${filter}: ${(err as Error).message}`);
        }
        if (!stopped) await new Promise((r) => setTimeout(r, WATCH_RETRY_MS).unref());
      }
    })();
  }

  function stop() {
    stopped = true;
    if (!handedOver) cancel();
    for (const s of stops.splice(0)) s();
  }

  return {
    setGroups(next) {
      groups = [...next];
      decide();
    },
    stop,
  };
}
