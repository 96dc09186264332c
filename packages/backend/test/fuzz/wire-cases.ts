// Generated wire traffic for the fuzz suite: for every subject the backend
// consumes, a deterministic (seeded) mix of valid messages and malformed ones
// (bad JSON, wrong types, missing fields, huge strings, deep nesting,
// NaN/Infinity, invalid dates, 1 MB bodies, binary). Every message knows in
// advance whether the backend must store it or count it as invalid, so the
// test can demand exact numbers. Valid messages carry unique keys (pc_id,
// result_id, event_record_id, audit target) that the test counts in SQLite.

export type Projector =
  | 'heartbeat'
  | 'host_perf'
  | 'process_perf'
  | 'results'
  | 'events'
  | 'audit'
  | 'obs_events';

export const PROJECTORS: readonly Projector[] = [
  'heartbeat',
  'host_perf',
  'process_perf',
  'results',
  'events',
  'audit',
  'obs_events',
];

export const JETSTREAM_PROJECTORS = new Set<Projector>(['results', 'events', 'audit', 'obs_events']);

/** The key prefix of one projector's messages in a run (what the test counts in SQLite). */
export const keyPrefix = (prefix: string, p: Projector) => `${prefix}-${p.slice(0, 2)}-`;

export interface FuzzMessage {
  projector: Projector;
  subject: string;
  data: Uint8Array;
  valid: boolean;
  /** What kind of case this is (for the summary). */
  kind: string;
}

/** mulberry32: small, fast, deterministic. */
export function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!,
  };
}
type Rng = ReturnType<typeof rng>;

const enc = new TextEncoder();
const MB = 1024 * 1024;

interface Spec {
  subject(key: string): string;
  /** A valid body whose unique key is `key`. */
  valid(key: string, at: string, r: Rng): Record<string, unknown>;
  required: readonly string[];
  /** Bounded string fields with their maximum length. */
  bounded: readonly [string, number][];
  times: readonly string[];
  /** Numeric fields (a string or Infinity there is invalid). */
  numbers: readonly string[];
  /** Token fields (one NATS subject token). */
  tokens: readonly string[];
  /** Integer fields with a value just outside their range. */
  outOfRange: readonly [string, number][];
}

const UNICODE = [
  '日本語のホスト',
  'émoji 🚀',
  'zero\u200bwidth',
  'rtl \u202e txt',
  'nul\u0000byte',
  'quote\'"`',
];

export const SPECS: Record<Projector, Spec> = {
  heartbeat: {
    subject: (k) => `heartbeat.${k}`,
    valid: (k, at, r) => ({
      pc_id: k,
      at,
      agent_version: '0.43.0',
      hostname: r.next() < 0.3 ? r.pick(UNICODE) : `host-${k}`,
      os_family: r.next() < 0.5 ? 'linux' : null,
      agent_cpu_pct: r.next() * 100,
      agent_rss_bytes: r.int(1 << 30),
      quarantined_versions: r.next() < 0.2 ? ['0.1.0'] : [],
      command_keys: r.next() < 0.5 ? ['k1'] : null,
      enforcing: r.next() < 0.5,
    }),
    required: ['pc_id', 'at', 'agent_version'],
    bounded: [
      ['agent_version', 128],
      ['hostname', 255],
      ['os_family', 32],
      ['last_logon_user', 512],
    ],
    times: ['at'],
    numbers: ['agent_cpu_pct', 'agent_rss_bytes'],
    tokens: ['pc_id'],
    outOfRange: [
      ['agent_rss_bytes', 2 ** 53],
      ['agent_rss_bytes', 1.5],
    ],
  },
  host_perf: {
    subject: (k) => `host_perf.${k}`,
    valid: (k, at, r) => ({
      pc_id: k,
      at,
      cpu_pct: r.next() * 100,
      cpu_count: 1 + r.int(64),
      mem_used_bytes: r.int(2 ** 40),
      mem_total_bytes: 2 ** 40,
      disk_read_bytes_per_sec: r.next() < 0.5 ? null : r.next() * 1e9,
      net_rx_bytes_per_sec: 1e308,
    }),
    required: ['pc_id', 'at'],
    bounded: [],
    times: ['at'],
    numbers: ['cpu_pct', 'cpu_count', 'mem_used_bytes', 'net_rx_bytes_per_sec'],
    tokens: ['pc_id'],
    outOfRange: [
      ['cpu_count', -1],
      ['mem_used_bytes', 2 ** 53 + 2],
    ],
  },
  process_perf: {
    subject: (k) => `process_perf.${k}`,
    valid: (k, at, r) => ({
      pc_id: k,
      at,
      processes: [
        { pid: r.int(2 ** 32), name: r.pick(UNICODE), cpu_pct: r.next() * 100, rss_bytes: r.int(1 << 30) },
      ],
    }),
    required: ['pc_id', 'at', 'processes'],
    bounded: [],
    times: ['at'],
    numbers: [],
    tokens: ['pc_id'],
    outOfRange: [],
  },
  results: {
    subject: (k) => `results.${k}`,
    valid: (k, at, r) => ({
      result_id: k,
      request_id: `req-${k}`,
      exec_id: r.next() < 0.5 ? `fz-exec-${r.int(10)}` : null,
      pc_id: `fz-pc-${r.int(50)}`,
      exit_code: r.pick([0, 1, -(2 ** 31), 2 ** 31 - 1]),
      stdout: r.next() < 0.2 ? r.pick(UNICODE) : 'ok',
      stderr: '',
      started_at: at,
      finished_at: at,
    }),
    required: ['request_id', 'pc_id', 'exit_code', 'started_at', 'finished_at'],
    bounded: [
      ['result_id', 128],
      ['request_id', 128],
      ['exec_id', 128],
      ['manifest_id', 256],
    ],
    times: ['started_at', 'finished_at'],
    numbers: ['exit_code'],
    tokens: ['pc_id'],
    outOfRange: [
      ['exit_code', 2 ** 31],
      ['exit_code', -(2 ** 31) - 1],
      ['exit_code', 0.5],
    ],
  },
  events: {
    subject: (k) => `events.started.fz-exec.${k}`,
    valid: (k, at) => ({
      result_id: k,
      request_id: `req-${k}`,
      exec_id: 'fz-exec-started',
      pc_id: `fz-pc-${k.length}`,
      started_at: at,
      manifest_id: 'fz-manifest',
      version: '1',
    }),
    required: ['result_id', 'request_id', 'exec_id', 'pc_id', 'started_at', 'manifest_id', 'version'],
    bounded: [
      ['result_id', 128],
      ['exec_id', 128],
      ['manifest_id', 256],
      ['version', 128],
    ],
    times: ['started_at'],
    numbers: [],
    tokens: ['pc_id'],
    outOfRange: [],
  },
  audit: {
    subject: (k) => `audit.fuzz.test.${k}`,
    valid: (k, at, r) => ({
      actor: 'fuzz',
      action: 'fuzz',
      target: k,
      payload: r.pick([null, { k }, [1, 'two', { three: 3 }], 'text', 42, { u: r.pick(UNICODE) }]),
      occurred_at: at,
    }),
    required: ['actor', 'action', 'occurred_at'],
    bounded: [
      ['actor', 128],
      ['action', 128],
      ['target', 1024],
    ],
    times: ['occurred_at'],
    numbers: [],
    tokens: [],
    outOfRange: [],
  },
  obs_events: {
    subject: (k) => `obs.${k}`,
    valid: (k, at, r) => ({
      pc_id: k,
      at,
      kind: 'fuzz',
      source: 'fuzz',
      event_record_id: k,
      payload: r.next() < 0.5 ? { level: 'info', msg: r.pick(UNICODE) } : null,
    }),
    required: ['pc_id', 'at', 'kind', 'source'],
    bounded: [
      ['kind', 128],
      ['source', 256],
      ['event_record_id', 256],
    ],
    times: ['at'],
    numbers: [],
    tokens: ['pc_id'],
    outOfRange: [],
  },
};

const BAD_TIMES = [
  '2024-02-30T00:00:00Z',
  '2023-02-29T12:00:00Z',
  '2024-13-01T00:00:00Z',
  '2024-00-10T00:00:00Z',
  '2024-01-01T24:00:00Z',
  '2024-01-01T00:60:00Z',
  '2024-01-01T00:00:61Z',
  '2024-01-01',
  '2024-01-01T00:00:00',
  '2024-01-01T00:00:00+24:00',
  '2024-01-01T00:00:00.Z',
  '2024-01-01T00:00:00ZZ',
  '２０２４-01-01T00:00:00Z',
  'yesterday',
  '',
  '1700000000000',
  `2024-01-01T00:00:00.${'9'.repeat(60)}Z`,
];
const BAD_TOKENS = ['a.b', 'a b', '*', '>', '', 'tab\there', 'x'.repeat(257), 'new\nline'];
const WRONG_TYPES: unknown[] = [123, -1.5, true, false, {}, [], ['x'], { a: 1 }];
const NOT_JSON = [
  '',
  '{',
  '}',
  '{"pc_id":',
  'NaN',
  '{"a": NaN}',
  'Infinity',
  '{"a": -Infinity}',
  "{'single': 'quotes'}",
  '{"a":1,}',
  'undefined',
  '\u0000',
  '{"a":"unterminated}',
  '{"a":1}{"b":2}',
];

/** A valid body as JSON text, optionally with a large unknown field (still valid: readers ignore unknown fields). */
function json(o: unknown): string {
  return JSON.stringify(o);
}

function deep(depth: number, open: string, close: string, leaf = '1'): string {
  return open.repeat(depth) + leaf + close.repeat(depth);
}

function binary(r: Rng): Uint8Array {
  const n = 1 + r.int(4096);
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = r.int(256);
  // A leading 0xff is never valid UTF-8 JSON, whatever follows.
  b[0] = 0xff;
  return b;
}

/** One malformed message of `kind` built from the valid body `base`. */
function invalidBody(
  spec: Spec,
  base: Record<string, unknown>,
  r: Rng,
  bigAllowed: boolean,
): { kind: string; text: string | Uint8Array } {
  const kinds = ['notJson', 'wrongType', 'missing', 'badTime', 'deep', 'notObject', 'binary'];
  if (spec.bounded.length) kinds.push('hugeString');
  if (spec.numbers.length) kinds.push('infinity');
  if (spec.tokens.length) kinds.push('badToken');
  if (spec.outOfRange.length) kinds.push('outOfRange');
  if (bigAllowed) kinds.push('huge1MB');
  const kind = r.pick(kinds);
  const o = structuredClone(base);
  switch (kind) {
    case 'notJson':
      return { kind, text: r.pick(NOT_JSON) };
    case 'binary':
      return { kind, text: binary(r) };
    case 'notObject':
      return { kind, text: r.pick(['null', '1', '"str"', '[]', '[{}]', 'true', json([base])]) };
    case 'deep': {
      const depth = r.pick([1_000, 10_000, 100_000]);
      return { kind, text: r.next() < 0.5 ? deep(depth, '[', ']') : deep(depth, '{"a":', '}') };
    }
    case 'wrongType': {
      const f = r.pick(spec.required);
      if (r.next() < 0.7) {
        const kindOf = (v: unknown) => (Array.isArray(v) ? 'array' : typeof v);
        o[f] = r.pick(WRONG_TYPES.filter((v) => kindOf(v) !== kindOf(o[f])));
        return { kind, text: json(o) };
      }
      o[f] = '__DEEP__';
      return { kind, text: json(o).replace('"__DEEP__"', deep(r.pick([10, 5000, 50_000]), '[', ']')) };
    }
    case 'missing': {
      const f = r.pick(spec.required);
      if (r.next() < 0.5) delete o[f];
      else o[f] = null;
      return { kind, text: json(o) };
    }
    case 'badTime':
      o[r.pick(spec.times)] = r.pick(BAD_TIMES);
      return { kind, text: json(o) };
    case 'badToken':
      o[r.pick(spec.tokens)] = r.pick(BAD_TOKENS);
      return { kind, text: json(o) };
    case 'outOfRange': {
      const [f, v] = r.pick(spec.outOfRange);
      o[f] = v;
      return { kind, text: json(o) };
    }
    case 'hugeString': {
      const [f, max] = r.pick(spec.bounded);
      o[f] = 'x'.repeat(max + 1 + r.int(r.next() < 0.1 ? 100_000 : 100));
      return { kind, text: json(o) };
    }
    case 'huge1MB': {
      const [f] = r.pick(spec.bounded.length ? spec.bounded : spec.tokens.map((t) => [t, 0] as const));
      o[f] = 'y'.repeat(MB);
      return { kind, text: json(o) };
    }
    default: {
      // infinity: JSON numbers that overflow a double parse as Infinity.
      const f = r.pick(spec.numbers);
      o[f] = '__INF__';
      return { kind, text: json(o).replace('"__INF__"', r.pick(['1e999', '-1e999', '1e400'])) };
    }
  }
}

export interface GenOptions {
  count: number;
  seed: number;
  /** Share of valid messages (0..1). */
  validShare?: number;
  /** Share of 1 MB bodies (valid or not). */
  bigShare?: number;
  /** Prefix making this run's keys unique. */
  prefix: string;
}

/** `count` messages spread over every consumed subject, valid and invalid interleaved. */
export function* generate(opts: GenOptions): Generator<FuzzMessage> {
  const r = rng(opts.seed);
  const validShare = opts.validShare ?? 0.5;
  const bigShare = opts.bigShare ?? 0.002;
  const base = Date.now() - 3_600_000;
  for (let i = 0; i < opts.count; i++) {
    const projector = PROJECTORS[i % PROJECTORS.length]!;
    const spec = SPECS[projector];
    const key = `${keyPrefix(opts.prefix, projector)}${i}`;
    // Keys are unique per message, so times may repeat; they stay within the last hour.
    const at = new Date(base + r.int(3_600_000)).toISOString();
    const body = spec.valid(key, at, r);
    const big = r.next() < bigShare;
    if (r.next() < validShare) {
      let kind = 'valid';
      if (big) {
        body.padding = 'p'.repeat(MB);
        kind = 'valid1MB';
      } else if (r.next() < 0.1) {
        body.unknown_field = { nested: [1, 2, 3] };
        kind = 'validUnknownField';
      }
      yield { projector, subject: spec.subject(key), data: enc.encode(json(body)), valid: true, kind };
    } else {
      const bad = invalidBody(spec, body, r, big);
      const data = typeof bad.text === 'string' ? enc.encode(bad.text) : bad.text;
      yield { projector, subject: spec.subject(key), data, valid: false, kind: bad.kind };
    }
  }
}
