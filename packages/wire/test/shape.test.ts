// The fast checker and the zod schema come from one field table; this feeds
// both thousands of generated messages (valid ones and every kind of damage)
// and requires the same verdict from each.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  checkShape,
  EVENT_STARTED_SHAPE,
  EventStarted,
  EXEC_RESULT_SHAPE,
  ExecResult,
  HEARTBEAT_SHAPE,
  Heartbeat,
  HOST_PERF_SHAPE,
  HostPerf,
  isRfc3339,
  isValidToken,
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

// ExecResult and EventStarted were hand-written zod objects before the results and events projectors
// moved to the checker; the checker must keep their verdicts, so they are kept here as written.
const text = (max: number) => z.string().max(max);
const opt = <T extends z.ZodType>(t: T) => t.nullish();
const Rfc3339 = z.string().max(64).refine(isRfc3339);
const PcId = z.string().min(1).max(256).refine(isValidToken);
const HAND_WRITTEN_EXEC_RESULT = z.object({
  result_id: text(128).default(''),
  request_id: text(128),
  exec_id: opt(text(128)),
  parent_result_id: opt(text(128)),
  pc_id: PcId,
  exit_code: z
    .number()
    .int()
    .min(-(2 ** 31))
    .max(2 ** 31 - 1),
  skipped: opt(z.boolean()),
  stdout: z.string().default(''),
  stderr: z.string().default(''),
  started_at: Rfc3339,
  finished_at: Rfc3339,
  stdout_object: opt(text(512)),
  stderr_object: opt(text(512)),
  manifest_id: opt(text(256)),
  collect_object: opt(text(1024)),
});
const HAND_WRITTEN_EVENT_STARTED = z.object({
  result_id: text(128),
  request_id: text(128),
  exec_id: text(128),
  pc_id: PcId,
  started_at: Rfc3339,
  manifest_id: text(256),
  version: text(128),
});

VALID.exec_result = {
  result_id: 'r-1',
  request_id: 'q-1',
  exec_id: 'e-1',
  pc_id: 'pc-1',
  exit_code: 0,
  stdout: 'out',
  stderr: '',
  started_at: '2026-05-01T10:00:00Z',
  finished_at: '2026-05-01T10:00:01.5+09:00',
  manifest_id: 'job',
};
VALID.event_started = {
  result_id: 'r-1',
  request_id: 'q-1',
  exec_id: 'e-1',
  pc_id: 'pc-1',
  started_at: '2026-05-01T10:00:00Z',
  manifest_id: 'job',
  version: '1.0.0',
};

const CASES: [string, Shape, { safeParse(v: unknown): { success: boolean } }][] = [
  ['heartbeat', HEARTBEAT_SHAPE, Heartbeat],
  ['host_perf', HOST_PERF_SHAPE, HostPerf],
  ['process_perf', PROCESS_PERF_SHAPE, ProcessPerf],
  ['exec_result', EXEC_RESULT_SHAPE, ExecResult],
  ['exec_result', EXEC_RESULT_SHAPE, HAND_WRITTEN_EXEC_RESULT],
  ['event_started', EVENT_STARTED_SHAPE, EventStarted],
  ['event_started', EVENT_STARTED_SHAPE, HAND_WRITTEN_EVENT_STARTED],
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
