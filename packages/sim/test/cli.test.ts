import { describe, expect, it } from 'vitest';
import { parseSimArgs } from '../src/cli.js';
import { connectionOptions } from '../src/connection.js';

describe('kanade-sim arguments', () => {
  it('defaults to upstream cadence and the env broker URL', () => {
    const c = parseSimArgs([], { KANADE_NATS_URL: 'nats://broker:4222' });
    expect(c).toMatchObject({
      natsUrl: 'nats://broker:4222',
      agents: 1000,
      durationMs: undefined,
      heartbeatMs: 30_000,
      hostPerfMs: 60_000,
      processPerf: false,
      prefix: 'sim',
    });
  });

  it('parses durations in humantime form', () => {
    const c = parseSimArgs([
      '--nats',
      'nats://x:1',
      '--agents',
      '100000',
      '--duration',
      '1m30s',
      '--heartbeat',
      '500ms',
      '--host-perf',
      '2s',
      '--process-perf',
      '--seed',
      '7',
    ]);
    expect(c).toMatchObject({
      natsUrl: 'nats://x:1',
      agents: 100_000,
      durationMs: 90_000,
      heartbeatMs: 500,
      hostPerfMs: 2000,
      processPerf: true,
      seed: 7,
    });
  });

  it('answers commands only when asked to; --run-time and --failure-rate imply it', () => {
    expect(parseSimArgs([]).commands).toBeUndefined();
    expect(parseSimArgs(['--commands']).commands).toEqual({ runMs: 1000, failureRate: 0 });
    expect(parseSimArgs(['--run-time', '2s', '--failure-rate', '0.1']).commands).toEqual({
      runMs: 2000,
      failureRate: 0.1,
    });
    expect(parseSimArgs(['--run-time', '0s']).commands).toEqual({ runMs: 0, failureRate: 0 });
    expect(() => parseSimArgs(['--run-time', 'soon'])).toThrow(/--run-time/);
    expect(() => parseSimArgs(['--failure-rate', '1.5'])).toThrow(/--failure-rate/);
    expect(() => parseSimArgs(['--failure-rate', ''])).toThrow(/--failure-rate/);
  });

  it('says which option is wrong', () => {
    expect(() => parseSimArgs(['--agents', '0'])).toThrow(/--agents/);
    expect(() => parseSimArgs(['--duration', 'soon'])).toThrow(/--duration/);
    expect(() => parseSimArgs(['--heartbeat', '0s'])).toThrow(/--heartbeat/);
    expect(() => parseSimArgs(['--bogus'])).toThrow();
  });
});

describe('simulator NATS connection options', () => {
  it('retries forever and takes credentials from the environment', () => {
    expect(connectionOptions('nats://x:1', 'kanade-sim/sim', {})).toEqual({
      servers: 'nats://x:1',
      name: 'kanade-sim/sim',
      reconnect: true,
      maxReconnectAttempts: -1,
      waitOnFirstConnect: true,
      noAsyncTraces: true,
    });
    expect(connectionOptions('nats://x:1', 'n', { KANADE_NATS_TOKEN: 't' }).token).toBe('t');
    expect(
      connectionOptions('nats://x:1', 'n', { KANADE_NATS_USER: 'u', KANADE_NATS_PASSWORD: 'p' }),
    ).toMatchObject({
      user: 'u',
      pass: 'p',
    });
  });
});
