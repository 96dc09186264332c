// Every projector the backend runs, in one list: the ingest worker starts
// them, /metrics labels its series by their names, and the wipe/replay check
// knows which durables rebuild which tables.
import { auditProjector } from './audit.js';
import type { DurableProjector } from './durable.js';
import { eventsProjector } from './events.js';
import { heartbeatProjector } from './heartbeat.js';
import { hostPerfProjector } from './host-perf.js';
import { obsEventsProjector } from './obs-events.js';
import { processPerfProjector } from './process-perf.js';
import { resultsProjector } from './results.js';
import type { TelemetryProjector } from './telemetry.js';

export const TELEMETRY_PROJECTORS = [
  heartbeatProjector,
  hostPerfProjector,
  processPerfProjector,
] as unknown as readonly TelemetryProjector<unknown>[];

export const DURABLE_PROJECTORS = [
  auditProjector,
  resultsProjector,
  eventsProjector,
  obsEventsProjector,
] as unknown as readonly DurableProjector<unknown>[];

export const PROJECTOR_NAMES: readonly string[] = [...TELEMETRY_PROJECTORS, ...DURABLE_PROJECTORS].map(
  (p) => p.name,
);
