// The result-hint rules without a broker, on the test store: hint fences,
// check evaluation, explode-spec validation, the element and scalar history
// diff, the recency guard (an older result changes nothing, not even
// history), and explode-table schema migration.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir } from '../../../test-support/backend.js';
import { createStoreDb } from '../../../test-support/db.js';
import { createLogger } from '../src/log.js';
import { applyCheck, evaluateCheck } from '../src/projectors/hints/check.js';
import { fence, fencedPayload } from '../src/projectors/hints/fence.js';
import { applyInventory, diffScalars, type InventoryHint } from '../src/projectors/hints/inventory.js';
import { explodeSpecError } from '../src/store/explode.js';
import { createStore, type Store } from '../src/store/index.js';
import type { ResultRow } from '../src/store/results.js';

describe('fences', () => {
  it('reads its own block, the whole output when nothing is fenced, nothing when only others are', () => {
    const out = `hello\n${fence('INVENTORY', '{"a":1}')}${fence('CHECK', '{"status":"ok"}')}bye`;
    expect(fencedPayload(out, 'INVENTORY')).toBe('{"a":1}');
    expect(fencedPayload(out, 'CHECK')).toBe('{"status":"ok"}');
    expect(fencedPayload(`${fence('CHECK', '{}')}`, 'INVENTORY')).toBe('');
    expect(fencedPayload('  {"a":2}\n', 'INVENTORY')).toBe('{"a":2}');
    expect(fencedPayload('#KANADE-CHECK-BEGIN\n{"status":"warn"', 'CHECK')).toBe('{"status":"warn"');
    expect(fencedPayload('echo #KANADE-CHECK-BEGIN\n{}', 'CHECK')).toBe('echo #KANADE-CHECK-BEGIN\n{}');
  });
});

describe('evaluateCheck', () => {
  const hint = { name: 'av', status_field: 'status', detail_field: 'detail', fleet: true };
  const run = (stdout: string, exit_code = 0, stderr = '') =>
    evaluateCheck(hint, { stdout, exit_code, stderr });

  it('reads status and detail, and degrades to unknown with a reason', () => {
    expect(run('{"status":"warn","detail":"D: unprotected"}')).toEqual({
      status: 'warn',
      detail: 'D: unprotected',
    });
    expect(run('{"status":"ok","detail":["C:","D:"]}')).toEqual({ status: 'ok', detail: '["C:","D:"]' });
    expect(run('{"status":"ok","detail":""}')).toEqual({ status: 'ok', detail: null });
    expect(run('not json').status).toBe('unknown');
    expect(run('[1]').detail).toBe('check stdout was not a JSON object');
    expect(run('{"detail":"x"}').detail).toBe('stdout has no `status` field');
    expect(run('{"status":"green"}').detail).toContain('green');
    expect(run('', 2, '  boom  ')).toEqual({ status: 'unknown', detail: 'check script exited 2: boom' });
    expect(
      evaluateCheck(
        { ...hint, status_field: 'compliance', detail_field: 'summary' },
        {
          stdout: '{"compliance":"fail","summary":"12 missing"}',
          exit_code: 0,
          stderr: '',
        },
      ),
    ).toEqual({ status: 'fail', detail: '12 missing' });
  });
});

describe('explodeSpecError', () => {
  const ok = {
    field: 'sw',
    table: 'inv_sw',
    primary_key: ['name'],
    columns: [{ field: 'name' }, { field: 'size', type: 'integer' }],
  };
  it.each([
    ['a table name with SQL', { ...ok, table: 'x"; DROP TABLE agents; --' }],
    ['a sqlite_ table', { ...ok, table: 'sqlite_master' }],
    ['a column name with a quote', { ...ok, columns: [{ field: 'na"me' }], primary_key: ['na"me'] }],
    ['a built-in column', { ...ok, columns: [...ok.columns, { field: 'PC_ID' }] }],
    ['a duplicate column', { ...ok, columns: [...ok.columns, { field: 'NAME' }] }],
    ['an unknown type', { ...ok, columns: [{ field: 'name', type: 'int' }] }],
    ['a key that is not a column', { ...ok, primary_key: ['version'] }],
    ['no key', { ...ok, primary_key: [] }],
  ])('refuses %s', (_what, spec) => expect(explodeSpecError(spec)).toBeTruthy());
  it('accepts a plain spec', () => expect(explodeSpecError(ok)).toBeUndefined());
});

describe('diffScalars', () => {
  it('adds on first sight, changes on a new value, never removes', () => {
    expect(
      diffScalars(undefined, { os: '10', ram: 8 }, ['os', 'ram', 'cpu']).map((e) => e.change_kind),
    ).toEqual(['added', 'added']);
    expect(diffScalars({ os: '10', ram: 8 }, { os: '11' }, ['os', 'ram'])).toEqual([
      {
        field_path: 'os',
        change_kind: 'changed',
        identity_json: null,
        before_json: '{"value":"10"}',
        after_json: '{"value":"11"}',
      },
    ]);
  });
});

describe('inventory projection on the store', () => {
  let dir: string;
  let store: Store;
  const log = createLogger('silent');
  const hint: InventoryHint = {
    display: [{ field: 'os' }],
    history_scalars: ['os'],
    explode: [
      {
        field: 'apps',
        table: 'inv_apps',
        primary_key: ['name'],
        columns: [{ field: 'name', index: true }, { field: 'version' }, { field: 'size', type: 'integer' }],
        track_history: true,
      },
    ],
  };
  let seq = 0;
  const result = (recordedAt: number): ResultRow & { job_id: string } => ({
    result_id: `r${++seq}`,
    request_id: 'q',
    exec_id: null,
    parent_result_id: null,
    pc_id: 'pc',
    exit_code: 0,
    skipped: 0,
    stdout: '',
    stderr: '',
    started_at: recordedAt - 10,
    finished_at: recordedAt - 5,
    job_id: 'inv',
    recorded_at: recordedAt,
  });
  const project = (recordedAt: number, facts: unknown, h: InventoryHint = hint) =>
    store.tx(() =>
      applyInventory(store, h, result(recordedAt), facts, JSON.stringify(facts), {
        log,
        now: recordedAt,
        ensured: new Map(),
      }),
    );
  const history = () =>
    store.inventory
      .history('inv', { identity: [], limit: 100, offset: 0 })
      .map((h) => `${h.change_kind} ${h.field_path} ${h.identity_json ?? ''}`)
      .sort();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kanade-hints-'));
    store = createStore(await createStoreDb(dir));
  });
  afterAll(() => {
    store?.db.close();
    if (dir) removeDir(dir);
  });

  it('diffs elements by key, stores numeric text as numbers without phantom changes, skips null keys and duplicates', () => {
    expect(
      project(1000, {
        os: '10',
        apps: [{ name: 'a', version: '1', size: '10' }, { name: 'b', version: '1' }, { version: 'x' }],
      }),
    ).toBe(true);
    expect(
      project(2000, {
        os: '10',
        apps: [
          { name: 'a', version: '1', size: 10 },
          { name: 'b', version: '2' },
          { name: 'b', version: '3' },
        ],
      }),
    ).toBe(true);
    expect(history()).toEqual([
      'added apps {"name":"a"}',
      'added apps {"name":"b"}',
      'added os ',
      'changed apps {"name":"b"}',
    ]);
    expect(store.explode.rows(hint.explode![0]!, 'pc', 'inv')).toEqual([
      { name: 'a', version: '1', size: 10 },
      { name: 'b', version: '2', size: null },
    ]);
  });

  it('ignores an older result entirely and records a missing array as removals', () => {
    expect(project(1500, { os: '9', apps: [] })).toBe(false);
    expect(store.inventory.prior('pc', 'inv')!.recorded_at).toBe(2000);
    expect(history()).toHaveLength(4);
    expect(project(3000, { os: '11' })).toBe(true);
    expect(history()).toEqual(
      expect.arrayContaining(['changed os ', 'removed apps {"name":"a"}', 'removed apps {"name":"b"}']),
    );
    expect(store.explode.rows(hint.explode![0]!, 'pc', 'inv')).toEqual([]);
  });

  it('migrates the table when the spec changes: added column, then a new key', () => {
    const withArch: InventoryHint = {
      ...hint,
      explode: [{ ...hint.explode![0]!, columns: [...hint.explode![0]!.columns, { field: 'arch' }] }],
    };
    project(4000, { apps: [{ name: 'a', version: '1', arch: 'x64' }] }, withArch);
    expect(store.explode.rows(withArch.explode![0]!, 'pc', 'inv')).toEqual([
      { name: 'a', version: '1', size: null, arch: 'x64' },
    ]);
    const rekeyed: InventoryHint = {
      ...hint,
      explode: [{ ...withArch.explode![0]!, primary_key: ['name', 'arch'] }],
    };
    project(
      5000,
      {
        apps: [
          { name: 'a', version: '1', arch: 'x64' },
          { name: 'a', version: '1', arch: 'arm64' },
        ],
      },
      rekeyed,
    );
    expect(store.explode.rows(rekeyed.explode![0]!, 'pc', 'inv')).toHaveLength(2);
  });

  it('keeps the newest check status when an older result arrives late', () => {
    const hint = { name: 'disk', label: 'Disk', status_field: 'status', detail_field: 'detail', fleet: true };
    const run = (at: number, status: string) =>
      store.tx(() => applyCheck(store, hint, { ...result(at), stdout: JSON.stringify({ status }) }));
    expect(run(2000, 'fail')).toBe(true);
    expect(run(1000, 'ok')).toBe(false);
    expect(run(2000, 'fail')).toBe(true);
    expect(store.checks.list({ includeOk: true, staleBefore: 0, limit: 10, offset: 0 }).rows).toEqual([
      {
        pc_id: 'pc',
        check_name: 'disk',
        label: 'Disk',
        status: 'fail',
        detail: null,
        recorded_at: new Date(2000).toISOString(),
      },
    ]);
  });

  it('refuses a table another manifest field owns, keeping the facts', () => {
    const other: InventoryHint = { display: [], explode: [{ ...hint.explode![0]!, field: 'programs' }] };
    expect(project(6000, { programs: [{ name: 'z' }] }, other)).toBe(true);
    expect(store.inventory.prior('pc', 'inv')!.recorded_at).toBe(6000);
    expect(store.explode.rows(hint.explode![0]!, 'pc', 'inv').map((r) => r.name)).not.toContain('z');
  });
});
