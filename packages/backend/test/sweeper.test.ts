// The sweeper against the test store (a real SQLite file, or PostgreSQL): pending executions expire after an
// hour, orphaned in-flight results are reaped (past expires_at, or 24 h after
// they started without one) and settle their execution once, a late real
// result repairs a reaped row without counting twice, running executions
// whose command left the EXEC stream complete once nothing is in flight and
// no wave is left, retention deletes in
// batches of 10,000 until caught up or out of time, and the built backend
// runs the sweeper on KANADE_SWEEP_INTERVAL_MS.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, removeDir, startBackend } from '../../../test-support/backend.js';
import { createStoreDb, openStoreDb } from '../../../test-support/db.js';
import { startNats, type TestNats } from '../../../test-support/nats-server.js';
import { applyResults } from '../src/projectors/results.js';
import { createStore, type Store } from '../src/store/index.js';
import { REAPED_EXIT_CODE } from '../src/store/results.js';
import { BATCH_ROWS, REPLAY_WINDOW_MS, sweep } from '../src/sweeper/sweep.js';

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;
const NOW = Date.UTC(2026, 5, 1, 12);

let dir: string;
let store: Store;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kanade-sweep-'));
  store = createStore(await createStoreDb(dir));
});
afterAll(() => {
  store?.db.close();
  removeDir(dir);
});

function execution(id: string, initiatedAt: number, target = 2) {
  store.executions.insert({
    exec_id: id,
    job_id: 'j',
    version: '1',
    initiated_by: 'operator',
    initiated_at: initiatedAt,
    target_count: target,
    request_id: `req-${id}`,
    abort_on_failure_pct: null,
  });
}

function inFlight(execId: string, resultId: string, startedAt: number, expiresAt: number | null) {
  store.results.insertInFlight([
    {
      result_id: resultId,
      request_id: `req-${execId}`,
      exec_id: execId,
      pc_id: `pc-${resultId}`,
      started_at: startedAt,
      recorded_at: startedAt,
      job_id: 'j',
      version: '1',
      expires_at: expiresAt,
    },
  ]);
}

const row = (id: string) =>
  store.db
    .prepare(
      'SELECT exit_code, reaped, finished_at, stderr, stdout FROM execution_results WHERE result_id = ?',
    )
    .get(id) as
    | { exit_code: number | null; reaped: number; finished_at: number | null; stderr: string; stdout: string }
    | undefined;

describe('sweep', () => {
  it('expires executions pending for more than an hour, strictly', async () => {
    execution('old', NOW - HOUR - 1);
    execution('edge', NOW - HOUR);
    const r = await sweep(store, NOW);
    expect(r.expired).toBe(1);
    expect(store.executions.get('old')!.status).toBe('expired');
    expect(store.executions.get('edge')!.status).toBe('pending');
  });

  it('reaps orphans past expires_at or 24 h old, settles the execution once, and lets a late result repair it', async () => {
    execution('e1', NOW - 2 * HOUR);
    inFlight('e1', 'r-expired', NOW - 2 * HOUR, NOW - 1);
    inFlight('e1', 'r-fallback', NOW - DAY - 1, null);
    inFlight('e1', 'r-young', NOW - DAY + 1, null);
    inFlight('e1', 'r-edge', NOW - HOUR, NOW);
    const r = await sweep(store, NOW);
    expect(r.reaped).toBe(2);
    expect(row('r-expired')).toMatchObject({ exit_code: REAPED_EXIT_CODE, reaped: 1, finished_at: NOW });
    expect(row('r-expired')!.stderr).toMatch(/reaped/);
    expect(row('r-young')!.finished_at).toBeNull();
    expect(row('r-edge')!.finished_at).toBeNull();
    expect(store.executions.get('e1')).toMatchObject({
      success_count: 0,
      failure_count: 2,
      status: 'completed',
    });

    // A second sweep finds nothing more to reap and counts nothing again.
    expect((await sweep(store, NOW)).reaped).toBe(0);
    expect(store.executions.get('e1')).toMatchObject({ failure_count: 2 });

    // The real result arrives late: the row is repaired, success replaces the reaper's failure.
    const late = {
      result_id: 'r-expired',
      request_id: 'req-e1',
      exec_id: 'e1',
      parent_result_id: null,
      pc_id: 'pc-r-expired',
      exit_code: 0,
      skipped: 0,
      stdout: 'done',
      stderr: '',
      started_at: NOW - 2 * HOUR,
      finished_at: NOW + 1000,
      job_id: 'j',
      recorded_at: NOW + 1000,
    };
    expect(store.tx(() => applyResults(store, [late]))).toBe(1);
    expect(row('r-expired')).toMatchObject({ exit_code: 0, reaped: 0, stdout: 'done', stderr: '' });
    expect(store.executions.get('e1')).toMatchObject({ success_count: 1, failure_count: 1 });
    // Redelivered: nothing changes.
    expect(store.tx(() => applyResults(store, [late]))).toBe(0);
    expect(store.executions.get('e1')).toMatchObject({ success_count: 1, failure_count: 1 });
  });

  it('completes running executions that no agent can replay any more, and only those', async () => {
    expect(REPLAY_WINDOW_MS).toBe(7 * DAY);
    const old = NOW - REPLAY_WINDOW_MS - 1;
    const result = (execId: string, resultId: string) => ({
      result_id: resultId,
      request_id: `req-${execId}`,
      exec_id: execId,
      parent_result_id: null,
      pc_id: `pc-${resultId}`,
      exit_code: 0,
      skipped: 0,
      stdout: '',
      stderr: '',
      started_at: old,
      finished_at: old,
      job_id: 'j',
      recorded_at: old,
    });
    const wave = (
      execId: string,
      idx: number,
      status: 'scheduled' | 'published',
      publishedAt: number | null,
    ) => ({
      exec_id: execId,
      idx,
      group_name: `g${idx}`,
      subject: `commands.group.g${idx}`,
      delay_ms: 0,
      due_at: old,
      target_count: 1,
      status,
      published_at: publishedAt,
      command: '{}',
    });
    // 1 of 3 answered, a week ago: the other two can no longer receive the command.
    execution('s-stale', old, 3);
    store.tx(() => applyResults(store, [result('s-stale', 's1')]));
    // The same, a moment inside the window: an offline agent may still replay it.
    execution('s-recent', NOW - REPLAY_WINDOW_MS, 3);
    store.tx(() => applyResults(store, [result('s-recent', 's2')]));
    // Old, but one run is still in flight (and not yet past its expiry): the reaper settles that first.
    execution('s-inflight', old, 3);
    store.tx(() => applyResults(store, [result('s-inflight', 's3')]));
    inFlight('s-inflight', 's3-running', NOW - HOUR, NOW + HOUR);
    // Old, but a later wave went out inside the window, or is still to come.
    execution('s-wave-recent', old, 3);
    store.tx(() => applyResults(store, [result('s-wave-recent', 's4')]));
    store.waves.insert([
      wave('s-wave-recent', 0, 'published', old),
      wave('s-wave-recent', 1, 'published', NOW - DAY),
    ]);
    execution('s-wave-due', old, 3);
    store.tx(() => applyResults(store, [result('s-wave-due', 's5')]));
    store.waves.insert([wave('s-wave-due', 0, 'published', old), wave('s-wave-due', 1, 'scheduled', null)]);
    // Old waves only: settled like the first.
    execution('s-wave-old', old, 3);
    store.tx(() => applyResults(store, [result('s-wave-old', 's6')]));
    store.waves.insert([wave('s-wave-old', 0, 'published', old)]);

    const r = await sweep(store, NOW);
    expect(r.settled).toBe(2);
    expect(store.executions.get('s-stale')).toMatchObject({
      status: 'completed',
      success_count: 1,
      failure_count: 0,
      target_count: 3,
    });
    expect(store.executions.get('s-wave-old')!.status).toBe('completed');
    for (const id of ['s-recent', 's-inflight', 's-wave-recent', 's-wave-due'])
      expect(store.executions.get(id)!.status, id).toBe('running');
    expect(store.executions.liveCounts().get('j')).toMatchObject({ running: 4 });
    expect((await sweep(store, NOW)).settled).toBe(0);
  });

  it('deletes expired rows in batches of 10,000 until caught up or out of time, and nothing younger', async () => {
    const total = BATCH_ROWS * 3 + 5000;
    const old = NOW - 91 * DAY;
    const insert = store.db.prepare(
      `INSERT INTO execution_results (result_id, request_id, pc_id, started_at, recorded_at, finished_at, exit_code)
       VALUES (?, 'q', 'pc', ?, ?, ?, 0)`,
    );
    store.tx(() => {
      for (let i = 0; i < total; i++) insert.run(`old-${i}`, old, old, old);
      insert.run('recent', NOW - 89 * DAY, NOW - 89 * DAY, NOW - 89 * DAY);
    });
    const count = () =>
      (
        store.db
          .prepare("SELECT COUNT(*) AS n FROM execution_results WHERE result_id LIKE 'old-%'")
          .get() as { n: number }
      ).n;
    // Out of time after the first round: one batch per table, the next sweep goes on.
    const first = await sweep(store, NOW, { budgetMs: 0 });
    expect(first.deleted.execution_results).toBe(BATCH_ROWS);
    expect(count()).toBe(total - BATCH_ROWS);
    // With time: everything that expired, in one sweep, however many batches it takes.
    const second = await sweep(store, NOW);
    expect(second.deleted.execution_results).toBe(total - BATCH_ROWS);
    expect(count()).toBe(0);
    expect(row('recent')).toBeDefined();
    const third = await sweep(store, NOW);
    expect(third.deleted).toEqual({});
  });
});

describe('sweeper in the backend', () => {
  let nats: TestNats;
  beforeAll(async () => {
    nats = await startNats();
  });
  afterAll(async () => {
    await nats?.stop();
  });

  it('runs on KANADE_SWEEP_INTERVAL_MS', async () => {
    const be = await startBackend({ natsUrl: nats.url, env: { KANADE_SWEEP_INTERVAL_MS: '300' } });
    try {
      const db = openStoreDb(be.dataDir, { migrate: false });
      db.prepare(
        `INSERT INTO executions (exec_id, job_id, version, initiated_by, initiated_at, target_count, status)
         VALUES ('stale', 'j', '1', 'operator', ?, 1, 'pending')`,
      ).run(Date.now() - 2 * HOUR);
      db.close();
      await eventually(
        async () =>
          ((await be.json('/api/executions/stale')) as { execution: { status: string } }).execution.status ===
          'expired',
        10_000,
        'expired by the sweeper',
      );
    } finally {
      await be.kill();
      removeDir(be.dataDir);
    }
  });
});
