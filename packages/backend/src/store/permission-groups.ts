// permission_groups: named page allow-lists that accounts reference by name.
// Deleting a group that still has members is refused inside the DELETE's own
// predicate, so a member assigned concurrently cannot be left dangling by a
// check-then-delete race.
import type { Db } from './db.js';

export interface PermissionGroupRow {
  name: string;
  /** JSON array text */
  features: string;
  member_count: number;
  created_at: number;
  updated_at: number;
}

export type GroupDeleteOutcome = 'deleted' | 'not_found' | 'has_members';

export function createPermissionGroupStore(db: Db) {
  const select = `SELECT g.name, g.features, g.created_at, g.updated_at,
      (SELECT COUNT(*) FROM users u WHERE u.permission_group = g.name) AS member_count
    FROM permission_groups g`;
  const list = db.prepare<[], PermissionGroupRow>(`${select} ORDER BY g.name`);
  const get = db.prepare<[string], PermissionGroupRow>(`${select} WHERE g.name = ?`);
  const insert = db.prepare(
    `INSERT INTO permission_groups (name, features, created_at, updated_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (name) DO NOTHING`,
  );
  const update = db.prepare('UPDATE permission_groups SET features = ?, updated_at = ? WHERE name = ?');
  const del = db.prepare(
    `DELETE FROM permission_groups WHERE name = ?
     AND NOT EXISTS (SELECT 1 FROM users WHERE permission_group = ?)`,
  );
  const exists = db.prepare<[string], { n: number }>(
    'SELECT COUNT(*) AS n FROM permission_groups WHERE name = ?',
  );

  return {
    list(): PermissionGroupRow[] {
      return list.all();
    },
    get(name: string): PermissionGroupRow | undefined {
      return get.get(name);
    },
    /** false when the name is taken */
    insert(name: string, features: string, now: number): boolean {
      return insert.run(name, features, now, now).changes === 1;
    },
    /** false when there is no such group */
    update(name: string, features: string, now: number): boolean {
      return update.run(features, now, name).changes === 1;
    },
    delete(name: string): GroupDeleteOutcome {
      if (del.run(name, name).changes === 1) return 'deleted';
      return exists.get(name)!.n === 0 ? 'not_found' : 'has_members';
    },
  };
}
export type PermissionGroupStore = ReturnType<typeof createPermissionGroupStore>;
