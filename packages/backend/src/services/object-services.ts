// The object-store services (issue #9) built together, since they share one
// object-store access: agent releases and rollout, app packages, script
// objects and collected bundles. services/index.ts spreads the result into
// the service set. `objectTasks` owns the background work of this domain
// (the object_store_meta projector); server.ts starts it after the HTTP app
// is built and stops it on shutdown.
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { type ObjectMetaProjector, startObjectMetaProjector } from '../projectors/object-meta.js';
import type { Store } from '../store/index.js';
import type { AgentService } from './agents.js';
import type { AuditService } from './audit.js';
import { createBundleService } from './bundles.js';
import type { JobService } from './jobs.js';
import { createKvAccess } from './kv.js';
import { createObjectAccess, INDEXED_STORES } from './objects.js';
import { createAppPackageService, createScriptObjectService } from './packages.js';
import { createReleaseService } from './releases.js';

export function createObjectServices(deps: {
  store: Store;
  nc: NatsConnection;
  log: Logger;
  audit: AuditService;
  agents: AgentService;
  jobs: JobService;
}) {
  const { store, nc, log, audit } = deps;
  const objects = createObjectAccess({ nc, store, log });
  let projector: ObjectMetaProjector | undefined;
  return {
    releases: createReleaseService({ objects, kv: createKvAccess(nc), audit, agents: deps.agents }),
    appPackages: createAppPackageService({ objects, audit }),
    scriptObjects: createScriptObjectService({ objects, audit }),
    bundles: createBundleService({ objects, audit, jobs: deps.jobs }),
    objectTasks: {
      /** Starts the object_store_meta projector; resolves once every store was read up to date once. */
      start(): Promise<void> {
        projector ??= startObjectMetaProjector({ nc, store, log, buckets: INDEXED_STORES });
        return projector.ready;
      },
      stop() {
        projector?.stop();
      },
    },
  };
}
