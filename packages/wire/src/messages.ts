// JSON shapes of every wire message, as upstream's serde types define them.
//
// Readers follow upstream's forward-compat rule (#492): unknown fields are
// tolerated (zod strips them), optional fields may be absent or null. What a
// reader does refuse is what would hurt the store: wrong types, non-finite or
// out-of-range numbers, malformed timestamps, and strings or arrays large
// enough to be abuse rather than data. Writers build these shapes directly.

import { z } from 'zod';
import { field, type Shape, type ShapeType, shapeToZod } from './shape.js';
import { isValidToken } from './subjects.js';
import { isRfc3339 } from './time.js';

const { req, opt: optional } = field;

/** RFC 3339 timestamp (any offset); converted to epoch ms by the consumer. */
export const Rfc3339 = z.string().max(64).refine(isRfc3339, 'expected an RFC 3339 timestamp');

/** A value that becomes one subject token (pc ids, groups). */
export const PcId = z.string().min(1).max(256).refine(isValidToken, 'must be one NATS subject token');

const text = (max: number) => z.string().max(max);
const opt = <T extends z.ZodType>(t: T) => t.nullish();
/** A safe integer >= 0 (z.int() is a safe integer; z.number() already refuses NaN and Infinity). */
const nonNegInt = z.int().nonnegative();

export const HEARTBEAT_SHAPE = {
  pc_id: req({ t: 'token' }),
  at: req({ t: 'time' }),
  agent_version: req({ t: 'string', max: 128 }),
  hostname: optional({ t: 'string', max: 255 }),
  os_family: optional({ t: 'string', max: 32 }),
  agent_cpu_pct: optional({ t: 'number' }),
  agent_rss_bytes: optional({ t: 'int' }),
  agent_disk_read_bytes: optional({ t: 'int' }),
  agent_disk_written_bytes: optional({ t: 'int' }),
  quarantined_versions: optional({ t: 'strings', maxItems: 64, maxLen: 128 }),
  last_logon_user: optional({ t: 'string', max: 512 }),
  last_logon_display_name: optional({ t: 'string', max: 512 }),
  command_keys: optional({ t: 'strings', maxItems: 64, maxLen: 256 }),
  enforcing: optional({ t: 'bool' }),
  command_protocols: optional({ t: 'strings', maxItems: 16, maxLen: 64 }),
} as const satisfies Shape;

/** `heartbeat.{pc_id}`, core NATS, every 30 s by default. */
export const Heartbeat = shapeToZod(HEARTBEAT_SHAPE);
export type Heartbeat = ShapeType<typeof HEARTBEAT_SHAPE>;

export const HOST_PERF_SHAPE = {
  pc_id: req({ t: 'token' }),
  at: req({ t: 'time' }),
  cpu_pct: optional({ t: 'number' }),
  cpu_count: optional({ t: 'int', min: 0 }),
  mem_used_bytes: optional({ t: 'int' }),
  mem_total_bytes: optional({ t: 'int' }),
  swap_used_bytes: optional({ t: 'int' }),
  swap_total_bytes: optional({ t: 'int' }),
  disk_read_bytes_per_sec: optional({ t: 'number' }),
  disk_written_bytes_per_sec: optional({ t: 'number' }),
  net_rx_bytes_per_sec: optional({ t: 'number' }),
  net_tx_bytes_per_sec: optional({ t: 'number' }),
} as const satisfies Shape;

/** `host_perf.{pc_id}`, core NATS, every 60 s by default. Every metric may be null. */
export const HostPerf = shapeToZod(HOST_PERF_SHAPE);
export type HostPerf = ShapeType<typeof HOST_PERF_SHAPE>;

export const PROCESS_SAMPLE_SHAPE = {
  pid: req({ t: 'int', min: 0, max: 2 ** 32 - 1 }),
  name: req({ t: 'string', max: 512 }),
  cpu_pct: req({ t: 'number' }),
  rss_bytes: req({ t: 'int' }),
  disk_read_bytes_per_sec: optional({ t: 'number' }),
  disk_written_bytes_per_sec: optional({ t: 'number' }),
} as const satisfies Shape;
export const ProcessSample = shapeToZod(PROCESS_SAMPLE_SHAPE);
export type ProcessSample = ShapeType<typeof PROCESS_SAMPLE_SHAPE>;

export const PROCESS_PERF_SHAPE = {
  pc_id: req({ t: 'token' }),
  at: req({ t: 'time' }),
  processes: req({ t: 'objects', maxItems: 1000, shape: PROCESS_SAMPLE_SHAPE }),
} as const satisfies Shape;

/** `process_perf.{pc_id}`, core NATS, only while investigation mode is on (top-N). */
export const ProcessPerf = shapeToZod(PROCESS_PERF_SHAPE);
export type ProcessPerf = ShapeType<typeof PROCESS_PERF_SHAPE>;

export const Shell = z.enum(['powershell', 'cmd', 'sh', 'pwsh']);
export type Shell = z.infer<typeof Shell>;
export const RunAs = z.enum(['system', 'user', 'system_gui']);
export type RunAs = z.infer<typeof RunAs>;

export const Staleness = z.union([
  z.object({ mode: z.literal('cached') }),
  z.object({ mode: z.literal('strict'), max_cache_age: text(32) }),
  z.object({ mode: z.literal('unchecked') }),
]);

/** `commands.{all|group.g|pc.p}`, captured by the EXEC stream. */
export const Command = z.object({
  id: text(256),
  version: text(128),
  request_id: text(128),
  exec_id: opt(text(128)),
  job_id: opt(text(128)),
  shell: Shell,
  script: z.string().max(4 * 1024 * 1024),
  script_object: opt(text(512)),
  script_object_sha256: opt(text(64)),
  timeout_secs: nonNegInt,
  jitter_secs: opt(nonNegInt),
  run_as: RunAs.default('system'),
  cwd: opt(text(4096)),
  deadline_at: opt(Rfc3339),
  staleness: Staleness.optional(),
  emit: z.unknown().optional(),
  check: z.unknown().optional(),
  collect: z.unknown().optional(),
  retry: opt(z.object({ max: nonNegInt, backoff_secs: nonNegInt })),
  finalize: z.unknown().optional(),
  bypass_local_limit: opt(z.boolean()),
});
export type Command = z.infer<typeof Command>;

/** `results.{request_id}`, JetStream (RESULTS). */
export const EXEC_RESULT_SHAPE = {
  result_id: field.def({ t: 'string', max: 128 }, ''),
  request_id: req({ t: 'string', max: 128 }),
  exec_id: optional({ t: 'string', max: 128 }),
  parent_result_id: optional({ t: 'string', max: 128 }),
  pc_id: req({ t: 'token' }),
  exit_code: req({ t: 'int', min: -(2 ** 31), max: 2 ** 31 - 1 }),
  skipped: optional({ t: 'bool' }),
  stdout: field.def({ t: 'string', max: Number.POSITIVE_INFINITY }, ''),
  stderr: field.def({ t: 'string', max: Number.POSITIVE_INFINITY }, ''),
  started_at: req({ t: 'time' }),
  finished_at: req({ t: 'time' }),
  stdout_object: optional({ t: 'string', max: 512 }),
  stderr_object: optional({ t: 'string', max: 512 }),
  manifest_id: optional({ t: 'string', max: 256 }),
  collect_object: optional({ t: 'string', max: 1024 }),
} as const satisfies Shape;
export const ExecResult = shapeToZod(EXEC_RESULT_SHAPE);
export type ExecResult = ShapeType<typeof EXEC_RESULT_SHAPE>;

/** `events.started.{exec_id}.{pc_id}`, JetStream (EVENTS). */
export const EVENT_STARTED_SHAPE = {
  result_id: req({ t: 'string', max: 128 }),
  request_id: req({ t: 'string', max: 128 }),
  exec_id: req({ t: 'string', max: 128 }),
  pc_id: req({ t: 'token' }),
  started_at: req({ t: 'time' }),
  manifest_id: req({ t: 'string', max: 256 }),
  version: req({ t: 'string', max: 128 }),
} as const satisfies Shape;
export const EventStarted = shapeToZod(EVENT_STARTED_SHAPE);
export type EventStarted = ShapeType<typeof EVENT_STARTED_SHAPE>;

/** `obs.{pc_id}`, JetStream (OBS_EVENTS). Dedup key (pc_id, source, event_record_id). */
export const ObsEvent = z.object({
  pc_id: PcId,
  at: Rfc3339,
  kind: text(128),
  source: text(256),
  event_record_id: opt(text(256)),
  payload: z.unknown().default(null),
});
export type ObsEvent = z.infer<typeof ObsEvent>;

/** `audit.{actor}.{action}[.{target}]`, core publish captured by AUDIT. */
export const AuditEvent = z.object({
  actor: text(128),
  action: text(128),
  target: opt(text(1024)),
  payload: z.unknown().default(null),
  occurred_at: Rfc3339,
});
export type AuditEvent = z.infer<typeof AuditEvent>;

/** `job.tail.{pc_id}` request/reply. */
export const JobTailRequest = z.object({ result_id: text(128) });
export const JobTailReply = z.object({
  found: z.boolean(),
  running: z.boolean(),
  stdout: z.string(),
  stderr: z.string(),
  stdout_truncated: z.boolean(),
  stderr_truncated: z.boolean(),
});
export type JobTailReply = z.infer<typeof JobTailReply>;
