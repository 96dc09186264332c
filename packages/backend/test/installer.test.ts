// The installer's small helpers: shell quoting (checked by a real sh), the
// loopback test that decides the Add agents page's warning, and the broker
// URL an agent is given when the settings name none (without the backend's
// own credentials).
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { isLoopbackUrl, pickBroker, shQuote, withoutCredentials } from '../src/services/installer.js';
import { tar } from '../src/services/tar.js';

describe('installer helpers', () => {
  it('quotes any token for sh', () => {
    for (const s of ["it's", "'';rm -rf /", '$(id) `id` "x" \\n', 'eyJhbGciOi.J9.x-_', '']) {
      expect(execFileSync('sh', ['-c', `printf %s ${shQuote(s)}`], { encoding: 'utf8' })).toBe(s);
    }
  });

  it('tells loopback broker URLs from reachable ones', () => {
    expect(isLoopbackUrl('nats://127.0.0.1:4222')).toBe(true);
    expect(isLoopbackUrl('nats://localhost:4222,nats://127.0.0.2:4223')).toBe(true);
    expect(isLoopbackUrl('nats://[::1]:4222')).toBe(true);
    expect(isLoopbackUrl('nats://10.0.0.5:4222')).toBe(false);
    expect(isLoopbackUrl('nats://127.0.0.1:4222,nats://broker:4222')).toBe(false);
    expect(isLoopbackUrl('tls://nats.example.com')).toBe(false);
  });

  it('removes credentials from each URL of the backend broker list', () => {
    expect(withoutCredentials('nats://backend:pw@n1:4222, nats://tok@n2:4222')).toBe(
      'nats://n1:4222,nats://n2:4222',
    );
    expect(withoutCredentials('nats://127.0.0.1:4222')).toBe('nats://127.0.0.1:4222');
  });

  it('writes a tar that the system tar lists, and refuses paths ustar cannot hold', () => {
    const archive = tar([
      { path: 'a/run.sh', mode: 0o755, data: '#!/bin/sh\necho hi\n' },
      { path: 'a/empty', mode: 0o600, data: '' },
      { path: 'a/block', mode: 0o644, data: new Uint8Array(512) },
    ]);
    expect(archive.length % 512).toBe(0);
    const listing = execFileSync('tar', ['-tvf', '-'], { input: archive, encoding: 'utf8' });
    expect(listing).toMatch(/-rwxr-xr-x .* 18 .* a\/run\.sh/);
    expect(listing).toMatch(/-rw------- .* 0 .* a\/empty/);
    expect(listing).toMatch(/-rw-r--r-- .* 512 .* a\/block/);
    expect(() => tar([{ path: 'x'.repeat(101), mode: 0o644, data: '' }])).toThrow(/1-100 bytes/);
  });

  it('picks the broker installers carry: settings, an embedded broker on the LAN, or the backend own', () => {
    const lan = { host: '0.0.0.0', port: 4222, token: 'generated-token-1234567' };
    // The settings win, and their token over the embedded broker's.
    expect(
      pickBroker({ nats_url: 'nats://b:4222', nats_token: 't' }, lan, 'nats://127.0.0.1:4222', 'k.lan'),
    ).toEqual({ url: 'nats://b:4222', source: 'settings', token: 't' });
    expect(pickBroker({ nats_url: 'nats://b:4222' }, lan, undefined, 'k.lan').token).toBe(lan.token);
    // An embedded broker on every interface: at the name the dashboard was reached by.
    expect(pickBroker({}, lan, 'nats://127.0.0.1:4222', 'kanade.lan')).toEqual({
      url: 'nats://kanade.lan:4222',
      source: 'backend',
      token: lan.token,
    });
    expect(pickBroker({}, { ...lan, host: '10.0.0.5' }, 'nats://127.0.0.1:4222', 'kanade.lan').url).toBe(
      'nats://10.0.0.5:4222',
    );
    expect(pickBroker({}, { ...lan, host: '::' }, undefined, 'fd00::5').url).toBe('nats://[fd00::5]:4222');
    // On loopback, or an external broker: the backend's own URL, without its credentials.
    expect(
      pickBroker({}, { host: '127.0.0.1', port: 4222, token: undefined }, 'nats://127.0.0.1:4222', 'x'),
    ).toEqual({
      url: 'nats://127.0.0.1:4222',
      source: 'backend',
      token: undefined,
    });
    expect(pickBroker({}, undefined, 'nats://svc:pw@n1:4222,nats://n2:4222', 'x').url).toBe(
      'nats://n1:4222,nats://n2:4222',
    );
  });
});
