// The store: every SQL statement of the backend lives under this directory.
import { createAgentStore } from './agents.js';
import { createAuditStore } from './audit.js';
import type { Db } from './db.js';
import { createPerfStore } from './perf.js';

export function createStore(db: Db) {
  return {
    db,
    agents: createAgentStore(db),
    audit: createAuditStore(db),
    perf: createPerfStore(db),
    /** Run `fn` in one write transaction (BEGIN IMMEDIATE: no lock upgrade races with the other writer). */
    tx<T>(fn: () => T): T {
      return db.transaction(fn).immediate();
    },
  };
}
export type Store = ReturnType<typeof createStore>;
export { type Db, migrate, openDb } from './db.js';
