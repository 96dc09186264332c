// Route policy: every /api route and /metrics declares who may call it, next
// to the route, in its `config`. Registering one without a policy fails at
// startup, so a new route cannot ship unguarded.
import type { FastifyInstance } from 'fastify';

export type Role = 'viewer' | 'operator' | 'admin';
export const ROLE_RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };

export type RoutePolicy = { public: true } | { role: Role; feature?: string };

declare module 'fastify' {
  interface FastifyContextConfig {
    policy?: RoutePolicy;
  }
}

export const PUBLIC: RoutePolicy = { public: true };
export const viewer = (feature?: string): RoutePolicy => ({ role: 'viewer', feature });
export const operator = (feature?: string): RoutePolicy => ({ role: 'operator', feature });
export const admin = (feature?: string): RoutePolicy => ({ role: 'admin', feature });

export function isGuardedPath(url: string): boolean {
  return url.startsWith('/api/') || url === '/api' || url === '/metrics';
}

/** Refuse to register a guarded route that does not declare its policy. */
export function enforceRoutePolicies(app: FastifyInstance) {
  app.addHook('onRoute', (route) => {
    if (!isGuardedPath(route.url)) return;
    const policy = (route.config as { policy?: RoutePolicy } | undefined)?.policy;
    if (!policy) {
      throw new Error(
        `route ${route.method} ${route.url} has no policy: add config.policy (PUBLIC, viewer(), operator() or admin())`,
      );
    }
  });
}
