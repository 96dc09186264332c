// Telemetry that follows the layered agent config: the heartbeat / host_perf
// loops of telemetry.ts, re-created with new intervals when the resolved
// config changes them (the restart sends a beat at once, so a change shows up
// immediately), plus the process_perf loop of investigation mode. Group
// membership comes from the agent's group watch through setGroups(), so a
// group scope applies as soon as the PC joins the group.

import type { NatsConnection } from '@nats-io/transport-node';
import { type ConfigWatch, type LiveSettings, watchConfig } from './config-watch.js';
import { createProcessPerfLoop } from './process-perf.js';
import { createTelemetry, type Telemetry, type TelemetryOptions } from './telemetry.js';

export interface LiveTelemetry extends Telemetry {
  setGroups(groups: readonly string[]): void;
}

export function createLiveTelemetry(o: TelemetryOptions & { nc: NatsConnection }): LiveTelemetry {
  const pcId = o.identity.pcId;
  let intervals = { heartbeatMs: o.heartbeatMs, hostPerfMs: o.hostPerfMs };
  let telemetry = createTelemetry(o);
  const perf = createProcessPerfLoop({ pcId, publish: o.publish, log: o.log });
  let watch: ConfigWatch | undefined;
  let groups: readonly string[] = [];

  function follow(s: LiveSettings) {
    if (s.heartbeatMs !== intervals.heartbeatMs || s.hostPerfMs !== intervals.hostPerfMs) {
      intervals = { heartbeatMs: s.heartbeatMs, hostPerfMs: s.hostPerfMs };
      telemetry.stop();
      telemetry = createTelemetry({ ...o, ...intervals });
      telemetry.start();
    }
    perf.configure(s.processPerfUntil, s.processTopN, s.hostPerfMs);
  }

  return {
    start() {
      telemetry.start();
      watch = watchConfig({
        nc: o.nc,
        pcId,
        groups,
        local: { heartbeatMs: o.heartbeatMs, hostPerfMs: o.hostPerfMs },
        onChange: follow,
        log: o.log,
      });
    },
    stop() {
      watch?.stop();
      perf.stop();
      telemetry.stop();
    },
    setGroups(next) {
      groups = next;
      watch?.setGroups(next);
    },
  };
}
