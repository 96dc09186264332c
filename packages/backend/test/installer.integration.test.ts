// Agent installers, the way an operator uses them: the one-liner's script is
// fetched with a bearer token and run with sh (it downloads the .tar.gz with
// curl and runs install.sh, here with --root so it lays the files out in a
// temp dir instead of / and starts no service); the installed agent, started
// exactly as the systemd unit says, heartbeats and runs a command. Also: the
// broker URL and token from the server settings (the token never shown
// again), overrides at install time, uninstall, and the refusals.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, removeDir, startBackend, type TestBackend } from '../../../test-support/backend.js';
import { startNats, type TestNats } from '../../../test-support/nats-server.js';

let nats: TestNats;
let be: TestBackend;
let dir: string;
let agent: ChildProcess | undefined;

beforeAll(async () => {
  nats = await startNats();
  be = await startBackend({ natsUrl: nats.url });
  dir = mkdtempSync(join(tmpdir(), 'kanade-installer-'));
});
afterAll(async () => {
  if (agent && agent.exitCode === null) {
    const exited = new Promise((r) => agent!.once('exit', r));
    agent.kill('SIGTERM');
    await exited;
  }
  await be?.kill();
  if (be) removeDir(be.dataDir);
  if (dir) removeDir(dir);
  await nats?.stop();
});

const run = promisify(execFile);

/** `sh <file> args` with a clean environment plus `env`; never throws. */
async function sh(file: string, args: string[], env: Record<string, string> = {}) {
  try {
    const r = await run('sh', [file, ...args], { env: { PATH: process.env.PATH ?? '', HOME: dir, ...env } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function put(path: string, body: unknown) {
  return be.fetch(path, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

/** KEY=value lines of an env file. */
function envFile(path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

describe('agent installers', () => {
  const root = () => join(dir, 'root');

  it('says what an installer holds: the build shipped with the backend and its loopback broker', async () => {
    const info = await be.json<Record<string, unknown>>('/api/agents/installer/info');
    expect(info).toEqual({
      platforms: [{ os: 'linux', arch: ['x86_64', 'aarch64'] }],
      nats_url: nats.url,
      nats_url_source: 'backend',
      loopback: true,
      nats_token_set: false,
      release: { version: '0.1.0', source: 'bundled' },
    });
  });

  it('keeps the broker token write-only in the server settings', async () => {
    let r = await put('/api/server-settings', { agent_install: { nats_url: 'http://example:4222' } });
    expect(r.status).toBe(422);
    expect(await r.text()).toContain('agent_install.nats_url');
    r = await put('/api/server-settings', { agent_install: { nats_url: 'nats://ops:pw@example:4222' } });
    expect(r.status).toBe(422);

    // agent.env is a systemd EnvironmentFile: a token that would change its lines is refused.
    r = await put('/api/server-settings', {
      agent_install: { nats_token: 'tok\nKANADE_NATS_URL=nats://evil:1' },
    });
    expect(r.status).toBe(422);
    expect(await r.text()).toContain('agent_install.nats_token');
    r = await put('/api/server-settings', {
      agent_install: { nats_url: nats.url, nats_token: 'tok-s3cret' },
    });
    expect(r.status).toBe(200);
    const view = await r.text();
    expect(view).not.toContain('tok-s3cret');
    expect(JSON.parse(view).agent_install).toEqual({ nats_url: nats.url, nats_token_set: true });
    // A form round-tripping the document keeps the token it cannot see.
    r = await put('/api/server-settings', { ...JSON.parse(view), session_ttl_hours: 12 });
    expect(r.status).toBe(200);
    expect((await r.json()).agent_install.nats_token_set).toBe(true);
    const info = await be.json<Record<string, unknown>>('/api/agents/installer/info');
    expect(info).toMatchObject({ nats_url: nats.url, nats_url_source: 'settings', nats_token_set: true });
    // Nor does the audit trail show it.
    await eventually(async () => (await be.fetch('/api/audit?action=server_settings.update')).ok);
    expect(await (await be.fetch('/api/audit?limit=50')).text()).not.toContain('tok-s3cret');
  });

  it('installs with the one-liner: script, download, install.sh, an agent that runs commands', async () => {
    const r = await be.fetch('/api/agents/installer.sh?os=linux&arch=x86_64');
    expect(r.status).toBe(200);
    const script = await r.text();
    expect(script).toContain(`${be.url}/api/agents/installer?os=linux&arch=x86_64`);
    const file = join(dir, 'installer.sh');
    writeFileSync(file, script);
    const res = await sh(file, ['--root', root()]);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);

    const program = join(root(), 'opt/kanade-agent/kanade-agent.mjs');
    const env = join(root(), 'etc/kanade-agent/agent.env');
    const unit = readFileSync(join(root(), 'etc/systemd/system/kanade-agent.service'), 'utf8');
    expect(statSync(program).isFile()).toBe(true);
    expect(statSync(env).mode & 0o777).toBe(0o600);
    expect(statSync(join(root(), 'var/lib/kanade-agent')).isDirectory()).toBe(true);
    expect(envFile(env)).toEqual({
      KANADE_NATS_URL: nats.url,
      KANADE_NATS_TOKEN: 'tok-s3cret',
      KANADE_AGENT_STATE_DIR: join(root(), 'var/lib/kanade-agent'),
    });
    const exec = /^ExecStart=(.*)$/m.exec(unit)?.[1]?.split(' ') ?? [];
    expect(exec).toEqual([expect.stringMatching(/\/node$/), '/opt/kanade-agent/kanade-agent.mjs']);

    // Started as the unit starts it (with --root, the program path is under the root).
    agent = spawn(exec[0]!, [program], {
      env: { PATH: process.env.PATH ?? '', HOME: dir, ...envFile(env) },
      stdio: 'ignore',
    });
    const pc = await eventually(async () => {
      const list = await be.json<{ pc_id: string; agent_version: string }[]>('/api/agents');
      return list.find((a) => a.agent_version === '0.1.0')?.pc_id;
    }, 30_000);
    const out = await be.fetch('/api/run', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ pc_id: pc, shell: 'sh', script: 'echo installed agent', timeout_secs: 20 }),
    });
    expect(out.status).toBe(200);
    expect(await out.json()).toMatchObject({ exit_code: 0, stdout: 'installed agent\n' });
    // Its outbox and run history are in the state directory the installer made.
    expect(readdirSync(join(root(), 'var/lib/kanade-agent')).length).toBeGreaterThan(0);
  }, 60_000);

  it('re-installs with an override from the environment, keeping the old settings as agent.env.bak', async () => {
    const tgz = await be.fetch('/api/agents/installer?os=linux');
    expect(tgz.status).toBe(200);
    expect(tgz.headers.get('content-type')).toBe('application/gzip');
    expect(tgz.headers.get('content-disposition')).toBe(
      'attachment; filename="kanade-agent-installer-0.1.0-linux.tar.gz"',
    );
    const archive = join(dir, 'installer.tar.gz');
    writeFileSync(archive, Buffer.from(await tgz.arrayBuffer()));
    const unpacked = join(dir, 'unpacked');
    mkdirSync(unpacked);
    await run('tar', ['-xzf', archive, '-C', unpacked]);
    const install = join(unpacked, 'kanade-agent/install.sh');
    expect(statSync(install).mode & 0o777).toBe(0o755);

    const res = await sh(install, ['--root', root()], { KANADE_NATS_URL: 'nats://10.1.2.3:4222' });
    expect(res.code).toBe(0);
    const env = join(root(), 'etc/kanade-agent/agent.env');
    expect(envFile(env)).toMatchObject({
      KANADE_NATS_URL: 'nats://10.1.2.3:4222',
      KANADE_NATS_TOKEN: 'tok-s3cret',
    });
    expect(envFile(`${env}.bak`).KANADE_NATS_URL).toBe(nats.url);

    expect((await sh(install, ['--bogus'])).code).toBe(2);
    const gone = await sh(install, ['--root', root(), '--uninstall']);
    expect(gone.code).toBe(0);
    expect(existsSync(join(root(), 'opt/kanade-agent'))).toBe(false);
    expect(existsSync(join(root(), 'etc/systemd/system/kanade-agent.service'))).toBe(false);
    expect(existsSync(env)).toBe(true);
  });

  it('refuses what it cannot build and callers it does not know', async () => {
    let r = await be.fetch('/api/agents/installer?os=windows');
    expect(r.status).toBe(400);
    expect(await r.text()).toContain('only linux');
    r = await be.fetch('/api/agents/installer?arch=sparc');
    expect(r.status).toBe(400);
    for (const path of ['/api/agents/installer', '/api/agents/installer.sh', '/api/agents/installer/info']) {
      expect((await be.fetch(path, { token: null })).status).toBe(401);
    }
  });
});
