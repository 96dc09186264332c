// The fleet model on the built backend and a real nats-server: layered
// config and the effective view, group membership under concurrent edits,
// group definitions materialized into agent_groups_derived, agent metadata
// projected to SQL and used by the roster's meta filters and sort, and the
// obs_events timeline with its dedupe rule.
import { KV, subject } from '@kanade/wire';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
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

function heartbeat(pcId: string, hostname: string) {
  nc.publish(
    subject.heartbeat(pcId),
    JSON.stringify({ pc_id: pcId, at: new Date().toISOString(), agent_version: '1.0.0', hostname }),
  );
}

describe('layered config', () => {
  it('stores scopes, refuses bad ones and resolves the effective config with conflict warnings', async () => {
    expect((await call('GET', '/api/config')).body).toEqual({});
    expect((await call('GET', '/api/config/defaults')).body).toMatchObject({
      heartbeat_interval: '30s',
      host_perf_interval: '60s',
    });

    const bad = await call('PUT', '/api/config', { heartbeat_interval: 'often' });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('heartbeat_interval');
    expect((await call('PUT', '/api/config', { heart_beat: '5s' })).status).toBe(400);
    expect((await call('PUT', '/api/groups/bad.name/config', {})).status).toBe(400);

    expect(
      (await call('PUT', '/api/config', { heartbeat_interval: '45s', host_perf_interval: '2m' })).body,
    ).toEqual({
      heartbeat_interval: '45s',
      host_perf_interval: '2m',
    });
    await call('PUT', '/api/groups/canary/config', { heartbeat_interval: '10s', process_perf_top_n: 5 });
    await call('PUT', '/api/groups/wave1/config', { heartbeat_interval: '20s' });
    await call('PUT', '/api/pcs/cfg-pc/config', { host_perf_interval: '15s' });
    await call('POST', '/api/agents/cfg-pc/groups', { group: 'wave1' });
    await call('POST', '/api/agents/cfg-pc/groups', { group: 'canary' });

    const eff = (await call('GET', '/api/agents/cfg-pc/effective_config')).body;
    expect(eff.my_groups).toEqual(['canary', 'wave1']);
    expect(eff.effective).toMatchObject({
      heartbeat_interval: '20s',
      host_perf_interval: '15s',
      process_perf_top_n: 5,
    });
    expect(eff.warnings).toEqual([
      { kind: 'multi_group_conflict', field: 'heartbeat_interval', groups: ['canary', 'wave1'] },
    ]);

    const inherited = (await call('GET', '/api/pcs/cfg-pc/config/inherited')).body;
    expect(inherited.effective.host_perf_interval).toBe('2m');
    expect((await call('GET', '/api/groups/canary/config/inherited')).body.effective.heartbeat_interval).toBe(
      '45s',
    );

    expect((await call('DELETE', '/api/pcs/cfg-pc/config')).status).toBe(204);
    expect((await call('GET', '/api/pcs/cfg-pc/config')).body).toEqual({});
    // What the agent reads: the KV value has only the fields that were set.
    const kv = await new Kvm(nc).open(KV.AGENT_CONFIG);
    expect((await kv.get('groups.canary'))!.json()).toEqual({
      heartbeat_interval: '10s',
      process_perf_top_n: 5,
    });
  });
});

describe('groups', () => {
  it('keeps every member when 20 adds race on one PC', async () => {
    const groups = Array.from({ length: 20 }, (_, i) => `g${String(i).padStart(2, '0')}`);
    const results = await Promise.all(
      groups.map((g) => call('POST', '/api/agents/race-pc/groups', { group: g })),
    );
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect((await call('GET', '/api/agents/race-pc/groups')).body).toEqual({ groups, derived: [] });
  });

  it('replaces, removes and lists groups', async () => {
    expect((await call('PUT', '/api/agents/grp-pc/groups', { groups: ['b', 'a', 'b'] })).body).toEqual({
      groups: ['a', 'b'],
    });
    expect((await call('DELETE', '/api/agents/grp-pc/groups/a')).body).toEqual({ groups: ['b'] });
    expect((await call('POST', '/api/agents/grp-pc/groups', { group: 'x.y' })).status).toBe(400);
    const list = (await call('GET', '/api/groups')).body.groups as {
      name: string;
      members: string[];
      has_config: boolean;
    }[];
    expect(list.find((g) => g.name === 'b')).toMatchObject({ members: ['grp-pc'], has_config: false });
    expect(list.find((g) => g.name === 'canary')).toMatchObject({ has_config: true });
  });

  it('materializes static and dynamic group definitions into agent_groups_derived', async () => {
    heartbeat('web-01', 'web-01.example');
    heartbeat('web-02', 'web-02.example');
    heartbeat('db-01', 'db-01.example');
    await eventually(
      async () => (await call('GET', '/api/agents?q=^web')).body.length === 2,
      10_000,
      'agents',
    );

    const badQuery = await call('POST', '/api/group-defs', { id: 'evil', query: 'DELETE FROM agents' });
    expect(badQuery.status).toBe(400);
    expect(badQuery.body.message).toContain('query');
    expect(
      (await call('POST', '/api/group-defs', { id: 'both', members: ['a'], query: 'SELECT 1' })).status,
    ).toBe(400);

    expect(
      (await call('POST', '/api/group-defs', { id: 'pinned', members: ['db-01', 'web-01'] })).body,
    ).toMatchObject({
      kind: 'static',
      member_count: 2,
    });
    const r = await be.fetch('/api/group-defs', {
      method: 'POST',
      headers: { 'content-type': 'application/yaml' },
      body: "id: web\n# every web host\nquery: SELECT pc_id FROM agents WHERE hostname LIKE 'web-%'\nrefresh: 30s\n",
    });
    expect(r.status).toBe(200);
    expect((await call('GET', '/api/group-defs/web/members')).body).toEqual({
      id: 'web',
      kind: 'dynamic',
      count: 2,
      members: ['web-01', 'web-02'],
    });
    expect(await (await be.fetch('/api/group-defs/web/yaml')).text()).toContain('# every web host');

    await eventually(
      async () => {
        const g = (await call('GET', '/api/agents/web-01/groups')).body;
        return g.derived.join(',') === 'pinned,web';
      },
      15_000,
      'derived groups',
    );
    const kv = await new Kvm(nc).open(KV.AGENT_GROUPS_DERIVED);
    expect((await kv.get('db-01'))!.json()).toEqual({ groups: ['pinned'] });

    expect((await call('DELETE', '/api/group-defs/pinned')).status).toBe(204);
    await eventually(
      async () => (await kv.get('db-01'))?.operation === 'DEL',
      15_000,
      'db-01 leaves every group',
    );
    expect((await call('DELETE', '/api/group-defs/pinned')).status).toBe(404);
  });
});

describe('agent meta', () => {
  it('normalises, projects to SQL, and drives the roster filters and sort', async () => {
    heartbeat('meta-1', 'meta-1');
    heartbeat('meta-2', 'meta-2');
    heartbeat('meta-3', 'meta-3');
    await eventually(
      async () => (await call('GET', '/api/agents?q=^meta-')).body.length === 3,
      10_000,
      'agents',
    );

    const put = await call('PUT', '/api/agents/meta-1/meta', {
      entries: [
        { key: ' dept ', value: ' Finance ' },
        { key: 'owner', value: 'alice' },
        { key: '', value: 'dropped' },
        { key: 'dept', value: 'Eng' },
      ],
    });
    expect(put.body).toEqual({
      entries: [
        { key: 'dept', value: 'Eng' },
        { key: 'owner', value: 'alice' },
      ],
    });
    await call('PUT', '/api/agents/meta-2/meta', { entries: [{ key: 'dept', value: 'Sales' }] });
    await call('PUT', '/api/agents/meta-3/meta', { entries: [{ key: 'owner', value: '' }] });
    expect((await call('PUT', '/api/agents/meta-3/meta', { entries: [{ key: 'k', value: 1 }] })).status).toBe(
      400,
    );

    await eventually(
      async () => (await call('GET', '/api/agents/meta-keys')).body.join(',') === 'dept,owner',
      10_000,
      'meta projected',
    );
    expect((await call('GET', '/api/agents/meta?pc_ids=meta-1,meta-3,nobody')).body).toEqual({
      meta: {
        'meta-1': [
          { key: 'dept', value: 'Eng' },
          { key: 'owner', value: 'alice' },
        ],
        'meta-3': [{ key: 'owner', value: '' }],
        nobody: [],
      },
    });

    const ids = async (qs: string) =>
      ((await call('GET', `/api/agents?q=^meta-&${qs}`)).body as { pc_id: string }[]).map((a) => a.pc_id);
    expect(await ids('meta.dept.eq=Eng')).toEqual(['meta-1']);
    expect(await ids('meta.dept.neq=Eng')).toEqual(['meta-2', 'meta-3']);
    expect(await ids('meta.dept.contains=ale')).toEqual(['meta-2']);
    expect(await ids('meta.dept.starts=e')).toEqual(['meta-1']);
    expect(await ids('meta.owner.set=')).toEqual(['meta-1']);
    expect(await ids('meta.owner.empty=')).toEqual(['meta-2', 'meta-3']);
    expect(await ids('meta.owner.absent=')).toEqual(['meta-2']);
    expect(await ids('meta.dept.eq=Eng&meta.owner.eq=alice')).toEqual(['meta-1']);
    expect(await ids('sort=meta:dept&dir=desc')).toEqual(['meta-2', 'meta-1', 'meta-3']);
    expect((await call('GET', '/api/agents?meta.dept.like=x')).status).toBe(400);
    expect((await call('GET', '/api/agents?sort=meta:')).status).toBe(400);
  });
});

describe('obs_events', () => {
  it('dedupes on (pc_id, source, event_record_id), keeps NULL ids, and filters', async () => {
    const js = jetstream(nc);
    const ev = (over: Record<string, unknown>) => ({
      pc_id: 'ev-pc',
      at: '2026-05-01T10:00:00Z',
      kind: 'logon',
      source: 'agent:winevent',
      event_record_id: 'r1',
      payload: { user: 'alice', logon_type: 'interactive' },
      ...over,
    });
    for (const e of [
      ev({}),
      ev({}),
      ev({ event_record_id: 'r2', kind: 'logoff', at: '2026-05-01T11:00:00Z', payload: { user: 'alice' } }),
      ev({
        event_record_id: null,
        kind: 'boot',
        source: 'agent:kernel',
        at: '2026-05-01T09:00:00Z',
        payload: null,
      }),
      ev({
        event_record_id: null,
        kind: 'boot',
        source: 'agent:kernel',
        at: '2026-05-01T09:00:00Z',
        payload: null,
      }),
      ev({ pc_id: 'other-pc' }),
      { pc_id: 'ev-pc', kind: 'broken' },
    ]) {
      await js.publish(subject.obs(String((e as { pc_id: string }).pc_id)), JSON.stringify(e));
    }
    await eventually(
      async () => (await call('GET', '/api/obs_events?pc_id=ev-pc')).body.events.length === 4,
      15_000,
      'events',
    );
    const all = (await call('GET', '/api/obs_events?pc_id=ev-pc')).body.events as {
      kind: string;
      at: string;
    }[];
    expect(all.map((e) => e.kind)).toEqual(['logoff', 'logon', 'boot', 'boot']);
    expect(all[0]!.at).toBe('2026-05-01T11:00:00.000Z');

    const kinds = async (qs: string) =>
      ((await call('GET', `/api/obs_events?${qs}`)).body.events as { kind: string }[]).map((e) => e.kind);
    expect(await kinds('pc_id=ev-pc&kinds=logon,logoff')).toEqual(['logoff', 'logon']);
    expect(await kinds('pc_id=ev-pc&kinds_ex=boot')).toEqual(['logoff', 'logon']);
    expect(await kinds('pc_id=ev-pc&sources=agent:kernel')).toEqual(['boot', 'boot']);
    expect(await kinds('pc_id=ev-pc&logon_type=interactive')).toEqual(['logon']);
    expect(await kinds('pc_id=ev-pc&payload_key=user&payload_value=alice')).toEqual(['logoff', 'logon']);
    expect(await kinds('pc_id=ev-pc&from=2026-05-01T09:30:00Z&to=2026-05-01T10:30:00Z')).toEqual(['logon']);
    expect((await call('GET', "/api/obs_events?payload_key=a'b&payload_value=1")).status).toBe(400);
    expect((await call('GET', '/api/obs_events/kinds')).body.kinds).toEqual(
      expect.arrayContaining(['boot', 'logoff', 'logon']),
    );
    expect((await call('GET', '/api/obs_events/sources')).body.sources).toEqual(
      expect.arrayContaining(['agent:kernel', 'agent:winevent']),
    );
    expect((await call('GET', '/api/obs_events/recent?limit=2')).body.events).toHaveLength(2);
  });
});
