// Every projector the backend runs, in one list: the ingest worker starts
// them, /metrics labels its series by their names.
import { heartbeatProjector } from './heartbeat.js';
import { hostPerfProjector } from './host-perf.js';
import { processPerfProjector } from './process-perf.js';
import type { TelemetryProjector } from './telemetry.js';

export const TELEMETRY_PROJECTORS: readonly TelemetryProjector<never>[] = [
  heartbeatProjector,
  hostPerfProjector,
  processPerfProjector,
] as unknown as TelemetryProjector<never>[];

export const PROJECTOR_NAMES: readonly string[] = TELEMETRY_PROJECTORS.map((p) => p.name);
