// The fast checker and the zod schema come from one field table; this feeds
// both thousands of generated messages (valid ones and every kind of damage)
// and requires the same verdict from each.
import { describe, expect, it } from 'vitest';
import {
  checkShape,
  HEARTBEAT_SHAPE,
  Heartbeat,
  HOST_PERF_SHAPE,
  HostPerf,
  PROCESS_PERF_SHAPE,
  ProcessPerf,
  type Shape,
} from '../src/index.js';

let seed = 42;
const rand = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
};
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

const NASTY: unknown[] = [
  null,
  undefined,
  '',
  'x'.repeat(600),
  'a.b',
  '*',
  '2026-02-30T00:00:00Z',
  '2026-05-01T10:00:00Z',
  'not a date',
  0,
  -1,
  1.5,
  2 ** 53,
  -(2 ** 60),
  1e308,
  true,
  false,
  [],
  ['x'],
  [1],
  Array.from({ length: 70 }, () => 'v'),
  {},
  { nested: { deep: true } },
];

const VALID: Record<string, Record<string, unknown>> = {
  heartbeat: {
    pc_id: 'pc-1',
    at: '2026-05-01T10:00:00.123456+00:00',
    agent_version: '0.43.45',
    hostname: 'h',
    agent_cpu_pct: 1.5,
    agent_rss_bytes: 100,
    command_keys: [],
    enforcing: false,
  },
  host_perf: { pc_id: 'pc-1', at: '2026-05-01T10:00:00Z', cpu_pct: 50, cpu_count: 4, mem_used_bytes: 10 },
  process_perf: {
    pc_id: 'pc-1',
    at: '2026-05-01T10:00:00Z',
    processes: [{ pid: 1, name: 'init', cpu_pct: 0.1, rss_bytes: 10 }],
  },
};

const CASES: [string, Shape, { safeParse(v: unknown): { success: boolean } }][] = [
  ['heartbeat', HEARTBEAT_SHAPE, Heartbeat],
  ['host_perf', HOST_PERF_SHAPE, HostPerf],
  ['process_perf', PROCESS_PERF_SHAPE, ProcessPerf],
];

function mutate(base: Record<string, unknown>, shape: Shape): unknown {
  const r = rand();
  if (r < 0.05) return pick(NASTY);
  const o: Record<string, unknown> = structuredClone(base);
  const keys = [...Object.keys(shape), 'extra_field'];
  for (let i = 0, n = 1 + Math.floor(rand() * 3); i < n; i++) {
    const k = pick(keys);
    if (k === 'processes' && rand() < 0.5) {
      o.processes = [
        {
          pid: pick([1, -1, 1.5, 'x', 2 ** 33]),
          name: pick(['n', 5, null]),
          cpu_pct: pick([1, 'x', null]),
          rss_bytes: pick([1, 2.5]),
        },
      ];
    } else {
      o[k] = pick(NASTY);
    }
  }
  return o;
}

describe('checkShape agrees with the zod schema', () => {
  it.each(CASES)('%s', (name, shape, schema) => {
    expect(checkShape(shape, VALID[name])).toBeNull();
    let rejected = 0;
    for (let i = 0; i < 5000; i++) {
      const msg = mutate(VALID[name]!, shape);
      const fast = checkShape(shape, msg) === null;
      const slow = schema.safeParse(msg).success;
      if (fast !== slow) throw new Error(`disagree on ${JSON.stringify(msg)}: checker ${fast}, zod ${slow}`);
      if (!fast) rejected++;
    }
    expect(rejected).toBeGreaterThan(1000);
  });
});
