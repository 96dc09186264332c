// Telemetry message shapes declared once as field tables, from which both the
// zod schema (the documented contract, JSON Schema, writers' checks) and a
// fast checker (the ingest hot path) are derived. zod's checks cost several
// microseconds per message, as much as the SQLite insert that follows; the
// checker costs a fraction of that. A test feeds both the same generated
// inputs and requires the same verdicts.
import { z } from 'zod';
import { isValidToken } from './subjects.js';
import { parseRfc3339 } from './time.js';

export type FieldKind =
  | { t: 'string'; max: number }
  | { t: 'token' }
  | { t: 'time' }
  | { t: 'number' }
  | { t: 'int'; min?: number; max?: number }
  | { t: 'bool' }
  | { t: 'strings'; maxItems: number; maxLen: number }
  | { t: 'objects'; maxItems: number; shape: Shape };

/**
 * `optional`: the key may be absent or null (upstream's Option<T>).
 * `default`: the key may be absent and then reads as this value (serde's `#[serde(default)]`); null is
 * still refused, as serde refuses it. The checker only accepts the absence; readers apply the default.
 */
export interface Field<K extends FieldKind = FieldKind> {
  kind: K;
  optional?: boolean;
  default?: string;
}
export type Shape = Readonly<Record<string, Field>>;

const req = <K extends FieldKind>(kind: K): { kind: K; optional: false } => ({ kind, optional: false });
const opt = <K extends FieldKind>(kind: K): { kind: K; optional: true } => ({ kind, optional: true });
const def = <K extends { t: 'string'; max: number }>(
  kind: K,
  value: string,
): { kind: K; optional: false; default: string } => ({ kind, optional: false, default: value });
export const field = { req, opt, def };

type KindType<K> = K extends { t: 'string' | 'token' | 'time' }
  ? string
  : K extends { t: 'number' | 'int' }
    ? number
    : K extends { t: 'bool' }
      ? boolean
      : K extends { t: 'strings' }
        ? string[]
        : K extends { t: 'objects'; shape: infer S extends Shape }
          ? ShapeType<S>[]
          : never;

/** The TypeScript type of a message of shape S (optional keys may be absent or null). */
export type ShapeType<S extends Shape> = {
  [k in keyof S as S[k]['optional'] extends true ? never : k]: KindType<S[k]['kind']>;
} & {
  [k in keyof S as S[k]['optional'] extends true ? k : never]?: KindType<S[k]['kind']> | null;
};

function kindToZod(k: FieldKind): z.ZodType {
  switch (k.t) {
    case 'string':
      return Number.isFinite(k.max) ? z.string().max(k.max) : z.string();
    case 'token':
      return z.string().min(1).max(256).refine(isValidToken, 'must be one NATS subject token');
    case 'time':
      return z
        .string()
        .max(64)
        .refine((s) => !Number.isNaN(parseRfc3339(s)), 'expected an RFC 3339 timestamp');
    case 'number':
      return z.number();
    case 'int': {
      let s = z.int();
      if (k.min !== undefined) s = s.min(k.min);
      if (k.max !== undefined) s = s.max(k.max);
      return s;
    }
    case 'bool':
      return z.boolean();
    case 'strings':
      return z.array(z.string().max(k.maxLen)).max(k.maxItems);
    case 'objects':
      return z.array(shapeToZod(k.shape)).max(k.maxItems);
  }
}

export function shapeToZod<S extends Shape>(shape: S): z.ZodType<ShapeType<S>> {
  const entries = Object.entries(shape).map(([key, f]) => {
    const t = kindToZod(f.kind);
    return [
      key,
      f.optional ? t.nullish() : f.default !== undefined ? (t as z.ZodString).default(f.default) : t,
    ] as const;
  });
  return z.object(Object.fromEntries(entries)) as unknown as z.ZodType<ShapeType<S>>;
}

function checkKind(k: FieldKind, v: unknown): string | null {
  switch (k.t) {
    case 'string':
      return typeof v !== 'string' ? 'expected string' : v.length > k.max ? `longer than ${k.max}` : null;
    case 'token':
      return typeof v === 'string' && isValidToken(v) ? null : 'must be one NATS subject token';
    case 'time':
      return typeof v === 'string' && !Number.isNaN(parseRfc3339(v))
        ? null
        : 'expected an RFC 3339 timestamp';
    case 'number':
      return typeof v === 'number' && Number.isFinite(v) ? null : 'expected number';
    case 'int':
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) return 'expected integer';
      return (k.min !== undefined && v < k.min) || (k.max !== undefined && v > k.max) ? 'out of range' : null;
    case 'bool':
      return typeof v === 'boolean' ? null : 'expected boolean';
    case 'strings': {
      if (!Array.isArray(v)) return 'expected array';
      if (v.length > k.maxItems) return `more than ${k.maxItems} items`;
      for (const s of v) if (typeof s !== 'string' || s.length > k.maxLen) return 'bad item';
      return null;
    }
    case 'objects': {
      if (!Array.isArray(v)) return 'expected array';
      if (v.length > k.maxItems) return `more than ${k.maxItems} items`;
      for (let i = 0; i < v.length; i++) {
        const r = checkShape(k.shape, v[i]);
        if (r !== null) return `[${i}].${r}`;
      }
      return null;
    }
  }
}

/** null when `value` matches `shape`, otherwise the first problem as `field: reason`. */
export function checkShape(shape: Shape, value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'expected an object';
  const o = value as Record<string, unknown>;
  for (const key in shape) {
    const f = shape[key]!;
    const v = o[key];
    if (v === undefined || v === null) {
      if (f.optional || (v === undefined && f.default !== undefined)) continue;
      return `${key}: required`;
    }
    const r = checkKind(f.kind, v);
    if (r !== null) return `${key}: ${r}`;
  }
  return null;
}
