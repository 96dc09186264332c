// Names of every JetStream resource kanade uses, byte-identical to upstream
// (crates/kanade-shared/src/{bootstrap,kv}.rs). Existing Rust agents and ops
// tooling address these literally, so each one is pinned by a test on the
// string and every other package imports it from here.

const DAY_MS = 24 * 60 * 60 * 1000;
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

export interface StreamSpec {
  name: string;
  subjects: string[];
  maxAgeMs: number;
  /** -1 = unlimited */
  maxBytes: number;
  /** -1 = unlimited */
  maxMsgsPerSubject: number;
}

export const STREAM = {
  INVENTORY: 'INVENTORY',
  RESULTS: 'RESULTS',
  EXEC: 'EXEC',
  EVENTS: 'EVENTS',
  AUDIT: 'AUDIT',
  OBS_EVENTS: 'OBS_EVENTS',
  NOTIFICATIONS: 'NOTIFICATIONS',
} as const;

/** Upstream `kv::ALL_STREAMS` with the limits of `bootstrap.rs` (discard old, file storage). */
export const ALL_STREAMS: readonly StreamSpec[] = [
  {
    name: STREAM.INVENTORY,
    subjects: ['inventory.>'],
    maxAgeMs: 90 * DAY_MS,
    maxBytes: GiB,
    maxMsgsPerSubject: -1,
  },
  {
    name: STREAM.RESULTS,
    subjects: ['results.>'],
    maxAgeMs: 30 * DAY_MS,
    maxBytes: 2 * GiB,
    maxMsgsPerSubject: -1,
  },
  {
    name: STREAM.EXEC,
    subjects: ['commands.>'],
    maxAgeMs: 7 * DAY_MS,
    maxBytes: 64 * MiB,
    maxMsgsPerSubject: 1,
  },
  {
    name: STREAM.EVENTS,
    subjects: ['events.>'],
    maxAgeMs: 7 * DAY_MS,
    maxBytes: 256 * MiB,
    maxMsgsPerSubject: -1,
  },
  {
    name: STREAM.AUDIT,
    subjects: ['audit.>'],
    maxAgeMs: 90 * DAY_MS,
    maxBytes: 512 * MiB,
    maxMsgsPerSubject: -1,
  },
  {
    name: STREAM.OBS_EVENTS,
    subjects: ['obs.>'],
    maxAgeMs: 90 * DAY_MS,
    maxBytes: 512 * MiB,
    maxMsgsPerSubject: -1,
  },
  {
    name: STREAM.NOTIFICATIONS,
    subjects: ['notifications.>'],
    maxAgeMs: 90 * DAY_MS,
    maxBytes: 512 * MiB,
    maxMsgsPerSubject: -1,
  },
];

export const KV = {
  SCRIPT_CURRENT: 'script_current',
  SCRIPT_STATUS: 'script_status',
  AGENTS_STATE: 'agents_state',
  AGENT_CONFIG: 'agent_config',
  AGENT_GROUPS: 'agent_groups',
  AGENT_GROUPS_DERIVED: 'agent_groups_derived',
  AGENT_META: 'agent_meta',
  GROUP_CONTACTS: 'group_contacts',
  SCHEDULES: 'schedules',
  SCHEDULES_YAML: 'schedules_yaml',
  JOBS: 'jobs',
  JOBS_YAML: 'jobs_yaml',
  FLEET_CONFIG: 'fleet_config',
  SERVER_SETTINGS: 'server_settings',
  NOTIFICATIONS_READ: 'notifications_read',
  SCHEDULER_DISPATCH: 'scheduler_dispatch',
  /** Extension (not upstream): the lease that picks the one backend replica whose scheduler fires. */
  SCHEDULER_LEASE: 'scheduler_lease',
  /** Extension (not upstream): the last calendar slot each schedule handled, for catching up missed fires. */
  SCHEDULER_FIRES: 'scheduler_fires',
  VIEWS: 'views',
  VIEWS_YAML: 'views_yaml',
  GROUP_DEFS: 'group_defs',
  GROUP_DEFS_YAML: 'group_defs_yaml',
} as const;

export interface KvSpec {
  name: string;
  history: number;
  /** 0 = no expiry */
  maxAgeMs: number;
}

/** Buckets the backend creates at startup (upstream bootstrap, plus `server_settings`). */
export const BOOTSTRAP_KV_BUCKETS: readonly KvSpec[] = [
  { name: KV.SCRIPT_CURRENT, history: 5, maxAgeMs: 0 },
  { name: KV.SCRIPT_STATUS, history: 5, maxAgeMs: 0 },
  { name: KV.AGENTS_STATE, history: 1, maxAgeMs: 0 },
  { name: KV.AGENT_CONFIG, history: 1, maxAgeMs: 0 },
  { name: KV.AGENT_GROUPS, history: 1, maxAgeMs: 0 },
  { name: KV.AGENT_GROUPS_DERIVED, history: 1, maxAgeMs: 0 },
  { name: KV.AGENT_META, history: 5, maxAgeMs: 0 },
  { name: KV.GROUP_CONTACTS, history: 5, maxAgeMs: 0 },
  { name: KV.SCHEDULES, history: 5, maxAgeMs: 0 },
  { name: KV.SCHEDULES_YAML, history: 5, maxAgeMs: 0 },
  { name: KV.JOBS, history: 5, maxAgeMs: 0 },
  { name: KV.JOBS_YAML, history: 5, maxAgeMs: 0 },
  { name: KV.FLEET_CONFIG, history: 1, maxAgeMs: 0 },
  { name: KV.SERVER_SETTINGS, history: 1, maxAgeMs: 0 },
  { name: KV.NOTIFICATIONS_READ, history: 1, maxAgeMs: 0 },
];

/** A scheduler lease not renewed for this long expires, and a standby replica takes it over. */
export const SCHEDULER_LEASE_TTL_MS = 10_000;

/** Buckets created on first use (scheduler, group-def and view APIs). */
export const LAZY_KV_BUCKETS: readonly KvSpec[] = [
  { name: KV.SCHEDULER_DISPATCH, history: 1, maxAgeMs: 60 * 60 * 1000 },
  { name: KV.SCHEDULER_LEASE, history: 1, maxAgeMs: SCHEDULER_LEASE_TTL_MS },
  { name: KV.SCHEDULER_FIRES, history: 1, maxAgeMs: 0 },
  { name: KV.VIEWS, history: 1, maxAgeMs: 0 },
  { name: KV.VIEWS_YAML, history: 1, maxAgeMs: 0 },
  { name: KV.GROUP_DEFS, history: 1, maxAgeMs: 0 },
  { name: KV.GROUP_DEFS_YAML, history: 1, maxAgeMs: 0 },
];

export const OBJ = {
  AGENT_RELEASES: 'agent_releases',
  APP_PACKAGES: 'app_packages',
  SCRIPTS: 'scripts',
  RESULT_OUTPUT: 'result_output',
  COLLECTIONS: 'collections',
} as const;

export interface ObjectStoreSpec {
  name: string;
  /** 0 = no expiry */
  maxAgeMs: number;
  /** -1 = unlimited */
  maxBytes: number;
}

export const ALL_OBJECT_STORES: readonly ObjectStoreSpec[] = [
  { name: OBJ.AGENT_RELEASES, maxAgeMs: 0, maxBytes: -1 },
  { name: OBJ.APP_PACKAGES, maxAgeMs: 0, maxBytes: -1 },
  { name: OBJ.SCRIPTS, maxAgeMs: 0, maxBytes: -1 },
  { name: OBJ.RESULT_OUTPUT, maxAgeMs: 30 * DAY_MS, maxBytes: GiB },
  { name: OBJ.COLLECTIONS, maxAgeMs: 30 * DAY_MS, maxBytes: 5 * GiB },
];

/** Durable consumer names; `consumer_reset` and ops tooling rely on them. */
export const DURABLE = {
  RESULTS: 'backend_results_projector',
  EVENTS: 'backend_events_projector',
  NOTIFICATION_ACKS: 'backend_notification_acks_projector',
  AUDIT: 'backend_audit_projector',
  OBS_EVENTS: 'backend_obs_events_projector',
} as const;

export const agentReplayDurable = (pcId: string): string => `agent_replay_${pcId}`;

/** Queue group shared by backend replicas for the lossy telemetry subjects. */
export const BACKEND_QUEUE_GROUP = 'kanade-backend';

/** An agent is online when its last heartbeat is younger than this (upstream: 2 min). */
export const ONLINE_THRESHOLD_MS = 2 * 60 * 1000;
