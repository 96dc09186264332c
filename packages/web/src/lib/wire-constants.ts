// The few wire constants the SPA needs, copied rather than imported: the
// @kanade/wire bundle carries zod and every schema, far too much for the
// entry chunk. test/wire-constants.test.ts fails when these drift from
// @kanade/wire.

/** Page-feature keys, as /api/auth/me's allowed_features names them. */
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

/** Exit codes agents synthesise instead of running a script. */
export const EXIT_CODE = {
  UNSUPPORTED_OS: 122,
  SIGNATURE_REFUSED: 123,
  VERSION_MISMATCH: 124,
  DEADLINE_PASSED: 125,
  REVOKED: 126,
  STALE: 127,
  ABORTED: -1,
} as const;

/** The fields of a layered agent-config scope, in the order editors list them. */
export const CONFIG_FIELDS = [
  'max_local_concurrent',
  'target_version',
  'target_version_jitter',
  'heartbeat_interval',
  'host_perf_interval',
  'process_perf_enabled',
  'process_perf_expires_at',
  'process_perf_top_n',
  'client_display_name',
] as const;
export type ConfigField = (typeof CONFIG_FIELDS)[number];

/** Operators of the Agents roster's `meta.<key>.<op>=<value>` attribute filters (GET /api/agents). */
export const META_OPS = ['contains', 'eq', 'neq', 'starts', 'empty', 'set', 'absent'] as const;
export type MetaOp = (typeof META_OPS)[number];
