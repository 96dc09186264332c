// The store: every SQL statement of the backend lives under this directory.
import { createAgentMetaStore } from './agent-meta.js';
import { createAgentStore } from './agents.js';
import { createAuditStore } from './audit.js';
import { createCheckStore } from './checks.js';
import type { Db } from './db.js';
import { createExecutionStore } from './executions.js';
import { createExplodeStore } from './explode.js';
import { createInventoryStore } from './inventory.js';
import { createObjectMetaStore } from './objects.js';
import { createObsEventStore } from './obs-events.js';
import { createPerfStore } from './perf.js';
import { createPermissionGroupStore } from './permission-groups.js';
import { createResultStore } from './results.js';
import { createRetentionStore } from './retention.js';
import { createScheduleStore } from './schedules.js';
import { createUserStore } from './users.js';
import { createWaveStore } from './waves.js';

export function createStore(db: Db) {
  return {
    db,
    agents: createAgentStore(db),
    audit: createAuditStore(db),
    perf: createPerfStore(db),
    users: createUserStore(db),
    permissionGroups: createPermissionGroupStore(db),
    executions: createExecutionStore(db),
    results: createResultStore(db),
    waves: createWaveStore(db),
    retention: createRetentionStore(db),
    schedules: createScheduleStore(db),
    obsEvents: createObsEventStore(db),
    agentMeta: createAgentMetaStore(db),
    checks: createCheckStore(db),
    inventory: createInventoryStore(db),
    explode: createExplodeStore(db),
    objects: createObjectMetaStore(db),
    /** Run `fn` in one write transaction (BEGIN IMMEDIATE: no lock upgrade races with the other writer). */
    tx<T>(fn: () => T): T {
      return db.transaction(fn).immediate();
    },
  };
}
export type Store = ReturnType<typeof createStore>;
export { type Db, type DbTarget, migrate, openDb, redactUrl } from './db.js';
export { type Dialect, tableColumnsQuery, tableExistsQuery } from './dialect.js';
