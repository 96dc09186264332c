// Agent self-update end to end: the built agent runs as a service would
// (one `kanade-agent` process), release bundles are built with
// scripts/build-agent-release.mjs and published and rolled out with the
// built CLI. A good release replaces the running version (a new node process
// on the downloaded bundle, the launcher staying as its parent); a release
// that crashes at start and one that never reports healthy are both
// quarantined, reported in the heartbeat's `quarantined_versions`, and the
// previous release keeps running; SIGTERM stops the launcher and its child.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, removeDir, startBackend, type TestBackend } from '../../../test-support/backend.js';
import { startNats, type TestNats } from '../../../test-support/nats-server.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = join(ROOT, 'packages/cli/dist/main.js');
const AGENT = join(ROOT, 'packages/agent/dist/main.js');
const PC = 'self-update-pc';

let nats: TestNats;
let be: TestBackend;
let work: string;
let agent: ChildProcess;
const agentLog: string[] = [];

beforeAll(async () => {
  nats = await startNats();
  be = await startBackend({ natsUrl: nats.url });
  work = mkdtempSync(join(tmpdir(), 'kanade-self-update-'));
  agent = spawn(
    process.execPath,
    [
      AGENT,
      '--nats',
      nats.url,
      '--pc-id',
      PC,
      '--state-dir',
      join(work, 'state'),
      '--heartbeat',
      '1s',
      '--boot-timeout',
      '6s',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  agent.stderr!.on('data', (d) => agentLog.push(...String(d).trimEnd().split('\n')));
  await eventually(
    async () => (await be.fetch(`/api/agents/${PC}`)).status === 200,
    20_000,
    'agent registered',
  );
});
afterAll(async () => {
  if (agent && agent.exitCode === null) agent.kill('SIGKILL');
  await be?.kill();
  if (be) removeDir(be.dataDir);
  await nats?.stop();
  if (work) removeDir(work);
});

function kanade(args: string[]): { code: number; stdout: string; stderr: string } {
  try {
    const stdout = execFileSync(process.execPath, [CLI, ...args], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: work,
        KANADE_BACKEND_URL: be.url,
        KANADE_AUTH_TOKEN: be.token,
      },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return { code: 0, stdout, stderr: '' };
  } catch (err) {
    const e = err as { status: number; stdout: string; stderr: string };
    return { code: e.status, stdout: e.stdout, stderr: e.stderr };
  }
}

interface AgentView {
  agent_version: string | null;
  quarantined_versions?: string[];
}

const view = () => be.json<AgentView>(`/api/agents/${PC}`);

/** The pids of processes whose parent is `pid`. */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

function publish(file: string, version: string) {
  const r = kanade(['agent', 'publish', file, '--version', version]);
  expect(r.code, r.stderr).toBe(0);
}

function rollout(version: string) {
  const r = kanade(['agent', 'rollout', version, '--pc', PC, '--jitter', '0s']);
  expect(r.code, r.stderr).toBe(0);
}

describe('agent self-update', () => {
  it('moves to a published release: a new process on the verified bundle, the launcher as its parent', async () => {
    const bundle = join(work, 'kanade-agent-7.0.0.mjs');
    execFileSync(process.execPath, [
      join(ROOT, 'scripts/build-agent-release.mjs'),
      '--version',
      '7.0.0',
      '--out',
      bundle,
    ]);
    publish(bundle, '7.0.0');
    rollout('7.0.0');
    await eventually(async () => (await view()).agent_version === '7.0.0', 30_000, 'agent on 7.0.0');
    // The new agent heartbeats (the version above) before it reports healthy to the launcher, which only
    // then records the release: wait for that record rather than read it at once.
    await eventually(
      async () => existsSync(join(work, 'state', 'releases', 'current.json')),
      10_000,
      'the release recorded as current',
    );
    const kids = childrenOf(agent.pid!);
    expect(kids).toHaveLength(1);
    expect(readFileSync(`/proc/${kids[0]}/cmdline`, 'utf8')).toContain(
      join('state', 'releases', '7.0.0.mjs'),
    );
    expect(JSON.parse(readFileSync(join(work, 'state', 'releases', 'current.json'), 'utf8'))).toMatchObject({
      version: '7.0.0',
    });
    expect(existsSync(join(work, 'state', 'releases', 'boot.json'))).toBe(false);
  });

  it('quarantines a release that crashes at start and keeps running the previous one', async () => {
    const broken = join(work, 'broken.mjs');
    writeFileSync(broken, '// kanade-agent release bundle\nthrow new Error("this build is broken");\n');
    publish(broken, '7.0.1');
    rollout('7.0.1');
    const v = await eventually(
      async () => {
        const a = await view();
        return a.quarantined_versions?.includes('7.0.1') ? a : undefined;
      },
      30_000,
      '7.0.1 quarantined',
    );
    expect(v.agent_version).toBe('7.0.0');
    expect(agentLog.join('\n')).toContain(
      'release 7.0.1 exited with 1 before it reported healthy: quarantined',
    );
    const current = JSON.parse(kanade(['agent', 'current', '--json']).stdout);
    expect(current.quarantined).toEqual([{ version: '7.0.1', agents: 1 }]);
  });

  it('quarantines a release that never reports healthy within the boot timeout', async () => {
    const silent = join(work, 'silent.mjs');
    writeFileSync(silent, '// kanade-agent release bundle\nsetInterval(() => {}, 1000);\n');
    publish(silent, '7.0.2');
    rollout('7.0.2');
    const v = await eventually(
      async () => {
        const a = await view();
        return a.quarantined_versions?.includes('7.0.2') ? a : undefined;
      },
      40_000,
      '7.0.2 quarantined',
    );
    expect(v).toMatchObject({ agent_version: '7.0.0', quarantined_versions: ['7.0.1', '7.0.2'] });
    expect(agentLog.join('\n')).toContain('no healthy report within 6s');
    expect(childrenOf(agent.pid!)).toHaveLength(1);
    // A quarantined target is not tried again.
    await eventually(async () => agentLog.join('\n').includes('not moving to 7.0.2 (quarantined'), 10_000);
    expect(childrenOf(agent.pid!)).toHaveLength(1);
  });

  it('stops the launcher and its release child on SIGTERM', async () => {
    const [child] = childrenOf(agent.pid!);
    const exited = new Promise<number | null>((r) => agent.once('exit', (code) => r(code)));
    agent.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(existsSync(`/proc/${child}`)).toBe(false);
  });
});
