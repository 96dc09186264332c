// The page-feature catalogue, byte-identical to upstream
// (crates/kanade-shared/src/feature.rs): one lowercase key per SPA page,
// stored in `users.allowed_features` / `permission_groups.features` and
// returned by /api/auth/me. The SPA and the backend share these keys so a
// page cannot be gated on one side without the other agreeing on its name.
// `agent-install` carries a hyphen to match its SPA route.

export const FEATURES = [
  'dashboard',
  'run',
  'exec',
  'agents',
  'inventory',
  'compliance',
  'activity',
  'events',
  'audit',
  'logs',
  'collect',
  'analytics',
  'jobs',
  'schedules',
  'views',
  'notifications',
  'rollout',
  'agent-install',
  'apps',
  'groups',
  'config',
  'jetstream',
  'accounts',
  'settings',
  'remote',
] as const;

export type Feature = (typeof FEATURES)[number];

const KNOWN: ReadonlySet<string> = new Set(FEATURES);

export function isFeature(key: string): key is Feature {
  return KNOWN.has(key);
}

/**
 * Validate a submitted allow-list: the first unknown key is returned as
 * `unknown`; otherwise the keys come back de-duplicated in catalogue order,
 * so what is stored is stable. An empty list is valid ("commons only").
 */
export function canonicalizeFeatures(keys: readonly string[]): { features: Feature[] } | { unknown: string } {
  for (const k of keys) if (!isFeature(k)) return { unknown: k };
  const wanted = new Set(keys);
  return { features: FEATURES.filter((f) => wanted.has(f)) };
}

/**
 * A stored allow-list (JSON text) -> features. NULL means unrestricted. A
 * malformed value also reads as unrestricted (upstream fails open for the
 * owner rather than locking them out of every page); unknown keys are dropped
 * so a shrunk catalogue never denies on a key nobody knows.
 */
export function parseStoredFeatures(raw: string | null | undefined): Feature[] | null {
  if (raw === null || raw === undefined) return null;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return null;
  }
  if (!Array.isArray(v)) return null;
  return FEATURES.filter((f) => v.includes(f));
}

/**
 * Routes read by several pages' shared pickers (upstream
 * `shared_owner_features`): a restricted account holding ANY of these pages
 * may READ the route. Writes on the same path stay with the owning page in
 * the route's own policy, because a list and a create share one path.
 */
export const SHARED_OWNER_FEATURES: Readonly<Record<string, readonly Feature[]>> = {
  '/api/agents': [
    'run',
    'exec',
    'inventory',
    'activity',
    'events',
    'logs',
    'analytics',
    'notifications',
    'rollout',
    'config',
  ],
  '/api/agents/meta-keys': ['inventory', 'activity', 'events', 'compliance', 'collect'],
  '/api/agents/meta': ['inventory', 'activity', 'events', 'compliance', 'collect'],
  '/api/groups': ['groups', 'config', 'exec', 'rollout'],
  '/api/jobs': ['jobs', 'exec'],
};
