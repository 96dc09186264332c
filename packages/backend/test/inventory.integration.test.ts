// Inventory and compliance hints end to end: ExecResults published to RESULTS
// for jobs with `inventory:` / `check:` hints become facts, a change history
// (added / removed / changed software and scalars), an explode table that the
// search API filters with every operator (and refuses hostile input with a
// 400), and check_status rows that follow a check through its transitions.
import { randomUUID } from 'node:crypto';
import { jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, removeDir, startBackend, type TestBackend } from '../../../test-support/backend.js';
import { openStoreDb } from '../../../test-support/db.js';
import { startNats, type TestNats } from '../../../test-support/nats-server.js';
import type { Db } from '../src/store/db.js';
import { tableColumnsQuery } from '../src/store/dialect.js';

let nats: TestNats;
let nc: NatsConnection;
let be: TestBackend;

const SW_JOB = {
  id: 'sw-inventory',
  version: '1',
  description: 'installed software',
  execute: { shell: 'sh', script: 'true', timeout: '60s' },
  inventory: {
    display: [
      { field: 'hostname', label: 'Host' },
      { field: 'os_version', label: 'OS' },
      { field: 'ram_gb', label: 'RAM' },
    ],
    history_scalars: ['os_version', 'ram_gb'],
    explode: [
      {
        field: 'software',
        table: 'inv_software',
        primary_key: ['name'],
        columns: [
          { field: 'name', index: true },
          { field: 'version' },
          { field: 'publisher' },
          { field: 'size_mb', type: 'integer', index: true },
        ],
        track_history: true,
      },
    ],
  },
};

const CHECK_JOB = {
  id: 'disk-check',
  version: '1',
  execute: { shell: 'sh', script: 'true', timeout: '60s' },
  check: { name: 'disk_space', label: 'Disk space' },
};

/** A hostile manifest: its explode table names a core table. */
const EVIL_JOB = {
  id: 'evil-inventory',
  version: '1',
  execute: { shell: 'sh', script: 'true', timeout: '60s' },
  inventory: {
    display: [{ field: 'x', label: 'X' }],
    explode: [{ field: 'rows', table: 'agents', primary_key: ['pc_id2'], columns: [{ field: 'pc_id2' }] }],
  },
};

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  be = await startBackend({ natsUrl: nats.url });
  for (const job of [SW_JOB, CHECK_JOB, EVIL_JOB]) {
    const r = await be.fetch('/api/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(job),
    });
    expect(r.status).toBe(200);
  }
});
afterAll(async () => {
  await be?.kill();
  if (be) removeDir(be.dataDir);
  await nc?.close();
  await nats?.stop();
});

async function get(path: string) {
  const r = await be.fetch(path);
  // biome-ignore lint/suspicious/noExplicitAny: tests assert JSON bodies field by field
  return { status: r.status, body: (await r.json()) as any };
}

async function publishResult(pcId: string, job: string, stdout: string, extra: Record<string, unknown> = {}) {
  const requestId = randomUUID();
  const now = Date.now();
  await jetstream(nc).publish(
    `results.${requestId}`,
    JSON.stringify({
      result_id: randomUUID(),
      request_id: requestId,
      pc_id: pcId,
      exit_code: 0,
      stdout,
      stderr: '',
      started_at: new Date(now - 1000).toISOString(),
      finished_at: new Date(now).toISOString(),
      manifest_id: job,
      ...extra,
    }),
  );
}

function withDb<T>(fn: (db: Db) => T): T {
  const db = openStoreDb(be.dataDir, { readonly: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

const sw = (name: string, version: string, publisher: string, size_mb: number) => ({
  name,
  version,
  publisher,
  size_mb,
});
const HOSTILE_NAME = "O'Brien; DROP TABLE agents;--";

describe('inventory hint', () => {
  it('stores facts and records added / removed / changed software and scalars', async () => {
    await publishResult(
      'pc-1',
      'sw-inventory',
      JSON.stringify({
        hostname: 'pc-1',
        os_version: '10',
        ram_gb: 8,
        software: [
          sw('Chrome', '120', 'Google', 300),
          sw('7-Zip', '23', 'Igor', 2),
          sw(HOSTILE_NAME, '1', 'x', 1),
        ],
      }),
    );
    await publishResult(
      'pc-2',
      'sw-inventory',
      `collecting...\n#KANADE-INVENTORY-BEGIN\n${JSON.stringify({
        hostname: 'pc-2',
        os_version: '11',
        ram_gb: 16,
        software: [
          sw('Chrome', '120', 'Google', 310),
          sw('Firefox', '125', 'Mozilla', 250),
          sw('100%_Tool', '2', 'Acme', 5),
        ],
      })}\n#KANADE-INVENTORY-END\ndone\n`,
    );
    await eventually(
      async () => (await get('/api/inventory/by-job/sw-inventory')).body.total === 2,
      15_000,
      'facts',
    );

    // Second scan of pc-1: Chrome upgraded, 7-Zip removed, VLC added, OS upgraded, RAM unchanged.
    await publishResult(
      'pc-1',
      'sw-inventory',
      JSON.stringify({
        hostname: 'pc-1',
        os_version: '11',
        ram_gb: 8,
        software: [
          sw('Chrome', '121', 'Google', 300),
          sw('VLC', '3.0', 'VideoLAN', 40),
          sw(HOSTILE_NAME, '1', 'x', 1),
        ],
      }),
    );
    // A rescan with identical facts writes no history.
    await eventually(
      async () => (await get('/api/inventory/pc-1')).body[0]?.facts?.os_version === '11',
      15_000,
      'second scan',
    );
    await publishResult(
      'pc-1',
      'sw-inventory',
      JSON.stringify({
        hostname: 'pc-1',
        os_version: '11',
        ram_gb: 8,
        software: [
          sw('VLC', '3.0', 'VideoLAN', 40),
          sw('Chrome', '121', 'Google', 300),
          sw(HOSTILE_NAME, '1', 'x', 1),
        ],
      }),
    );
    await new Promise((r) => setTimeout(r, 1000));

    const history = (await get('/api/inventory/sw-inventory/history/pc/pc-1')).body as {
      field_path: string;
      change_kind: string;
      identity_json: string | null;
      before_json: string | null;
      after_json: string | null;
    }[];
    const summary = history.map((h) => `${h.change_kind} ${h.field_path} ${h.identity_json ?? ''}`).sort();
    expect(summary).toEqual(
      [
        'added os_version ',
        'added ram_gb ',
        'added software {"name":"Chrome"}',
        'added software {"name":"7-Zip"}',
        `added software ${JSON.stringify({ name: HOSTILE_NAME })}`,
        'changed os_version ',
        'changed software {"name":"Chrome"}',
        'removed software {"name":"7-Zip"}',
        'added software {"name":"VLC"}',
      ].sort(),
    );
    const chrome = history.find((h) => h.change_kind === 'changed' && h.field_path === 'software')!;
    expect(JSON.parse(chrome.before_json!).version).toBe('120');
    expect(JSON.parse(chrome.after_json!).version).toBe('121');
    const os = history.find((h) => h.change_kind === 'changed' && h.field_path === 'os_version')!;
    expect([JSON.parse(os.before_json!), JSON.parse(os.after_json!)]).toEqual([
      { value: '10' },
      { value: '11' },
    ]);

    const removed = (await get('/api/inventory/sw-inventory/history/search?kind=removed&identity.name=7-Zip'))
      .body;
    expect(removed.map((h: { pc_id: string }) => h.pc_id)).toEqual(['pc-1']);
    const first = (
      await get('/api/inventory/sw-inventory/history/first_seen?field=software&identity.name=Chrome')
    ).body;
    expect(first.map((r: { pc_id: string }) => r.pc_id).sort()).toEqual(['pc-1', 'pc-2']);
    expect((await get('/api/inventory/sw-inventory/history/search?identity.na-me=x')).status).toBe(400);
    expect((await get('/api/inventory/sw-inventory/history/search?kind=moved')).status).toBe(400);
    expect((await get('/api/inventory/sw-inventory/history/search?since=yesterday')).status).toBe(400);
  });

  it('lists jobs, facts per job and per PC', async () => {
    const jobs = (await get('/api/inventory/jobs')).body;
    expect(jobs.find((j: { manifest_id: string }) => j.manifest_id === 'sw-inventory')).toMatchObject({
      description: 'installed software',
      pc_count: 2,
      history_scalars: ['os_version', 'ram_gb'],
    });
    const byJob = (await get('/api/inventory/by-job/sw-inventory?q=pc-2')).body;
    expect(byJob.total).toBe(1);
    expect(byJob.rows[0].facts.hostname).toBe('pc-2');
    expect(byJob.display).toHaveLength(3);
    const pc = (await get('/api/inventory/pc-1')).body;
    expect(pc).toHaveLength(1);
    expect(pc[0]).toMatchObject({ job_id: 'sw-inventory', facts: { os_version: '11' } });
  });

  it('searches the explode table with every operator', async () => {
    const names = async (qs: string) => {
      const r = await get(`/api/inventory/sw-inventory/search/software?${qs}`);
      expect(r.status, `${qs}: ${JSON.stringify(r.body)}`).toBe(200);
      return (r.body as { pc_id: string; name: string }[]).map((x) => `${x.pc_id}:${x.name}`);
    };
    expect(await names('name=Chrome')).toEqual(['pc-1:Chrome', 'pc-2:Chrome']);
    expect(await names('name__eq=Chrome')).toEqual(['pc-1:Chrome', 'pc-2:Chrome']);
    expect(await names('name__ne=Chrome')).toHaveLength(4);
    expect(await names('size_mb__lt=40')).toEqual([`pc-1:${HOSTILE_NAME}`, 'pc-2:100%_Tool']);
    expect(await names('size_mb__le=40')).toEqual([`pc-1:${HOSTILE_NAME}`, 'pc-1:VLC', 'pc-2:100%_Tool']);
    expect(await names('size_mb__gt=300')).toEqual(['pc-2:Chrome']);
    expect(await names('size_mb__ge=300')).toEqual(['pc-1:Chrome', 'pc-2:Chrome']);
    expect(await names('name__prefix=Chr')).toEqual(['pc-1:Chrome', 'pc-2:Chrome']);
    expect(await names('name__suffix=fox')).toEqual(['pc-2:Firefox']);
    expect(await names('name__contains=hrom')).toEqual(['pc-1:Chrome', 'pc-2:Chrome']);
    // LIKE wildcards in values match themselves.
    expect(await names(`name__contains=${encodeURIComponent('%')}`)).toEqual(['pc-2:100%_Tool']);
    expect(await names('name__contains=_')).toEqual(['pc-2:100%_Tool']);
    expect(await names(`name__prefix=${encodeURIComponent('100%')}`)).toEqual(['pc-2:100%_Tool']);
    // Quotes and SQL in values are data.
    expect(await names(`name=${encodeURIComponent(HOSTILE_NAME)}`)).toEqual([`pc-1:${HOSTILE_NAME}`]);
    expect(await names(`name__contains=${encodeURIComponent("' OR '1'='1")}`)).toEqual([]);
    expect(await names('publisher__contains=OOG&size_mb__gt=305')).toEqual(['pc-2:Chrome']);
    expect(await names('size_mb__ge=1&size_mb__le=5')).toEqual([`pc-1:${HOSTILE_NAME}`, 'pc-2:100%_Tool']);
    expect(await names('limit=1&offset=1&name=Chrome')).toEqual(['pc-2:Chrome']);
    const row = (await get('/api/inventory/sw-inventory/search/software?name=VLC')).body[0];
    expect(row).toMatchObject({
      pc_id: 'pc-1',
      name: 'VLC',
      version: '3.0',
      publisher: 'VideoLAN',
      size_mb: 40,
    });
    expect(row.collected_at).toMatch(/Z$/);

    const scalars = (await get('/api/inventory/sw-inventory/search-scalars?ram_gb__ge=16')).body;
    expect(scalars.map((r: { pc_id: string }) => r.pc_id)).toEqual(['pc-2']);
    expect((await get('/api/inventory/sw-inventory/search-scalars?os_version=11')).body).toHaveLength(2);
  });

  it.each([
    ['SQL in a column name', `${encodeURIComponent('name;DROP TABLE agents;--')}=x`],
    ['a quoted column name', `${encodeURIComponent('"name"')}=x`],
    ['a column the spec does not declare', 'hostname=x'],
    ['an unknown operator', 'name__like=x'],
    ['an operator with SQL', `${encodeURIComponent('name__eq OR 1=1')}=x`],
    ['a non-numeric value for a numeric column', 'size_mb__gt=abc'],
    ['SQL as a numeric value', `size_mb__lt=${encodeURIComponent('1; DROP TABLE agents')}`],
    ['a zero limit', 'limit=0'],
    ['a limit above 5000', 'limit=5001'],
    ['a non-numeric offset', 'offset=x'],
    ['a huge value', `name=${'a'.repeat(2000)}`],
  ])('answers 400 on %s', async (_what, qs) => {
    const r = await get(`/api/inventory/sw-inventory/search/software?${qs}`);
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('KANADE_ERR_BAD_REQUEST');
  });

  it('answers 404 for an unknown job or field, and scalar search refuses unknown fields', async () => {
    expect((await get('/api/inventory/nope/search/software')).status).toBe(404);
    expect((await get('/api/inventory/sw-inventory/search/nope')).status).toBe(404);
    expect(
      (await get(`/api/inventory/sw-inventory/search-scalars?${encodeURIComponent("ram_gb') OR 1=1 --")}=1`))
        .status,
    ).toBe(400);
  });

  it('never lets a manifest rebuild a core table, and still stores its facts', async () => {
    await publishResult('pc-1', 'evil-inventory', JSON.stringify({ x: 1, rows: [{ pc_id2: 'a' }] }));
    await eventually(async () => (await get('/api/inventory/pc-1')).body.length === 2, 15_000, 'evil facts');
    expect(withDb((db) => tableColumnsQuery(db)('agents').filter((c) => c.name === 'pc_id2'))).toEqual([]);
    expect((await get('/api/agents')).status).toBe(200);
    expect(
      withDb(
        (db) => db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM inventory_explode_tables').get()!.n,
      ),
    ).toBe(1);
  });

  it('migrates an explode table when the spec gains a column', async () => {
    const job = structuredClone(SW_JOB);
    job.inventory.explode[0]!.columns.push({ field: 'arch' });
    await be.fetch('/api/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(job),
    });
    await new Promise((r) => setTimeout(r, 500));
    await publishResult(
      'pc-3',
      'sw-inventory',
      JSON.stringify({
        hostname: 'pc-3',
        software: [{ ...sw('Chrome', '122', 'Google', 320), arch: 'x64' }],
      }),
    );
    await eventually(
      async () => (await get('/api/inventory/sw-inventory/search/software?arch=x64')).body.length === 1,
      15_000,
      'arch column',
    );
    expect((await get('/api/inventory/sw-inventory/search/software?name=Chrome')).body).toHaveLength(3);
  });
});

describe('check hint', () => {
  const status = async () => {
    const r = (await get('/api/checks?include_ok=true')).body;
    return { row: r.rows.find((x: { pc_id: string }) => x.pc_id === 'chk-pc'), counts: r.counts };
  };

  it('follows a check through ok -> fail -> unknown -> ok, ignoring skipped runs', async () => {
    await publishResult('chk-pc', 'disk-check', JSON.stringify({ status: 'ok', detail: 'C: 40% free' }));
    await eventually(async () => (await status()).row?.status === 'ok', 15_000, 'ok');
    expect((await status()).row).toMatchObject({
      check_name: 'disk_space',
      label: 'Disk space',
      detail: 'C: 40% free',
    });

    await publishResult(
      'chk-pc',
      'disk-check',
      `checking disks\n#KANADE-CHECK-BEGIN\n${JSON.stringify({ status: 'fail', detail: 'C: 2% free' })}\n#KANADE-CHECK-END\n`,
    );
    await eventually(async () => (await status()).row?.status === 'fail', 15_000, 'fail');
    const failing = (await get('/api/checks')).body;
    expect(failing.rows.map((r: { pc_id: string }) => r.pc_id)).toContain('chk-pc');
    expect(failing.counts).toEqual([
      { check_name: 'disk_space', label: 'Disk space', ok: 0, warn: 0, fail: 1, unknown: 0 },
    ]);

    // A run that never executed the script carries no evidence.
    await publishResult('chk-pc', 'disk-check', '', { exit_code: 125, skipped: true });
    await new Promise((r) => setTimeout(r, 800));
    expect((await status()).row.status).toBe('fail');

    await publishResult('chk-pc', 'disk-check', '', { exit_code: 3, stderr: 'Get-Volume: access denied' });
    await eventually(async () => (await status()).row?.status === 'unknown', 15_000, 'unknown');
    expect((await status()).row.detail).toBe('check script exited 3: Get-Volume: access denied');

    await publishResult('chk-pc', 'disk-check', JSON.stringify({ status: 'green' }));
    await eventually(async () => (await status()).row?.detail?.includes('green'), 15_000, 'bad status');

    await publishResult('chk-pc', 'disk-check', JSON.stringify({ status: 'ok' }));
    await eventually(async () => (await status()).row?.status === 'ok', 15_000, 'ok again');
    expect((await get('/api/checks')).body.rows).toEqual([]);

    const cleared = await be.fetch('/api/checks/disk_space', { method: 'DELETE' });
    expect(await cleared.json()).toEqual({ check_name: 'disk_space', deleted: 1 });
    expect((await get('/api/checks?include_ok=true')).body.counts).toEqual([]);
  });
});
