// The job catalog and exec API on a real broker and the built backend:
// manifests in JSON and YAML (strict validation naming the field, YAML errors
// with line and column), the KV mirrors, the JSON Schema, delete with its
// cascade revoke and schedule guard, revoke/unrevoke, exec fan-out (script
// pin, one Command per subject with a shared request_id, 404 and 400s), and
// kill publishing kill.{exec_id} for live executions.
import { createHash } from 'node:crypto';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { Objm } from '@nats-io/obj';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, startBackend, type TestBackend } from '../../../test-support/backend.js';
import { startNats, type TestNats } from '../../../test-support/nats-server.js';

let nats: TestNats;
let nc: NatsConnection;
let be: TestBackend;

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  be = await startBackend({ natsUrl: nats.url });
});
afterAll(async () => {
  await be?.kill();
  if (be) removeDir(be.dataDir);
  await nc?.close();
  await nats?.stop();
});

const manifest = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  version: '1.0.0',
  description: 'says hello',
  execute: { shell: 'sh', script: 'echo hello', timeout: '30s' },
  ...extra,
});

async function post(path: string, body: unknown, type = 'application/json') {
  return be.fetch(path, {
    method: 'POST',
    headers: { 'content-type': type },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

async function kvText(bucket: string, key: string): Promise<string | undefined> {
  const e = await (await new Kvm(nc).open(bucket)).get(key);
  return e && e.operation === 'PUT' ? e.string() : undefined;
}

describe('job catalog', () => {
  it('stores a JSON manifest in `jobs` with upstream defaults and a YAML dump in `jobs_yaml`', async () => {
    const r = await post('/api/jobs', manifest('hello'));
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({
      id: 'hello',
      version: '1.0.0',
      description: 'says hello',
      inventory: false,
    });
    const stored = JSON.parse((await kvText('jobs', 'hello'))!);
    expect(stored).toMatchObject({
      id: 'hello',
      require_approval: false,
      staleness: { mode: 'cached' },
      execute: { run_as: 'system', timeout: '30s' },
    });
    expect(await kvText('jobs_yaml', 'hello')).toContain('id: hello');
  });

  it('keeps the uploaded YAML verbatim, comments included, and serves it back', async () => {
    const yaml = [
      '# inventory probe, owned by the desk',
      'id: probe',
      'version: 2.1.0',
      'execute:',
      '  shell: sh',
      '  script: |',
      '    uname -a',
      '  timeout: 1m',
      'tags: [linux]',
      '',
    ].join('\n');
    for (const type of ['application/yaml', 'text/yaml', 'application/x-yaml', 'text/x-yaml']) {
      expect((await post('/api/jobs', yaml, type)).status).toBe(200);
    }
    expect(await kvText('jobs_yaml', 'probe')).toBe(yaml);
    const got = await be.fetch('/api/jobs/probe/yaml');
    expect(got.status).toBe(200);
    expect(got.headers.get('content-type')).toMatch(/^application\/yaml/);
    expect(await got.text()).toBe(yaml);
  });

  it('rejects bad manifests with a 400 naming the field, and writes nothing', async () => {
    const cases: [unknown, RegExp, string?][] = [
      [{ ...manifest('bad1'), target: { all: true } }, /Unrecognized key.*target/],
      [manifest('bad2', { execute: { shell: 'sh', script: 'x', timeout: 'soon' } }), /execute\.timeout/],
      [manifest('bad3', { execute: { shell: 'zsh', script: 'x', timeout: '1s' } }), /execute\.shell/],
      [manifest('bad4', { execute: { shell: 'sh', timeout: '1s' } }), /execute\.script/],
      [
        manifest('bad5', { execute: { shell: 'sh', script: 'x', script_object: 'o/1', timeout: '1s' } }),
        /only one/,
      ],
      [manifest('bad6', { execute: { shell: 'sh', script: 'x', timeout: '1s', scirpt: 'y' } }), /scirpt/],
      [manifest('bad.7.', {}), /body field id/],
      [{ version: '1', execute: { shell: 'sh', script: 'x', timeout: '1s' } }, /body field id/],
      ['id: bad8\nversion: [1\nexecute: x\n', /YAML error at line \d+, column \d+/, 'application/yaml'],
      ['id: bad9\nid: again\n', /YAML error at line 2, column 1/, 'text/yaml'],
      ['{"id": ', /./],
    ];
    for (const [body, message, type] of cases) {
      const r = await post('/api/jobs', body, type);
      expect(r.status, JSON.stringify(body)).toBe(400);
      const err = (await r.json()) as { code: string; message: string };
      expect(err.code).toBe('KANADE_ERR_BAD_REQUEST');
      expect(err.message).toMatch(message);
    }
    for (const id of ['bad1', 'bad2', 'bad3', 'bad4', 'bad5', 'bad6', 'bad8', 'bad9']) {
      expect(await kvText('jobs', id)).toBeUndefined();
    }
  });

  it('lists jobs sorted by id with live counts, and serves the JSON Schema', async () => {
    const jobs = (await be.json('/api/jobs')) as { id: string; live: unknown }[];
    expect(jobs.map((j) => j.id)).toEqual(['hello', 'probe']);
    expect(jobs[0]!.live).toEqual({ running: 0, pending: 0 });
    const schema = (await be.json('/api/schemas/manifest.json')) as {
      required: string[];
      additionalProperties: boolean;
      properties: Record<string, unknown>;
    };
    expect(schema.required).toEqual(['id', 'version', 'execute']);
    expect(schema.additionalProperties).toBe(false);
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining([
        'execute',
        'inventory',
        'check',
        'collect',
        'emit',
        'finalize',
        'staleness',
        'tier',
      ]),
    );
  });

  it('refuses to delete a job a schedule references (409), otherwise revokes then deletes', async () => {
    const schedules = await new Kvm(nc).open('schedules');
    await schedules.put(
      'nightly',
      JSON.stringify({ id: 'nightly', job_id: 'probe', when: { per_pc: 'once' } }),
    );
    const r = await be.fetch('/api/jobs/probe', { method: 'DELETE' });
    expect(r.status).toBe(409);
    expect(((await r.json()) as { message: string }).message).toMatch(/schedule nightly/);
    await schedules.delete('nightly');
    expect((await be.fetch('/api/jobs/probe', { method: 'DELETE' })).status).toBe(204);
    expect(await kvText('jobs', 'probe')).toBeUndefined();
    expect(await kvText('jobs_yaml', 'probe')).toBeUndefined();
    expect(await kvText('script_status', 'probe')).toBe('REVOKED');
    expect((await be.fetch('/api/jobs/probe', { method: 'DELETE' })).status).toBe(404);
    expect((await be.fetch('/api/jobs/a*b', { method: 'DELETE' })).status).toBe(400);
    expect((await be.fetch('/api/jobs/a%20b/yaml')).status).toBe(400);
  });

  it('revokes and unrevokes, and reports the status', async () => {
    expect((await be.fetch('/api/scripts/hello/revoke', { method: 'POST' })).status).toBe(204);
    expect(await be.json('/api/scripts/status')).toMatchObject({ hello: 'REVOKED', probe: 'REVOKED' });
    expect((await be.fetch('/api/scripts/hello/unrevoke', { method: 'POST' })).status).toBe(204);
    expect(await be.json('/api/scripts/status')).toMatchObject({ hello: 'ACTIVE' });
    expect((await be.fetch('/api/scripts/a.b*/revoke', { method: 'POST' })).status).toBe(400);
  });
});

describe('exec', () => {
  it('pins script_current, publishes one Command per subject with one request_id, inserts a pending execution', async () => {
    const jsm = await jetstream(nc).jetstreamManager();
    const r = await post('/api/exec/hello', {
      target: { all: true, groups: ['lab'], pcs: ['pc-1'] },
      jitter: '5s',
    });
    expect(r.status).toBe(200);
    const body = (await r.json()) as { exec_id: string; subjects: string[]; target_count: number };
    expect(body.subjects).toEqual(['commands.all', 'commands.group.lab', 'commands.pc.pc-1']);
    expect(body.target_count).toBe(1);
    expect(await kvText('script_current', 'hello')).toBe('1.0.0');
    const cmds = await Promise.all(
      body.subjects.map(async (s) =>
        (await jsm.streams.getMessage('EXEC', { last_by_subj: s }))!.json<Record<string, unknown>>(),
      ),
    );
    expect(new Set(cmds.map((c) => c.request_id)).size).toBe(1);
    expect(cmds[0]).toMatchObject({
      id: 'hello',
      version: '1.0.0',
      exec_id: body.exec_id,
      shell: 'sh',
      script: 'echo hello',
      timeout_secs: 30,
      jitter_secs: 5,
      run_as: 'system',
      staleness: { mode: 'cached' },
    });
    const ex = (await be.json(`/api/executions/${body.exec_id}`)) as { execution: Record<string, unknown> };
    expect(ex.execution).toMatchObject({
      job_id: 'hello',
      status: 'pending',
      target_count: 1,
      initiated_by: 'operator',
    });
    const jobs = (await be.json('/api/jobs')) as { id: string; live: unknown }[];
    expect(jobs.find((j) => j.id === 'hello')!.live).toEqual({ running: 0, pending: 1 });
  });

  it('answers 404 for an unknown job and 400 naming the field for a bad plan', async () => {
    expect((await post('/api/exec/nope', { target: { all: true } })).status).toBe(404);
    expect((await post('/api/exec/no*pe', { target: { all: true } })).status).toBe(400);
    const cases: [unknown, RegExp][] = [
      [{}, /target/],
      [{ target: { all: true }, jitter: 'later' }, /jitter/],
      [{ target: { groups: ['a.b'] } }, /target\.groups\.0/],
      [{ target: { all: true }, deadline_at: 'tomorrow' }, /deadline_at/],
      [{ target: { all: true }, rollout: { waves: [] } }, /rollout\.waves/],
      [{ rollout: { waves: [{ group: 'g', delay: 'x' }] } }, /rollout\.waves\.0\.delay/],
      [
        { rollout: { waves: [{ group: 'g', delay: '1s' }], abort_on_failure_pct: 150 } },
        /abort_on_failure_pct/,
      ],
      [{ target: { all: true }, surprise: 1 }, /surprise/],
    ];
    for (const [plan, message] of cases) {
      const r = await post('/api/exec/hello', plan);
      expect(r.status, JSON.stringify(plan)).toBe(400);
      expect(((await r.json()) as { message: string }).message).toMatch(message);
    }
  });

  it('sends a script_object job with the object’s sha256 in hex, and refuses a controller job without controller_group', async () => {
    const body = new TextEncoder().encode('#!/bin/sh\necho from the object store\n');
    await (await new Objm(nc).open('scripts')).putBlob({ name: 'obj-job/1.0.0' }, body);
    const m = manifest('obj-job', {
      execute: { shell: 'sh', script_object: 'obj-job/1.0.0', timeout: '1m' },
    });
    expect((await post('/api/jobs', m)).status).toBe(200);
    const r = await post('/api/exec/obj-job', { target: { pcs: ['pc-2'] } });
    expect(r.status).toBe(200);
    const jsm = await jetstream(nc).jetstreamManager();
    const cmd = (await jsm.streams.getMessage('EXEC', { last_by_subj: 'commands.pc.pc-2' }))!.json<
      Record<string, unknown>
    >();
    expect(cmd).toMatchObject({ script: '', script_object: 'obj-job/1.0.0', timeout_secs: 60 });
    expect(cmd.script_object_sha256).toBe(createHash('sha256').update(body).digest('hex'));

    const missing = manifest('obj-missing', {
      execute: { shell: 'sh', script_object: 'nope/1', timeout: '1m' },
    });
    expect((await post('/api/jobs', missing)).status).toBe(200);
    expect((await post('/api/exec/obj-missing', { target: { all: true } })).status).toBe(404);

    expect((await post('/api/jobs', manifest('ctl', { tier: 'controller' }))).status).toBe(200);
    const ctl = await post('/api/exec/ctl', { target: { all: true } });
    expect(ctl.status).toBe(422);
    expect(((await ctl.json()) as { message: string }).message).toMatch(/controller_group/);
  });

  it('publishes kill.{exec_id} for each live execution of the job', async () => {
    const seen: string[] = [];
    const sub = nc.subscribe('kill.>', {
      callback: (_e, m) => {
        seen.push(m.subject);
      },
    });
    await nc.flush();
    const live = (
      (await be.json('/api/executions?job_id=hello&status=pending')) as { exec_id: string }[]
    ).map((e) => `kill.${e.exec_id}`);
    expect(live.length).toBeGreaterThan(0);
    expect((await be.fetch('/api/jobs/hello/kill', { method: 'POST' })).status).toBe(204);
    await nc.flush();
    await new Promise((r) => setTimeout(r, 200));
    sub.unsubscribe();
    expect(seen.sort()).toEqual(live.sort());
  });
});
