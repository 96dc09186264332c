// `npm run bench -- scheduler [--schedules 1000] [--firing 100] [--agents 10] [--no-burst]`:
// the built backend (child process) with --schedules calendar schedules
// registered through the API and --agents simulated agents answering every
// command. Two phases, each at a whole UTC minute:
// - typical: --firing of the schedules are due at the minute, the rest a
//   day later (registered, idle);
// - burst: all --schedules are moved to the next minute and fire together
//   (skip with --no-burst).
// Each phase reports:
// - fire lateness: each execution's initiated_at (after the gates, the slot
//   claim and target resolution, just before its Commands are published)
//   minus the scheduled minute, p50/p99/max (target: within 1 s);
// - tick lateness: when the scheduler began each fire vs. the minute (the
//   "scheduler fired" log lines), which is the part spent queued;
// - CPU seconds of the backend process (scheduler, API, ingest worker) and
//   of nats-server for the burst of fires and the answers they bring back.
// Before the first phase, the backend's CPU while the schedules sit
// registered and idle is reported as percent of one core.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createSimulator } from '../packages/sim/src/index.js';
import { startBackend, type TestBackend } from '../test-support/backend.js';
import { startNats } from '../test-support/nats-server.js';
import { arg, cpuSeconds, round, sleep, summarize } from './lib.js';

const JOBS = { typical: 'bench-typical', burst: 'bench-burst' } as const;
/** Registration must end this long before the firing minute, so the idle window is measured. */
const IDLE_WINDOW_MS = 20_000;
/** API upserts per second to plan for (a few ms each on a busy 2-core host). */
const UPSERT_MS = 15;

function log(line: string) {
  process.stderr.write(`[scheduler] ${line}\n`);
}

async function post(be: TestBackend, path: string, body: unknown) {
  const r = await be.fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (r.status !== 200) throw new Error(`${path}: HTTP ${r.status} ${await r.text()}`);
}

const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);
const scheduleId = (i: number) => `bench-${String(i).padStart(5, '0')}`;
/** The first whole minute at least `leadMs` from now. */
const minuteAfter = (leadMs: number) => Math.ceil((Date.now() + leadMs) / 60_000) * 60_000;

export async function run(args: string[]) {
  const schedules = Number(arg(args, 'schedules', '1000'));
  const firing = Number(arg(args, 'firing', '100'));
  const agents = Number(arg(args, 'agents', '10'));
  const burst = !args.includes('--no-burst');
  if (!(schedules > 0) || !(firing > 0) || firing > schedules || !(agents >= 0)) {
    throw new Error('bad --schedules, --firing or --agents');
  }

  const nats = await startNats();
  const dataDir = mkdtempSync(join(tmpdir(), 'kanade-bench-sched-'));
  const be = await startBackend({ natsUrl: nats.url, dataDir });
  const pid = be.proc.pid!;
  const brokerPid = nats.proc.pid!;
  const sim =
    agents > 0
      ? createSimulator({
          natsUrl: nats.url,
          agents,
          prefix: 'bsch',
          heartbeatMs: 5000,
          hostPerfMs: 3_600_000,
          commands: { runMs: 200, failureRate: 0 },
        })
      : undefined;

  const initiated = (jobId: string): number[] => {
    const d = new Database(join(dataDir, 'kanade.db'), { readonly: true });
    try {
      return d
        .prepare("SELECT initiated_at FROM executions WHERE job_id = ? AND initiated_by = 'scheduler'")
        .pluck()
        .all(jobId) as number[];
    } finally {
      d.close();
    }
  };
  const firedLines = (jobId: string) =>
    be.logs.filter((l) => l.includes('"scheduler fired"') && l.includes(`"job_id":"${jobId}"`));

  async function upsert(ids: number[], jobId: string, at: (i: number) => number) {
    for (const i of ids) {
      await post(be, '/api/schedules', {
        id: scheduleId(i),
        job_id: jobId,
        when: { calendar: { at: hhmm(at(i)) } },
        tz: 'utc',
        target: { all: true },
      });
    }
  }

  /** Wait for the minute, then until `expected` executions of the job exist; lateness and CPU. */
  async function measure(jobId: string, minute: number, expected: number) {
    log(`waiting for ${new Date(minute).toISOString()} (${expected} fires)...`);
    await sleep(Math.max(0, minute - 1000 - Date.now()));
    const cpu0 = cpuSeconds(pid);
    const broker0 = cpuSeconds(brokerPid);
    let rows: number[] = [];
    while (Date.now() < minute + 60_000) {
      await sleep(100);
      if (Date.now() < minute) continue;
      rows = initiated(jobId);
      if (rows.length >= expected) break;
    }
    // "scheduler fired" is logged once the exec returned (after the publish and the audit event).
    for (let i = 0; i < 100 && firedLines(jobId).length < rows.length; i++) await sleep(100);
    const cpu = cpuSeconds(pid) - cpu0;
    const broker = cpuSeconds(brokerPid) - broker0;
    const lateness = rows.map((t) => t - minute);
    const ticks = firedLines(jobId)
      .map((l) => (JSON.parse(l) as { lateness_ms?: number }).lateness_ms)
      .filter((x): x is number => typeof x === 'number');
    const fire = summarize(lateness);
    return {
      fired: rows.length,
      fire_lateness: fire,
      tick_lateness: summarize(ticks),
      within_1s_pct: round((100 * lateness.filter((x) => x <= 1000).length) / Math.max(1, rows.length)),
      backend_cpu_s: round(cpu, 2),
      broker_cpu_s: round(broker, 2),
      p99_within_1s: fire.p99_ms <= 1000,
    };
  }

  try {
    await sim?.start();
    for (const id of Object.values(JOBS)) {
      await post(be, '/api/jobs', {
        id,
        version: '1.0.0',
        execute: { shell: 'sh', script: 'echo tick', timeout: '5m' },
      });
    }
    const all = Array.from({ length: schedules }, (_, i) => i);

    const minute1 = minuteAfter(schedules * UPSERT_MS + IDLE_WINDOW_MS + 5_000);
    log(`registering ${schedules} schedules, ${firing} due at ${new Date(minute1).toISOString()}...`);
    const r0 = performance.now();
    await upsert(all, JOBS.typical, (i) => (i < firing ? minute1 : minute1 + 12 * 3_600_000));
    const registrationMs = performance.now() - r0;
    while (be.logs.filter((l) => l.includes('"schedule registered"')).length < schedules) await sleep(100);
    const idleFrom = Date.now();
    if (minute1 - idleFrom < 5_000)
      throw new Error('registration ran into the firing minute; use fewer schedules');
    // From the end of registration to just before the minute: what the registered schedules cost at rest.
    const idleCpu0 = cpuSeconds(pid);
    await sleep(Math.max(0, minute1 - 3_000 - Date.now()));
    const idlePct = (100 * (cpuSeconds(pid) - idleCpu0)) / ((Date.now() - idleFrom) / 1000);
    const typical = await measure(JOBS.typical, minute1, firing);

    let burstResult: Awaited<ReturnType<typeof measure>> | undefined;
    if (burst) {
      const minute2 = minuteAfter(schedules * UPSERT_MS + 10_000);
      log(`moving all ${schedules} schedules to ${new Date(minute2).toISOString()}...`);
      await upsert(all, JOBS.burst, () => minute2);
      if (minute2 - Date.now() < 3_000) throw new Error('re-registration ran into the burst minute');
      burstResult = await measure(JOBS.burst, minute2, schedules);
    }
    return {
      schedules,
      agents,
      registration: {
        total_ms: Math.round(registrationMs),
        per_schedule_ms: round(registrationMs / schedules, 2),
      },
      idle_backend_cpu_pct_of_core: round(idlePct, 2),
      typical: { firing, ...typical },
      ...(burstResult ? { burst: { firing: schedules, ...burstResult } } : {}),
    };
  } finally {
    await sim?.stop();
    await be.kill();
    await nats.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
