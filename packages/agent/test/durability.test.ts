import { agentReplayDurable, STREAM, subject } from '@kanade/wire';
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

describe('agent across restarts and broker outages', () => {
  it('runs a command queued while it was offline once, and not again after restarts or a recreated durable', async () => {
    const dir = tempDir();
    const first = await startAgent(nats, 'dur-replay', dir);
    await first.agent.stop();

    const queued = command({ script: 'echo queued' });
    await wire.send(subject.commandsPc('dur-replay'), queued);
    const back = await startAgent(nats, 'dur-replay', dir);
    await until('the queued command to run', () => wire.resultsFor(queued.request_id).length === 1);
    expect(wire.resultsFor(queued.request_id)[0]).toMatchObject({ exit_code: 0, stdout: 'queued\n' });
    expect(
      back.logs.some((l) => l.includes(`(${queued.request_id}) from commands.pc.dur-replay (replay`)),
    ).toBe(true);
    await back.agent.stop();

    // A restart resumes after the ack; a durable deleted meanwhile is recreated with
    // LastPerSubject and hands the same command out again, which the on-disk record refuses.
    // The marker's result proves the agent is taking commands again when the count is checked.
    for (const deleteDurable of [false, true]) {
      const running = await startAgent(nats, 'dur-replay', dir);
      await running.agent.stop();
      if (deleteDurable) await wire.jsm.consumers.delete(STREAM.EXEC, agentReplayDurable('dur-replay'));
      const again = await startAgent(nats, 'dur-replay', dir);
      const marker = command({ script: 'echo marker' });
      await wire.send(subject.commandsPc('someone-else'), marker);
      await wire.send('commands.all', marker);
      await until('the marker', () => wire.resultsFor(marker.request_id).length === 1);
      await again.agent.stop();
    }
    expect(wire.resultsFor(queued.request_id)).toHaveLength(1);
    expect(await wire.storedResults(queued.request_id)).toBe(1);
  });

  it('delivers a result produced while the broker is down exactly once when it returns', async () => {
    const { outboxFiles, outboxResults } = await startAgent(nats, 'dur-outage');

    const cmd = command({ script: 'sleep 1.5; echo done' });
    await wire.send(subject.commandsPc('dur-outage'), cmd);
    await until('the started event', () => wire.startedFor(cmd.request_id).length === 1);
    await nats.kill();
    await until('the result in the outbox', () => outboxResults().includes(cmd.request_id));

    await nats.restart();
    await until('the outbox to drain', () => outboxFiles().length === 0, 30_000);
    await until('the result', async () => (await wire.storedResults(cmd.request_id)) === 1, 15_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(await wire.storedResults(cmd.request_id)).toBe(1);
    expect((await wire.storedResult(cmd.request_id))?.stdout).toBe('done\n');
  });

  it('keeps an unsent result across an agent restart and delivers it exactly once', async () => {
    const dir = tempDir();
    const first = await startAgent(nats, 'dur-restart', dir);
    const cmd = command({ script: 'sleep 1.5; echo kept' });
    await wire.send(subject.commandsPc('dur-restart'), cmd);
    await until('the started event', () => wire.startedFor(cmd.request_id).length === 1);
    await nats.kill();
    await until('the result in the outbox', () => first.outboxResults().includes(cmd.request_id));
    await first.agent.stop();
    expect(first.outboxResults().filter((id) => id === cmd.request_id)).toHaveLength(1);

    await nats.restart();
    const second = await startAgent(nats, 'dur-restart', dir);
    await until('the outbox to drain', () => second.outboxFiles().length === 0, 30_000);
    await until('the result', async () => (await wire.storedResults(cmd.request_id)) === 1, 15_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(await wire.storedResults(cmd.request_id)).toBe(1);
    expect(await wire.storedStarted(cmd.exec_id!, 'dur-restart')).toBe(1);
    const r = await wire.storedResult(cmd.request_id);
    expect(r).toMatchObject({ stdout: 'kept\n', exit_code: 0, pc_id: 'dur-restart' });
    expect(r!.result_id).toBe(wire.startedFor(cmd.request_id)[0]!.result_id);
  });
});
