// users: operator accounts. The last-enabled-admin guard lives inside the
// UPDATE and DELETE predicates, so counting the admins and writing happen in
// one statement: two admins demoting each other at the same time cannot both
// succeed. Password hashes leave this module only through `credentials()`.
// A credential change revokes the account's sessions in the same statement
// that makes it: a patch that sets the password or the TOTP secret, or flips
// the disabled flag, also sets sessions_valid_after = now (http/auth.ts
// refuses tokens issued before it). A TOTP time step is claimed with a
// conditional UPDATE, so two sign-ins with the same code cannot both win.
import type { Db } from './db.js';

export type Role = 'viewer' | 'operator' | 'admin';

export interface UserRow {
  username: string;
  role: Role;
  disabled: boolean;
  must_change_pw: boolean;
  email: string | null;
  /** JSON text; null = unrestricted */
  allowed_features: string | null;
  permission_group: string | null;
  mfa_enabled: boolean;
  created_at: number;
  updated_at: number;
}

export interface Credentials {
  username: string;
  role: Role;
  disabled: boolean;
  must_change_pw: boolean;
  password_hash: string;
  totp_secret: string | null;
  totp_pending: string | null;
}

/** What the auth layer re-reads on every request. */
export interface AuthRow {
  role: Role;
  disabled: boolean;
  allowed_features: string | null;
  permission_group: string | null;
  /** The group's features JSON, or null when the group is missing. */
  group_features: string | null;
  /** epoch ms; tokens issued before it are revoked (0 = none) */
  sessions_valid_after: number;
}

export interface NewUser {
  username: string;
  password_hash: string;
  role: Role;
  must_change_pw: boolean;
  email: string | null;
  allowed_features: string | null;
  permission_group: string | null;
}

/** Fields an admin may change; `undefined` = unchanged, `null` = clear. */
export interface UserPatch {
  role?: Role;
  disabled?: boolean;
  password_hash?: string;
  must_change_pw?: boolean;
  email?: string | null;
  allowed_features?: string | null;
  permission_group?: string | null;
  totp_secret?: string | null;
  totp_pending?: string | null;
}

export type UpdateOutcome = 'updated' | 'not_found' | 'last_admin';

interface RawUser {
  username: string;
  role: Role;
  disabled: number;
  must_change_pw: number;
  email: string | null;
  allowed_features: string | null;
  permission_group: string | null;
  mfa_enabled: number;
  created_at: number;
  updated_at: number;
}

const USER_COLUMNS = `username, role, disabled, must_change_pw, email, allowed_features, permission_group,
  (totp_secret IS NOT NULL) AS mfa_enabled, created_at, updated_at`;

/** True when the row is the only enabled admin left (evaluated inside the writing statement). */
const LAST_ENABLED_ADMIN = `role = 'admin' AND disabled = 0
  AND (SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0) <= 1`;

const PATCHABLE = [
  'role',
  'disabled',
  'password_hash',
  'must_change_pw',
  'email',
  'allowed_features',
  'permission_group',
  'totp_secret',
  'totp_pending',
] as const satisfies readonly (keyof UserPatch)[];

function toRow(r: RawUser): UserRow {
  return {
    ...r,
    disabled: r.disabled !== 0,
    must_change_pw: r.must_change_pw !== 0,
    mfa_enabled: r.mfa_enabled !== 0,
  };
}

const sqlValue = (v: unknown) => (typeof v === 'boolean' ? (v ? 1 : 0) : v);

export function createUserStore(db: Db) {
  const count = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM users');
  const list = db.prepare<[], RawUser>(`SELECT ${USER_COLUMNS} FROM users ORDER BY username`);
  const get = db.prepare<[string], RawUser>(`SELECT ${USER_COLUMNS} FROM users WHERE username = ?`);
  const creds = db.prepare<
    [string],
    Omit<Credentials, 'disabled' | 'must_change_pw'> & { disabled: number; must_change_pw: number }
  >(
    `SELECT username, role, disabled, must_change_pw, password_hash, totp_secret, totp_pending
     FROM users WHERE username = ?`,
  );
  const auth = db.prepare<[string], Omit<AuthRow, 'disabled'> & { disabled: number }>(
    `SELECT u.role, u.disabled, u.allowed_features, u.permission_group, g.features AS group_features,
       u.sessions_valid_after
     FROM users u LEFT JOIN permission_groups g ON g.name = u.permission_group
     WHERE u.username = ?`,
  );
  const insert = db.prepare(
    `INSERT INTO users (username, password_hash, role, disabled, must_change_pw, created_at, updated_at,
       email, allowed_features, permission_group)
     VALUES (?, ?, ?, 0, ?, ?, ?, ?, ?, ?) ON CONFLICT (username) DO NOTHING`,
  );
  const del = db.prepare(`DELETE FROM users WHERE username = ? AND NOT (${LAST_ENABLED_ADMIN})`);
  const exists = db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM users WHERE username = ?');
  const revoke = db.prepare('UPDATE users SET sessions_valid_after = ? WHERE username = ?');
  const claimStep = db.prepare(
    `UPDATE users SET totp_last_step = ?
     WHERE username = ? AND (totp_last_step IS NULL OR totp_last_step < ?)`,
  );
  const updates = new Map<string, ReturnType<Db['prepare']>>();

  return {
    count(): number {
      return count.get()!.n;
    },
    list(): UserRow[] {
      return list.all().map(toRow);
    },
    get(username: string): UserRow | undefined {
      const r = get.get(username);
      return r && toRow(r);
    },
    /** The row with its secrets, for the credential checks in services/accounts.ts only. */
    credentials(username: string): Credentials | undefined {
      const r = creds.get(username);
      return r && { ...r, disabled: r.disabled !== 0, must_change_pw: r.must_change_pw !== 0 };
    },
    auth(username: string): AuthRow | undefined {
      const r = auth.get(username);
      return r && { ...r, disabled: r.disabled !== 0 };
    },
    /** false when the username is taken */
    insert(u: NewUser, now: number): boolean {
      return (
        insert.run(
          u.username,
          u.password_hash,
          u.role,
          u.must_change_pw ? 1 : 0,
          now,
          now,
          u.email,
          u.allowed_features,
          u.permission_group,
        ).changes === 1
      );
    },
    /**
     * Apply `patch` in one statement. When the result would leave no enabled
     * admin (demoting or disabling the last one), nothing is written and the
     * outcome is `last_admin`. A new password or TOTP secret, or a change of
     * the disabled flag, also revokes the account's sessions (see the header).
     */
    update(username: string, patch: UserPatch, now: number): UpdateOutcome {
      const fields = PATCHABLE.filter((k) => patch[k] !== undefined);
      const key = fields.join(',');
      let stmt = updates.get(key);
      if (!stmt) {
        const sets = [...fields.map((f) => `${f} = @${f}`), 'updated_at = @now'];
        // SET expressions read the row as it was, so `disabled <> @disabled` is "the flag changes".
        if (fields.includes('password_hash') || fields.includes('totp_secret'))
          sets.push('sessions_valid_after = @now');
        else if (fields.includes('disabled'))
          sets.push(
            'sessions_valid_after = CASE WHEN disabled <> @disabled THEN @now ELSE sessions_valid_after END',
          );
        // The row stops being an enabled admin when its new role is not admin or it becomes disabled.
        const newRole = fields.includes('role') ? '@role' : 'role';
        const newDisabled = fields.includes('disabled') ? '@disabled' : 'disabled';
        stmt = db.prepare(
          `UPDATE users SET ${sets.join(', ')} WHERE username = @username
           AND NOT (${LAST_ENABLED_ADMIN} AND (${newRole} <> 'admin' OR ${newDisabled} <> 0))`,
        );
        updates.set(key, stmt);
      }
      const params: Record<string, unknown> = { username, now };
      for (const f of fields) params[f] = sqlValue(patch[f]);
      if (stmt.run(params).changes === 1) return 'updated';
      return exists.get(username)!.n === 0 ? 'not_found' : 'last_admin';
    },
    /** Revoke every session issued before `now` ("sign out everywhere"); false when there is no such account. */
    revokeSessions(username: string, now: number): boolean {
      return revoke.run(now, username).changes === 1;
    },
    /**
     * Record `step` as the account's last accepted TOTP time step, only when
     * it is greater than the one recorded; false = the code (or an earlier
     * one) was already used, or the account is gone.
     */
    claimTotpStep(username: string, step: number): boolean {
      return claimStep.run(step, username, step).changes === 1;
    },
    delete(username: string): UpdateOutcome {
      if (del.run(username).changes === 1) return 'updated';
      return exists.get(username)!.n === 0 ? 'not_found' : 'last_admin';
    },
  };
}
export type UserStore = ReturnType<typeof createUserStore>;
