// Authentication and authorization for /api/* and /metrics, in upstream's
// precedence: KANADE_AUTH_DISABLE opens everything (an unrestricted admin);
// otherwise a bearer equal to the static service token (constant-time
// compare) is an unrestricted admin; any other bearer must be an HS256 JWT
// with aud=kanade, and its subject's users row is authoritative on every
// request: a missing or disabled account is a 401, the role and the page
// allow-list come from the row, never from the token. A database error is a
// 401 too (fail closed). A token issued before the account's last credential
// change (sessions_valid_after, see store/users.ts) is a 401 `session
// revoked`.
//
// All of it runs in onRequest, before the body is parsed or validated, so a
// caller without the right learns nothing about a route's input. The route's
// declared policy then decides: role first (403 naming the required role),
// then the page allow-list (403 naming the page). A guarded route that
// reaches its handler without an authorization decision is refused.
import { createHash, timingSafeEqual } from 'node:crypto';
import { type Feature, SHARED_OWNER_FEATURES } from '@kanade/wire';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AccountService } from '../services/accounts.js';
import type { Caller } from '../services/audit.js';
import { InvalidToken, type SessionService } from '../services/sessions.js';
import { ApiError } from './errors.js';
import { isGuardedPath, ROLE_RANK, type Role, type RoutePolicy } from './policy.js';

export interface Identity {
  sub: string;
  role: Role;
  /** null = unrestricted (every page) */
  allowedFeatures: Feature[] | null;
  /** false for the service token and the auth-disabled identity, which have no users row */
  account: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    identity?: Identity;
    authorized?: boolean;
  }
}

export interface AuthSettings {
  disabled: boolean;
  staticToken: string | undefined;
}

/** The services the auth layer consults (a subset of Services, so tests can pass the real ones). */
export interface AuthServices {
  sessions: Pick<SessionService, 'verify'>;
  accounts: Pick<AccountService, 'identity'>;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Constant-time equality that does not leak the token length either. */
export function tokenEquals(presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected));
}

export function bearer(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  if (typeof h !== 'string') return undefined;
  const m = /^Bearer\s+(.+)$/i.exec(h.trim());
  return m?.[1]?.trim() || undefined;
}

const unauthorized = (message: string) => new ApiError('KANADE_ERR_UNAUTHORIZED', message);

export async function authenticate(
  req: FastifyRequest,
  settings: AuthSettings,
  services: AuthServices,
): Promise<Identity> {
  if (settings.disabled)
    return { sub: 'auth-disabled', role: 'admin', allowedFeatures: null, account: false };
  const token = bearer(req);
  if (!token) throw unauthorized('missing bearer token');
  if (settings.staticToken && tokenEquals(token, settings.staticToken))
    return { sub: 'service-token', role: 'admin', allowedFeatures: null, account: false };
  let sub: string;
  let iat: number;
  let iatMs: number | undefined;
  try {
    ({ sub, iat, iatMs } = await services.sessions.verify(token));
  } catch (err) {
    if (err instanceof InvalidToken) throw unauthorized(`invalid bearer token: ${err.message}`);
    throw err;
  }
  let account: ReturnType<AuthServices['accounts']['identity']>;
  try {
    account = services.accounts.identity(sub);
  } catch (err) {
    req.log.error({ err: (err as Error).message }, 'account lookup failed');
    throw unauthorized('auth backend unavailable');
  }
  if (!account) throw unauthorized('unknown account');
  if (account.disabled) throw unauthorized('account disabled');
  // Tokens carry their issue time in milliseconds (`iat_ms`, services/sessions.ts): one issued before
  // the revocation is refused, one issued in the same millisecond or later is accepted (the fresh
  // token a credential change hands back is minted right after it). A token minted before `iat_ms`
  // existed has only the whole-second `iat`: it is refused when issued in an earlier second, so one
  // issued in the revocation's own second survives it.
  const revoked =
    iatMs !== undefined
      ? iatMs < account.sessionsValidAfter
      : iat < Math.floor(account.sessionsValidAfter / 1000);
  if (revoked) throw unauthorized('session revoked');
  return { sub, role: account.role, allowedFeatures: account.allowedFeatures, account: true };
}

/** Why a page-restricted caller may not use this route, or undefined when it may. */
export function featureDenial(
  allowed: readonly Feature[] | null,
  policy: Exclude<RoutePolicy, { public: true }>,
  url: string,
  method: string,
): string | undefined {
  if (allowed === null || policy.selfService) return undefined;
  const owns = policy.feature !== undefined && allowed.includes(policy.feature);
  if (owns) return undefined;
  const shared = method === 'GET' || method === 'HEAD' ? SHARED_OWNER_FEATURES[url] : undefined;
  if (shared?.some((f) => allowed.includes(f))) return undefined;
  if (policy.feature !== undefined) {
    return `account not permitted to access this page (requires ${policy.feature})`;
  }
  return 'account not permitted to access this route (it belongs to no page, and this account is limited to specific pages)';
}

export function registerAuth(app: FastifyInstance, settings: AuthSettings, services: AuthServices) {
  app.decorateRequest('identity', undefined);
  app.decorateRequest('authorized', false);

  app.addHook('onRequest', async (req) => {
    if (!isGuardedPath(req.url.split('?', 1)[0]!)) return;
    const policy = req.routeOptions.config?.policy as RoutePolicy | undefined;
    // Unknown /api paths: authenticate anyway, so a 404 never tells an anonymous caller what exists.
    if (policy && 'public' in policy) {
      req.authorized = true;
      return;
    }
    try {
      req.identity = await authenticate(req, settings, services);
    } catch (err) {
      if (err instanceof ApiError)
        req.log.info({ path: req.url.split('?', 1)[0], reason: err.message }, 'auth rejected');
      throw err;
    }
    if (!policy) return;
    if (ROLE_RANK[req.identity.role] < ROLE_RANK[policy.role]) {
      throw new ApiError(
        'KANADE_ERR_FORBIDDEN',
        `${policy.role} role required (caller is ${req.identity.role})`,
      );
    }
    const denied = featureDenial(
      req.identity.allowedFeatures,
      policy,
      req.routeOptions.url ?? '',
      req.method,
    );
    if (denied) throw new ApiError('KANADE_ERR_FORBIDDEN', denied);
    req.authorized = true;
  });

  app.addHook('preHandler', async (req) => {
    if (isGuardedPath(req.routeOptions.url ?? '') && !req.authorized) {
      throw new ApiError('KANADE_ERR_FORBIDDEN', 'no authorization decision was made for this route');
    }
  });
}

/** Who made a request, for audit payloads: the identity's subject and the X-Kanade-Source header (cli, spa, ...). */
export function callerOf(req: FastifyRequest): Caller {
  const source = req.headers['x-kanade-source'];
  return {
    username: req.identity?.sub ?? 'anonymous',
    source: typeof source === 'string' ? source.slice(0, 64) : undefined,
  };
}
