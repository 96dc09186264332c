// The agent's telemetry loops: a heartbeat now and then every interval, and
// host_perf every interval from the deltas of two counter snapshots. The
// first host_perf goes out after a short warm-up (1 s by default) instead of a
// full interval, so the backend sees rates quickly and they are still real
// deltas. Telemetry is lossy by design: a failed sample or publish is logged
// and the next one tries again; nothing here may throw out of a timer.

import { subject, toRfc3339 } from '@kanade/wire';
import { buildHeartbeat } from './heartbeat.js';
import { type HostCounters, readHostCounters } from './host-counters.js';
import { hostPerfBetween } from './host-perf.js';
import { type Identity, lastLogonUser } from './identity.js';
import { createSelfSampler } from './self-usage.js';

export interface TelemetryOptions {
  identity: Identity;
  heartbeatMs: number;
  hostPerfMs: number;
  warmupMs: number;
  /** Core NATS publish; may throw (closed connection), which is logged. */
  publish(subject: string, body: string): void;
  log(line: string): void;
  /** Versions quarantined by self-update, for the heartbeat. */
  quarantined?: () => readonly string[];
}

export interface Telemetry {
  start(): void;
  stop(): void;
}

export function createTelemetry(o: TelemetryOptions): Telemetry {
  const self = createSelfSampler();
  const pcId = o.identity.pcId;
  const timers: NodeJS.Timeout[] = [];
  let prev: HostCounters | undefined;

  function guarded(what: string, fn: () => void): () => void {
    return () => {
      try {
        fn();
      } catch (err) {
        o.log(`${what} failed: ${(err as Error).message}`);
      }
    };
  }

  const heartbeat = guarded('heartbeat', () => {
    const body = buildHeartbeat(
      o.identity,
      self.sample(),
      toRfc3339(Date.now()),
      lastLogonUser(process.platform, process.env),
      o.quarantined?.(),
    );
    o.publish(subject.heartbeat(pcId), JSON.stringify(body));
  });

  const hostPerf = guarded('host_perf', () => {
    const cur = readHostCounters();
    const before = prev;
    prev = cur;
    if (!before) return;
    o.publish(
      subject.hostPerf(pcId),
      JSON.stringify(hostPerfBetween(before, cur, pcId, toRfc3339(Date.now()))),
    );
  });

  return {
    start() {
      heartbeat();
      timers.push(setInterval(heartbeat, o.heartbeatMs));
      hostPerf();
      timers.push(
        setTimeout(() => {
          hostPerf();
          timers.push(setInterval(hostPerf, o.hostPerfMs));
        }, o.warmupMs),
      );
    },
    stop() {
      for (const t of timers.splice(0)) clearTimeout(t);
      prev = undefined;
    },
  };
}
