// The services of jobs and execution (issue #3) built together, since they
// share the KV handles, the target resolver and the wave dispatcher:
// services/index.ts spreads the result into the service set.
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Store } from '../store/index.js';
import type { AuditService } from './audit.js';
import { createExecService } from './exec.js';
import { createJobService } from './jobs.js';
import { createKillService } from './kill.js';
import { createKvAccess } from './kv.js';
import { createResultService } from './results.js';
import { createRunService } from './run.js';
import { createScriptService } from './scripts.js';
import type { ServerSettingsService } from './server-settings.js';
import { createTargetResolver } from './targets.js';
import { createWaveDispatcher } from './waves.js';

export function createJobServices(deps: {
  store: Store;
  nc: NatsConnection;
  log: Logger;
  audit: AuditService;
  serverSettings: ServerSettingsService;
  now: () => number;
}) {
  const { store, nc, log, audit, now } = deps;
  const kv = createKvAccess(nc);
  const jobs = createJobService({ store, kv, audit });
  const waves = createWaveDispatcher({ store, nc, log, audit, now });
  const targets = createTargetResolver(store, kv, now);
  return {
    jobs,
    waves,
    exec: createExecService({
      store,
      nc,
      log,
      audit,
      jobs,
      kv,
      targets,
      settings: deps.serverSettings,
      waves,
      now,
    }),
    run: createRunService({ nc, audit }),
    results: createResultService({ store, nc }),
    kill: createKillService({ store, nc, audit }),
    scripts: createScriptService({ kv, audit }),
  };
}
