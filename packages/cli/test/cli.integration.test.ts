// The built `kanade` CLI against a real stack: nats-server, the built
// backend, the real agent (runs scripts, answers ping and kill) and a
// simulated fleet answering commands. Every subcommand runs at least once,
// in table mode and with --json; exit codes are checked for success, usage,
// not found, auth, refusal, unreachable backend and failed remote work. A
// 200 MB app package goes up and comes back with the same SHA-256 while the
// backend's resident memory is sampled.
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OBJ } from '@kanade/wire';
import { Objm } from '@nats-io/obj';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, removeDir, startBackend, type TestBackend } from '../../../test-support/backend.js';
import { startNats, type TestNats } from '../../../test-support/nats-server.js';
import { type Agent, createAgent } from '../../agent/src/index.js';
import { createSimulator, type Simulator } from '../../sim/src/index.js';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const PC = 'cli-pc';
const ADMIN_PASSWORD = 'cli-admin-password-1';

let nats: TestNats;
let nc: NatsConnection;
let be: TestBackend;
let agent: Agent;
let sim: Simulator;
let work: string;
let home: string;

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  be = await startBackend({
    natsUrl: nats.url,
    env: { KANADE_BOOTSTRAP_ADMIN_USER: 'admin', KANADE_BOOTSTRAP_ADMIN_PASSWORD: ADMIN_PASSWORD },
  });
  work = mkdtempSync(join(tmpdir(), 'kanade-cli-'));
  home = join(work, 'home');
  mkdirSync(home);
  agent = createAgent({
    natsUrl: nats.url,
    pcId: PC,
    stateDir: join(work, 'agent'),
    heartbeatMs: 1000,
    hostPerfMs: 3_600_000,
  });
  await agent.start();
  sim = createSimulator({
    natsUrl: nats.url,
    agents: 3,
    prefix: 'simcli',
    heartbeatMs: 1000,
    hostPerfMs: 3_600_000,
    commands: { runMs: 200 },
  });
  await sim.start();
  await eventually(
    async () => (await be.json<unknown[]>('/api/agents')).length === 4,
    20_000,
    'agents registered',
  );
});
afterAll(async () => {
  await sim?.stop();
  await agent?.stop();
  await be?.kill();
  if (be) removeDir(be.dataDir);
  await nc?.close();
  await nats?.stop();
  if (work) removeDir(work);
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function kanade(
  args: string[],
  o: {
    input?: string;
    env?: Record<string, string>;
    token?: string | null;
    onSpawn?: (p: ChildProcess) => void;
  } = {},
): Promise<Run> {
  const token = o.token === undefined ? be.token : o.token;
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: home,
    KANADE_BACKEND_URL: be.url,
    ...(token ? { KANADE_AUTH_TOKEN: token } : {}),
    ...o.env,
  };
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [MAIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    o.onSpawn?.(p);
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.stdin.end(o.input ?? '');
    p.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Run with --json; expect exit 0 and return the parsed document. */
async function json<T = unknown>(args: string[], o: Parameters<typeof kanade>[1] = {}): Promise<T> {
  const r = await kanade([...args, '--json'], o);
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return JSON.parse(r.stdout) as T;
}

/** Run in table mode; expect exit 0 and return stdout. */
async function text(args: string[], o: Parameters<typeof kanade>[1] = {}): Promise<string> {
  const r = await kanade(args, o);
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('basics', () => {
  it('prints help (exit 0 with --help, 2 without a command) and versions', async () => {
    expect((await kanade(['--help'])).code).toBe(0);
    const none = await kanade([]);
    expect(none.code).toBe(2);
    expect(none.stdout).toContain('commands:');
    expect((await kanade(['job', '--help'])).stdout).toContain('kanade job apply');
    expect(await text(['version'])).toMatch(/kanade CLI 0\.1\.0\nbackend \d/);
    expect(await json(['version'])).toMatchObject({ cli: '0.1.0', backend: expect.any(String) });
  });

  it('exits 2 on usage errors, 7 when the backend is unreachable, 4 without credentials', async () => {
    const bad = await kanade(['job', 'frobnicate']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown subcommand');
    expect(bad.stderr).toContain('hint:');
    expect((await kanade(['agent', 'list', '--no-such-flag'])).code).toBe(2);
    const down = await kanade(['agent', 'list', '--backend-url', 'http://127.0.0.1:9']);
    expect(down.code).toBe(7);
    expect(down.stderr).toContain('KANADE_BACKEND_URL');
    const anon = await kanade(['agent', 'list'], { token: null });
    expect(anon.code).toBe(4);
    expect(anon.stderr).toContain('kanade login');
  });
});

describe('login, whoami, logout', () => {
  it('signs in, keeps the token 0600 for later commands, and forgets it', async () => {
    const wrong = await kanade(['login', '--username', 'admin', '--password-stdin'], {
      input: 'nope\n',
      token: null,
    });
    expect(wrong.code).toBe(4);
    const r = await kanade(['login', '--username', 'admin', '--password-stdin'], {
      input: `${ADMIN_PASSWORD}\n`,
      token: null,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('signed in as admin (admin)');
    const file = join(home, '.config', 'kanade', 'token');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(await text(['whoami'], { token: null })).toContain('admin (admin)');
    expect(await json(['whoami'], { token: null })).toMatchObject({ username: 'admin', role: 'admin' });
    const printed = await json(['login', '-u', 'admin', '--password-stdin'], {
      input: ADMIN_PASSWORD,
      token: null,
    });
    expect(printed).toMatchObject({ username: 'admin', role: 'admin', token_file: file });
    expect(await json(['logout'], { token: null })).toEqual({ removed: true, token_file: file });
    expect(await text(['logout'], { token: null })).toContain('no saved token');
    expect((await kanade(['whoami'], { token: null })).code).toBe(4);
  });
});

describe('agents, run, ping', () => {
  it('lists and shows agents', async () => {
    const table = await text(['agent', 'list']);
    expect(table).toMatch(/^PC_ID\s+STATUS/);
    expect(table).toContain(PC);
    const rows = await json<{ pc_id: string }[]>(['agent', 'list', '--q', '^simcli']);
    expect(rows.map((r) => r.pc_id)).toHaveLength(3);
    expect(await text(['agent', 'show', PC])).toContain('agent_version');
    expect(await json(['agent', 'show', PC])).toMatchObject({ pc_id: PC, groups: { groups: [] }, meta: [] });
    expect((await kanade(['agent', 'show', 'nobody'])).code).toBe(3);
  });

  it('pings an agent, and times out on one that is not there', async () => {
    expect(await text(['ping', PC])).toContain(`${PC} answered`);
    expect(await json(['ping', PC])).toMatchObject({ heartbeat: { pc_id: PC } });
    const gone = await kanade(['ping', 'nobody', '--wait', '1']);
    expect(gone.code).toBe(5);
  });

  it('runs a script: output as is, exit 8 when it fails', async () => {
    const ok = await kanade([
      'run',
      PC,
      '--shell',
      'sh',
      '--timeout',
      '20',
      '--',
      'echo',
      'hello',
      'from',
      'cli',
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toBe('hello from cli\n');
    expect(ok.stderr).toContain(`exit 0 on ${PC}`);
    const failed = await kanade(['run', PC, '--shell', 'sh', '--', 'echo oops >&2; exit 3']);
    expect(failed.code).toBe(8);
    expect(failed.stderr).toContain('oops');
    const viaStdin = await kanade(['run', PC, '--shell', 'sh', '--json', '--script-file', '-'], {
      input: 'echo piped',
    });
    expect(viaStdin.code).toBe(0);
    expect(JSON.parse(viaStdin.stdout)).toMatchObject({ pc_id: PC, exit_code: 0, stdout: 'piped\n' });
    expect((await kanade(['run', PC])).code).toBe(2);
  });
});

describe('jobs, exec, results, kill, revoke', () => {
  it('applies a folder of manifests (script_file inlined, several documents per file)', async () => {
    const dir = join(work, 'jobs');
    mkdirSync(join(dir, 'more'), { recursive: true });
    writeFileSync(join(dir, 'hello.sh'), 'echo hello from a file\n');
    writeFileSync(
      join(dir, 'job-hello.yaml'),
      '# greets\nid: job-hello\nversion: 1.0.0\ndescription: says hello\nexecute:\n  shell: sh\n  timeout: 30s\n  script_file: hello.sh\n',
    );
    writeFileSync(
      join(dir, 'more', 'two.yml'),
      [
        'id: job-fail',
        'version: 1.0.0',
        'execute: { shell: sh, timeout: 30s, script: "exit 2" }',
        '---',
        'id: job-sleep',
        'version: 1.0.0',
        'execute: { shell: sh, timeout: 120s, script: "sleep 60" }',
        '',
      ].join('\n'),
    );
    writeFileSync(join(dir, 'notes.txt'), 'not yaml');
    const applied = await text(['job', 'apply', dir]);
    expect(applied).toContain('applied job job-hello 1.0.0');
    expect(applied).toContain('applied job job-sleep 1.0.0');
    const again = await json<{ id: string; ok: boolean }[]>(['job', 'create', join(dir, 'more')]);
    expect(again.map((r) => [r.id, r.ok])).toEqual([
      ['job-fail', true],
      ['job-sleep', true],
    ]);
    const yaml = await text(['job', 'get', 'job-hello']);
    expect(yaml).toContain('echo hello from a file');
    expect(yaml).not.toContain('script_file');
    expect(await json(['job', 'get', 'job-hello'])).toMatchObject({
      id: 'job-hello',
      description: 'says hello',
    });
    expect((await kanade(['job', 'get', 'job-nope'])).code).toBe(3);

    writeFileSync(join(work, 'bad.yaml'), 'id: job-bad\nversion: 1\nexecute: { shell: sh }\n');
    const bad = await kanade(['job', 'apply', join(work, 'bad.yaml')]);
    expect(bad.code).toBe(6);
    expect(bad.stderr).toContain('timeout');
    writeFileSync(join(work, 'broken.yaml'), 'id: [unclosed\n');
    const broken = await kanade(['job', 'apply', join(work, 'broken.yaml')]);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain('broken.yaml:');
  });

  it('lists jobs with their revoke status, revokes and unrevokes', async () => {
    expect(await text(['job', 'list'])).toMatch(/job-hello\s+1\.0\.0\s+ACTIVE/);
    expect(await text(['revoke', 'job-fail'])).toContain('job-fail is REVOKED');
    expect(await json(['revoke', 'job-fail'])).toEqual({ job_id: 'job-fail', status: 'REVOKED' });
    const jobs = await json<{ id: string; status: string }[]>(['job', 'list']);
    expect(jobs.find((j) => j.id === 'job-fail')?.status).toBe('REVOKED');
    expect(await json(['unrevoke', 'job-fail'])).toEqual({ job_id: 'job-fail', status: 'ACTIVE' });
  });

  it('execs with --wait and a progress bar: 0 when all succeed, 8 when some fail', async () => {
    const r = await kanade(['exec', 'job-hello', '--pc', PC, '--wait', '--progress']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('1 succeeded, 0 failed of 1');
    expect(r.stderr).toContain('running');
    const sims = await json(['exec', 'job-hello', '--pc', 'simcli-000001,simcli-000002', '--wait']);
    expect(sims).toMatchObject({ status: 'completed', success_count: 2, target_count: 2 });
    const failed = await kanade(['exec', 'job-fail', '--pc', PC, '--wait']);
    expect(failed.code).toBe(8);
    expect((await kanade(['exec', 'job-hello'])).code).toBe(2);
    const started = await json<{ exec_id: string }>(['exec', 'job-hello', '--pc', PC]);
    expect(started.exec_id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('lists and shows results', async () => {
    const rows = await eventually(async () => {
      const r = await json<{ result_id: string; stdout: string }[]>([
        'results',
        '--job',
        '^job-hello$',
        '--pc',
        PC,
      ]);
      return r.length >= 2 ? r : undefined;
    });
    expect(rows[0]!.stdout).toContain('hello from a file');
    expect(await text(['results', 'list', '--job', 'job-hello', '--limit', '5'])).toMatch(
      /^FINISHED\s+PC_ID/,
    );
    expect(await text(['results', 'show', rows[0]!.result_id])).toContain('hello from a file');
    expect(await json(['results', 'show', rows[0]!.result_id])).toMatchObject({ pc_id: PC });
  });

  it('kills a running job', async () => {
    const started = await json<{ exec_id: string }>(['exec', 'job-sleep', '--pc', PC]);
    await eventually(
      async () =>
        (await json<{ finished_at: string | null }[]>(['results', '--exec', started.exec_id])).some(
          (r) => r.finished_at === null,
        ),
      15_000,
      'job-sleep running',
    );
    expect(await text(['kill', 'job-sleep'])).toContain('kill sent');
    expect(await json(['kill', started.exec_id])).toEqual({ job_id: 'job-sleep', killed: true });
    await eventually(async () => {
      const r = await json<{ exit_code: number | null }[]>(['results', '--exec', started.exec_id]);
      return r[0]?.exit_code === -1;
    });
  });

  it('deletes a job', async () => {
    expect(await text(['job', 'delete', 'job-sleep'])).toContain('deleted job job-sleep');
    expect(await json(['job', 'delete', 'job-fail'])).toEqual({ id: 'job-fail', deleted: true });
    expect((await kanade(['job', 'delete', 'job-fail'])).code).toBe(3);
  });
});

describe('schedules and freeze', () => {
  it('creates, lists, disables with --cascade, enables and deletes a schedule', async () => {
    const file = join(work, 'schedule.yaml');
    writeFileSync(
      file,
      'id: nightly-hello\njob_id: job-hello\nwhen:\n  calendar:\n    at: "03:00"\ntarget:\n  pcs: [cli-pc]\n',
    );
    expect(await text(['schedule', 'create', file])).toContain('applied schedule nightly-hello');
    expect(await json(['schedule', 'apply', file])).toEqual([
      expect.objectContaining({ id: 'nightly-hello', ok: true }),
    ]);
    expect(await text(['schedule', 'list'])).toMatch(/nightly-hello\s+job-hello\s+yes/);
    expect(await json(['schedule', 'list'])).toEqual([
      expect.objectContaining({ id: 'nightly-hello', enabled: true }),
    ]);
    const off = await json(['schedule', 'disable', 'nightly-hello', '--cascade']);
    expect(off).toMatchObject({ enabled: false, revoked: true });
    const jobs = await json<{ id: string; status: string }[]>(['job', 'list']);
    expect(jobs.find((j) => j.id === 'job-hello')?.status).toBe('REVOKED');
    expect(await text(['unrevoke', 'job-hello'])).toContain('ACTIVE');
    expect(await text(['schedule', 'enable', 'nightly-hello'])).toContain('nightly-hello is enabled');
    expect(await text(['schedule', 'delete', 'nightly-hello'])).toContain('deleted schedule');
    expect(await json(['schedule', 'list'])).toEqual([]);
  });

  it('sets, shows and lifts the fleet freeze', async () => {
    expect(await text(['freeze'])).toContain('not frozen');
    expect(await text(['freeze', 'set', '--reason', 'quarter close'])).toContain(
      'frozen until lifted (quarter close)',
    );
    expect(await json(['freeze', 'status'])).toMatchObject({ active: true, reason: 'quarter close' });
    expect(await json(['freeze', 'lift'])).toEqual({ lifted: true });
    expect(await json(['freeze'])).toBeNull();
  });
});

describe('config, groups, meta', () => {
  it('gets, sets, unsets and clears config scopes, and shows the effective config', async () => {
    expect(await text(['config', 'get'])).toContain('global: (empty scope');
    expect(await text(['config', 'set', 'heartbeat_interval', '45s', '--group', 'canary'])).toContain('45s');
    await json(['config', 'set', 'process_perf_top_n', '5', '--group', 'canary']);
    expect(await json(['config', 'get', '--group', 'canary'])).toEqual({
      heartbeat_interval: '45s',
      process_perf_top_n: 5,
    });
    expect(await json(['config', 'unset', 'heartbeat_interval', '--group', 'canary'])).toEqual({
      process_perf_top_n: 5,
    });
    expect((await kanade(['config', 'set', 'no_such_field', '1'])).code).toBe(2);
    expect((await kanade(['config', 'set', 'heartbeat_interval', 'often'])).code).toBe(6);
    await json(['config', 'set', 'max_local_concurrent', '2', '--pc', PC]);
    expect(await text(['group', 'add', 'canary', PC])).toContain(`added ${PC} to canary`);
    const eff = await json(['config', 'effective', PC]);
    expect(eff).toMatchObject({
      effective: { max_local_concurrent: 2, process_perf_top_n: 5 },
      my_groups: ['canary'],
    });
    expect(await text(['config', 'effective', PC])).toMatch(/max_local_concurrent\s+2/);
    expect(await json(['config', 'clear', '--pc', PC])).toEqual({ scope: `pcs.${PC}`, cleared: true });
    expect(await text(['config', 'clear', '--group', 'canary'])).toContain('groups.canary: cleared');
    expect(await text(['config', 'clear'])).toContain('global: cleared');
  });

  it('lists groups and their members, adds and removes PCs', async () => {
    expect(await text(['group', 'list'])).toMatch(/canary\s+1/);
    expect(await json(['group', 'list'])).toEqual([
      expect.objectContaining({ name: 'canary', members: [PC] }),
    ]);
    expect(await text(['group', 'members', 'canary'])).toBe(`${PC}\n`);
    expect(await json(['group', 'members', 'canary'])).toMatchObject({ name: 'canary', members: [PC] });
    expect((await kanade(['group', 'members', 'nope'])).code).toBe(3);
    expect(await json(['group', 'add', 'ring1', PC, 'simcli-000001'])).toMatchObject({
      [PC]: ['canary', 'ring1'],
    });
    expect(await text(['agent', 'groups', PC])).toContain('groups: canary, ring1');
    expect(await json(['agent', 'groups', PC, '--rm', 'ring1'])).toEqual({ groups: ['canary'] });
    expect(await json(['agent', 'groups', PC, '--set', 'a,b'])).toEqual({ groups: ['a', 'b'] });
    expect(await json(['agent', 'groups', PC, '--add', 'canary'])).toEqual({ groups: ['a', 'b', 'canary'] });
    expect(await text(['group', 'rm', 'canary', PC])).toContain('removed');
    expect(await json(['group', 'rm', 'ring1', 'simcli-000001'])).toEqual({ 'simcli-000001': [] });
  });

  it('sets, lists, removes and clears meta', async () => {
    expect(await text(['meta', 'set', PC, 'asset=A-100', 'site=tokyo'])).toMatch(/asset\s+A-100/);
    await json(['meta', 'set', PC, 'site=osaka']);
    expect(await json(['meta', 'get', PC])).toEqual({
      pc_id: PC,
      entries: [
        { key: 'asset', value: 'A-100' },
        { key: 'site', value: 'osaka' },
      ],
    });
    expect(await json(['meta', 'rm', PC, 'asset'])).toMatchObject({
      entries: [{ key: 'site', value: 'osaka' }],
    });
    expect((await kanade(['meta', 'set', PC, 'novalue'])).code).toBe(2);
    await text(['meta', 'clear', PC]);
    const empty = await kanade(['meta', 'get', PC]);
    expect(empty.stderr).toContain('no meta');
  });
});

describe('accounts, audit, query, jetstream', () => {
  it('creates, lists, changes and deletes an account', async () => {
    expect(
      await text(['account', 'create', 'op1', '--role', 'operator', '--password-stdin'], {
        input: 'op1-password-1\n',
      }),
    ).toContain('created op1 (operator)');
    expect(await json(['account', 'list'])).toEqual(
      expect.arrayContaining([expect.objectContaining({ username: 'op1', role: 'operator' })]),
    );
    expect(await text(['account', 'list'])).toMatch(/op1\s+operator/);
    expect(await json(['account', 'set', 'op1', '--disable'])).toMatchObject({
      username: 'op1',
      disabled: true,
    });
    expect((await kanade(['account', 'set', 'op1'])).code).toBe(2);
    expect(await text(['account', 'delete', 'op1'])).toContain('deleted op1');
    expect((await kanade(['account', 'delete', 'op1'])).code).toBe(3);
  });

  it('shows the audit trail with the CLI as the source', async () => {
    const rows = await eventually(async () => {
      const r = await json<{ action: string; payload: { source?: string } }[]>([
        'audit',
        '--action',
        '^revoke$',
        '--since',
        '1h',
      ]);
      return r.length > 0 ? r : undefined;
    });
    expect(rows[0]!.payload.source).toBe('cli');
    expect(await text(['audit', '--limit', '5'])).toMatch(/^TIME\s+ACTOR\s+ACTION/);
  });

  it('runs a read-only query', async () => {
    const r = await json<{ columns: string[]; rows: unknown[][] }>([
      'query',
      `SELECT pc_id FROM agents WHERE pc_id = '${PC}'`,
    ]);
    expect(r).toMatchObject({ columns: ['pc_id'], rows: [[PC]] });
    expect(await text(['query', 'SELECT', 'count(*)', 'AS', 'n', 'FROM', 'agents'])).toMatch(/^N\n4\n/);
    expect((await kanade(['query', 'DELETE FROM agents'])).code).toBe(6);
  });

  it('shows JetStream status', async () => {
    expect(await text(['jetstream', 'status'])).toMatch(/object store\s+agent_releases\s+yes/);
    const s = await json<{ object_stores: { name: string }[] }>(['jetstream']);
    expect(s.object_stores.map((o) => o.name)).toContain('app_packages');
  });
});

describe('object stores', () => {
  it('uploads and downloads a 200 MB package with the same digest while the backend RSS stays flat', async () => {
    const file = join(work, 'big.bin');
    const fd = openSync(file, 'w');
    const hash = createHash('sha256');
    for (let i = 0; i < 200; i++) {
      const mb = randomBytes(1024 * 1024);
      hash.update(mb);
      writeSync(fd, mb);
    }
    closeSync(fd);
    const want = hash.digest('hex');
    const pid = be.proc.pid!;
    const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
    const baseline = rss();
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, rss())), 50);
    try {
      const up = await kanade([
        'app',
        'upload',
        file,
        'big',
        '1.0',
        '--progress',
        '--description',
        'a big one',
      ]);
      expect(up.code, up.stderr).toBe(0);
      expect(up.stdout).toContain(`sha256 ${want}`);
      expect(up.stderr).toContain('uploading');
      const out = join(work, 'big.out');
      const down = await json(['app', 'download', 'big', '1.0', '-o', out]);
      expect(down).toMatchObject({ file: out, sha256: want, size: 200 * 1024 * 1024 });
    } finally {
      clearInterval(sampler);
    }
    const check = createHash('sha256');
    for await (const chunk of (await import('node:fs')).createReadStream(join(work, 'big.out')))
      check.update(chunk as Buffer);
    expect(check.digest('hex')).toBe(want);
    const growthMb = (peak - baseline) / 1024 / 1024;
    process.stderr.write(
      `[objects] backend RSS ${Math.round(baseline / 1048576)} MB, peak growth ${growthMb.toFixed(1)} MB\n`,
    );
    expect(growthMb).toBeLessThan(64);

    expect(await text(['app', 'list'])).toMatch(/big\s+1\.0\s+200 MiB/);
    expect(await json(['app', 'list', '--name', 'big'])).toEqual([
      expect.objectContaining({ key: 'big/1.0', digest: want, description: 'a big one' }),
    ]);
    const dup = await kanade(['app', 'upload', file, 'big', '1.0']);
    expect(dup.code).toBe(6);
    expect(dup.stderr).toContain('already exists');
    expect(await text(['app', 'delete', 'big', '1.0'])).toContain('deleted big/1.0');
    expect((await kanade(['app', 'download', 'big', '1.0', '-o', join(work, 'none')])).code).toBe(3);
  });

  it('uploads a script object a job runs by digest, refuses one over 4 MiB', async () => {
    writeFileSync(join(work, 'greet.sh'), 'echo greetings from a script object\n');
    expect(await text(['script', 'upload', join(work, 'greet.sh'), 'greet', '1'])).toContain(
      'stored greet/1',
    );
    expect(await json(['script', 'list'])).toEqual([expect.objectContaining({ key: 'greet/1' })]);
    expect(await text(['script', 'download', 'greet', '1', '-o', '-'])).toBe(
      'echo greetings from a script object\n',
    );
    writeFileSync(
      join(work, 'job-object.yaml'),
      'id: job-object\nversion: 1.0.0\nexecute: { shell: sh, timeout: 30s, script_object: greet/1 }\n',
    );
    await text(['job', 'apply', join(work, 'job-object.yaml')]);
    expect(await text(['exec', 'job-object', '--pc', PC, '--wait'])).toContain('1 succeeded');
    const [res] = await json<{ stdout: string }[]>(['results', '--job', '^job-object$']);
    expect(res!.stdout).toBe('greetings from a script object\n');

    writeFileSync(join(work, 'huge.sh'), randomBytes(4 * 1024 * 1024 + 1));
    const huge = await kanade(['script', 'upload', join(work, 'huge.sh'), 'huge', '1']);
    expect(huge.code).toBe(6);
    expect(huge.stderr).toContain('4.0 MiB');
    expect(await json(['script', 'delete', 'greet', '1'])).toEqual({ key: 'greet/1', deleted: true });
  });

  it('lists, downloads and deletes collected bundles', async () => {
    const store = await new Objm(nc).open(OBJ.COLLECTIONS);
    const zip = Buffer.from('PK\x03\x04 bundle');
    const key = `${PC}/collect-x/2026-11-30T10:00:00Z.zip`;
    await store.putBlob({ name: key }, zip);
    const rows = await eventually(async () => {
      const r = await json<{ key: string }[]>(['collect', 'list', '--pc', PC]);
      return r.length ? r : undefined;
    });
    expect(rows[0]).toMatchObject({ key, pc_id: PC, job_id: 'collect-x', size: zip.length });
    expect(await text(['collect', 'list'])).toContain(key);
    const out = join(work, 'bundle.zip');
    expect(await text(['collect', 'download', key, '-o', out])).toContain(`saved ${out}`);
    expect(readFileSync(out).equals(zip)).toBe(true);
    expect(await json(['collect', 'delete', key])).toEqual({ key, deleted: true });
    expect((await kanade(['collect', 'delete', key])).code).toBe(3);
  });
});

describe('agent releases', () => {
  it('publishes, lists, rolls out, reports and unpublishes a release', async () => {
    const file = join(work, 'agent-5.0.0.mjs');
    writeFileSync(file, '// kanade-agent release bundle\nconsole.log("5.0.0")\n');
    const pub = await text(['agent', 'publish', file, '--version', '5.0.0']);
    expect(pub).toContain('published 5.0.0 (node');
    expect(await json(['agent', 'publish', file, '--version', '5.0.1', '--platform', 'node'])).toMatchObject({
      key: '5.0.1-node',
    });
    await json(['agent', 'unpublish', '5.0.1']);
    expect(await json(['agent', 'releases'])).toEqual([
      expect.objectContaining({
        version: '5.0.0',
        platform: 'node',
        key: '5.0.0-node',
        digest: sha256(readFileSync(file)),
      }),
    ]);
    expect(await text(['agent', 'releases'])).toMatch(/5\.0\.0\s+node/);
    expect((await kanade(['agent', 'rollout', '5.0.0'])).code).toBe(2);
    expect((await kanade(['agent', 'rollout', '6.0.0', '--global'])).code).toBe(3);
    expect(await text(['agent', 'rollout', '5.0.0', '--pc', 'simcli-000003', '--jitter', '1h'])).toContain(
      'pcs.simcli-000003: target_version 5.0.0, jitter 1h',
    );
    expect(await json(['agent', 'rollout', '5.0.0', '--group', 'ring9'])).toMatchObject({
      key: 'groups.ring9',
      changed: true,
    });
    const current = await json<{ targets: { key: string }[] }>(['agent', 'current']);
    expect(current.targets.map((t) => t.key)).toEqual(['groups.ring9', 'pcs.simcli-000003']);
    expect(await text(['agent', 'current'])).toContain('versions in use:');
    const refused = await kanade(['agent', 'unpublish', '5.0.0']);
    expect(refused.code).toBe(6);
    expect(refused.stderr).toContain('target_version');
    await json(['config', 'clear', '--pc', 'simcli-000003']);
    await json(['config', 'clear', '--group', 'ring9']);
    expect(await json(['agent', 'unpublish', '5.0.0'])).toEqual({
      version: '5.0.0',
      removed: ['5.0.0-node'],
    });
  });
});
