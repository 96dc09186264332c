// The fleet-model services (issue #6) built together, since they share KV
// handles, the group service and the read-only query sandbox:
// services/index.ts spreads the result into the service set. `fleetTasks`
// owns the background work of this domain on the main thread (the group
// materializer, the agent watchdog and the agent_meta projector); server.ts
// starts it after the HTTP app is built and stops it on shutdown.
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { type AgentMetaProjector, startAgentMetaProjector } from '../projectors/agent-meta.js';
import type { Store } from '../store/index.js';
import { DEFAULT_WATCHDOG_INTERVAL_MS, startWatchdog, type Watchdog } from '../sweeper/watchdog.js';
import { createAgentConfigService } from './agent-config.js';
import { createAgentMetaService } from './agent-meta.js';
import type { AuditService } from './audit.js';
import { createCheckService } from './checks.js';
import { createGroupDefService } from './group-defs.js';
import { createGroupMaterializer } from './group-materializer.js';
import { createGroupService } from './groups.js';
import { createInventoryService } from './inventory.js';
import { createKvAccess } from './kv.js';
import { createQueryRunner } from './query.js';
import type { ServerSettingsService } from './server-settings.js';

export function createFleetServices(deps: {
  store: Store;
  nc: NatsConnection;
  log: Logger;
  audit: AuditService;
  serverSettings: ServerSettingsService;
  now: () => number;
}) {
  const { store, nc, log, audit, now } = deps;
  const kv = createKvAccess(nc);
  const groups = createGroupService({ kv, audit });
  const rawQuery = createQueryRunner({ path: store.db.name });
  const groupDefs = createGroupDefService({
    nc,
    audit,
    query: rawQuery,
    onChange: () => materializer.trigger(),
  });
  const materializer = createGroupMaterializer({ nc, defs: groupDefs, log, now });
  let watchdog: Watchdog | undefined;
  let metaProjector: AgentMetaProjector | undefined;

  return {
    groups,
    agentConfig: createAgentConfigService({ kv, audit, groups }),
    agentMeta: createAgentMetaService({ store, kv, audit }),
    groupDefs,
    groupMaterializer: materializer,
    inventory: createInventoryService({ store, nc, log, kv }),
    checks: createCheckService({ store, audit, settings: deps.serverSettings, now }),
    /** GET /api/obs_events and friends: the obs_events projection. */
    obsEvents: {
      list: store.obsEvents.list,
      kinds: store.obsEvents.kinds,
      sources: store.obsEvents.sources,
      recent: store.obsEvents.recent,
    },
    rawQuery,
    fleetTasks: {
      start(opts: { watchdogIntervalMs?: number } = {}) {
        metaProjector = startAgentMetaProjector({ nc, store, log });
        materializer.start();
        watchdog = startWatchdog({
          store,
          nc,
          log,
          intervalMs: opts.watchdogIntervalMs ?? DEFAULT_WATCHDOG_INTERVAL_MS,
          now,
        });
      },
      async stop() {
        metaProjector?.stop();
        await watchdog?.stop();
        await materializer.stop();
        await rawQuery.close();
      },
    },
  };
}
