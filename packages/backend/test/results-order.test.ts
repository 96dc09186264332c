// The Activity list's order: newest start first, and among results that
// started in the same millisecond (a fleet's results often do) by result_id,
// the same on SQLite and PostgreSQL, so paging with offset neither repeats nor
// skips a result. Checked with and without an output filter (which pages a
// scan window), on the store the run selected; on SQLite the page comes from
// idx_results_started with only the ties sorted.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir } from '../../../test-support/backend.js';
import { createStoreDb, testPostgresUrl } from '../../../test-support/db.js';
import type { Db } from '../src/store/db.js';
import { createStore, type Store } from '../src/store/index.js';
import type { ResultRow } from '../src/store/results.js';

let dir: string;
let db: Db;
let store: Store;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kanade-results-order-'));
  db = await createStoreDb(dir);
  store = createStore(db);
});
afterAll(() => {
  db?.close();
  if (dir) removeDir(dir);
});

const T = Date.UTC(2026, 11, 1, 12);

function row(id: string, startedAt: number): ResultRow {
  return {
    result_id: id,
    request_id: 'req',
    exec_id: 'exec-order',
    parent_result_id: null,
    pc_id: `pc-${id}`,
    exit_code: 0,
    skipped: 0,
    stdout: `out ${id}`,
    stderr: '',
    started_at: startedAt,
    finished_at: startedAt + 5,
    job_id: 'job-order',
    recorded_at: startedAt + 10,
  };
}

describe('Activity list order', () => {
  // Inserted in this order; ids out of alphabetical order so the two tiebreaks differ.
  const ties = ['c', 'a', 'd', 'b'];

  beforeAll(() => {
    store.tx(() =>
      store.results.upsert([row('old', T - 1000), ...ties.map((id) => row(id, T)), row('new', T + 1000)]),
    );
  });

  const expected = () => ['new', ...[...ties].sort().reverse(), 'old'];
  const ids = (q: Partial<Parameters<Store['results']['list']>[0]>) =>
    store.results.list({ limit: 100, offset: 0, ...q }).rows.map((r) => r.result_id);

  it('pages through results of one start time without repeating or skipping any', () => {
    expect(ids({})).toEqual(expected());
    const paged = [0, 2, 4].flatMap((offset) => ids({ limit: 2, offset }));
    expect(paged).toEqual(expected());
    // The output filter pages a scan window, in the same order.
    expect(ids({ stdout: 'out' })).toEqual(expected());
    expect(ids({ stdout: 'out', limit: 3, offset: 3 })).toEqual(expected().slice(3));
  });

  it.skipIf(Boolean(testPostgresUrl()))(
    'reads the page from the index on SQLite, sorting only the ties',
    () => {
      const plan = db
        .prepare<[], { detail: string }>(
          'EXPLAIN QUERY PLAN SELECT result_id FROM execution_results ORDER BY started_at DESC, result_id DESC LIMIT 50',
        )
        .all()
        .map((r) => r.detail)
        .join('\n');
      expect(plan).toContain('idx_results_started');
      expect(plan).toContain('TEMP B-TREE FOR LAST TERM OF ORDER BY');
      expect(plan).not.toContain('TEMP B-TREE FOR ORDER BY');
    },
  );
});
