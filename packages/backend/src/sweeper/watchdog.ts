// The agent watchdog (upstream `agent_watchdog.rs`): turns heartbeat gaps
// into durable `agent_offline` / `agent_online` ObsEvents, so an outage stays
// visible on the timeline after the agent is back.
//
// - Events go through the stream like an agent's own: js.publish to
//   obs.{pc_id} (source `backend:heartbeat-watchdog`), awaiting the ack, and
//   the obs_events projector stores them. event_record_id is
//   "{kind}:{key_ms}" (key = the last beat before the gap), so a repeated
//   publish is deduplicated by the projector.
// - Only what this process observed is asserted: an agent whose last beat is
//   older than `observedSince` (this backend's start) is ignored, so a
//   restart does not announce a fleet-wide outage that nobody watched.
// - An offline event's `at` is the last heartbeat (the newest instant with
//   evidence); an online event's `at` is the beat that proved the recovery.
//   An agent that recovered and died again within one interval gets both.
// - Open outages live in memory. When any publish for a host fails, that
//   host's state is left untouched and the same actions are derived again on
//   the next sweep (a half-applied online/offline pair would swallow the
//   recovery).
//
// decide() and applyOutcomes() are pure so the rules are tested without a
// broker. Hosts are published concurrently (a host's own actions in order).
import { type ObsEvent, ONLINE_THRESHOLD_MS, subject, toRfc3339 } from '@kanade/wire';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Store } from '../store/index.js';

export const WATCHDOG_SOURCE = 'backend:heartbeat-watchdog';
export const DEFAULT_WATCHDOG_INTERVAL_MS = 60_000;
const PUBLISH_CONCURRENCY = 256;

export type WatchdogAction =
  | { kind: 'agent_offline'; pcId: string; at: number }
  | { kind: 'agent_online'; pcId: string; at: number; since: number };

/** Open outages: pc_id -> the last heartbeat before the gap. */
export type OpenOutages = Map<string, number>;

export function decide(
  agents: readonly { pc_id: string; last_heartbeat: number }[],
  observedSince: number,
  open: ReadonlyMap<string, number>,
  now: number,
  thresholdMs = ONLINE_THRESHOLD_MS,
): WatchdogAction[] {
  const cutoff = now - thresholdMs;
  const out: WatchdogAction[] = [];
  for (const { pc_id: pcId, last_heartbeat: last } of agents) {
    if (last < observedSince) continue;
    const since = open.get(pcId);
    if (last > cutoff) {
      if (since !== undefined) out.push({ kind: 'agent_online', pcId, at: last, since });
      continue;
    }
    if (since !== undefined) {
      if (since === last) continue;
      // A newer beat than the one that opened the outage, already stale again: it recovered in between.
      out.push({ kind: 'agent_online', pcId, at: last, since });
    }
    out.push({ kind: 'agent_offline', pcId, at: last });
  }
  return out;
}

/** Apply what was published; a host with any failed action is left as it was. */
export function applyOutcomes(open: OpenOutages, outcomes: readonly [WatchdogAction, boolean][]) {
  const failed = new Set(outcomes.filter(([, ok]) => !ok).map(([a]) => a.pcId));
  let offline = 0;
  let online = 0;
  for (const [a, ok] of outcomes) {
    if (!ok || failed.has(a.pcId)) continue;
    if (a.kind === 'agent_offline') {
      open.set(a.pcId, a.at);
      offline++;
    } else {
      open.delete(a.pcId);
      online++;
    }
  }
  return { offline, online, failed: failed.size };
}

/** The ObsEvent of an action. */
export function eventOf(a: WatchdogAction, thresholdMs = ONLINE_THRESHOLD_MS): ObsEvent {
  const key = a.kind === 'agent_offline' ? a.at : a.since;
  return {
    pc_id: a.pcId,
    at: toRfc3339(a.at),
    kind: a.kind,
    source: WATCHDOG_SOURCE,
    event_record_id: `${a.kind}:${key}`,
    payload: { last_heartbeat: toRfc3339(key), threshold_secs: thresholdMs / 1000 },
  };
}

export interface Watchdog {
  sweep(): Promise<{ offline: number; online: number; failed: number }>;
  runOnce(): Promise<void>;
  stop(): Promise<void>;
}

export function startWatchdog(deps: {
  store: Store;
  nc: NatsConnection;
  log: Logger;
  intervalMs: number;
  now?: () => number;
}): Watchdog {
  const now = deps.now ?? Date.now;
  const observedSince = now();
  const open: OpenOutages = new Map();
  const js = jetstream(deps.nc);
  let current: Promise<void> | undefined;

  async function publishHost(actions: WatchdogAction[], outcomes: [WatchdogAction, boolean][]) {
    let ok = true;
    for (const a of actions) {
      if (ok) {
        try {
          await js.publish(subject.obs(a.pcId), JSON.stringify(eventOf(a)));
        } catch (err) {
          ok = false;
          deps.log.warn(
            { pc_id: a.pcId, kind: a.kind, err: (err as Error).message },
            'watchdog publish failed; retrying next sweep',
          );
        }
      }
      outcomes.push([a, ok]);
    }
  }

  async function sweep() {
    const t = now();
    const actions = decide(deps.store.agents.lastHeartbeats(), observedSince, open, t);
    const byHost = new Map<string, WatchdogAction[]>();
    for (const a of actions) {
      const list = byHost.get(a.pcId);
      if (list) list.push(a);
      else byHost.set(a.pcId, [a]);
    }
    const outcomes: [WatchdogAction, boolean][] = [];
    const hosts = [...byHost.values()];
    for (let i = 0; i < hosts.length; i += PUBLISH_CONCURRENCY) {
      await Promise.all(hosts.slice(i, i + PUBLISH_CONCURRENCY).map((h) => publishHost(h, outcomes)));
    }
    const r = applyOutcomes(open, outcomes);
    if (r.offline + r.online + r.failed > 0) deps.log.info(r, 'agent watchdog recorded outages');
    return r;
  }

  function tick(): Promise<void> {
    current ??= sweep()
      .then(() => undefined)
      .catch((err) => deps.log.warn({ err: (err as Error).message }, 'agent watchdog sweep failed'))
      .finally(() => {
        current = undefined;
      });
    return current;
  }

  const timer = setInterval(() => void tick(), deps.intervalMs);
  timer.unref();
  return {
    sweep,
    async runOnce() {
      await current;
      await tick();
    },
    async stop() {
      clearInterval(timer);
      await current;
    },
  };
}
