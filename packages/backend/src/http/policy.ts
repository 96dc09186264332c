// Route policy: every /api route and /metrics declares who may call it, next
// to the route, in its `config`: a minimum role (viewer < operator < admin)
// and the SPA page (feature) it belongs to. Registering one without a policy
// fails at startup, so a new route cannot ship unguarded. Every registered
// route is also recorded, with its policy, in `app.routeTable`, so the
// security tests cover routes nobody has written a test for yet.
import type { Feature } from '@kanade/wire';
import type { FastifyInstance } from 'fastify';

export type Role = 'viewer' | 'operator' | 'admin';
export const ROLE_RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };

export type RoutePolicy =
  | { public: true }
  | {
      role: Role;
      /** The page that owns the route; a page-restricted account needs it. */
      feature?: Feature | undefined;
      /** Self-service route every signed-in account may use, whatever its page restrictions. */
      selfService?: true;
    };

export interface RouteEntry {
  method: string;
  url: string;
  policy: RoutePolicy | undefined;
  /** The route schema's one-line summary (docs/routes.md is rendered from these). */
  summary: string | undefined;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    policy?: RoutePolicy;
  }
  interface FastifyInstance {
    /** Every route registered on this app, in registration order. */
    routeTable: RouteEntry[];
  }
}

export const PUBLIC: RoutePolicy = { public: true };
export const viewer = (feature?: Feature): RoutePolicy => ({ role: 'viewer', feature });
export const operator = (feature?: Feature): RoutePolicy => ({ role: 'operator', feature });
export const admin = (feature?: Feature): RoutePolicy => ({ role: 'admin', feature });
/** The caller's own identity and credentials (me, change-password, MFA). */
export const selfService = (): RoutePolicy => ({ role: 'viewer', selfService: true });

export function isGuardedPath(url: string): boolean {
  return url.startsWith('/api/') || url === '/api' || url === '/metrics';
}

/** Refuse to register a guarded route that does not declare its policy; record every route. */
export function enforceRoutePolicies(app: FastifyInstance) {
  const table: RouteEntry[] = [];
  app.decorate('routeTable', table);
  app.addHook('onRoute', (route) => {
    const policy = (route.config as { policy?: RoutePolicy } | undefined)?.policy;
    const summary = (route.schema as { summary?: string } | undefined)?.summary;
    for (const method of [route.method].flat()) table.push({ method, url: route.url, policy, summary });
    if (!isGuardedPath(route.url)) return;
    if (!policy) {
      throw new Error(
        `route ${route.method} ${route.url} has no policy: add config.policy (PUBLIC, viewer(), operator() or admin())`,
      );
    }
  });
}
