// Accounts: login, self-service (password, TOTP MFA), admin CRUD over users
// and permission groups, the per-request identity lookup the auth layer uses,
// and the bootstrap admin. Rules, as upstream:
// - passwords are argon2id PHC strings (@node-rs/argon2 hashes on the libuv
//   pool, off the event loop); at least 8 characters;
// - login answers the same 401 for an unknown user, a bad password and a
//   disabled account, and spends the same argon2 time on each, so neither the
//   message nor the latency tells them apart;
// - with MFA on, a correct password without `code` is a distinct 401
//   (KANADE_ERR_MFA_REQUIRED) so the client can ask for the code; it does not
//   count as a failure. A wrong code does, and so does a code whose 30 s
//   time step is not later than the last one accepted for the account (a
//   replayed code; the same 401). The step is claimed by a conditional UPDATE
//   before the token is minted, so two sign-ins racing with one code cannot
//   both succeed. Enrolment codes are not recorded: they prove the
//   authenticator, not a sign-in;
// - a new password or TOTP secret and a disable/enable revoke every session
//   of the account (store/users.ts). The self-service routes that change a
//   credential, and "sign out everywhere", hand the caller a fresh token so
//   only the other sessions end;
// - the effective page allow-list is the permission group's when the account
//   has one (never unrestricted: a missing or corrupt group falls back to the
//   account's own list, then to "commons only"), else the account's own list;
// - every change is audited; hashes, secrets and tokens never enter a payload.
import { type Feature, parseStoredFeatures } from '@kanade/wire';
import { hash, verify } from '@node-rs/argon2';
import { Secret, TOTP } from 'otpauth';
import type { Logger } from 'pino';
import { ApiError } from '../http/errors.js';
import { loadOrCreateSecret } from '../secrets.js';
import type { Store } from '../store/index.js';
import type { PermissionGroupRow } from '../store/permission-groups.js';
import type { Role, UserPatch, UserRow } from '../store/users.js';
import type { AuditService, Caller } from './audit.js';
import type { ServerSettingsService } from './server-settings.js';
import type { Session, SessionService } from './sessions.js';
import type { LoginThrottle } from './throttle.js';

export const MIN_PASSWORD_LENGTH = 8;
export const TOTP_ISSUER = 'kanade';

const hashPassword = (password: string): Promise<string> => hash(password);

/** What the auth layer needs about an account, re-read on every request. */
export interface AccountIdentity {
  role: Role;
  disabled: boolean;
  /** null = unrestricted */
  allowedFeatures: Feature[] | null;
  /** epoch ms; tokens issued before it are revoked (0 = none) */
  sessionsValidAfter: number;
}

export interface AccountView {
  username: string;
  role: Role;
  disabled: boolean;
  must_change_pw: boolean;
  email: string | null;
  allowed_features: Feature[] | null;
  permission_group: string | null;
  mfa_enabled: boolean;
  created_at: number;
  updated_at: number;
}

export interface NewAccount {
  username: string;
  role: Role;
  password?: string | undefined;
  email?: string | null | undefined;
  /** canonical (validated) feature list, or null for unrestricted */
  allowed_features?: Feature[] | null | undefined;
  permission_group?: string | null | undefined;
  must_change_pw?: boolean | undefined;
}

export interface AccountChanges {
  role?: Role | undefined;
  password?: string | undefined;
  disabled?: boolean | undefined;
  email?: string | null | undefined;
  allowed_features?: Feature[] | null | undefined;
  permission_group?: string | null | undefined;
  must_change_pw?: boolean | undefined;
  /** Admin recovery for a lost authenticator: turns MFA off. */
  reset_mfa?: boolean | undefined;
}

export interface LoginResult {
  token: string;
  /** epoch seconds */
  exp: number;
  role: Role;
  must_change_pw: boolean;
}

/** 429 from the login throttle; the route turns `retryAfter` into the Retry-After header. */
export class Throttled extends ApiError {
  constructor(readonly retryAfter: number) {
    super('KANADE_ERR_RATE_LIMITED', `too many failed attempts; retry in ${retryAfter} s`);
  }
}

const unauthorized = (message: string) => new ApiError('KANADE_ERR_UNAUTHORIZED', message);

function totpFor(username: string, secret: string): TOTP {
  return new TOTP({
    issuer: TOTP_ISSUER,
    label: username,
    algorithm: 'SHA1',
    digits: 6,
    period: 30,
    secret: Secret.fromBase32(secret),
  });
}

function checkPassword(field: string, password: string) {
  if ([...password].length < MIN_PASSWORD_LENGTH) {
    throw new ApiError(
      'KANADE_ERR_BAD_REQUEST',
      `body field ${field}: must be at least ${MIN_PASSWORD_LENGTH} characters`,
    );
  }
}

export interface PermissionGroupView {
  name: string;
  features: Feature[];
  member_count: number;
  created_at: number;
  updated_at: number;
}

function groupView(g: PermissionGroupRow): PermissionGroupView {
  return { ...g, features: parseStoredFeatures(g.features) ?? [] };
}

function toView(r: UserRow): AccountView {
  return { ...r, allowed_features: parseStoredFeatures(r.allowed_features) };
}

export interface AccountDeps {
  store: Store;
  audit: AuditService;
  sessions: SessionService;
  settings: ServerSettingsService;
  throttle: LoginThrottle;
  log: Logger;
  now: () => number;
}

export function createAccountService(deps: AccountDeps) {
  const { store, audit, log, now } = deps;
  let dummyHash: Promise<string> | undefined;

  /** Constant-work password check: an unknown user still costs one argon2 verification. */
  async function passwordMatches(phc: string | undefined, password: string): Promise<boolean> {
    if (phc === undefined) {
      dummyHash ??= hash('kanade-timing-equaliser');
      await verify(await dummyHash, password).catch(() => false);
      return false;
    }
    return verify(phc, password).catch(() => false);
  }

  function requireGroup(name: string | null | undefined) {
    if (name !== undefined && name !== null && !store.permissionGroups.get(name)) {
      throw new ApiError(
        'KANADE_ERR_UNPROCESSABLE',
        `body field permission_group: no permission group ${name}`,
      );
    }
  }

  function requireAccount(username: string) {
    const creds = store.users.credentials(username);
    if (!creds) throw unauthorized('unknown account');
    return creds;
  }

  /** A new token for a caller whose other sessions were just revoked (minted after the revocation). */
  async function freshSession(username: string, role: Role): Promise<Session> {
    return deps.sessions.mint(username, role, await deps.settings.sessionTtlHours());
  }

  return {
    identity(username: string): AccountIdentity | undefined {
      const row = store.users.auth(username);
      if (!row) return undefined;
      const allowedFeatures =
        row.permission_group !== null
          ? (parseStoredFeatures(row.group_features) ?? parseStoredFeatures(row.allowed_features) ?? [])
          : parseStoredFeatures(row.allowed_features);
      return {
        role: row.role,
        disabled: row.disabled,
        allowedFeatures,
        sessionsValidAfter: row.sessions_valid_after,
      };
    },

    async login(
      input: { username: string; password: string; code?: string | undefined; ip: string },
      source: string | undefined,
    ): Promise<LoginResult> {
      const { username, ip } = input;
      const wait = await deps.throttle.retryAfter(username, ip);
      if (wait !== undefined) throw new Throttled(wait);
      const creds = store.users.credentials(username);
      const caller: Caller = { username, source };
      const fail = async (reason: string, message = 'invalid credentials') => {
        await deps.throttle.failure(username, ip);
        await audit.record({
          actor: 'auth',
          action: 'login_failed',
          target: username,
          payload: { ip, reason },
          caller,
        });
        return unauthorized(message);
      };
      const matches = await passwordMatches(creds?.password_hash, input.password);
      if (!creds) throw await fail('unknown account');
      if (!matches) throw await fail('bad password');
      if (creds.disabled) throw await fail('account disabled');
      if (creds.totp_secret !== null) {
        if (!input.code) {
          throw new ApiError(
            'KANADE_ERR_MFA_REQUIRED',
            'this account uses MFA: send the 6-digit code as `code`',
          );
        }
        const totp = totpFor(username, creds.totp_secret);
        const at = now();
        const delta = totp.validate({ token: input.code, window: 1, timestamp: at });
        if (delta === null) throw await fail('bad MFA code', 'invalid MFA code');
        if (!store.users.claimTotpStep(username, totp.counter({ timestamp: at }) + delta)) {
          throw await fail('reused MFA code', 'invalid MFA code');
        }
      }
      await deps.throttle.success(username);
      const session = await freshSession(username, creds.role);
      await audit.record({
        actor: 'auth',
        action: 'login',
        target: username,
        payload: { ip, mfa: creds.totp_secret !== null },
        caller,
      });
      return { ...session, role: creds.role, must_change_pw: creds.must_change_pw };
    },

    me(username: string): AccountView | undefined {
      const r = store.users.get(username);
      return r && toView(r);
    },

    async changePassword(
      username: string,
      input: { old_password: string; new_password: string; ip: string },
      caller: Caller,
    ): Promise<Session> {
      const creds = requireAccount(username);
      checkPassword('new_password', input.new_password);
      const wait = await deps.throttle.retryAfter(username, input.ip);
      if (wait !== undefined) throw new Throttled(wait);
      if (!(await passwordMatches(creds.password_hash, input.old_password))) {
        await deps.throttle.failure(username, input.ip);
        throw new ApiError('KANADE_ERR_BAD_REQUEST', 'body field old_password: incorrect');
      }
      const password_hash = await hashPassword(input.new_password);
      store.users.update(username, { password_hash, must_change_pw: false }, now());
      await audit.record({ actor: 'auth', action: 'account.change_password', target: username, caller });
      return freshSession(username, creds.role);
    },

    /** End every session of the account, then hand the caller a fresh one. */
    async logoutEverywhere(username: string, caller: Caller): Promise<Session> {
      const creds = requireAccount(username);
      if (!store.users.revokeSessions(username, now())) throw unauthorized('unknown account');
      await audit.record({ actor: 'auth', action: 'account.logout_everywhere', target: username, caller });
      return freshSession(username, creds.role);
    },

    async mfaInit(username: string, caller: Caller): Promise<{ secret: string; otpauth_url: string }> {
      const creds = requireAccount(username);
      if (creds.totp_secret !== null) {
        throw new ApiError(
          'KANADE_ERR_CONFLICT',
          'MFA is already enabled; disable it first to enrol a new device',
        );
      }
      const secret = new Secret({ size: 20 }).base32;
      store.users.update(username, { totp_pending: secret }, now());
      await audit.record({ actor: 'auth', action: 'account.mfa_init', target: username, caller });
      return { secret, otpauth_url: totpFor(username, secret).toString() };
    },

    async mfaVerify(username: string, code: string, caller: Caller): Promise<Session> {
      const creds = requireAccount(username);
      if (creds.totp_pending === null) {
        throw new ApiError(
          'KANADE_ERR_CONFLICT',
          'no MFA enrolment in progress; call /api/auth/mfa/init first',
        );
      }
      if (totpFor(username, creds.totp_pending).validate({ token: code, window: 1 }) === null) {
        throw new ApiError('KANADE_ERR_BAD_REQUEST', 'body field code: does not match the enrolment secret');
      }
      store.users.update(username, { totp_secret: creds.totp_pending, totp_pending: null }, now());
      await audit.record({ actor: 'auth', action: 'account.mfa_enable', target: username, caller });
      return freshSession(username, creds.role);
    },

    async mfaDisable(username: string, password: string, ip: string, caller: Caller): Promise<Session> {
      const creds = requireAccount(username);
      const wait = await deps.throttle.retryAfter(username, ip);
      if (wait !== undefined) throw new Throttled(wait);
      if (!(await passwordMatches(creds.password_hash, password))) {
        await deps.throttle.failure(username, ip);
        throw new ApiError('KANADE_ERR_BAD_REQUEST', 'body field password: incorrect');
      }
      store.users.update(username, { totp_secret: null, totp_pending: null }, now());
      await audit.record({ actor: 'auth', action: 'account.mfa_disable', target: username, caller });
      return freshSession(username, creds.role);
    },

    list(): AccountView[] {
      return store.users.list().map(toView);
    },

    async create(a: NewAccount, caller: Caller): Promise<AccountView> {
      if (a.password === undefined) {
        throw new ApiError(
          'KANADE_ERR_UNPROCESSABLE',
          'body field password: required (e-mailed setup links need a mail relay, which this backend does not have)',
        );
      }
      checkPassword('password', a.password);
      requireGroup(a.permission_group);
      const password_hash = await hashPassword(a.password);
      const created = store.users.insert(
        {
          username: a.username,
          password_hash,
          role: a.role,
          must_change_pw: a.must_change_pw ?? true,
          email: a.email ?? null,
          allowed_features: a.allowed_features ? JSON.stringify(a.allowed_features) : null,
          permission_group: a.permission_group ?? null,
        },
        now(),
      );
      if (!created) throw new ApiError('KANADE_ERR_CONFLICT', `account ${a.username} already exists`);
      await audit.record({
        actor: 'admin',
        action: 'account.create',
        target: a.username,
        payload: {
          role: a.role,
          email: a.email ?? null,
          allowed_features: a.allowed_features ?? null,
          permission_group: a.permission_group ?? null,
        },
        caller,
      });
      return toView(store.users.get(a.username)!);
    },

    async update(username: string, c: AccountChanges, caller: Caller): Promise<AccountView> {
      if (c.password !== undefined) checkPassword('password', c.password);
      requireGroup(c.permission_group);
      const patch: UserPatch = {
        role: c.role,
        disabled: c.disabled,
        email: c.email,
        permission_group: c.permission_group,
        must_change_pw: c.must_change_pw,
        allowed_features:
          c.allowed_features === undefined
            ? undefined
            : c.allowed_features && JSON.stringify(c.allowed_features),
      };
      if (c.password !== undefined) {
        patch.password_hash = await hashPassword(c.password);
        patch.must_change_pw = true;
      }
      if (c.reset_mfa) {
        patch.totp_secret = null;
        patch.totp_pending = null;
      }
      const outcome = store.users.update(username, patch, now());
      if (outcome === 'not_found') throw new ApiError('KANADE_ERR_NOT_FOUND', `no account ${username}`);
      if (outcome === 'last_admin') {
        throw new ApiError(
          'KANADE_ERR_CONFLICT',
          `${username} is the last enabled admin; it cannot be demoted or disabled`,
        );
      }
      await audit.record({
        actor: 'admin',
        action: 'account.update',
        target: username,
        payload: {
          role: c.role,
          disabled: c.disabled,
          email: c.email,
          allowed_features: c.allowed_features,
          permission_group: c.permission_group,
          must_change_pw: patch.must_change_pw,
          password_reset: c.password !== undefined,
          mfa_reset: c.reset_mfa === true,
        },
        caller,
      });
      return toView(store.users.get(username)!);
    },

    async remove(username: string, caller: Caller): Promise<void> {
      const outcome = store.users.delete(username);
      if (outcome === 'not_found') throw new ApiError('KANADE_ERR_NOT_FOUND', `no account ${username}`);
      if (outcome === 'last_admin') {
        throw new ApiError(
          'KANADE_ERR_CONFLICT',
          `${username} is the last enabled admin; it cannot be deleted`,
        );
      }
      await audit.record({ actor: 'admin', action: 'account.delete', target: username, caller });
    },

    listGroups(): PermissionGroupView[] {
      return store.permissionGroups.list().map(groupView);
    },

    async createGroup(name: string, features: Feature[], caller: Caller): Promise<PermissionGroupView> {
      if (!store.permissionGroups.insert(name, JSON.stringify(features), now())) {
        throw new ApiError('KANADE_ERR_CONFLICT', `permission group ${name} already exists`);
      }
      await audit.record({
        actor: 'admin',
        action: 'permission_group.create',
        target: name,
        payload: { features },
        caller,
      });
      return groupView(store.permissionGroups.get(name)!);
    },

    async updateGroup(name: string, features: Feature[], caller: Caller): Promise<PermissionGroupView> {
      if (!store.permissionGroups.update(name, JSON.stringify(features), now())) {
        throw new ApiError('KANADE_ERR_NOT_FOUND', `no permission group ${name}`);
      }
      await audit.record({
        actor: 'admin',
        action: 'permission_group.update',
        target: name,
        payload: { features },
        caller,
      });
      return groupView(store.permissionGroups.get(name)!);
    },

    async removeGroup(name: string, caller: Caller): Promise<void> {
      const outcome = store.permissionGroups.delete(name);
      if (outcome === 'not_found') throw new ApiError('KANADE_ERR_NOT_FOUND', `no permission group ${name}`);
      if (outcome === 'has_members') {
        throw new ApiError(
          'KANADE_ERR_CONFLICT',
          `permission group ${name} still has members; reassign them first`,
        );
      }
      await audit.record({ actor: 'admin', action: 'permission_group.delete', target: name, caller });
    },

    /**
     * Seed the first admin when `users` is empty, with must_change_pw. The
     * password is `password` (KANADE_BOOTSTRAP_ADMIN_PASSWORD) or, in the
     * all-in-one mode, one generated once into `generatedPasswordFile`
     * (0600). With neither, only a warning: the static token is the way in.
     */
    async seedBootstrapAdmin(opts: {
      username?: string | undefined;
      password?: string | undefined;
      generatedPasswordFile?: string | undefined;
    }): Promise<{ username: string; password: string; file?: string } | undefined> {
      if (store.users.count() > 0) return undefined;
      const username = opts.username || 'admin';
      let password = opts.password;
      let file: string | undefined;
      if (!password && opts.generatedPasswordFile) {
        file = opts.generatedPasswordFile;
        password = loadOrCreateSecret(file, 12).value;
      }
      if (!password) {
        log.warn(
          'no accounts and no KANADE_BOOTSTRAP_ADMIN_PASSWORD: no admin account was created; use the static token',
        );
        return undefined;
      }
      if ([...password].length < MIN_PASSWORD_LENGTH) {
        log.error(
          `KANADE_BOOTSTRAP_ADMIN_PASSWORD is shorter than ${MIN_PASSWORD_LENGTH} characters; no admin created`,
        );
        return undefined;
      }
      const created = store.users.insert(
        {
          username,
          password_hash: await hashPassword(password),
          role: 'admin',
          must_change_pw: true,
          email: null,
          allowed_features: null,
          permission_group: null,
        },
        now(),
      );
      if (!created) return undefined;
      log.info(
        { username, password_file: file },
        'bootstrap admin account created (must change its password)',
      );
      await audit.record({
        actor: 'auth',
        action: 'account.bootstrap',
        target: username,
        payload: { role: 'admin' },
      });
      return { username, password, ...(file ? { file } : {}) };
    },
  };
}
export type AccountService = ReturnType<typeof createAccountService>;
