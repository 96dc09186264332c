import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  EXIT_CODE,
  Heartbeat,
  JobTailReply,
  KV,
  OBJ,
  resultOutputKey,
  SCRIPT_STATUS,
  subject,
  toRfc3339,
} from '@kanade/wire';
import { Kvm } from '@nats-io/kv';
import { Objm } from '@nats-io/obj';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNats, type TestNats } from '../../../test-support/nats-server.js';
import { command, openWire, startAgent, tempDir, until, type Wire } from './support.js';

let nats: TestNats;
let wire: Wire;
beforeAll(async () => {
  nats = await startNats();
  wire = await openWire(nats);
});
afterAll(async () => {
  await wire?.close();
  await nats?.stop();
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('agent runs commands from EXEC', () => {
  it('runs `echo hi` from commands.pc.{pc}: started event first, then the result with stdout and exit 0', async () => {
    const hb = wire.nc.subscribe('heartbeat.cmd-echo', { max: 1 });
    await wire.nc.flush();
    const { agent } = await startAgent(nats, 'cmd-echo');
    const cmd = command({ script: 'echo hi' });
    await wire.send(subject.commandsPc('cmd-echo'), cmd);
    await until('the result', () => wire.resultsFor(cmd.request_id).length === 1);

    const [r] = wire.resultsFor(cmd.request_id);
    expect(r).toMatchObject({
      request_id: cmd.request_id,
      exec_id: cmd.exec_id,
      pc_id: 'cmd-echo',
      exit_code: 0,
      stdout: 'hi\n',
      stderr: '',
      manifest_id: cmd.id,
    });
    expect(r!.skipped).toBeUndefined();
    expect(r!.result_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const [ev] = wire.startedFor(cmd.request_id);
    expect(ev).toMatchObject({
      result_id: r!.result_id,
      exec_id: cmd.exec_id,
      pc_id: 'cmd-echo',
      version: '1.0.0',
    });
    expect(wire.arrivals.filter((a) => a.endsWith(cmd.request_id))).toEqual([
      `started:${cmd.request_id}`,
      `result:${cmd.request_id}`,
    ]);
    expect(Date.parse(ev!.started_at)).toBeLessThanOrEqual(Date.parse(r!.finished_at));
    expect(await wire.storedResults(cmd.request_id)).toBe(1);

    for await (const m of hb) expect(Heartbeat.parse(m.json()).command_protocols).toEqual(['legacy']);
    const ping = Heartbeat.parse(
      (await wire.nc.request(subject.agentPing('cmd-echo'), '', { timeout: 5000 })).json(),
    );
    expect(ping).toMatchObject({ pc_id: 'cmd-echo', agent_version: agent.identity.agentVersion });
  });

  it('follows its groups from agent_groups and agent_groups_derived and runs each request_id once', async () => {
    const kvm = new Kvm(wire.nc);
    await (await kvm.open(KV.AGENT_GROUPS)).put('cmd-groups', JSON.stringify({ groups: ['lab'] }));
    const { logs } = await startAgent(nats, 'cmd-groups');
    const both = command({ script: 'echo both' });
    const other = command({ script: 'echo other' });
    const elsewhere = command({ script: 'echo elsewhere' });
    // One request_id on two subjects (as an exec to all + a group publishes it): runs once.
    await wire.send('commands.all', both);
    await wire.send(subject.commandsGroup('lab'), both);
    await wire.send(subject.commandsGroup('other'), other);
    await wire.send(subject.commandsPc('someone-else'), elsewhere);

    // The derived bucket joins a second group live.
    await (await kvm.open(KV.AGENT_GROUPS_DERIVED)).put('cmd-groups', JSON.stringify({ groups: ['ops'] }));
    await until('the derived group', () => logs.some((l) => l.includes('groups: lab, ops')));
    const ops = command({ script: 'echo ops' });
    await wire.send(subject.commandsGroup('ops'), ops);
    await until('the ops result', () => wire.resultsFor(ops.request_id).length === 1);

    expect(wire.resultsFor(both.request_id).map((r) => r.stdout)).toEqual(['both\n']);
    expect(wire.resultsFor(other.request_id)).toEqual([]);
    expect(wire.resultsFor(elsewhere.request_id)).toEqual([]);
  });

  it('kill.{exec_id} stops a running `sleep 30` and the child the shell started', async () => {
    await startAgent(nats, 'cmd-kill');
    const pidFile = join(tempDir(), 'child.pid');
    const cmd = command({ script: `sleep 30 & echo $! > ${pidFile}; wait`, timeout_secs: 60 });
    const sent = Date.now();
    await wire.send(subject.commandsPc('cmd-kill'), cmd);
    await until(
      'the child to start',
      () => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '',
    );
    const child = Number(readFileSync(pidFile, 'utf8'));
    expect(alive(child)).toBe(true);

    wire.nc.publish(subject.kill(cmd.exec_id!));
    await until('the killed result', () => wire.resultsFor(cmd.request_id).length === 1);
    const [r] = wire.resultsFor(cmd.request_id);
    expect(r!.exit_code).toBe(EXIT_CODE.ABORTED);
    expect(r!.stderr).toContain(`killed by remote signal (kill.${cmd.exec_id})`);
    expect(Date.now() - sent).toBeLessThan(10_000);
    await until('the child to be gone', () => !alive(child), 5000);
  });

  it('kills a run at its timeout', async () => {
    await startAgent(nats, 'cmd-timeout');
    const cmd = command({ script: 'echo before; sleep 30', timeout_secs: 1 });
    await wire.send(subject.commandsPc('cmd-timeout'), cmd);
    await until('the timed-out result', () => wire.resultsFor(cmd.request_id).length === 1, 10_000);
    const [r] = wire.resultsFor(cmd.request_id);
    expect(r).toMatchObject({ exit_code: EXIT_CODE.ABORTED, stdout: 'before\n', stderr: 'timeout after 1s' });
    const ms = Date.parse(r!.finished_at) - Date.parse(r!.started_at);
    expect(ms).toBeGreaterThanOrEqual(1000);
    expect(ms).toBeLessThan(4000);
  });

  it('skips revoked (126), version-pinned (124) and expired-deadline (125) commands without running them', async () => {
    const kvm = new Kvm(wire.nc);
    const status = await kvm.open(KV.SCRIPT_STATUS);
    const current = await kvm.open(KV.SCRIPT_CURRENT);
    await startAgent(nats, 'cmd-skip');
    const revoked = command({ script: 'echo ran' });
    await status.put(revoked.id, SCRIPT_STATUS.REVOKED);
    const pinned = command({ script: 'echo ran', version: '1.0.0' });
    await current.put(pinned.id, '2.0.0');
    const late = command({ script: 'echo ran', deadline_at: toRfc3339(Date.now() - 60_000) });
    const onTime = command({ script: 'echo ran', deadline_at: toRfc3339(Date.now() + 60_000) });
    await current.put(onTime.id, '1.0.0');
    await status.put(onTime.id, SCRIPT_STATUS.ACTIVE);
    for (const c of [revoked, pinned, late, onTime]) await wire.send(subject.commandsPc('cmd-skip'), c);
    await until('four results', () =>
      [revoked, pinned, late, onTime].every((c) => wire.resultsFor(c.request_id).length === 1),
    );

    const one = (c: { request_id: string }) => wire.resultsFor(c.request_id)[0]!;
    expect(one(revoked)).toMatchObject({ exit_code: 126, skipped: true, stdout: '' });
    expect(one(revoked).stderr).toContain('revoked');
    expect(one(pinned)).toMatchObject({ exit_code: 124, skipped: true, stdout: '' });
    expect(one(pinned).stderr).toContain('script_current has 2.0.0');
    expect(one(late)).toMatchObject({ exit_code: 125, skipped: true, stdout: '' });
    expect(one(late).stderr).toContain('starting deadline expired');
    expect(one(onTime)).toMatchObject({ exit_code: 0, stdout: 'ran\n' });
    expect(one(onTime).skipped).toBeUndefined();
    for (const c of [revoked, pinned, late]) expect(wire.startedFor(c.request_id)).toEqual([]);
  });

  it('reports what it cannot start: a shell this OS lacks (122, skipped), a missing cwd, an unusable script', async () => {
    await startAgent(nats, 'cmd-cannot');
    const cmdShell = command({ shell: 'cmd', script: 'dir' });
    const noCwd = command({ cwd: '/no/such/dir' });
    const nul = command({ script: 'echo a\u0000b' });
    for (const c of [cmdShell, noCwd, nul]) await wire.send(subject.commandsPc('cmd-cannot'), c);
    await until('three results', () =>
      [cmdShell, noCwd, nul].every((c) => wire.resultsFor(c.request_id).length === 1),
    );
    const one = (c: { request_id: string }) => wire.resultsFor(c.request_id)[0]!;
    expect(one(cmdShell)).toMatchObject({ exit_code: 122, skipped: true });
    expect(one(noCwd)).toMatchObject({
      exit_code: -1,
      stderr: 'cannot run: cwd /no/such/dir does not exist',
    });
    expect(one(noCwd).skipped).toBeUndefined();
    expect(one(nul).exit_code).toBe(-1);
    expect(one(nul).stderr).toContain('cannot start sh');
  });

  it('puts output over 256 KB into result_output and points at it from the result', async () => {
    await startAgent(nats, 'cmd-big');
    const cmd = command({ script: "head -c 300000 /dev/zero | tr '\\0' a; echo small >&2" });
    await wire.send(subject.commandsPc('cmd-big'), cmd);
    await until('the result', () => wire.resultsFor(cmd.request_id).length === 1);
    const [r] = wire.resultsFor(cmd.request_id);
    const key = resultOutputKey(cmd.request_id, 'cmd-big', 'stdout');
    expect(r).toMatchObject({ exit_code: 0, stdout: '', stdout_object: key, stderr: 'small\n' });
    expect(r!.stderr_object).toBeUndefined();
    const blob = await (await new Objm(wire.nc).open(OBJ.RESULT_OUTPUT)).getBlob(key);
    expect(blob?.length).toBe(300_000);
    expect(Buffer.from(blob!).toString('utf8')).toBe('a'.repeat(300_000));
  });

  it('answers job.tail.{pc} with the live output of a running command, then its final tail', async () => {
    await startAgent(nats, 'cmd-tail');
    const cmd = command({ script: 'echo first; sleep 2; echo second' });
    await wire.send(subject.commandsPc('cmd-tail'), cmd);
    await until('the started event', () => wire.startedFor(cmd.request_id).length === 1);
    const resultId = wire.startedFor(cmd.request_id)[0]!.result_id;
    const tail = async (id: string) =>
      JobTailReply.parse(
        (
          await wire.nc.request(subject.jobTail('cmd-tail'), JSON.stringify({ result_id: id }), {
            timeout: 5000,
          })
        ).json(),
      );
    let live = await tail(resultId);
    await until('the first line', async () => {
      live = await tail(resultId);
      return live.stdout === 'first\n';
    });
    expect(live).toMatchObject({ found: true, running: true, stdout_truncated: false });

    await until('the result', () => wire.resultsFor(cmd.request_id).length === 1);
    expect(await tail(resultId)).toMatchObject({ found: true, running: false, stdout: 'first\nsecond\n' });
    expect(await tail('no-such-result')).toMatchObject({ found: false, running: false });
  });

  it('retries a failed attempt as the command asks and reports only the last one', async () => {
    await startAgent(nats, 'cmd-retry');
    const marker = join(tempDir(), 'tried');
    const cmd = command({
      script: `if [ -f ${marker} ]; then echo second; else touch ${marker}; echo first; exit 3; fi`,
      retry: { max: 2, backoff_secs: 0 },
    });
    await wire.send(subject.commandsPc('cmd-retry'), cmd);
    await until('the result', () => wire.resultsFor(cmd.request_id).length === 1);
    expect(wire.resultsFor(cmd.request_id)[0]).toMatchObject({
      exit_code: 0,
      stdout: 'second\n',
      stderr: 'succeeded after 1 retry',
    });
  });
});
