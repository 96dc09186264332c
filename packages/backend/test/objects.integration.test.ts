// The object-store APIs on the built backend and a real nats-server: app
// packages and script objects streamed in and out (digest checked on the way
// in, ETag / Range / conditional requests on the way out), refusals that
// leave nothing behind (bad digest, size caps, duplicates, wrong body type),
// the object_store_meta projection following writes made behind the API's
// back (an agent's collected bundle, a delete with the backend down), and
// agent releases: platform detection, rollout by compare-and-swap that keeps
// fields it does not know, and a release that cannot be deleted while a
// scope targets it.
import { createHash, randomBytes } from 'node:crypto';
import { KV, OBJ, packageKey } from '@kanade/wire';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { Objm } from '@nats-io/obj';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, removeDir, startBackend, type TestBackend } from '../../../test-support/backend.js';
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

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function upload(path: string, body: Uint8Array | string, headers: Record<string, string> = {}) {
  const r = await be.fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream', ...headers },
    body: body as BodyInit,
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

async function call(method: string, path: string, body?: unknown) {
  const r = await be.fetch(path, {
    method,
    ...(body === undefined
      ? {}
      : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

async function streamBytes(stream: string): Promise<number> {
  return (await (await jetstreamManager(nc)).streams.info(stream)).state.bytes;
}

describe('app packages', () => {
  const data = randomBytes(1_000_003);
  const digest = sha256(data);

  it('stores an upload with the client digest and lists it from the index', async () => {
    const r = await upload('/api/app-packages/tool/1.0.0?description=the%20tool', data, {
      'x-kanade-sha256': digest,
    });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      name: 'tool',
      version: '1.0.0',
      size: data.length,
      digest,
      description: 'the tool',
    });
    const list = await be.fetch('/api/app-packages');
    expect(list.headers.get('x-total-count')).toBe('1');
    expect(await list.json()).toEqual([
      expect.objectContaining({ key: 'tool/1.0.0', size: data.length, digest }),
    ]);
  });

  it('streams it back whole, by range, and honours ETag preconditions and HEAD', async () => {
    const full = await be.fetch('/api/app-packages/tool/1.0.0');
    expect(full.status).toBe(200);
    expect(full.headers.get('etag')).toBe(`"${digest}"`);
    expect(full.headers.get('content-encoding')).toBeNull();
    expect(sha256(new Uint8Array(await full.arrayBuffer()))).toBe(digest);

    const part = await be.fetch('/api/app-packages/tool/1.0.0', {
      headers: { range: 'bytes=131000-262200' },
    });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 131000-262200/${data.length}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(data.subarray(131000, 262201))).toBe(true);

    const tail = await be.fetch('/api/app-packages/tool/1.0.0', { headers: { range: 'bytes=-10' } });
    expect(Buffer.from(await tail.arrayBuffer()).equals(data.subarray(data.length - 10))).toBe(true);

    const outside = await be.fetch('/api/app-packages/tool/1.0.0', {
      headers: { range: `bytes=${data.length}-` },
    });
    expect(outside.status).toBe(416);
    expect(outside.headers.get('content-range')).toBe(`bytes */${data.length}`);
    expect((await outside.json()).code).toBe('KANADE_ERR_RANGE_NOT_SATISFIABLE');

    const cached = await be.fetch('/api/app-packages/tool/1.0.0', {
      headers: { 'if-none-match': `"${digest}"` },
    });
    expect(cached.status).toBe(304);
    const changed = await be.fetch('/api/app-packages/tool/1.0.0', { headers: { 'if-match': '"other"' } });
    expect(changed.status).toBe(412);
    expect((await changed.json()).code).toBe('KANADE_ERR_PRECONDITION_FAILED');

    const head = await be.fetch('/api/app-packages/tool/1.0.0', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(data.length));
    expect((await head.arrayBuffer()).byteLength).toBe(0);
  });

  it('refuses a body whose digest is not the one claimed, and stores nothing of it', async () => {
    const before = await streamBytes(`OBJ_${OBJ.APP_PACKAGES}`);
    const r = await upload('/api/app-packages/tool/1.0.1', data, {
      'x-kanade-sha256': sha256(Buffer.from('x')),
    });
    expect(r.status).toBe(422);
    expect(r.body.code).toBe('KANADE_ERR_DIGEST_MISMATCH');
    expect(r.body.message).toContain(digest);
    expect((await be.fetch('/api/app-packages/tool/1.0.1')).status).toBe(404);
    expect(await streamBytes(`OBJ_${OBJ.APP_PACKAGES}`)).toBe(before);
    expect((await call('GET', '/api/app-packages?name=tool')).body).toHaveLength(1);
  });

  it('refuses a duplicate version, a JSON body, a bad header and a bad name with 4xx', async () => {
    expect((await upload('/api/app-packages/tool/1.0.0', 'again')).status).toBe(409);
    const json = await call('POST', '/api/app-packages/tool/2.0.0', { file: 'no' });
    expect(json.status).toBe(415);
    expect(json.body.message).toContain('application/octet-stream');
    const header = await upload('/api/app-packages/tool/2.0.0', 'x', { 'x-kanade-sha256': 'abc' });
    expect(header.status).toBe(400);
    expect(header.body.message).toContain('x-kanade-sha256');
    const name = await upload('/api/app-packages/..%2Fetc/1', 'x');
    expect(name.status).toBe(400);
    expect(name.body.message).toContain('name');
  });

  it('deletes, and records every change in the audit trail', async () => {
    expect((await call('DELETE', '/api/app-packages/tool/1.0.0')).status).toBe(204);
    expect((await call('DELETE', '/api/app-packages/tool/1.0.0')).status).toBe(404);
    expect((await call('GET', '/api/app-packages')).body).toEqual([]);
    await eventually(async () => {
      const actions = (await call('GET', '/api/audit?action=^app_package')).body.map(
        (e: { action: string }) => e.action,
      );
      return actions.includes('app_package_upload') && actions.includes('app_package_delete');
    });
  });
});

describe('script objects', () => {
  it('keeps to the 4 MiB cap whether or not the size is declared', async () => {
    const big = randomBytes(4 * 1024 * 1024 + 1);
    const declared = await upload('/api/script-objects/big/1', big);
    expect(declared.status).toBe(413);
    expect(declared.body.code).toBe('KANADE_ERR_PAYLOAD_TOO_LARGE');
    const before = await streamBytes(`OBJ_${OBJ.SCRIPTS}`);
    const chunked = await be.fetch('/api/script-objects/big/1', {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: new ReadableStream({
        start(c) {
          for (let i = 0; i < 5; i++) c.enqueue(randomBytes(1024 * 1024));
          c.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);
    expect(await streamBytes(`OBJ_${OBJ.SCRIPTS}`)).toBe(before);
    expect((await be.fetch('/api/script-objects/big/1')).status).toBe(404);
  });

  it('stores a script whose digest agents can check', async () => {
    const body = Buffer.from('echo from a script object\n');
    const r = await upload('/api/script-objects/hello/1', body);
    expect(r.status).toBe(201);
    const info = await (await new Objm(nc).open(OBJ.SCRIPTS)).info(packageKey('hello', '1'));
    expect(info?.size).toBe(body.length);
    expect(r.body.digest).toBe(sha256(body));
  });
});

describe('the object index', () => {
  it('follows objects written and deleted behind the API (an agent uploading a bundle)', async () => {
    expect(
      (
        await call('POST', '/api/jobs', {
          id: 'collect-logs',
          version: '1',
          execute: { shell: 'sh', script: 'true', timeout: '1m' },
          collect: { name: 'Logs', description: 'agent logs' },
        })
      ).status,
    ).toBe(200);
    const store = await new Objm(nc).open(OBJ.COLLECTIONS);
    const key = 'pc-7/collect-logs/daily__2026-11-30T10:00:00Z.zip';
    const zip = Buffer.from('PK\x03\x04 pretend zip');
    await store.putBlob({ name: key }, zip);
    await store.putBlob({ name: 'pc-8/collect-logs/2026-11-30T11:00:00Z.zip' }, zip);
    const rows = await eventually(async () => {
      const b = (await call('GET', '/api/collect/bundles?pc_id=pc-7')).body;
      return b.length === 1 ? b : undefined;
    });
    expect(rows[0]).toMatchObject({
      key,
      pc_id: 'pc-7',
      job_id: 'collect-logs',
      label: 'daily',
      collected_at: '2026-11-30T10:00:00Z',
      size: zip.length,
      digest: sha256(zip),
      name: 'Logs',
      description: 'agent logs',
    });
    expect((await call('GET', '/api/collect/bundles?job_id=collect-logs')).body).toHaveLength(2);
    const got = await be.fetch(`/api/collect/bundles/${key}`);
    expect(got.headers.get('content-type')).toBe('application/zip');
    expect(Buffer.from(await got.arrayBuffer()).equals(zip)).toBe(true);

    await store.delete(key);
    await eventually(async () => (await call('GET', '/api/collect/bundles?pc_id=pc-7')).body.length === 0);
    expect(
      (await call('DELETE', '/api/collect/bundles/pc-8/collect-logs/2026-11-30T11:00:00Z.zip')).status,
    ).toBe(204);
    expect((await call('GET', '/api/collect/bundles')).body).toEqual([]);
  });

  it('reconciles after a restart: an object deleted while the backend was down leaves the list', async () => {
    const store = await new Objm(nc).open(OBJ.APP_PACKAGES);
    expect((await upload('/api/app-packages/gone/1', 'bytes')).status).toBe(201);
    const dataDir = be.dataDir;
    await be.stop();
    await store.delete(packageKey('gone', '1'));
    // With the tombstone gone too (meta subjects purged), only the full re-read can drop the row.
    const jsm = await jetstreamManager(nc);
    await jsm.streams.purge(`OBJ_${OBJ.APP_PACKAGES}`, { filter: `$O.${OBJ.APP_PACKAGES}.M.>` });
    be = await startBackend({ natsUrl: nats.url, dataDir });
    await eventually(async () => (await call('GET', '/api/app-packages')).body.length === 0);
  });
});

describe('agent releases', () => {
  const js = Buffer.from('// kanade-agent release bundle\nconsole.log("agent")\n');
  const elf = Buffer.concat([
    Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]),
    Buffer.alloc(10),
    Buffer.from([0xb7, 0]),
  ]);
  const pe = Buffer.concat([Buffer.from('MZ'), Buffer.alloc(100)]);

  it('publishes with the platform from the query, a header or the file itself', async () => {
    const node = await upload('/api/agents/publish?version=1.2.0', js, { 'x-kanade-sha256': sha256(js) });
    expect(node.status).toBe(201);
    expect(node.body).toMatchObject({
      version: '1.2.0',
      platform: 'node',
      key: '1.2.0-node',
      digest: sha256(js),
    });
    expect((await upload('/api/agents/publish?version=1.2.0', elf)).body).toMatchObject({
      platform: 'linux-aarch64',
      key: '1.2.0-linux-aarch64',
    });
    expect((await upload('/api/agents/publish', pe, { 'x-kanade-version': '1.2.0' })).body).toMatchObject({
      platform: 'windows',
      key: '1.2.0',
    });
    expect(
      (await upload('/api/agents/publish?version=1.3.0', js, { 'x-kanade-platform': 'macos-aarch64' })).body,
    ).toMatchObject({ key: '1.3.0-macos-aarch64' });
    const missing = await upload('/api/agents/publish', js);
    expect(missing.status).toBe(400);
    expect(missing.body.message).toContain('version');
    const releases = (await call('GET', '/api/agents/releases')).body;
    expect(releases.map((r: { key: string }) => r.key).sort()).toEqual([
      '1.2.0',
      '1.2.0-linux-aarch64',
      '1.2.0-node',
      '1.3.0-macos-aarch64',
    ]);
  });

  it('rolls out by compare-and-swap, keeps fields it does not know, and 404s an unknown version', async () => {
    const kv = await new Kvm(nc).open(KV.AGENT_CONFIG);
    await kv.put('groups.canary', JSON.stringify({ heartbeat_interval: '10s', future_field: { x: 1 } }));
    const r = await call('POST', '/api/agents/rollout', {
      version: '1.2.0',
      scope: { type: 'group', value: 'canary' },
      jitter: '30s',
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ key: 'groups.canary', changed: true });
    const stored = JSON.parse(new TextDecoder().decode((await kv.get('groups.canary'))!.value));
    expect(stored).toEqual({
      heartbeat_interval: '10s',
      future_field: { x: 1 },
      target_version: '1.2.0',
      target_version_jitter: '30s',
    });
    expect(
      (
        await call('POST', '/api/agents/rollout', {
          version: '1.2.0',
          scope: { type: 'group', value: 'canary' },
        })
      ).body.changed,
    ).toBe(false);
    const none = await call('POST', '/api/agents/rollout', { version: '9.9.9', scope: { type: 'global' } });
    expect(none.status).toBe(404);
    expect(none.body.message).toContain('9.9.9');
    expect(
      (await call('POST', '/api/agents/rollout', { version: '1.2.0', scope: { type: 'pc' } })).status,
    ).toBe(400);
    expect(
      (
        await call('POST', '/api/agents/rollout', {
          version: '1.2.0',
          scope: { type: 'global' },
          jitter: 'soon',
        })
      ).status,
    ).toBe(400);

    const status = (await call('GET', '/api/agents/rollout')).body;
    expect(status.targets).toEqual([
      {
        scope: 'group',
        name: 'canary',
        key: 'groups.canary',
        target_version: '1.2.0',
        target_version_jitter: '30s',
      },
    ]);
  });

  it('refuses to delete a targeted release, then deletes every build of it', async () => {
    const refused = await call('DELETE', '/api/agents/releases/1.2.0');
    expect(refused.status).toBe(409);
    expect(refused.body.message).toContain('groups.canary');
    expect((await call('DELETE', '/api/groups/canary/config')).status).toBe(204);
    const ok = await call('DELETE', '/api/agents/releases/1.2.0?platform=windows');
    expect(ok.body.removed).toEqual(['1.2.0']);
    const rest = await call('DELETE', '/api/agents/releases/1.2.0');
    expect(rest.body.removed.sort()).toEqual(['1.2.0-linux-aarch64', '1.2.0-node']);
    expect((await call('DELETE', '/api/agents/releases/1.2.0')).status).toBe(404);
    await eventually(async () => {
      const actions = (await call('GET', '/api/audit?action=^agent_')).body.map(
        (e: { action: string }) => e.action,
      );
      return ['agent_publish', 'agent_rollout', 'agent_release_delete'].every((a) => actions.includes(a));
    });
  });
});
