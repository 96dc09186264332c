// Generated HTTP requests for the API fuzzer, driven by the backend's own
// OpenAPI document (GET /api/docs) plus the live route table for routes the
// document hides: every operation, every path/query/header parameter and
// every body field gets wrong types, boundary values, injection strings
// (SQL, regex bombs, NATS subject wildcards, path traversal, YAML bombs),
// oversized bodies and unexpected content types. A few requests per
// operation are left valid, so the success paths run under the same fire.
// Deterministic for a seed, so a failure can be replayed.
import type { rng } from './wire-cases.js';

type Rng = ReturnType<typeof rng>;

// biome-ignore lint/suspicious/noExplicitAny: JSON Schema is loosely typed by nature
export type Schema = Record<string, any>;

export interface Param {
  name: string;
  in: 'path' | 'query' | 'header';
  required: boolean;
  schema: Schema;
}

export interface Operation {
  method: string;
  /** OpenAPI template, e.g. /api/agents/{pc_id}; `*` for a wildcard tail. */
  path: string;
  params: Param[];
  body?: { contentType: string; schema: Schema; required: boolean };
  /** The document hides it: only its path is known. */
  undocumented?: boolean;
}

export interface FuzzRequest {
  op: Operation;
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
  /** Which strategy built it (for the summary). */
  kind: string;
}

/** SQL injection: quotes, comments, stacked statements, UNIONs, tautologies, LIKE wildcards. */
export const SQL_INJECTION = [
  "' OR '1'='1",
  "' OR 1=1 --",
  '" OR ""="',
  "'; DROP TABLE users; --",
  '1; DELETE FROM users',
  "x' UNION SELECT username, password_hash FROM users --",
  "') UNION SELECT name FROM sqlite_master --",
  "1' AND (SELECT COUNT(*) FROM users) > 0 --",
  "%' --",
  '%',
  '_',
  '\\',
  "'",
  "''",
  '`',
  '/*',
  '*/ SELECT 1 /*',
  "admin'--",
  '1 AND randomblob(1000000000)',
  "'||(SELECT load_extension('x'))||'",
  "x'; ATTACH DATABASE '/tmp/pwn.db' AS pwn; --",
  '$1',
  '?',
  ':name',
];

/** Catastrophic-backtracking patterns for the regex filters. */
export const REGEX_BOMBS = ['(a+)+$', '^(a|a)+$', '(a*)*b', '(.*a){25}', '^(\\w+\\s?)*$', '(x+x+)+y'];

const HOSTILE_STRINGS = [
  '',
  ' ',
  '\t\n',
  'null',
  'undefined',
  'true',
  '-1',
  '0',
  '1e309',
  'NaN',
  'Infinity',
  '0x1F',
  '9'.repeat(40),
  '../../../../etc/passwd',
  '..',
  '.',
  '*',
  '>',
  'a.b.c',
  'a b',
  'commands.all',
  '$(id)',
  '`id`',
  '{{7*7}}',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a template-injection probe, meant literally
  '${7*7}',
  '%s%s%s%n',
  '<script>alert(1)</script>',
  'nul\u0000byte',
  'crlf\r\nX-Injected: 1',
  '日本語',
  '🚀'.repeat(10),
  '\u202e\u200b',
  '\ud800',
  '[',
  '(',
  '{"a":1}',
  '__proto__',
  'constructor',
  'a'.repeat(257),
  'b'.repeat(4097),
  'c'.repeat(70_000),
];

const YAML_BOMB = [
  'a: &a ["x","x","x","x","x","x","x","x","x"]',
  'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]',
  'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]',
  'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]',
  'e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]',
  'f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]',
  'g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]',
].join('\n');

/** An own `__proto__` key (what JSON.parse makes of it), for prototype-pollution attempts. */
const PROTO_POLLUTION: unknown = JSON.parse('{"__proto__":{"admin":true}}');

const NUMBERS = [
  -1,
  0,
  1,
  -(2 ** 31),
  2 ** 31,
  2 ** 32,
  2 ** 53 + 1,
  -(2 ** 53) - 1,
  1e308,
  -1e308,
  0.5,
  1e-320,
];

/** Strings for a free-text field or parameter: injection, bombs and edge cases. */
export function hostileString(r: Rng): string {
  const x = r.next();
  if (x < 0.35) return r.pick(SQL_INJECTION);
  if (x < 0.45) return r.pick(REGEX_BOMBS);
  if (x < 0.5) return YAML_BOMB;
  return r.pick(HOSTILE_STRINGS);
}

/** A value of the wrong shape for `schema` (or an edge value of the right type). */
function hostileValue(schema: Schema, r: Rng): unknown {
  const x = r.next();
  if (x < 0.15) return null;
  if (x < 0.3) return r.pick<unknown>([{}, [], [null], { $gt: '' }, true, false, PROTO_POLLUTION]);
  if (x < 0.5) return r.pick(NUMBERS);
  if (x < 0.55) return '__DEEP__';
  const t = typeOf(schema);
  if (t === 'array') return r.pick<unknown>([Array(5000).fill('x'), [hostileString(r)], 'not-an-array']);
  if (t === 'object') return r.pick<unknown>(['str', [1, 2], { unexpected: hostileString(r) }]);
  return hostileString(r);
}

function typeOf(s: Schema): string | undefined {
  if (Array.isArray(s.type)) return s.type[0];
  if (s.type) return s.type;
  if (s.properties) return 'object';
  if (s.anyOf || s.oneOf) return typeOf((s.anyOf ?? s.oneOf)[0]);
  return undefined;
}

const PATTERN_CANDIDATES = [
  'fz1',
  'fuzz-a',
  'a',
  'A1',
  'meta:x',
  'fz.job',
  'fz@example.com',
  '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
  '1.0.0',
  '*/5 * * * *',
  '1s',
];

function stringFor(s: Schema, r: Rng): string {
  if (s.format === 'date-time') return new Date(Date.now() - r.int(86_400_000)).toISOString();
  if (s.format === 'email') return 'fz@example.com';
  if (s.pattern) {
    let re: RegExp | undefined;
    try {
      re = new RegExp(s.pattern);
    } catch {
      re = undefined;
    }
    const ok = PATTERN_CANDIDATES.filter((c) => re?.test(c));
    if (ok.length) return r.pick(ok);
  }
  const min = s.minLength ?? 1;
  // Durations stay short: a valid `timeout` makes /api/run wait that long (plus 10 s) for a result.
  const base = r.pick(['fz', 'fuzz-value', '1s', '2s', 'linux', '2026-01-01T00:00:00Z', 'all']);
  let v = base.length >= min ? base : base + 'x'.repeat(min - base.length);
  if (s.maxLength !== undefined && v.length > s.maxLength) v = v.slice(0, s.maxLength);
  return v;
}

/** A plausible valid value for `schema` (not guaranteed: patterns and cross-field rules are guessed). */
export function sample(schema: Schema, r: Rng, depth = 0): unknown {
  if (!schema || depth > 6) return null;
  if (schema.const !== undefined) return schema.const;
  if (schema.enum) return r.pick(schema.enum);
  if (schema.default !== undefined && typeOf(schema) !== 'integer' && r.next() < 0.3) return schema.default;
  const alts = schema.anyOf ?? schema.oneOf;
  if (alts) return sample(r.pick(alts as Schema[]), r, depth + 1);
  switch (typeOf(schema)) {
    case 'string':
      return stringFor(schema, r);
    case 'integer': {
      // Near the minimum: a valid `timeout_secs` or `wait_secs` then waits seconds, not hours.
      const lo = schema.minimum ?? 0;
      const hi = Math.min(schema.maximum ?? lo + 3, lo + 3);
      return lo + r.int(hi - lo + 1);
    }
    case 'number':
      return (schema.minimum ?? 0) + r.next();
    case 'boolean':
      return r.next() < 0.5;
    case 'array': {
      const n = Math.max(schema.minItems ?? 0, r.int(2));
      return Array.from({ length: n }, () => sample(schema.items ?? {}, r, depth + 1));
    }
    case 'object': {
      const out: Record<string, unknown> = {};
      const props = (schema.properties ?? {}) as Record<string, Schema>;
      const required = new Set<string>(schema.required ?? []);
      for (const [k, v] of Object.entries(props)) {
        // Integers are always set: left out, `timeout_secs` defaults to 60 and /api/run waits 70 s.
        if (required.has(k) || typeOf(v) === 'integer' || r.next() < 0.3) out[k] = sample(v, r, depth + 1);
      }
      if (
        !schema.properties &&
        schema.additionalProperties &&
        typeof schema.additionalProperties === 'object'
      ) {
        const n = Math.max(schema.minProperties ?? 0, 1);
        for (let i = 0; i < n; i++) out[`k${i}`] = sample(schema.additionalProperties, r, depth + 1);
      }
      return out;
    }
    default:
      return r.pick<unknown>(['fz', 1, true, null, {}]);
  }
}

/** Replace one field somewhere inside `body` (following its schema) with a hostile value. */
function mutateField(body: unknown, schema: Schema, r: Rng): unknown {
  const alts = schema.anyOf ?? schema.oneOf;
  if (alts) schema = r.pick(alts as Schema[]);
  if (typeOf(schema) === 'object' && body && typeof body === 'object' && !Array.isArray(body)) {
    const props = Object.entries((schema.properties ?? {}) as Record<string, Schema>);
    if (!props.length || r.next() < 0.1) {
      return {
        ...(body as object),
        [r.pick(['unexpected', '__proto__', 'constructor', 'x'.repeat(300)])]: 1,
      };
    }
    const [k, s] = r.pick(props);
    const o = { ...(body as Record<string, unknown>) };
    if (r.next() < 0.15) delete o[k];
    else if (r.next() < 0.5 && typeOf(s) === 'object') o[k] = mutateField(o[k] ?? sample(s, r), s, r);
    else o[k] = hostileValue(s, r);
    return o;
  }
  if (typeOf(schema) === 'array' && Array.isArray(body) && body.length && r.next() < 0.5) {
    return body.map((v, i) => (i === 0 ? mutateField(v, schema.items ?? {}, r) : v));
  }
  return hostileValue(schema, r);
}

const deepText = (n: number) => `${'['.repeat(n)}1${']'.repeat(n)}`;

/** JSON text of `v`, with the `__DEEP__` marker replaced by a deeply nested array. */
function toJson(v: unknown, r: Rng): string {
  const text = JSON.stringify(v) ?? 'null';
  return text.includes('"__DEEP__"')
    ? text.replace('"__DEEP__"', deepText(r.pick([100, 10_000, 100_000])))
    : text;
}

const BAD_BODIES = [
  '',
  'null',
  '[]',
  '"a string"',
  '42',
  'true',
  '{',
  '{"a":1,}',
  "{'a':1}",
  '{"a":NaN}',
  '{"a":1e999}',
  '\u0000',
  '{"__proto__":{"admin":true}}',
  '{"constructor":{"prototype":{"admin":true}}}',
];

const CONTENT_TYPES = [
  'text/plain',
  'application/xml',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=xyz',
  'application/json; charset=utf-16',
  'application/octet-stream',
  'application/vnd.kanade+json',
  'image/png',
  '*/*',
  'application/json;;;',
  '',
];

function paramValue(p: Param, r: Rng, hostile: boolean): string {
  if (!hostile) {
    const v = sample(p.schema, r);
    return typeof v === 'string' ? v : JSON.stringify(v);
  }
  const x = r.next();
  if (x < 0.6) return hostileString(r);
  if (x < 0.85) return String(r.pick(NUMBERS));
  return r.pick(['[]', '{}', 'true', 'a,b,c', 'x'.repeat(9_000)]);
}

/** URL-encode, except the raw variants that test the router's own decoding. */
function encodePart(v: string, r: Rng): string {
  if (r.next() < 0.05)
    return r.pick(['%', '%zz', '%E0%A4%A', '%00', '%2F..%2F', '%252e%252e', '..;', '%C0%AE']);
  return encode(v);
}

/** encodeURIComponent, with a lone surrogate sent as its (invalid) UTF-8 bytes instead of throwing. */
function encode(v: string): string {
  try {
    return encodeURIComponent(v);
  } catch {
    return encodeURIComponent(v.replace(/[\ud800-\udfff]/g, '')) + '%ED%A0%80';
  }
}

export function buildUrl(
  op: Operation,
  r: Rng,
  hostileParam?: Param,
): { url: string; headers: Record<string, string> } {
  let path = op.path;
  const headers: Record<string, string> = {};
  for (const p of op.params) {
    const hostile = p === hostileParam;
    if (p.in === 'path') {
      const v = paramValue(p, r, hostile);
      path = path.replace(`{${p.name}}`, hostile ? encodePart(v, r) : encode(v));
    }
  }
  path = path.replace('*', hostileParam?.name === '*' ? encodePart(hostileString(r), r) : 'fz/x.txt');
  const query: string[] = [];
  for (const p of op.params) {
    if (p.in === 'query') {
      if (p === hostileParam) {
        const v = paramValue(p, r, true);
        query.push(`${encodeURIComponent(p.name)}=${encodePart(v, r)}`);
        if (r.next() < 0.2) query.push(`${encodeURIComponent(p.name)}=${encodePart(hostileString(r), r)}`);
      } else if (p.required || r.next() < 0.2) {
        query.push(`${encodeURIComponent(p.name)}=${encode(paramValue(p, r, false))}`);
      }
    } else if (p.in === 'header' && p === hostileParam) {
      headers[p.name] = hostileString(r)
        .replace(/[^\x20-\x7e]/g, '?')
        .slice(0, 4000);
    }
  }
  if (r.next() < 0.03)
    query.push(`${r.pick(['unknown', '__proto__', 'limit[]', 'a[b]'])}=${encodePart(hostileString(r), r)}`);
  return { url: query.length ? `${path}?${query.join('&')}` : path, headers };
}

const MB = 1024 * 1024;

/** One fuzzed request for `op`. */
export function fuzzRequest(op: Operation, r: Rng): FuzzRequest {
  const method = op.method.toUpperCase();
  const hasBody = method !== 'GET' && method !== 'DELETE' && method !== 'HEAD';
  const strategies = ['param', 'param', 'valid'];
  if (op.params.length === 0) strategies.splice(0, 2);
  if (hasBody) strategies.push('field', 'field', 'field', 'shape', 'contentType', 'oversize');
  if (strategies.length === 0) strategies.push('valid');
  const kind = r.pick(strategies);
  const hostileParam =
    kind === 'param' ? r.pick(op.params) : op.undocumented ? ({ name: '*' } as Param) : undefined;
  const { url, headers } = buildUrl(op, r, hostileParam);
  if (!hasBody) return { op, method, url, headers, kind };

  const json = op.body?.contentType !== 'application/octet-stream';
  const schema = op.body?.schema ?? { type: 'object' };
  let body: string | Uint8Array;
  let contentType = json ? 'application/json' : 'application/octet-stream';
  switch (kind) {
    case 'field':
      body = json ? toJson(mutateField(sample(schema, r), schema, r), r) : hostileString(r);
      break;
    case 'shape':
      body = r.next() < 0.8 ? r.pick(BAD_BODIES) : deepText(r.pick([1000, 100_000]));
      break;
    case 'contentType':
      body = json ? toJson(sample(schema, r), r) : 'x';
      contentType = r.pick(CONTENT_TYPES);
      break;
    case 'oversize':
      body = json
        ? JSON.stringify({ pad: 'z'.repeat(MB + r.int(MB)) })
        : new Uint8Array(r.pick([0, 1, 64 * 1024]));
      break;
    default:
      body = json ? toJson(sample(schema, r), r) : 'fuzz';
  }
  if (contentType) headers['content-type'] = contentType;
  return { op, method, url, headers, body, kind };
}

/** Operations from an OpenAPI 3 document ($refs resolved) plus the routes it does not list. */
export function operations(doc: Schema, routeTable: { method: string; url: string }[]): Operation[] {
  const schemas = (doc.components?.schemas ?? {}) as Record<string, Schema>;
  const resolve = (s: Schema, seen = 0): Schema => {
    if (!s || typeof s !== 'object' || seen > 20) return s;
    if (typeof s.$ref === 'string') return resolve(schemas[s.$ref.split('/').pop()!] ?? {}, seen + 1);
    if (Array.isArray(s)) return s.map((x) => resolve(x, seen + 1)) as unknown as Schema;
    const out: Schema = {};
    for (const [k, v] of Object.entries(s)) out[k] = typeof v === 'object' && v ? resolve(v, seen + 1) : v;
    return out;
  };
  const ops: Operation[] = [];
  const seen = new Set<string>();
  for (const [path, methods] of Object.entries((doc.paths ?? {}) as Record<string, Record<string, Schema>>)) {
    for (const [method, op] of Object.entries(methods)) {
      if (method === 'head') continue;
      const content = (op.requestBody?.content ?? {}) as Record<string, { schema?: Schema }>;
      const [contentType, media] = Object.entries(content)[0] ?? [];
      ops.push({
        method,
        path,
        params: ((op.parameters ?? []) as Schema[]).map((p) => ({
          name: p.name,
          in: p.in,
          required: Boolean(p.required),
          schema: resolve(p.schema ?? {}),
        })),
        ...(contentType
          ? {
              body: {
                contentType,
                schema: resolve(media?.schema ?? {}),
                required: Boolean(op.requestBody?.required),
              },
            }
          : {}),
      });
      seen.add(`${method.toUpperCase()} ${path}`);
    }
  }
  for (const r of routeTable) {
    if (r.method === 'HEAD' || !(r.url.startsWith('/api/') || r.url === '/metrics')) continue;
    const path = r.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    if (seen.has(`${r.method} ${path}`)) continue;
    seen.add(`${r.method} ${path}`);
    const params: Param[] = [...path.matchAll(/\{([A-Za-z0-9_]+)\}/g)].map((m) => ({
      name: m[1]!,
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    ops.push({ method: r.method.toLowerCase(), path, params, undocumented: true });
  }
  return ops;
}
