// The services: the rules of each domain, called by routes (and later by the
// scheduler and sweeper). Built once from the process's shared dependencies.
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.js';
import type { Store } from '../store/index.js';
import { createAgentService } from './agents.js';
import { createAuditService } from './audit.js';
import { createHealthService } from './health.js';

export interface ServiceDeps {
  store: Store;
  nc: NatsConnection;
  metrics: Metrics;
  log: Logger;
  now?: () => number;
}

export function createServices(deps: ServiceDeps) {
  const now = deps.now ?? Date.now;
  return {
    agents: createAgentService(deps.store, now),
    audit: createAuditService(deps.nc, deps.log, now),
    health: createHealthService({ ...deps, now }),
    metrics: deps.metrics,
  };
}
export type Services = ReturnType<typeof createServices>;
