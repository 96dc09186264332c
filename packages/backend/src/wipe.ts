// `kanade-backend wipe-projector` (upstream's command of the same name):
// delete the SQLite database and its WAL/SHM files (on PostgreSQL: drop every
// table of the schema and migrate again), keeping the accounts (`users`,
// `permission_groups`), so the next start rebuilds every projection from the
// streams (the empty tables reset the durables, consumer-reset.ts).
// Executions and rollout waves are not projections and are lost, as
// upstream's are. Run it with the backend stopped.
import { rmSync } from 'node:fs';
import { type DbTarget, openDb } from './store/db.js';
import { dropAllTables, restoreAccounts, snapshotAccounts } from './store/wipe.js';

export function wipeProjector(target: DbTarget): { users: number; permissionGroups: number } {
  const old = openDb(target);
  const snap = snapshotAccounts(old);
  if (target.postgresUrl) dropAllTables(old);
  old.close();
  if (!target.postgresUrl)
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${target.sqlitePath}${suffix}`, { force: true });
  const fresh = openDb(target);
  try {
    restoreAccounts(fresh, snap);
  } finally {
    fresh.close();
  }
  return { users: snap.users.length, permissionGroups: snap.permission_groups.length };
}
