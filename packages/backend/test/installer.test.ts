// The installer's small helpers: shell quoting (checked by a real sh), the
// loopback test that decides the Add agents page's warning, and the broker
// URL an agent is given when the settings name none (without the backend's
// own credentials).
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { isLoopbackUrl, shQuote, withoutCredentials } from '../src/services/installer.js';
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
});
