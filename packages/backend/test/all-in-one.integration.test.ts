// The all-in-one default of `npm start`, run for real: the backend starts its
// own nats-server and a local agent for this host, the agent's heartbeats
// show up in /api/agents, its state is kept in the data directory (not in
// ~/.kanade-agent), and SIGINT stops the agent and the broker and exits 0.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually, removeDir, startBackend, type TestBackend } from '../../../test-support/backend.js';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

let be: TestBackend | undefined;
// The agent's default state directory is under HOME: a HOME of its own shows that nothing goes there.
const home = mkdtempSync(join(tmpdir(), 'kanade-home-'));
afterAll(async () => {
  await be?.kill();
  if (be) removeDir(be.dataDir);
  removeDir(home);
});

describe('all-in-one mode', () => {
  it('runs an embedded broker and a local agent, and SIGINT stops both and exits 0', async () => {
    const port = await freePort();
    be = await startBackend({
      env: { KANADE_EMBEDDED_NATS_PORT: String(port), KANADE_LOCAL_AGENT: '1', HOME: home },
    });
    const pidFile = join(be.dataDir, 'nats', 'nats-server.pid');
    const natsPid = Number(readFileSync(pidFile, 'utf8'));
    expect(alive(natsPid)).toBe(true);

    const agents = await eventually(
      async () => {
        const list = await be!.json<{ pc_id: string; online: boolean; os_family: string }[]>('/api/agents');
        return list.length === 1 ? list : undefined;
      },
      20_000,
      'the local agent',
    );
    expect(agents[0]).toMatchObject({ online: true, os_family: 'linux' });
    const agentPids = () =>
      execFileSync('sh', ['-c', `pgrep -f '[a]gent/dist/main.js --nats nats://127.0.0.1:${port}' || true`])
        .toString()
        .trim();
    expect(agentPids()).not.toBe('');
    expect(existsSync(join(be.dataDir, 'agent'))).toBe(true);
    expect(readdirSync(home)).not.toContain('.kanade-agent');

    expect(await be.stop('SIGINT')).toBe(0);
    expect(alive(natsPid)).toBe(false);
    expect(existsSync(pidFile)).toBe(false);
    expect(agentPids()).toBe('');
  });

  it('puts a token on the embedded broker: the backend and its agent present it, installers carry it', async () => {
    const port = await freePort();
    const token = 'embedded-broker-token-0123456789';
    const tokened = await startBackend({
      env: {
        KANADE_EMBEDDED_NATS_PORT: String(port),
        KANADE_EMBEDDED_NATS_TOKEN: token,
        KANADE_LOCAL_AGENT: '1',
        HOME: home,
      },
    });
    try {
      // The local agent got the token (from its environment, not its command line).
      await eventually(
        async () => (await tokened.json<unknown[]>('/api/agents')).length === 1 || undefined,
        20_000,
        'the local agent',
      );
      const pid = execFileSync('sh', [
        '-c',
        `pgrep -f '[a]gent/dist/main.js --nats nats://127.0.0.1:${port}'`,
      ])
        .toString()
        .trim()
        .split('\n')[0]!;
      expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).not.toContain(token);
      // Nobody else gets in without it.
      await expect(connect({ servers: `nats://127.0.0.1:${port}`, reconnect: false })).rejects.toThrow();
      const nc = await connect({ servers: `nats://127.0.0.1:${port}`, token, reconnect: false });
      await nc.close();
      const conf = join(tokened.dataDir, 'nats', 'nats-server.conf');
      expect(statSync(conf).mode & 0o777).toBe(0o600);
      // Installers give new agents the broker's token when the settings name none.
      expect(await tokened.json('/api/agents/installer/info')).toMatchObject({
        nats_url: `nats://127.0.0.1:${port}`,
        loopback: true,
        nats_token_set: true,
      });
      expect(tokened.logs.join('\n')).not.toContain(token);
      expect(await tokened.stop('SIGINT')).toBe(0);
    } finally {
      await tokened.kill();
      removeDir(tokened.dataDir);
    }
  });
});
