// The services: the rules of each domain, called by routes (and later by the
// scheduler and sweeper). Built once from the process's shared dependencies.
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.js';
import type { Store } from '../store/index.js';
import { createAccountService } from './accounts.js';
import { createAgentService } from './agents.js';
import { createAuditService } from './audit.js';
import { createFleetServices } from './fleet-services.js';
import { createFreezeService } from './freeze.js';
import { createHealthService } from './health.js';
import { createInstallerService } from './installer.js';
import { createJobServices } from './job-services.js';
import { createKvAccess } from './kv.js';
import { createLiveService } from './live.js';
import { createObjectServices } from './object-services.js';
import { createScheduleService } from './schedules.js';
import { createServerSettingsService } from './server-settings.js';
import { createSessionService } from './sessions.js';
import { createLoginThrottle } from './throttle.js';

export interface ServiceDeps {
  store: Store;
  nc: NatsConnection;
  metrics: Metrics;
  log: Logger;
  now?: () => number;
  /** HS256 key for login sessions (services/sessions.ts explains the default). */
  jwtSecret?: string;
  /** The broker this backend uses: agent installers fall back to it (without its credentials). */
  natsUrl?: string;
  /** The embedded broker's listen address and token, when this backend runs one. */
  embeddedNats?: { host: string; port: number; token: string | undefined } | undefined;
}

export function createServices(deps: ServiceDeps) {
  const now = deps.now ?? Date.now;
  const audit = createAuditService(deps.nc, deps.log, { now, metrics: deps.metrics });
  const sessions = createSessionService(deps.jwtSecret, now);
  const serverSettings = createServerSettingsService(deps.nc, audit, deps.log);
  const jobServices = createJobServices({ ...deps, audit, serverSettings, now });
  const kv = createKvAccess(deps.nc);
  const objectServices = createObjectServices({
    ...deps,
    audit,
    agents: createAgentService(deps.store, now),
    jobs: jobServices.jobs,
  });
  return {
    agents: createAgentService(deps.store, now),
    audit,
    /** GET /api/audit: the audit_log projection, filtered and paged. */
    auditLog: { list: deps.store.audit.list },
    sessions,
    serverSettings,
    accounts: createAccountService({
      store: deps.store,
      audit,
      sessions,
      settings: serverSettings,
      throttle: createLoginThrottle(deps.nc, now),
      log: deps.log,
      now,
    }),
    health: createHealthService({ ...deps, now }),
    ...jobServices,
    ...createFleetServices({ ...deps, audit, serverSettings, now }),
    ...objectServices,
    installer: createInstallerService({
      releases: objectServices.releases,
      settings: serverSettings,
      kv,
      natsUrl: deps.natsUrl,
      embedded: deps.embeddedNats,
    }),
    schedules: createScheduleService({ ...jobServices, store: deps.store, kv, audit, now }),
    freeze: createFreezeService({ kv, audit, now }),
    live: createLiveService({ nc: deps.nc, store: deps.store, log: deps.log, now }),
    metrics: deps.metrics,
  };
}
export type Services = ReturnType<typeof createServices>;
