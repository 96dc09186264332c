// The results and events projectors on a real broker and the built backend:
// an execution's counters and status follow its results exactly once, across
// redelivery, out-of-order arrival (result before its started event), a
// SIGKILL of the backend mid-projection, poison messages, legacy senders
// without result_id, and output stored in the result_output object store.
import { jetstream } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, removeDir, startBackend, type TestBackend } from '../../../test-support/backend.js';
import { openStoreDb } from '../../../test-support/db.js';
import { startNats, type TestNats } from '../../../test-support/nats-server.js';
import { legacyResultId, uuidV5 } from '../src/projectors/results.js';

let nats: TestNats;
let nc: NatsConnection;
let be: TestBackend;
let dataDir: string;

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  be = await startBackend({ natsUrl: nats.url });
  dataDir = be.dataDir;
  const r = await be.fetch('/api/jobs', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      id: 'job1',
      version: '1',
      execute: { shell: 'sh', script: 'true', timeout: '60s' },
    }),
  });
  expect(r.status).toBe(200);
});
afterAll(async () => {
  await be?.kill();
  if (dataDir) removeDir(dataDir);
  await nc?.close();
  await nats?.stop();
});

function query<T>(sql: string, ...params: unknown[]): T {
  const db = openStoreDb(dataDir, { readonly: true });
  try {
    return db.prepare(sql).get(...params) as T;
  } finally {
    db.close();
  }
}

const pcs = (n: number, prefix: string) =>
  Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(4, '0')}`);

/** An execution targeting `pcList` (explicit pcs: target_count is their number). */
async function exec(pcList: string[]): Promise<{ exec_id: string; request_id: string }> {
  const r = await be.fetch('/api/exec/job1', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ target: { pcs: pcList } }),
  });
  expect(r.status).toBe(200);
  const { exec_id } = (await r.json()) as { exec_id: string };
  const jsm = await jetstream(nc).jetstreamManager();
  const cmd = (await jsm.streams.getMessage('EXEC', { last_by_subj: `commands.pc.${pcList[0]}` }))!.json<{
    request_id: string;
  }>();
  return { exec_id, request_id: cmd.request_id };
}

const at = (ms: number) => new Date(ms).toISOString();

function result(e: { exec_id: string; request_id: string }, pc: string, exit: number, extra: object = {}) {
  return {
    result_id: uuidV5(`${e.exec_id}/${pc}`),
    request_id: e.request_id,
    exec_id: e.exec_id,
    pc_id: pc,
    exit_code: exit,
    stdout: `hello from ${pc}`,
    stderr: '',
    started_at: at(Date.now() - 1000),
    finished_at: at(Date.now()),
    manifest_id: 'job1',
    ...extra,
  };
}

function started(e: { exec_id: string; request_id: string }, pc: string) {
  return {
    result_id: uuidV5(`${e.exec_id}/${pc}`),
    request_id: e.request_id,
    exec_id: e.exec_id,
    pc_id: pc,
    started_at: at(Date.now() - 1000),
    manifest_id: 'job1',
    version: '1',
  };
}

async function publishAll(items: { subject: string; body: unknown }[]) {
  const js = jetstream(nc);
  for (let i = 0; i < items.length; i += 500) {
    await Promise.all(items.slice(i, i + 500).map((m) => js.publish(m.subject, JSON.stringify(m.body))));
  }
}

interface Counters {
  success_count: number;
  failure_count: number;
  status: string;
  target_count: number;
}
const counters = (execId: string) =>
  query<Counters>(
    'SELECT success_count, failure_count, status, target_count FROM executions WHERE exec_id = ?',
    execId,
  );
const rowCount = (execId: string) =>
  query<{ n: number; finished: number }>(
    'SELECT COUNT(*) AS n, COUNT(finished_at) AS finished FROM execution_results WHERE exec_id = ?',
    execId,
  );

describe('results projector', () => {
  it('derives upstream’s UUIDv5 for legacy results', () => {
    // RFC 4122 test vector for the DNS namespace, and the OID-namespace legacy id is stable.
    expect(uuidV5('www.example.com', Buffer.from('6ba7b8109dad11d180b400c04fd430c8', 'hex'))).toBe(
      '2ed6657d-e927-568b-95e1-2665a8aea6a2',
    );
    expect(legacyResultId('r1', 'pc1')).toBe(legacyResultId('r1', 'pc1'));
    expect(legacyResultId('r1', 'pc1')).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });

  it('counts each result once: events first, results, redelivery, results before events', async () => {
    const list = pcs(200, 'a');
    const e = await exec(list);
    // First half: started event, then result. Second half: result first, event after.
    const first = list.slice(0, 100);
    const second = list.slice(100);
    await publishAll(
      first.map((pc) => ({ subject: `events.started.${e.exec_id}.${pc}`, body: started(e, pc) })),
    );
    await eventually(async () => rowCount(e.exec_id).n === 100, 15_000, 'in-flight rows');
    expect(counters(e.exec_id).status).toBe('running');
    const expires = query<{ d: number }>(
      'SELECT MIN(expires_at - recorded_at) AS d FROM execution_results WHERE exec_id = ?',
      e.exec_id,
    );
    expect(expires.d).toBe(60_000 + 120_000);

    const results = list.map((pc, i) => result(e, pc, i % 10 === 0 ? 3 : 0));
    await publishAll(results.map((r) => ({ subject: `results.${e.request_id}`, body: r })));
    await publishAll(
      second.map((pc) => ({ subject: `events.started.${e.exec_id}.${pc}`, body: started(e, pc) })),
    );
    // The same results again (an agent outbox re-sending after a lost ack).
    await publishAll(results.slice(0, 50).map((r) => ({ subject: `results.${e.request_id}`, body: r })));
    await eventually(async () => counters(e.exec_id).status === 'completed', 15_000, 'completed');
    await new Promise((r) => setTimeout(r, 1000));
    expect(counters(e.exec_id)).toEqual({
      success_count: 180,
      failure_count: 20,
      status: 'completed',
      target_count: 200,
    });
    expect(rowCount(e.exec_id)).toEqual({ n: 200, finished: 200 });
  });

  it('keeps rows and counters exact across a SIGKILL mid-projection and a restart', async () => {
    const list = pcs(3000, 'k');
    const e = await exec(list);
    const publishing = publishAll(
      list.flatMap((pc, i) => [
        { subject: `events.started.${e.exec_id}.${pc}`, body: started(e, pc) },
        { subject: `results.${e.request_id}`, body: result(e, pc, i % 4 === 0 ? 1 : 0) },
      ]),
    );
    await eventually(async () => rowCount(e.exec_id).finished > 200, 20_000, 'projection under way');
    await be.kill();
    await publishing;
    be = await startBackend({ natsUrl: nats.url, dataDir });
    await eventually(
      async () => counters(e.exec_id).status === 'completed',
      60_000,
      'completed after restart',
    );
    await new Promise((r) => setTimeout(r, 1500));
    expect(counters(e.exec_id)).toEqual({
      success_count: 2250,
      failure_count: 750,
      status: 'completed',
      target_count: 3000,
    });
    expect(rowCount(e.exec_id)).toEqual({ n: 3000, finished: 3000 });
  });

  it('acks poison, derives legacy ids, and reads overflowed output from result_output', async () => {
    const e = await exec(['big-1', 'legacy-1']);
    const js = jetstream(nc);
    await js.publish(`results.${e.request_id}`, 'not json');
    await js.publish(`results.${e.request_id}`, JSON.stringify({ request_id: e.request_id }));
    const os = await new Objm(nc).open('result_output');
    const big = 'x'.repeat(300 * 1024);
    await os.putBlob({ name: `${e.request_id}/stdout` }, new TextEncoder().encode(big));
    await js.publish(
      `results.${e.request_id}`,
      JSON.stringify(result(e, 'big-1', 0, { stdout: '', stdout_object: `${e.request_id}/stdout` })),
    );
    const legacy = { ...result(e, 'legacy-1', 0), result_id: '' };
    await js.publish(`results.${e.request_id}`, JSON.stringify(legacy));
    await js.publish(`results.${e.request_id}`, JSON.stringify(legacy));
    await eventually(async () => counters(e.exec_id).status === 'completed', 15_000, 'completed');
    expect(
      query<{ n: number }>('SELECT length(stdout) AS n FROM execution_results WHERE pc_id = ?', 'big-1').n,
    ).toBe(big.length);
    expect(
      query<{ result_id: string }>('SELECT result_id FROM execution_results WHERE pc_id = ?', 'legacy-1')
        .result_id,
    ).toBe(legacyResultId(e.request_id, 'legacy-1'));
    expect(counters(e.exec_id)).toMatchObject({ success_count: 2, failure_count: 0 });
    await eventually(
      async () =>
        /kanade_projector_invalid_total\{projector="results"\} 2\n/.test(
          await (await be.fetch('/metrics')).text(),
        ),
      5000,
      'poison counted',
    );
  });
});

interface ListRow {
  pc_id: string;
  stdout: string;
  stdout_truncated: boolean;
  stdout_match?: { matched: string };
  stderr_match?: { matched: string };
}

describe('activity API', () => {
  it('lists results with filters, previews, snippets and X-Total-Count', async () => {
    const e = await exec(['act-1', 'act-2', 'act-3']);
    const long = `${'a'.repeat(250)}NEEDLE${'b'.repeat(250)}`;
    await publishAll([
      { subject: `results.${e.request_id}`, body: result(e, 'act-1', 0, { stdout: long }) },
      { subject: `results.${e.request_id}`, body: result(e, 'act-2', 2, { stderr: 'boom: disk full' }) },
      { subject: `events.started.${e.exec_id}.act-3`, body: started(e, 'act-3') },
    ]);
    await eventually(async () => rowCount(e.exec_id).n === 3, 15_000, 'rows');

    const page = async (q: string) => {
      const r = await be.fetch(`/api/results?exec_id=^${e.exec_id}$&${q}`);
      expect(r.status).toBe(200);
      return {
        total: Number(r.headers.get('x-total-count')),
        rows: (await r.json()) as ListRow[],
      };
    };
    expect((await page('')).total).toBe(3);
    expect((await page('status=success')).rows.map((r) => r.pc_id)).toEqual(['act-1']);
    expect((await page('status=failure')).rows.map((r) => r.pc_id)).toEqual(['act-2']);
    expect((await page('status=running')).rows.map((r) => r.pc_id)).toEqual(['act-3']);
    const hit = (await page('stdout=needle')).rows;
    expect(hit).toHaveLength(1);
    expect(hit[0]!.stdout).toHaveLength(200);
    expect(hit[0]!.stdout_truncated).toBe(true);
    expect(hit[0]!.stdout_match).toMatchObject({
      matched: 'NEEDLE',
      clipped_before: true,
      clipped_after: true,
    });
    expect((await page('stderr=disk%20full')).rows[0]!.stderr_match?.matched).toBe('disk full');
    expect((await page('pc_id=ACT-[12]')).total).toBe(2);
    const paged = await page('limit=1&offset=1');
    expect(paged.total).toBe(3);
    expect(paged.rows).toHaveLength(1);
    expect((await be.fetch('/api/results?stdout=(')).status).toBe(400);

    const detail = (await be.json(`/api/results/${result(e, 'act-1', 0).result_id}`)) as {
      stdout: string;
      finalize_children: unknown[];
    };
    expect(detail.stdout).toBe(long);
    expect(detail.finalize_children).toEqual([]);
    const tail = (await be.json(`/api/results/${result(e, 'act-1', 0).result_id}/tail`)) as Record<
      string,
      unknown
    >;
    expect(tail).toMatchObject({ running: false, live: false, exit_code: 0, stdout: long });
    // act-3 is in flight and no agent answers job.tail: the waiting shape.
    const waiting = (await be.json(`/api/results/${started(e, 'act-3').result_id}/tail`)) as Record<
      string,
      unknown
    >;
    expect(waiting).toMatchObject({ running: true, live: false, exit_code: null });
    expect((await be.fetch('/api/results/nope')).status).toBe(404);

    const ex = await be.fetch(`/api/executions/${e.exec_id}`);
    expect(ex.headers.get('x-total-count')).toBe('3');
    const body = (await ex.json()) as { execution: Record<string, unknown>; results: unknown[] };
    expect(body.execution).toMatchObject({ success_count: 1, failure_count: 1, status: 'running' });
    expect(body.results).toHaveLength(3);
    const list = await be.fetch('/api/executions?job_id=job1&limit=2');
    expect(Number(list.headers.get('x-total-count'))).toBeGreaterThanOrEqual(4);
    expect((await list.json()) as unknown[]).toHaveLength(2);
  });
});
