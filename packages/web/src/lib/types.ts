// Response shapes of the backend routes the SPA reads, mirrored from the
// route schemas in packages/backend/src/http/routes (the SPA never imports
// backend code). Snake_case because that is the wire format.

export type Role = 'viewer' | 'operator' | 'admin';

export interface Agent {
  pc_id: string;
  hostname: string | null;
  os_family: string | null;
  agent_version: string | null;
  last_heartbeat: string | null;
  updated_at: string;
  online: boolean;
  agent_cpu_pct: number | null;
  agent_rss_bytes: number | null;
  agent_disk_read_bytes: number | null;
  agent_disk_written_bytes: number | null;
  quarantined_versions?: string[];
  last_logon_user: string | null;
  last_logon_display_name: string | null;
  command_keys?: string[];
  enforcing?: boolean;
  nats_user?: string;
  nats_user_since?: string;
  command_protocols?: string[];
}

export interface AgentVersion {
  version: string | null;
  total: number;
  active: number;
}

export interface PerfPoint {
  at: string;
  cpu_pct: number | null;
  mem_used_bytes: number | null;
  mem_total_bytes: number | null;
  swap_used_bytes: number | null;
  swap_total_bytes: number | null;
  disk_read_bytes_per_sec: number | null;
  disk_written_bytes_per_sec: number | null;
  net_rx_bytes_per_sec: number | null;
  net_tx_bytes_per_sec: number | null;
}

export interface AgentPerf {
  pc_id: string;
  from: string;
  to: string;
  step_seconds: number;
  points: PerfPoint[];
}

export interface ProcessRow {
  pid: number;
  name: string;
  cpu_pct: number;
  rss_bytes: number;
  disk_read_bytes_per_sec: number | null;
  disk_written_bytes_per_sec: number | null;
}

export interface AgentProcesses {
  pc_id: string;
  latest_at: string | null;
  processes: ProcessRow[];
}

export interface FleetPerf {
  metric: string;
  agg: string;
  from: string;
  to: string;
  step_seconds: number;
  points: { at: string; value: number | null }[];
}

export interface TopRows {
  metric: string;
  window_seconds: number;
  rows: { pc_id: string; hostname: string | null; value: number }[];
}

export interface FleetHealth {
  status: 'ok' | 'unknown' | 'degraded';
  reasons: string[];
  agents: { known: number; active: number; stale: number };
  jetstream: { all_ok: boolean; healthy: number; total: number; missing: string[] };
  observed_at: string;
}

export interface JsResource {
  name: string;
  exists: boolean;
  messages?: number;
  bytes?: number;
  max_bytes?: number;
}

export interface JetStreamStatus {
  streams: JsResource[];
  kv_buckets: JsResource[];
  object_stores: JsResource[];
}

export interface Me {
  username: string;
  role: Role;
  must_change_pw: boolean;
  mfa_enabled?: boolean;
  allowed_features?: string[] | null;
}

/** What a credential change (password, MFA) answers: the caller's other sessions ended, this is its new token. */
export interface FreshSession {
  token: string;
  /** epoch seconds */
  exp: number;
  expires_at: string;
}

export interface LoginResponse {
  token: string;
  role: Role;
  must_change_pw: boolean;
  exp?: number | string;
}

export interface JobRow {
  id: string;
  version: string;
  description?: string | null;
  execute?: { shell?: string; run_as?: string; timeout?: string; cwd?: string | null };
  inventory?: unknown;
  tags?: string[];
  origin?: { path?: string; repo?: string | null } | null;
  live: { running: number; pending: number };
}

export type ExecutionStatus = 'pending' | 'running' | 'completed' | 'expired';

export interface Execution {
  exec_id: string;
  job_id: string;
  version: string;
  initiated_by: string;
  initiated_at: string;
  target_count: number;
  success_count: number;
  failure_count: number;
  status: ExecutionStatus;
  abort_on_failure_pct: number | null;
  aborted_at: string | null;
  abort_reason: string | null;
}

export interface ResultSummary {
  result_id: string;
  request_id: string;
  exec_id: string | null;
  pc_id: string;
  job_id: string | null;
  version: string | null;
  exit_code: number | null;
  skipped: boolean;
  reaped: boolean;
  started_at: string;
  finished_at: string | null;
  recorded_at: string;
}

export interface Snippet {
  before: string;
  matched: string;
  after: string;
  clipped_before: boolean;
  clipped_after: boolean;
}

export interface ResultRow extends ResultSummary {
  stdout: string;
  stdout_truncated: boolean;
  stderr: string;
  stderr_truncated: boolean;
  stdout_match?: Snippet;
  stderr_match?: Snippet;
}

export interface ResultDetail extends ResultSummary {
  stdout: string;
  stderr: string;
  expires_at: string | null;
  parent_result_id: string | null;
  finalize_children: (ResultSummary & { stdout: string; stderr: string })[];
}

export interface ResultTail {
  running: boolean;
  live: boolean;
  stdout: string;
  stderr: string;
  stdout_truncated: boolean;
  stderr_truncated: boolean;
  exit_code: number | null;
}

export interface ExecResponse {
  exec_id: string;
  job_id: string;
  version: string;
  target_count: number;
  subjects: string[];
}

export interface RunResult {
  result_id: string;
  request_id: string;
  pc_id: string;
  exit_code: number;
  stdout: string;
  stderr: string;
  started_at: string;
  finished_at: string;
}

export interface AuditEntry {
  id: number;
  actor: string;
  action: string;
  target: string | null;
  payload: unknown;
  occurred_at: string;
}

export interface MetaEntry {
  key: string;
  value: string;
}

export interface DisplayField {
  field: string;
  label: string;
  type?: string | null;
  columns?: DisplayField[] | null;
}

export interface ExplodeColumn {
  field: string;
  type?: string | null;
  index?: boolean;
}

export interface ExplodeSpec {
  field: string;
  table: string;
  primary_key: string[];
  columns: ExplodeColumn[];
  track_history?: boolean;
}

export interface InventoryJob {
  manifest_id: string;
  description: string | null;
  display: DisplayField[];
  summary: DisplayField[] | null;
  explode: ExplodeSpec[] | null;
  history_scalars: string[] | null;
  pc_count: number;
}

export interface InventoryFleetRow {
  pc_id: string;
  facts: unknown;
  collected_at: string | null;
  recorded_at: string;
  last_logon_user: string | null;
  last_logon_display_name: string | null;
}

export interface InventoryByJob {
  manifest_id: string;
  display: DisplayField[] | null;
  summary: DisplayField[] | null;
  rows: InventoryFleetRow[];
  total: number;
}

export interface InventoryPcFacts {
  job_id: string;
  facts: unknown;
  display: DisplayField[] | null;
  summary: DisplayField[] | null;
  collected_at: string | null;
  recorded_at: string;
}

export type ChangeKind = 'added' | 'removed' | 'changed';

export interface InventoryChange {
  id: number;
  pc_id: string;
  job_id: string;
  field_path: string;
  identity_json: string | null;
  change_kind: ChangeKind;
  before_json: string | null;
  after_json: string | null;
  observed_at: string;
}

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'unknown';

export interface CheckCounts {
  check_name: string;
  label: string | null;
  ok: number;
  warn: number;
  fail: number;
  unknown: number;
}

export interface CheckRow {
  pc_id: string;
  check_name: string;
  label: string | null;
  status: CheckStatus;
  detail: string | null;
  recorded_at: string;
}

export interface ChecksResponse {
  counts: CheckCounts[];
  rows: CheckRow[];
  total: number;
  stale_days: number;
}

export interface ObsEvent {
  id: number;
  pc_id: string;
  at: string;
  kind: string;
  source: string;
  event_record_id: string | null;
  payload: unknown;
}

export interface GroupSummary {
  name: string;
  members: string[];
  has_config: boolean;
  emails: string[];
}

export interface GroupDef {
  id: string;
  description?: string | null;
  members?: string[] | null;
  query?: string | null;
  refresh?: string | null;
  tags?: string[] | null;
}

export interface GroupDefMembers {
  id: string;
  kind: 'static' | 'dynamic';
  count: number;
  members: string[];
}

/** One layer of agent configuration; an absent field inherits. */
export interface ConfigScope {
  max_local_concurrent?: number;
  target_version?: string;
  target_version_jitter?: string;
  heartbeat_interval?: string;
  host_perf_interval?: string;
  process_perf_enabled?: boolean;
  process_perf_expires_at?: string;
  process_perf_top_n?: number;
  client_display_name?: string;
}

export type EffectiveConfig = { [K in keyof ConfigScope]-?: ConfigScope[K] | null };

export interface ConfigConflict {
  kind: 'multi_group_conflict';
  field: string;
  groups: string[];
}

export interface EffectiveView {
  pc_id: string;
  effective: EffectiveConfig;
  warnings: ConfigConflict[];
  my_groups: string[];
}

export interface FreezeState {
  from: string | null;
  until: string | null;
  reason: string | null;
  active: boolean;
  corrupt: boolean;
}

/** GET /api/agents/installer/info: what an installer built now would contain. */
export interface InstallerInfo {
  platforms: { os: string; arch: string[] }[];
  nats_url: string;
  /** `settings`: Settings' "Broker URL for agents"; `backend`: the URL the backend itself connects to. */
  nats_url_source: 'settings' | 'backend';
  /** The broker URL is a loopback address: agents on other machines cannot reach it. */
  loopback: boolean;
  nats_token_set: boolean;
  /** null: no published release and no bundled build, nothing to install. */
  release: { version: string; source: 'agent_releases' | 'bundled' } | null;
}
