// The backend with the real agent: POST /api/run runs `echo` and returns its
// result, ping answers with a fresh heartbeat, a revoked job is skipped
// (exit 126), kill stops a running child long before its script would end,
// the live tail shows a running job's output, and a run nobody answers is a
// 408 after timeout + 10 s.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, removeDir, startBackend, type TestBackend } from '../../../test-support/backend.js';
import { startNats, type TestNats } from '../../../test-support/nats-server.js';
import { type Agent, createAgent } from '../../agent/src/index.js';

const PC = 'agent-e2e';
let nats: TestNats;
let be: TestBackend;
let agent: Agent;
let stateDir: string;

beforeAll(async () => {
  nats = await startNats();
  be = await startBackend({ natsUrl: nats.url });
  stateDir = mkdtempSync(join(tmpdir(), 'kanade-agent-state-'));
  agent = createAgent({ natsUrl: nats.url, pcId: PC, stateDir, heartbeatMs: 1000, hostPerfMs: 3_600_000 });
  await agent.start();
  await eventually(
    async () => (await be.fetch(`/api/agents/${PC}`)).status === 200,
    15_000,
    'agent registered',
  );
});
afterAll(async () => {
  await agent?.stop();
  if (stateDir) removeDir(stateDir);
  await be?.kill();
  if (be) removeDir(be.dataDir);
  await nats?.stop();
});

async function post(path: string, body?: unknown) {
  return be.fetch(path, {
    method: 'POST',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function job(id: string, script: string, timeout = '60s') {
  const r = await post('/api/jobs', { id, version: '1.0.0', execute: { shell: 'sh', script, timeout } });
  expect(r.status).toBe(200);
}

interface Row {
  result_id: string;
  pc_id: string;
  exit_code: number | null;
  skipped: boolean;
  finished_at: string | null;
  started_at: string;
  stdout: string;
}

async function resultsOf(execId: string): Promise<Row[]> {
  return be.json<Row[]>(`/api/results?exec_id=^${execId}$`);
}

describe('with the real agent', () => {
  it('POST /api/run returns the result of echo', async () => {
    const r = await post('/api/run', {
      pc_id: PC,
      shell: 'sh',
      script: 'echo hello from kanade',
      timeout_secs: 20,
    });
    expect(r.status).toBe(200);
    const result = (await r.json()) as Record<string, unknown>;
    expect(result).toMatchObject({ pc_id: PC, exit_code: 0 });
    expect(result.stdout).toBe('hello from kanade\n');
    // It is also projected for the Activity pages.
    await eventually(
      async () => (await be.fetch(`/api/results/${result.result_id}`)).status === 200,
      10_000,
      'run result projected',
    );
  });

  it('ping answers with a fresh heartbeat', async () => {
    const r = await post(`/api/agents/${PC}/ping?wait_secs=5`);
    expect(r.status).toBe(200);
    const { heartbeat } = (await r.json()) as { heartbeat: { pc_id: string; at: string } };
    expect(heartbeat.pc_id).toBe(PC);
    expect(Date.now() - Date.parse(heartbeat.at)).toBeLessThan(5000);
    expect((await post('/api/agents/nobody-here/ping?wait_secs=1')).status).toBe(408);
  });

  it('skips a revoked job with exit 126', async () => {
    await job('revoked-job', 'echo should not run');
    expect((await post('/api/scripts/revoked-job/revoke')).status).toBe(204);
    const e = (await (await post('/api/exec/revoked-job', { target: { pcs: [PC] } })).json()) as {
      exec_id: string;
    };
    const rows = await eventually(
      async () => {
        const r = await resultsOf(e.exec_id);
        return r[0]?.finished_at ? r : undefined;
      },
      15_000,
      'skip result',
    );
    expect(rows[0]).toMatchObject({ exit_code: 126, skipped: true, stdout: '' });
  });

  it('kill stops a running child and the live tail shows its output while it runs', async () => {
    await job('sleeper', 'echo started; sleep 60; echo finished');
    const e = (await (await post('/api/exec/sleeper', { target: { pcs: [PC] } })).json()) as {
      exec_id: string;
    };
    const [running] = await eventually(
      async () => {
        const r = await resultsOf(e.exec_id);
        return r.length === 1 && !r[0]!.finished_at ? r : undefined;
      },
      15_000,
      'in-flight row',
    );
    const tail = await eventually(
      async () => {
        const t = (await be.json(`/api/results/${running!.result_id}/tail`)) as {
          live: boolean;
          stdout: string;
        };
        return t.live && t.stdout.includes('started') ? t : undefined;
      },
      10_000,
      'live tail',
    );
    expect(tail).toMatchObject({ running: true, live: true });
    const killedAt = Date.now();
    expect((await post('/api/jobs/sleeper/kill')).status).toBe(204);
    const [done] = await eventually(
      async () => {
        const r = await resultsOf(e.exec_id);
        return r[0]?.finished_at ? r : undefined;
      },
      20_000,
      'killed result',
    );
    expect(Date.now() - killedAt).toBeLessThan(15_000);
    expect(done!.exit_code).not.toBe(0);
    expect(done!.stdout).not.toContain('finished');
  });

  it('a run nobody answers is a 408 after timeout + 10 s', async () => {
    const started = Date.now();
    const r = await post('/api/run', { pc_id: 'offline-pc', shell: 'sh', script: 'true', timeout_secs: 1 });
    expect(r.status).toBe(408);
    expect(((await r.json()) as { code: string }).code).toBe('KANADE_ERR_REQUEST_TIMEOUT');
    expect(Date.now() - started).toBeGreaterThanOrEqual(10_500);
  }, 30_000);
});
