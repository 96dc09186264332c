// The layered config editor's form: one row per scope field, each either
// set in this scope or inherited from the layers below. Values are edited
// as text and turned back into a scope body here (numbers as integers,
// booleans as booleans); durations and times go to the server as typed,
// which validates them and names a bad field in its 400.
import type { ConfigScope } from './types.js';
import { CONFIG_FIELDS, type ConfigField } from './wire-constants.js';

export type FieldKind = 'int' | 'text' | 'duration' | 'bool' | 'time';

export const FIELD_KIND: Record<ConfigField, FieldKind> = {
  max_local_concurrent: 'int',
  target_version: 'text',
  target_version_jitter: 'duration',
  heartbeat_interval: 'duration',
  host_perf_interval: 'duration',
  process_perf_enabled: 'bool',
  process_perf_expires_at: 'time',
  process_perf_top_n: 'int',
  client_display_name: 'text',
};

const MIN_INT: Partial<Record<ConfigField, number>> = { max_local_concurrent: 1, process_perf_top_n: 0 };

export type ConfigForm = Record<ConfigField, { set: boolean; value: string }>;

export function toForm(scope: ConfigScope): ConfigForm {
  const out = {} as ConfigForm;
  for (const f of CONFIG_FIELDS) {
    const v = scope[f];
    out[f] = { set: v !== undefined && v !== null, value: v === undefined || v === null ? '' : String(v) };
  }
  return out;
}

export type FieldError = 'required' | 'integer';

/** The scope body of a form, or the fields that cannot be one. */
export function fromForm(form: ConfigForm): {
  scope: ConfigScope;
  errors: Partial<Record<ConfigField, FieldError>>;
} {
  const scope: Record<string, unknown> = {};
  const errors: Partial<Record<ConfigField, FieldError>> = {};
  for (const f of CONFIG_FIELDS) {
    const { set, value } = form[f];
    if (!set) continue;
    const kind = FIELD_KIND[f];
    if (kind === 'bool') {
      scope[f] = value === 'true';
      continue;
    }
    const v = value.trim();
    if (v === '' && kind !== 'text') {
      errors[f] = 'required';
      continue;
    }
    if (kind === 'int') {
      const n = Number(v);
      if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < (MIN_INT[f] ?? 0)) {
        errors[f] = 'integer';
        continue;
      }
      scope[f] = n;
    } else {
      scope[f] = kind === 'text' ? value : v;
    }
  }
  return { scope: scope as ConfigScope, errors };
}

/** Display text of an effective or inherited value. */
export function configValueText(v: unknown, none: string): string {
  if (v === null || v === undefined) return none;
  return String(v);
}
