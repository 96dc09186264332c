// The scheduler end to end on a real broker: the built backend and simulated
// agents answering commands. The backend polls reconcile shapes every second
// (KANADE_SCHEDULER_POLL_CRON, the test-only knob) so a `per_target: {every:
// 1s}` schedule fires every couple of seconds. Covered: bad schedules are
// 400s naming the field with nothing written; fires create executions and
// results, audited as `scheduler`; soft disable and the freeze (also a
// corrupt one) stop it, enable and lifting the freeze resume it; a schedule
// deleted while the backend is down is not fired after the restart, while a
// calendar slot missed during the outage fires once within its
// starting_deadline; two backends on one broker fire each slot once, and
// killing the leader hands over within the lease TTL.
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { eventually, removeDir, startBackend, type TestBackend } from '../../../test-support/backend.js';
import { openStoreDb } from '../../../test-support/db.js';
import { startNats, type TestNats } from '../../../test-support/nats-server.js';
import { createSimulator, type Simulator } from '../../sim/src/index.js';

const ENV = { KANADE_SCHEDULER_POLL_CRON: '* * * * * *' };
const AGENTS = 3;

let nats: TestNats;
let nc: NatsConnection;
let be: TestBackend;
let dataDir: string;
let sim: Simulator;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  be = await startBackend({ natsUrl: nats.url, env: ENV });
  dataDir = be.dataDir;
  for (const id of [
    'tick',
    'gone-job',
    'kept-job',
    'missed-job',
    'missed-gone-job',
    'duo-job',
    'duo-cal-job',
  ]) {
    const r = await post('/api/jobs', {
      id,
      version: '1.0.0',
      execute: { shell: 'sh', script: 'echo tick', timeout: '30s' },
    });
    expect(r.status, await r.clone().text()).toBe(200);
  }
  sim = createSimulator({
    natsUrl: nats.url,
    agents: AGENTS,
    prefix: 'sch',
    heartbeatMs: 1000,
    hostPerfMs: 3_600_000,
    commands: { runMs: 100, failureRate: 0 },
  });
  await sim.start();
  await eventually(
    async () => {
      const r = await be.fetch('/api/agents?status=online&limit=1');
      return Number(r.headers.get('x-total-count')) === AGENTS;
    },
    30_000,
    'simulated agents online',
  );
});
afterAll(async () => {
  await sim?.stop();
  await be?.kill();
  if (dataDir) removeDir(dataDir);
  await nc?.close();
  await nats?.stop();
});

function post(path: string, body: unknown, init: { yaml?: boolean; backend?: TestBackend } = {}) {
  return (init.backend ?? be).fetch(path, {
    method: 'POST',
    headers: { 'content-type': init.yaml ? 'application/yaml' : 'application/json' },
    body: init.yaml ? (body as string) : JSON.stringify(body),
  });
}

function db<T>(sql: string, ...params: unknown[]): T[] {
  const d = openStoreDb(dataDir, { readonly: true });
  try {
    return d.prepare(sql).all(...params) as T[];
  } finally {
    d.close();
  }
}

/** Scheduler executions of a job, oldest first. */
const fires = (jobId: string, since = 0) =>
  db<{ exec_id: string; initiated_at: number; status: string }>(
    `SELECT exec_id, initiated_at, status FROM executions
     WHERE job_id = ? AND initiated_by = 'scheduler' AND initiated_at >= ? ORDER BY initiated_at`,
    jobId,
    since,
  );

async function createSchedule(body: Record<string, unknown>, backend = be) {
  const r = await post('/api/schedules', body, { backend });
  expect(r.status, await r.clone().text()).toBe(200);
  return r.json();
}

const pulse = (id: string, jobId: string) => ({
  id,
  job_id: jobId,
  when: { per_target: { every: '1s' } },
  target: { all: true },
});

/** The next whole UTC minute at least `leadMs` away, as "HH:MM" and epoch ms. */
function nextMinute(leadMs: number): { hhmm: string; at: number } {
  const at = Math.ceil((Date.now() + leadMs) / 60_000) * 60_000;
  return { hhmm: new Date(at).toISOString().slice(11, 16), at };
}

describe('schedules API', () => {
  it('refuses bad schedules with a 400 naming the field, writing nothing', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...pulse('bad', 'no-such-job') }, /job_id: job no-such-job is not in the catalog/],
      [
        { ...pulse('bad', 'tick'), when: { calendar: { at: '09:00', days: ['fri-mon'] } } },
        /when\.calendar\.days/,
      ],
      [{ ...pulse('bad', 'tick'), when: { calendar: { at: '9am' } } }, /when\.calendar\.at/],
      [{ ...pulse('bad', 'tick'), starting_deadline: 'tomorrow' }, /starting_deadline: expected a duration/],
      [{ ...pulse('bad', 'tick'), when: { per_pc: { every: '6 fortnights' } } }, /when\.per_pc\.every/],
      [{ ...pulse('bad', 'tick'), tz: 'Asia/Tokyo' }, /body field tz/],
      [{ ...pulse('bad', 'tick'), cron: '* * * * *' }, /Unrecognized key: "cron"/],
    ];
    for (const [body, message] of cases) {
      const r = await post('/api/schedules', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      const err = (await r.json()) as { code: string; message: string };
      expect(err.code).toBe('KANADE_ERR_BAD_REQUEST');
      expect(err.message).toMatch(message);
    }
    const y = await post('/api/schedules', 'id: bad\njob_id: tick\nwhen: [unclosed\n', { yaml: true });
    expect(y.status).toBe(400);
    expect(((await y.json()) as { message: string }).message).toMatch(/YAML error at line \d+, column \d+/);
    const kv = await new Kvm(nc).open('schedules');
    expect(await kv.get('bad')).toBeNull();
    expect((await be.fetch('/api/schedules/bad/yaml')).status).toBe(404);
  });

  it('keeps the YAML source verbatim and patches its enabled: line on disable', async () => {
    const source = [
      '# nightly inventory',
      'id: yaml-sched',
      'job_id: tick',
      'when:',
      '  calendar: { at: "03:00", days: [mon-fri] }',
      'tz: utc',
      'target: { all: true }',
      'enabled: false # parked',
      '',
    ].join('\n');
    const r = await post('/api/schedules', source, { yaml: true });
    expect(r.status, await r.clone().text()).toBe(200);
    expect(await r.json()).toEqual({
      id: 'yaml-sched',
      when: { calendar: { at: '03:00', days: ['mon-fri'] } },
      enabled: false,
      job_id: 'tick',
    });
    expect(await (await be.fetch('/api/schedules/yaml-sched/yaml')).text()).toBe(source);
    const on = await post('/api/schedules/yaml-sched/enable', {});
    expect(await on.json()).toEqual({
      id: 'yaml-sched',
      enabled: true,
      changed: true,
      revoked: false,
      killed_exec_ids: [],
    });
    expect(await (await be.fetch('/api/schedules/yaml-sched/yaml')).text()).toBe(
      source.replace('enabled: false # parked', 'enabled: true # parked'),
    );
    const again = await post('/api/schedules/yaml-sched/enable', {});
    expect(((await again.json()) as { changed: boolean }).changed).toBe(false);

    const preview = await be.json<{ fires: string[]; tz: string }>(
      '/api/schedules/yaml-sched/preview?count=3',
    );
    expect(preview.fires).toHaveLength(3);
    for (const f of preview.fires) {
      expect(f).toMatch(/T03:00:00\.000Z$/);
      expect([0, 6]).not.toContain(new Date(f).getUTCDay());
    }
    expect((await be.fetch('/api/schedules/yaml-sched/preview?count=51')).status).toBe(400);
    const upcoming = await be.json<{ id: string; next_run: string }[]>('/api/schedules/upcoming?limit=5');
    expect(upcoming.find((u) => u.id === 'yaml-sched')?.next_run).toBe(preview.fires[0]);
    const schema = await be.json<{ title: string; required: string[] }>('/api/schemas/schedule.json');
    expect(schema.title).toBe('Schedule');
    expect((await be.fetch('/api/schedules/yaml-sched', { method: 'DELETE' })).status).toBe(204);
    expect((await be.fetch('/api/schedules/yaml-sched', { method: 'DELETE' })).status).toBe(404);
  });
});

describe('firing', () => {
  it('a per_target schedule fires repeatedly: executions, results from every agent, audited as scheduler', async () => {
    const start = Date.now();
    const firstCommand = nc.subscribe('commands.all', { max: 1 });
    await createSchedule({ ...pulse('pulse', 'tick'), on_failure: { retry: { max: 2, backoff: '5s' } } });
    // on_failure.retry travels to the agents in the Command, as upstream's exec_manifest sends it.
    for await (const m of firstCommand)
      expect(m.json<{ retry: unknown }>().retry).toEqual({ max: 2, backoff_secs: 5 });
    const done = await eventually(
      async () => {
        const f = fires('tick', start).filter((e) => e.status === 'completed');
        return f.length >= 3 ? f : undefined;
      },
      30_000,
      'three completed scheduler executions',
    );
    for (const e of done) {
      const [r] = db<{ n: number; ok: number }>(
        'SELECT COUNT(*) AS n, SUM(CASE WHEN exit_code = 0 THEN 1 ELSE 0 END) AS ok FROM execution_results WHERE exec_id = ?',
        e.exec_id,
      );
      expect(r).toEqual({ n: AGENTS, ok: AGENTS });
    }
    // Completion-based cooldown: a new fire only after the previous one's first success plus `every`.
    const all = fires('tick', start);
    for (let i = 1; i < all.length; i++) {
      expect(all[i]!.initiated_at - all[i - 1]!.initiated_at).toBeGreaterThanOrEqual(1000);
    }
    const audit = await eventually(
      async () => {
        const rows = await be.json<{ actor: string; action: string; target: string }[]>(
          '/api/audit?actor=scheduler&limit=100',
        );
        return rows.filter((a) => a.action === 'exec' && a.target === 'tick').length >= 3 ? rows : undefined;
      },
      15_000,
      'scheduler exec audit events',
    );
    expect(audit[0]!.actor).toBe('scheduler');

    const status = await be.json<{
      next_run: string;
      last_run: { exit_code: number };
      recent: { ok: number };
    }>('/api/schedules/pulse/status');
    expect(status.last_run.exit_code).toBe(0);
    expect(status.recent.ok).toBeGreaterThanOrEqual(3 * AGENTS);
    const coverage = await be.json<{ total: number; ok: number; agents: { state: string }[] }>(
      '/api/schedules/pulse/coverage',
    );
    expect(coverage.total).toBe(AGENTS);
    expect(coverage.agents).toHaveLength(AGENTS);
    const all2 = await be.json<{ id: string; total: number }[]>('/api/schedules/coverage');
    expect(all2.find((c) => c.id === 'pulse')?.total).toBe(AGENTS);
  });

  async function quiet(jobId: string, ms: number) {
    // A tick already running when the change lands may still dispatch once; after that, nothing.
    await sleep(2500);
    const from = Date.now();
    await sleep(ms);
    return fires(jobId, from).length;
  }

  async function resumes(jobId: string) {
    const from = Date.now();
    await eventually(async () => fires(jobId, from).length >= 2, 20_000, `${jobId} fires again`);
  }

  it('soft disable stops it and enable resumes it', async () => {
    const off = await post('/api/schedules/pulse/disable', {});
    expect(await off.json()).toMatchObject({ enabled: false, changed: true, revoked: false });
    expect(await quiet('tick', 4000)).toBe(0);
    await post('/api/schedules/pulse/enable', {});
    await resumes('tick');
  });

  it('a freeze stops it, a corrupt freeze too, and lifting it resumes', async () => {
    const put = await be.fetch('/api/freeze', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'change freeze' }),
    });
    expect(await put.json()).toEqual({
      from: null,
      until: null,
      reason: 'change freeze',
      active: true,
      corrupt: false,
    });
    expect(await quiet('tick', 4000)).toBe(0);

    const kv = await new Kvm(nc).open('fleet_config');
    await kv.put('freeze', '{definitely not json');
    expect(await be.json('/api/freeze')).toEqual({
      from: null,
      until: null,
      reason: null,
      active: true,
      corrupt: true,
    });
    expect(await quiet('tick', 3000)).toBe(0);

    // A window that ended in the past is not active.
    const past = await be.fetch('/api/freeze', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ from: '2020-01-01T00:00:00Z', until: '2020-01-02T00:00:00Z' }),
    });
    expect(((await past.json()) as { active: boolean }).active).toBe(false);
    await resumes('tick');
    expect((await be.fetch('/api/freeze', { method: 'DELETE' })).status).toBe(204);
    expect(await be.json('/api/freeze')).toBeNull();
    const bad = await be.fetch('/api/freeze', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ from: '2026-05-02T00:00:00Z', until: '2026-05-01T00:00:00Z' }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toMatch(/until/);
  });

  it('hard disable (cascade_kill) also revokes the job', async () => {
    const off = await post('/api/schedules/pulse/disable?cascade_kill=true', {});
    expect(await off.json()).toMatchObject({ enabled: false, revoked: true });
    const status = await be.json<Record<string, string>>('/api/scripts/status');
    expect(status.tick).toBe('REVOKED');
    expect(await quiet('tick', 3000)).toBe(0);
    expect((await be.fetch('/api/schedules/pulse', { method: 'DELETE' })).status).toBe(204);
  });
});

describe('restart', () => {
  it('a schedule deleted while the backend is down does not fire; a missed calendar slot fires once', async () => {
    await createSchedule(pulse('gone', 'gone-job'));
    await createSchedule(pulse('kept', 'kept-job'));
    const slot = nextMinute(15_000);
    const calendar = (id: string, jobId: string) => ({
      id,
      job_id: jobId,
      when: { calendar: { at: slot.hhmm } },
      tz: 'utc',
      starting_deadline: '10m',
      target: { all: true },
    });
    await createSchedule(calendar('missed', 'missed-job'));
    await createSchedule(calendar('missed-gone', 'missed-gone-job'));
    await eventually(async () => fires('gone-job').length > 0, 20_000, 'gone fires before the restart');

    expect(await be.stop()).toBe(0);
    const kv = await new Kvm(nc).open('schedules');
    await kv.delete('gone');
    await kv.delete('missed-gone');
    await sleep(Math.max(0, slot.at + 1500 - Date.now()));
    const restarted = Date.now();
    be = await startBackend({ natsUrl: nats.url, dataDir, env: ENV });

    await eventually(
      async () => fires('kept-job', restarted).length > 0,
      20_000,
      'kept fires after the restart',
    );
    const missed = await eventually(
      async () => {
        const f = fires('missed-job');
        return f.length > 0 ? f : undefined;
      },
      20_000,
      'the missed calendar slot',
    );
    await sleep(3000);
    expect(fires('missed-job')).toHaveLength(1);
    expect(missed[0]!.initiated_at).toBeGreaterThanOrEqual(restarted);
    expect(fires('gone-job', restarted)).toEqual([]);
    expect(fires('missed-gone-job')).toEqual([]);
    // The catch-up carries the slot's deadline (slot + starting_deadline), not now + deadline.
    const line = be.logs.find((l) => l.includes('"scheduler fired"') && l.includes('"schedule_id":"missed"'));
    expect(JSON.parse(line!)).toMatchObject({
      why: 'missed calendar fire',
      slot: new Date(slot.at).toISOString(),
      deadline_at: new Date(slot.at + 10 * 60_000).toISOString(),
    });
    for (const id of ['kept', 'missed'])
      expect((await be.fetch(`/api/schedules/${id}`, { method: 'DELETE' })).status).toBe(204);
  }, 180_000);
});

describe('two backends on one broker', () => {
  it('fire each slot once, and the standby takes over within the lease TTL when the leader dies', async () => {
    // Both replicas share the database file, as replicas share one database in a scale-out setup.
    const peer = await startBackend({ natsUrl: nats.url, dataDir, env: ENV });
    onTestFinished(() => peer.kill());
    const replicas = [be, peer];
    const firedBy = (b: TestBackend, id: string) =>
      b.logs.filter((l) => l.includes('"scheduler fired"') && l.includes(`"schedule_id":"${id}"`)).length;

    const start = Date.now();
    const slot = nextMinute(5000);
    await createSchedule(pulse('duo', 'duo-job'));
    await createSchedule({
      id: 'duo-cal',
      job_id: 'duo-cal-job',
      when: { calendar: { at: slot.hhmm } },
      tz: 'utc',
      target: { all: true },
    });
    await eventually(async () => fires('duo-job', start).length >= 4, 30_000, 'duo fires');
    const leader = replicas.find((b) => firedBy(b, 'duo') > 0)!;
    const standby = replicas.find((b) => b !== leader)!;
    expect(firedBy(standby, 'duo')).toBe(0);

    // The calendar slot: exactly one execution across both replicas.
    await sleep(Math.max(0, slot.at + 3000 - Date.now()));
    expect(fires('duo-cal-job')).toHaveLength(1);

    // Kill the leader without a chance to release the lease. Leadership may have moved during the wait
    // (a lease renewal lost on a loaded machine), so the leader is whoever fired last.
    const lastFire = (b: TestBackend) =>
      Math.max(
        0,
        ...b.logs
          .filter((l) => l.includes('"scheduler fired"') && l.includes('"schedule_id":"duo"'))
          .map((l) => (JSON.parse(l) as { time: number }).time),
      );
    const [current, other] = lastFire(leader) >= lastFire(standby) ? [leader, standby] : [standby, leader];
    await current.kill();
    const killed = Date.now();
    const firedBefore = firedBy(other, 'duo');
    await eventually(async () => firedBy(other, 'duo') > firedBefore, 30_000, 'the standby fires');
    const acquired = other.logs
      .filter((l) => l.includes('"scheduler lease acquired'))
      .map((l) => (JSON.parse(l) as { time: number }).time)
      .find((t) => t >= killed);
    // The dead leader's entry expires a TTL (10 s) after its last renewal; the standby retries every second.
    expect(acquired! - killed).toBeLessThan(11_500);
    const takeover = fires('duo-job', killed)[0]!.initiated_at - killed;
    expect(takeover).toBeLessThan(13_000);
    await eventually(async () => fires('duo-job', killed).length >= 3, 30_000, 'fires continue');

    // No double fire anywhere: consecutive fires are at least the cooldown apart.
    const all = fires('duo-job', start);
    for (let i = 1; i < all.length; i++) {
      expect(all[i]!.initiated_at - all[i - 1]!.initiated_at).toBeGreaterThanOrEqual(1000);
    }
    expect(fires('duo-cal-job')).toHaveLength(1);
    be = other;
    console.log(
      `lease handover: acquired ${acquired! - killed} ms, first fire ${takeover} ms after the leader was killed`,
    );
  }, 180_000);
});
