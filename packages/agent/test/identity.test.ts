import { describe, expect, it } from 'vitest';
import { parseAgentArgs } from '../src/cli.js';
import { connectionOptions } from '../src/connection.js';
import { detectIdentity, lastLogonUser, osFamilyOf, pcIdFromHostname } from '../src/identity.js';
import { AGENT_VERSION } from '../src/version.js';

describe('agent identity', () => {
  it('turns a hostname into one lowercase subject token', () => {
    expect(pcIdFromHostname('Build-01.corp.example')).toBe('build-01-corp-example');
    expect(pcIdFromHostname('My PC*>x')).toBe('my-pc--x');
    expect(pcIdFromHostname('')).toBe('localhost');
  });

  it('maps platforms to upstream os_family values', () => {
    expect(osFamilyOf('win32')).toBe('windows');
    expect(osFamilyOf('darwin')).toBe('macos');
    expect(osFamilyOf('linux')).toBe('linux');
    expect(osFamilyOf('aix')).toBeNull();
  });

  it('reports the user from the environment, or null', () => {
    expect(lastLogonUser('linux', { USER: 'alice' })).toBe('alice');
    expect(lastLogonUser('linux', {})).toBeNull();
    expect(lastLogonUser('win32', { USERNAME: 'bob', USER: 'x' })).toBe('bob');
  });

  it('reports the package version and refuses a pc_id that is not a token', () => {
    expect(AGENT_VERSION).toMatch(/^\d+\.\d+\.\d+/);
    expect(detectIdentity('pc-7').pcId).toBe('pc-7');
    expect(() => detectIdentity('a.b')).toThrow(/pc_id/);
  });
});

describe('kanade-agent arguments', () => {
  it('uses KANADE_NATS_URL and upstream intervals by default', () => {
    expect(parseAgentArgs([], { KANADE_NATS_URL: 'nats://b:4222' })).toEqual({
      help: false,
      natsUrl: 'nats://b:4222',
      pcId: undefined,
      heartbeatMs: 30_000,
      hostPerfMs: 60_000,
      selfUpdateEnabled: true,
      bootTimeoutMs: 60_000,
    });
    expect(parseAgentArgs(['--no-self-update', '--boot-timeout', '10s'])).toMatchObject({
      selfUpdateEnabled: false,
      bootTimeoutMs: 10_000,
    });
    expect(parseAgentArgs([], { KANADE_AGENT_SELF_UPDATE: '0' }).selfUpdateEnabled).toBe(false);
  });

  it('prefers --nats and parses durations', () => {
    const c = parseAgentArgs(
      ['--nats', 'nats://a:1', '--pc-id', 'x', '--heartbeat', '5s', '--host-perf', '1m'],
      {
        KANADE_NATS_URL: 'nats://b:4222',
      },
    );
    expect(c).toMatchObject({ natsUrl: 'nats://a:1', pcId: 'x', heartbeatMs: 5000, hostPerfMs: 60_000 });
    expect(() => parseAgentArgs(['--heartbeat', 'often'])).toThrow(/--heartbeat/);
  });
});

describe('agent NATS connection options', () => {
  it('names the connection kanade-agent/<pc_id>, retries forever and reads credentials from the environment', () => {
    expect(connectionOptions('nats://x:1', 'pc-1', {})).toEqual({
      servers: 'nats://x:1',
      name: 'kanade-agent/pc-1',
      reconnect: true,
      maxReconnectAttempts: -1,
      waitOnFirstConnect: true,
    });
    expect(connectionOptions('nats://x:1', 'pc-1', { KANADE_NATS_TOKEN: 't' }).token).toBe('t');
    expect(connectionOptions('nats://a:1, nats://b:1,', 'pc-1', {}).servers).toEqual([
      'nats://a:1',
      'nats://b:1',
    ]);
    expect(connectionOptions('nats://x:1', 'pc-1', { KANADE_NATS_USER: 'u' })).toMatchObject({
      user: 'u',
      pass: '',
    });
  });
});
