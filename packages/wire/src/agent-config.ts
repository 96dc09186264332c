// Layered agent configuration (`agent_config` KV), as upstream's
// `wire/agent_config.rs`: one ConfigScope shape for every key (`global`,
// `groups.<name>`, `pcs.<pc_id>`), flattened by resolve() in the order
// built-in defaults -> global -> the PC's groups alphabetically (last wins)
// -> the PC's own scope. The backend's effective_config view and the agent
// (and simulator) call this same function, so what the API shows is what
// the agent runs.
//
// Reading is tolerant (#492): unknown keys are dropped and a field of the
// wrong type is ignored on its own instead of discarding the whole scope, so
// one bad value written by another tool never resets a fleet to defaults. A
// duration that does not parse falls back to the built-in value where it is
// used. Writing (PUT from the API) is strict: unknown keys and bad values are
// a 400 naming the field.
import { z } from 'zod';
import { parseDuration } from './duration.js';
import { isValidToken } from './subjects.js';
import { isRfc3339, parseRfc3339 } from './time.js';

/** One scope: every field optional; absent (or null) means "inherit". */
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

/** The flattened configuration an agent runs with. */
export interface EffectiveConfig {
  max_local_concurrent: number | null;
  target_version: string | null;
  target_version_jitter: string;
  heartbeat_interval: string;
  host_perf_interval: string;
  process_perf_enabled: boolean;
  process_perf_expires_at: string | null;
  process_perf_top_n: number;
  client_display_name: string | null;
}

export type ConfigField = keyof ConfigScope;

/** Field order of a scope (also the order of conflict warnings). */
export const CONFIG_FIELDS: readonly ConfigField[] = [
  'max_local_concurrent',
  'target_version',
  'target_version_jitter',
  'heartbeat_interval',
  'host_perf_interval',
  'process_perf_enabled',
  'process_perf_expires_at',
  'process_perf_top_n',
  'client_display_name',
];

/** Upstream's compiled-in floor (`max_local_concurrent` none = the agent uses its CPU count). */
export const BUILTIN_CONFIG: Readonly<EffectiveConfig> = Object.freeze({
  max_local_concurrent: null,
  target_version: null,
  target_version_jitter: '10m',
  heartbeat_interval: '30s',
  host_perf_interval: '60s',
  process_perf_enabled: false,
  process_perf_expires_at: null,
  process_perf_top_n: 20,
  client_display_name: null,
});

export interface MultiGroupConflict {
  kind: 'multi_group_conflict';
  field: ConfigField;
  /** The groups that set the field, alphabetically: the last one's value won. */
  groups: string[];
}

const MAX_TEXT = 256;
const U32_MAX = 4_294_967_295;

const durationString = z
  .string()
  .max(64)
  .refine((s) => parseDuration(s) !== undefined, 'expected a duration such as 30s, 5m or 1h30m');

/** Writer schema of a scope (PUT bodies): unknown keys and bad values are refused. */
export const ConfigScopeWrite = z.strictObject({
  max_local_concurrent: z.number().int().min(1).max(U32_MAX).nullish(),
  target_version: z.string().min(1).max(128).nullish(),
  target_version_jitter: durationString.nullish(),
  heartbeat_interval: durationString
    .refine((s) => (parseDuration(s) ?? 0) >= 1000, 'must be at least 1s')
    .nullish(),
  host_perf_interval: durationString
    .refine((s) => (parseDuration(s) ?? 0) >= 1000, 'must be at least 1s')
    .nullish(),
  process_perf_enabled: z.boolean().nullish(),
  process_perf_expires_at: z
    .string()
    .max(64)
    .refine(isRfc3339, 'expected an RFC 3339 timestamp such as 2026-05-01T10:00:00Z')
    .nullish(),
  process_perf_top_n: z.number().int().min(0).max(U32_MAX).nullish(),
  client_display_name: z.string().max(MAX_TEXT).nullish(),
});

/** A validated writer value with null/absent fields dropped (what goes into the bucket). */
export function compactScope(scope: z.infer<typeof ConfigScopeWrite>): ConfigScope {
  const out: Record<string, unknown> = {};
  for (const f of CONFIG_FIELDS) {
    const v = scope[f];
    if (v !== null && v !== undefined) out[f] = v;
  }
  return out as ConfigScope;
}

const FIELD_CHECK: Record<ConfigField, (v: unknown) => boolean> = {
  max_local_concurrent: (v) => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= U32_MAX,
  target_version: (v) => typeof v === 'string' && v.length <= MAX_TEXT,
  target_version_jitter: (v) => typeof v === 'string' && v.length <= 64,
  heartbeat_interval: (v) => typeof v === 'string' && v.length <= 64,
  host_perf_interval: (v) => typeof v === 'string' && v.length <= 64,
  process_perf_enabled: (v) => typeof v === 'boolean',
  process_perf_expires_at: (v) => typeof v === 'string' && v.length <= 64,
  process_perf_top_n: (v) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= U32_MAX,
  client_display_name: (v) => typeof v === 'string' && v.length <= MAX_TEXT,
};

/** Read a stored scope: known, well-typed fields only (anything else is ignored, never fatal). */
export function readScope(value: unknown): ConfigScope {
  const out: Record<string, unknown> = {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return out;
  const obj = value as Record<string, unknown>;
  for (const f of CONFIG_FIELDS) {
    const v = obj[f];
    if (v !== null && v !== undefined && FIELD_CHECK[f](v)) out[f] = v;
  }
  return out as ConfigScope;
}

/** A scope from raw KV bytes (not JSON reads as an empty scope). */
export function decodeScope(bytes: Uint8Array): ConfigScope {
  try {
    return readScope(JSON.parse(new TextDecoder().decode(bytes)));
  } catch {
    return {};
  }
}

function apply(out: EffectiveConfig, s: ConfigScope) {
  for (const f of CONFIG_FIELDS) {
    const v = s[f];
    if (v !== undefined) (out as unknown as Record<string, unknown>)[f] = v;
  }
}

/**
 * Flatten the scope stack. `groupScopes` may hold every `groups.<name>` row of
 * the bucket; only the PC's own groups apply, sorted and de-duplicated, so the
 * alphabetically last group wins. Two or more of the PC's groups setting one
 * field yield a MultiGroupConflict warning. Groups without a scope are ignored.
 * `setFields` lists the fields some applied scope sets (the rest are built-in
 * defaults), so an agent can keep a locally configured value for those.
 */
export function resolve(
  global: ConfigScope | undefined,
  groupScopes: ReadonlyMap<string, ConfigScope>,
  pcScope: ConfigScope | undefined,
  myGroups: readonly string[],
): { effective: EffectiveConfig; warnings: MultiGroupConflict[]; setFields: ReadonlySet<ConfigField> } {
  const effective: EffectiveConfig = { ...BUILTIN_CONFIG };
  const setFields = new Set<ConfigField>();
  const applyScope = (s: ConfigScope) => {
    apply(effective, s);
    for (const f of CONFIG_FIELDS) if (s[f] !== undefined) setFields.add(f);
  };
  if (global) applyScope(global);
  const groups = [...new Set(myGroups)].sort();
  const setters = new Map<ConfigField, string[]>();
  for (const g of groups) {
    const scope = groupScopes.get(g);
    if (!scope) continue;
    for (const f of CONFIG_FIELDS) {
      if (scope[f] === undefined) continue;
      const list = setters.get(f);
      if (list) list.push(g);
      else setters.set(f, [g]);
    }
    applyScope(scope);
  }
  if (pcScope) applyScope(pcScope);
  const warnings: MultiGroupConflict[] = [];
  for (const f of CONFIG_FIELDS) {
    const list = setters.get(f);
    if (list && list.length > 1) warnings.push({ kind: 'multi_group_conflict', field: f, groups: list });
  }
  return { effective, warnings, setFields };
}

type IntervalField = 'heartbeat_interval' | 'host_perf_interval' | 'target_version_jitter';

/** A duration field in ms; a malformed value falls back to the built-in one. Intervals are at least 1 s. */
export function configDurationMs(eff: EffectiveConfig, field: IntervalField): number {
  const ms = parseDuration(eff[field]) ?? (parseDuration(BUILTIN_CONFIG[field]) as number);
  return field === 'target_version_jitter' ? ms : Math.max(1000, ms);
}

/** Process-perf collection is on: enabled, and no expiry or `now` before it (a malformed expiry counts as passed). */
export function processPerfActiveAt(eff: EffectiveConfig, nowMs: number): boolean {
  if (!eff.process_perf_enabled) return false;
  if (eff.process_perf_expires_at === null) return true;
  const until = parseRfc3339(eff.process_perf_expires_at);
  return !Number.isNaN(until) && nowMs < until;
}

/** KV keys of the `agent_config` bucket. Names and pc_ids must be one KV key token (no dots). */
export const CONFIG_KEY = {
  global: 'global',
  group: (name: string) => `groups.${name}`,
  pc: (pcId: string) => `pcs.${pcId}`,
} as const;

export type ConfigKey =
  | { scope: 'global' }
  | { scope: 'group'; name: string }
  | { scope: 'pc'; pcId: string };

/** What an `agent_config` key addresses; undefined for other keys (e.g. legacy `target_version`). */
export function parseConfigKey(key: string): ConfigKey | undefined {
  if (key === CONFIG_KEY.global) return { scope: 'global' };
  if (key.startsWith('groups.') && key.length > 7) return { scope: 'group', name: key.slice(7) };
  if (key.startsWith('pcs.') && key.length > 4) return { scope: 'pc', pcId: key.slice(4) };
  return undefined;
}

const KV_TOKEN_RE = /^[-_=A-Za-z0-9]+$/;

/** A group name or pc_id usable in a config key and as one NATS subject token. */
export function isConfigKeyToken(value: string): boolean {
  return value.length <= 256 && KV_TOKEN_RE.test(value) && isValidToken(value);
}
