// `npm run bench -- results [--agents 100000] [--burst 60000] [--run-ms 2000] [--only fleet|burst] [--writer-thread 0] [--ack-all 0] [--group-commit 0]`
//
// (a) fleet: nats-server, the built backend and the simulator answering
//     commands for --agents virtual agents; one exec of a job to all of them,
//     timed from the last result stored in RESULTS (the stream's last_ts)
//     until the execution's counters account for every result (target: 10 s).
// (b) burst: --burst ExecResults are published into RESULTS before the
//     backend starts; the backend's results projector drains them (timed from
//     its "durable projector started" log line to the last row), as the
//     backend ships and with each of its drain features turned off (one ack
//     per message instead of per batch; transactions on the ingest thread;
//     one transaction per batch instead of group commit),
//     twice each, in turn. Then twice into a running backend: it drains the
//     stream first, is frozen while another burst is published, and is timed
//     from when it resumes (no process start-up in the figure). Then, on a
//     fresh database and a new durable over the same messages, upstream's
//     shape: pull ONE message, apply it in its own transaction with the same
//     store function, ack, next. The ratio of the two rates is the gain of
//     batching (targets: >= 50,000 results/s and >= 10x).
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DURABLE, KV, STREAM } from '@kanade/wire';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import Database from 'better-sqlite3';
import { bootstrapJetStream } from '../packages/backend/src/nats/bootstrap.js';
import { applyResults, decodeResult } from '../packages/backend/src/projectors/results.js';
import { createStore, openDb } from '../packages/backend/src/store/index.js';
import { createSimulator } from '../packages/sim/src/index.js';
import { scrapeMetrics, startBackend, type TestBackend } from '../test-support/backend.js';
import { startNats } from '../test-support/nats-server.js';
import { arg, cpuSeconds, round, sleep, threadCpuSeconds } from './lib.js';

const JOB = {
  id: 'bench-echo',
  version: '1.0.0',
  execute: { shell: 'sh', script: 'echo bench', timeout: '5m' },
};

function log(line: string) {
  process.stderr.write(`[results] ${line}\n`);
}

async function waitFor<T>(
  what: string,
  timeoutMs: number,
  fn: () => T | undefined | Promise<T | undefined>,
  everyMs = 20,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
    await sleep(everyMs);
  }
}

async function post(be: TestBackend, path: string, body: unknown) {
  const r = await be.fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!r.ok) throw new Error(`POST ${path}: HTTP ${r.status} ${await r.text()}`);
  return r.json() as Promise<Record<string, unknown>>;
}

async function fleet(
  agents: number,
  runMs: number,
  writerThread: boolean,
  ackAll: boolean,
  groupCommit: boolean,
) {
  const nats = await startNats();
  const be = await startBackend({
    natsUrl: nats.url,
    env: {
      KANADE_TELEMETRY_FLUSH_MS: '1000',
      KANADE_INGEST_WRITER_THREAD: writerThread ? '1' : '0',
      KANADE_INGEST_ACK_ALL: ackAll ? '1' : '0',
      KANADE_INGEST_GROUP_COMMIT: groupCommit ? '1' : '0',
    },
  });
  const sim = createSimulator({
    natsUrl: nats.url,
    agents,
    heartbeatMs: 30_000,
    hostPerfMs: 3_600_000,
    commands: { runMs },
  });
  const nc = await connect({ servers: nats.url });
  const reader = new Database(join(be.dataDir, 'kanade.db'), { readonly: true });
  try {
    await sim.start();
    log(`waiting for ${agents} agents to be online...`);
    await waitFor(
      'every agent online',
      120_000,
      async () => {
        const r = await be.fetch('/api/agents?limit=1');
        return Number(r.headers.get('x-online-count')) >= agents ? true : undefined;
      },
      500,
    );
    await post(be, '/api/jobs', JOB);
    const jsm = await jetstreamManager(nc);
    const before = (await jsm.streams.info(STREAM.RESULTS)).state.messages;
    const cpu0 = cpuSeconds(be.proc.pid!);
    const execAt = Date.now();
    const ex = await post(be, `/api/exec/${JOB.id}`, { target: { all: true } });
    if (ex.target_count !== agents) throw new Error(`target_count ${ex.target_count}, expected ${agents}`);
    const counted = reader.prepare<[string], { n: number }>(
      'SELECT success_count + failure_count AS n FROM executions WHERE exec_id = ?',
    );
    let lastStoredAt: number | undefined;
    let projectedAt: number | undefined;
    await waitFor('every result projected', 300_000, async () => {
      if (lastStoredAt === undefined) {
        const info = await jsm.streams.info(STREAM.RESULTS);
        if (info.state.messages - before >= agents) lastStoredAt = Date.parse(info.state.last_ts);
      }
      if ((counted.get(String(ex.exec_id))?.n ?? 0) >= agents) projectedAt ??= Date.now();
      return lastStoredAt !== undefined && projectedAt !== undefined ? true : undefined;
    });
    const lag = (projectedAt! - lastStoredAt!) / 1000;
    log(
      `last result stored ${round((lastStoredAt! - execAt) / 1000, 2)} s after exec; projected ${round(lag, 2)} s later`,
    );
    return {
      agents,
      run_ms: runMs,
      exec_to_last_result_s: round((lastStoredAt! - execAt) / 1000, 2),
      last_result_to_projected_s: round(Math.max(0, lag), 2),
      exec_to_projected_s: round((projectedAt! - execAt) / 1000, 2),
      backend_cpu_seconds: round(cpuSeconds(be.proc.pid!) - cpu0, 1),
      target_s: 10,
    };
  } finally {
    reader.close();
    await sim.stop();
    await nc.close();
    await be.kill();
    rmSync(be.dataDir, { recursive: true, force: true });
    await nats.stop();
  }
}

/** A fresh database with the execution the burst's results belong to. */
function freshDb(dir: string, execId: string, target: number, pageSize?: number) {
  const db = openDb(join(dir, 'kanade.db'), pageSize ? { pageSize } : {});
  const store = createStore(db);
  addExecution(store, execId, target);
  return { db, store };
}

/** The execution a burst's results belong to (as POST /api/exec would have inserted it). */
function addExecution(store: ReturnType<typeof createStore>, execId: string, target: number) {
  store.executions.insert({
    exec_id: execId,
    job_id: JOB.id,
    version: JOB.version,
    initiated_by: 'bench',
    initiated_at: Date.now(),
    target_count: target,
    request_id: execId,
    abort_on_failure_pct: null,
  });
}

/**
 * The built backend on a fresh database and a fresh durable (so it reads the stream from its start),
 * and a read-only view of how many results of an execution its counters account for.
 */
async function backendOnStream(
  natsUrl: string,
  nc: NatsConnection,
  n: number,
  execId: string,
  env: Record<string, string>,
  kind: string,
) {
  const dataDir = mkdtempSync(join(tmpdir(), `kanade-bench-${kind}-`));
  freshDb(dataDir, execId, n).db.close();
  const jsm = await jetstreamManager(nc);
  await jsm.consumers.delete(STREAM.RESULTS, DURABLE.RESULTS).catch(() => undefined);
  let be: TestBackend;
  try {
    be = await startBackend({ natsUrl, dataDir, env });
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  // The execution's counters (bumped in the same transaction as the rows): one primary-key read per
  // poll. A COUNT(*) over the growing table every 5 ms took a good share of a core from the 2 the
  // backend and nats-server share, and slowed what it measured.
  const reader = new Database(join(dataDir, 'kanade.db'), { readonly: true });
  const counted = reader
    .prepare<[string], number>('SELECT success_count + failure_count FROM executions WHERE exec_id = ?')
    .pluck();
  return {
    be,
    dataDir,
    reader,
    jsm,
    settled: (id: string) => counted.get(id) ?? 0,
    async close() {
      reader.close();
      await be.kill();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function publishBurst(nc: NatsConnection, n: number, execId: string) {
  const js = jetstream(nc);
  const at = new Date().toISOString();
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const pc = `bench-${String(i).padStart(6, '0')}`;
    const body = {
      result_id: randomUUID(),
      request_id: execId,
      exec_id: execId,
      pc_id: pc,
      exit_code: i % 20 === 0 ? 1 : 0,
      stdout: `bench output of ${pc}\n`,
      stderr: '',
      started_at: at,
      finished_at: at,
      manifest_id: JOB.id,
    };
    pending.push(js.publish(`results.${execId}`, JSON.stringify(body)));
    if (pending.length >= 2000) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
}

async function oneAtATime(nc: NatsConnection, n: number, execId: string) {
  const dir = mkdtempSync(join(tmpdir(), 'kanade-bench-1x1-'));
  // Upstream's SQLite keeps SQLite's default 4 KiB pages; ours are 16 KiB (ADR 0009), which would make each
  // of these one-row commits write four times the bytes and flatter the ratio.
  const { db, store } = freshDb(dir, execId, n, 4096);
  try {
    const jsm = await jetstreamManager(nc);
    const durable = 'bench_one_at_a_time';
    await jsm.consumers.add(STREAM.RESULTS, {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
    });
    const consumer = await jetstream(nc).consumers.get(STREAM.RESULTS, durable);
    const count = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM execution_results');
    const started = performance.now();
    for (let i = 0; i < n; i++) {
      const m = await consumer.next({ expires: 5000 });
      if (!m) throw new Error(`the stream ran dry after ${i} messages`);
      const row = decodeResult(m.json(), Math.floor(Number(m.timestampNanos) / 1e6));
      if ('invalid' in row) throw new Error(`invalid bench message: ${row.invalid}`);
      store.tx(() => applyResults(store, [row]));
      m.ack();
    }
    const seconds = (performance.now() - started) / 1000;
    if (count.get()!.n !== n) throw new Error(`one-at-a-time stored ${count.get()!.n} of ${n}`);
    await jsm.consumers.delete(STREAM.RESULTS, durable);
    return { seconds, per_sec: n / seconds };
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** CPU seconds of each thread of `pid` (/proc/<pid>/task), by thread id. */
function threadCpu(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      out.set(tid, threadCpuSeconds(pid, tid));
    } catch {
      // the thread ended
    }
  }
  return out;
}

/** CPU seconds of the three busiest threads between two samples: which thread is the bottleneck. */
function busiestThreads(before: Map<string, number>, after: Map<string, number>): number[] {
  return [...after]
    .map(([tid, s]) => s - (before.get(tid) ?? 0))
    .sort((a, b) => b - a)
    .slice(0, 3)
    .map((s) => round(s, 2));
}

/**
 * Start the backend on a fresh database and a fresh durable (so it reads the whole burst again) and
 * time its drain, with `env` on top of the defaults (a variant of BURST_VARIANTS).
 */
async function drain(
  natsUrl: string,
  nc: NatsConnection,
  n: number,
  execId: string,
  env: Record<string, string>,
) {
  const run = await backendOnStream(natsUrl, nc, n, execId, env, 'burst');
  const { be } = run;
  try {
    const pid = be.proc.pid!;
    const cpu0 = cpuSeconds(pid);
    const threads0 = threadCpu(pid);
    await waitFor(`${n} results`, 120_000, () => (run.settled(execId) >= n ? true : undefined), 5);
    const doneAt = Date.now();
    const cpu = cpuSeconds(pid) - cpu0;
    const threads = busiestThreads(threads0, threadCpu(pid));
    const startLine = be.logs.find(
      (l) => l.includes('"durable projector started"') && l.includes('"projector":"results"'),
    );
    if (!startLine) throw new Error('no "durable projector started" line for the results projector');
    const seconds = (doneAt - (JSON.parse(startLine) as { time: number }).time) / 1000;
    const rows = run.reader.prepare('SELECT COUNT(*) FROM execution_results').pluck().get() as number;
    const c = run.reader
      .prepare<[string], { s: number; f: number }>(
        'SELECT success_count AS s, failure_count AS f FROM executions WHERE exec_id = ?',
      )
      .get(execId)!;
    if (rows !== n || c.s + c.f !== n) throw new Error(`${rows} rows, counters ${c.s}+${c.f}; expected ${n}`);
    // How the drain was cut into batches (the writer may commit several queued batches together).
    // The ingest worker hands its counters to /metrics every so often: wait until they cover the drain.
    const m = await waitFor('the projector counters', 10_000, async () => {
      const now = await scrapeMetrics(be);
      return (now.get('kanade_projector_written_total{projector="results"}') ?? 0) >= n ? now : undefined;
    });
    const batches = m.get('kanade_projector_flushes_total{projector="results"}') ?? 0;
    const txSeconds = m.get('kanade_projector_flush_duration_seconds_sum{projector="results"}') ?? 0;
    return {
      seconds: round(seconds, 2),
      results_per_sec: round(n / seconds, 0),
      backend_cpu_seconds: round(cpu, 2),
      busiest_threads_cpu_seconds: threads,
      batches,
      mean_batch: batches ? round(n / batches, 0) : null,
      // Time inside write transactions; with the writer thread it overlaps receiving.
      share_in_transactions: round(txSeconds / seconds, 2),
    };
  } finally {
    await run.close();
  }
}

/**
 * A burst into a running backend: the backend drains a first burst (so its code is compiled and its
 * caches warm, as in a backend that has been up for a while), is frozen (SIGSTOP) while a second burst
 * of `n` results is published, and is timed from SIGCONT until the second burst is projected. The cold
 * drain above also pays for process start-up work that overlaps it (V8 compiling the hot code on its
 * helper threads took about a fifth of a core during it); this one measures the projector alone.
 */
async function warmDrain(natsUrl: string, nc: NatsConnection, n: number, execId: string) {
  const run = await backendOnStream(natsUrl, nc, n, execId, {}, 'warm');
  try {
    // Everything in the stream projected and acknowledged: the backend is idle.
    await waitFor('the first burst', 120_000, () => (run.settled(execId) >= n ? true : undefined));
    await waitFor('an idle durable', 30_000, async () => {
      const ci = await run.jsm.consumers.info(STREAM.RESULTS, DURABLE.RESULTS);
      return ci.num_pending === 0 && ci.num_ack_pending === 0 ? true : undefined;
    });
    const second = randomUUID();
    const db = openDb(join(run.dataDir, 'kanade.db'), { migrate: false });
    addExecution(createStore(db), second, n);
    db.close();
    const rowsBefore = run.reader.prepare('SELECT COUNT(*) FROM execution_results').pluck().get() as number;
    const pid = run.be.proc.pid!;
    process.kill(pid, 'SIGSTOP');
    try {
      await publishBurst(nc, n, second);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    const started = Date.now();
    const cpu0 = cpuSeconds(pid);
    await waitFor(`${n} more results`, 120_000, () => (run.settled(second) >= n ? true : undefined), 5);
    const seconds = (Date.now() - started) / 1000;
    return {
      seconds: round(seconds, 2),
      results_per_sec: round(n / seconds, 0),
      backend_cpu_seconds: round(cpuSeconds(pid) - cpu0, 2),
      rows_before: rowsBefore,
    };
  } finally {
    await run.close();
  }
}

/**
 * The backend as it ships, and with one of its drain features off: acks one message at a time
 * instead of one per batch (projectors/durable.ts), transactions on the ingest thread instead
 * of the database writer thread (ingest/writer.ts), and one transaction per batch instead of the
 * writer's group commit (ingest/writer-worker.ts).
 */
const BURST_VARIANTS: { name: string; env: Record<string, string> }[] = [
  { name: 'default', env: {} },
  { name: 'explicit_acks', env: { KANADE_INGEST_ACK_ALL: '0' } },
  { name: 'inline_writes', env: { KANADE_INGEST_WRITER_THREAD: '0' } },
  { name: 'one_commit_per_batch', env: { KANADE_INGEST_GROUP_COMMIT: '0' } },
];

async function burst(n: number) {
  const nats = await startNats();
  const nc = await connect({ servers: nats.url });
  const execId = randomUUID();
  try {
    await bootstrapJetStream(nc);
    // The job is in the catalog, as it is for any result a fleet sends (POST /api/jobs stores it there).
    await (await new Kvm(nc).open(KV.JOBS)).put(JOB.id, JSON.stringify(JOB));
    log(`publishing ${n} results into RESULTS...`);
    await publishBurst(nc, n, execId);
    // Side by side on the same messages: the backend as it ships and with each of its two drain
    // features turned off, twice in turn, so a change in the machine's speed during the run shows up
    // as a spread, not as a gain.
    type Drain = Awaited<ReturnType<typeof drain>> & { nats_server_cpu_seconds: number };
    const runs = new Map<string, Drain[]>(BURST_VARIANTS.map((v) => [v.name, []]));
    for (let round_ = 0; round_ < 2; round_++) {
      for (const v of BURST_VARIANTS) {
        log(`draining: ${v.name}...`);
        const natsCpu0 = cpuSeconds(nats.proc.pid!);
        const r = await drain(nats.url, nc, n, execId, v.env);
        const natsCpu = round(cpuSeconds(nats.proc.pid!) - natsCpu0, 2);
        log(`  ${r.results_per_sec} results/s (nats-server ${natsCpu} CPU s)`);
        runs.get(v.name)!.push({ ...r, nats_server_cpu_seconds: natsCpu });
      }
    }
    const best = <T extends { results_per_sec: number }>(xs: T[]) =>
      xs.reduce((a, b) => (b.results_per_sec > a.results_per_sec ? b : a));
    const batched = best(runs.get('default')!);

    const warm: Awaited<ReturnType<typeof warmDrain>>[] = [];
    for (let i = 0; i < 2; i++) {
      log('draining into a running backend...');
      warm.push(await warmDrain(nats.url, nc, n, execId));
      log(`  ${warm.at(-1)!.results_per_sec} results/s`);
    }

    log('one at a time...');
    const single = await oneAtATime(nc, n, execId);
    log(`one at a time ${round(single.per_sec, 0)} results/s`);
    return {
      results: n,
      batched,
      ...Object.fromEntries(
        BURST_VARIANTS.filter((v) => v.name !== 'default').map((v) => [
          `batched_${v.name}`,
          best(runs.get(v.name)!),
        ]),
      ),
      all_runs_per_sec: Object.fromEntries(
        [...runs].map(([name, rs]) => [name, rs.map((r) => r.results_per_sec)]),
      ),
      // The default's best over each variant's best: what that feature gains.
      gain_over: Object.fromEntries(
        BURST_VARIANTS.filter((v) => v.name !== 'default').map((v) => [
          v.name,
          round(batched.results_per_sec / best(runs.get(v.name)!).results_per_sec, 2),
        ]),
      ),
      into_running_backend: {
        ...best(warm),
        all_runs_per_sec: warm.map((w) => w.results_per_sec),
      },
      one_at_a_time: { seconds: round(single.seconds, 2), results_per_sec: round(single.per_sec, 0) },
      ratio: round(batched.results_per_sec / single.per_sec, 1),
      targets: { results_per_sec: 50_000, ratio: 10 },
    };
  } finally {
    await nc.close();
    await nats.stop();
  }
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const agents = Number(arg(args, 'agents', '100000'));
  const n = Number(arg(args, 'burst', '60000'));
  const runMs = Number(arg(args, 'run-ms', '2000'));
  const only = arg(args, 'only', '');
  if (!Number.isInteger(agents) || agents <= 0) throw new Error('--agents must be a positive integer');
  if (!Number.isInteger(n) || n <= 0) throw new Error('--burst must be a positive integer');
  // The machine is shared: the load average says how much of its two cores the run really had.
  const out: Record<string, unknown> = { load_average_before: round(loadavg()[0]!, 2) };
  if (only !== 'fleet') out.burst = await burst(n);
  // --writer-thread 0 / --ack-all 0 / --group-commit 0: the fleet run without the database writer
  // thread (KANADE_INGEST_WRITER_THREAD=0) / with one ack per message (KANADE_INGEST_ACK_ALL=0) / with
  // one transaction per batch (KANADE_INGEST_GROUP_COMMIT=0).
  if (only !== 'burst')
    out.fleet = await fleet(
      agents,
      runMs,
      arg(args, 'writer-thread', '1') !== '0',
      arg(args, 'ack-all', '1') !== '0',
      arg(args, 'group-commit', '1') !== '0',
    );
  out.load_average_after = round(loadavg()[0]!, 2);
  return out;
}
