// `kanade-backend wipe-projector` (upstream's command of the same name):
// delete the SQLite database and its WAL/SHM files, keeping the accounts
// (`users`, `permission_groups`), so the next start rebuilds every projection
// from the streams (the empty tables reset the durables, consumer-reset.ts).
// Executions and rollout waves are not projections and are lost, as
// upstream's are. Run it with the backend stopped.
import { rmSync } from 'node:fs';
import { openDb } from './store/db.js';
import { restoreAccounts, snapshotAccounts } from './store/wipe.js';

export function wipeProjector(sqlitePath: string): { users: number; permissionGroups: number } {
  const old = openDb(sqlitePath);
  const snap = snapshotAccounts(old);
  old.close();
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${sqlitePath}${suffix}`, { force: true });
  const fresh = openDb(sqlitePath);
  try {
    restoreAccounts(fresh, snap);
  } finally {
    fresh.close();
  }
  return { users: snap.users.length, permissionGroups: snap.permission_groups.length };
}
