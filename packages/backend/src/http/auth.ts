// Authentication and authorization for /api/* and /metrics, in upstream's
// precedence: KANADE_AUTH_DISABLE opens everything; otherwise a bearer that
// equals the static service token (constant-time compare) is an admin. Every
// other guarded request answers 401. The route's declared policy then decides
// by role; a guarded route that reaches its handler without an authorization
// decision is refused (fail closed).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Caller } from '../services/audit.js';
import { ApiError } from './errors.js';
import { isGuardedPath, ROLE_RANK, type Role, type RoutePolicy } from './policy.js';

export interface Identity {
  sub: string;
  role: Role;
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

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Constant-time equality that does not leak the token length either. */
export function tokenEquals(presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected));
}

function bearer(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  if (typeof h !== 'string') return undefined;
  const m = /^Bearer\s+(.+)$/i.exec(h.trim());
  return m?.[1]?.trim() || undefined;
}

export function authenticate(req: FastifyRequest, settings: AuthSettings): Identity {
  if (settings.disabled) return { sub: 'auth-disabled', role: 'admin' };
  const token = bearer(req);
  if (!token) throw new ApiError('KANADE_ERR_UNAUTHORIZED', 'missing bearer token');
  if (settings.staticToken && tokenEquals(token, settings.staticToken))
    return { sub: 'service-token', role: 'admin' };
  throw new ApiError('KANADE_ERR_UNAUTHORIZED', 'invalid bearer token');
}

export function registerAuth(app: FastifyInstance, settings: AuthSettings) {
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
    req.identity = authenticate(req, settings);
    if (!policy) return;
    if (ROLE_RANK[req.identity.role] < ROLE_RANK[policy.role]) {
      throw new ApiError(
        'KANADE_ERR_FORBIDDEN',
        `${policy.role} role required (caller is ${req.identity.role})`,
      );
    }
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
