// The Add agents page's pure parts: the one-liner (token masked on screen,
// whole when copied, quoted for the shell) and the name a downloaded
// installer is saved under.
import { describe, expect, it } from 'vitest';
import { filenameFrom } from '../src/lib/download.js';
import { maskToken, oneLiner } from '../src/lib/installer.js';

const ORIGIN = 'http://10.0.0.5:8080';

describe('installer one-liner', () => {
  it('carries the whole token when copied and six characters of it on screen', () => {
    const token = 'eyJhbGciOiJIUzI1NiJ9.payload.sig';
    const base = { origin: ORIGIN, os: 'linux', arch: 'x86_64', token };
    expect(oneLiner({ ...base, masked: false })).toBe(
      `curl -fsSL -H "Authorization: Bearer ${token}" "${ORIGIN}/api/agents/installer.sh?os=linux&arch=x86_64" | sudo sh`,
    );
    const shown = oneLiner({ ...base, masked: true });
    expect(shown).toContain('Bearer eyJhbG…"');
    expect(shown).not.toContain(token);
  });

  it('never shows more than half of a short token', () => {
    expect(maskToken('abcd')).toBe('ab…');
    expect(maskToken('a')).toBe('…');
  });

  it('sends no header when the backend needs no token', () => {
    expect(oneLiner({ origin: ORIGIN, os: 'linux', arch: 'aarch64', token: null, masked: true })).toBe(
      `curl -fsSL "${ORIGIN}/api/agents/installer.sh?os=linux&arch=aarch64" | sudo sh`,
    );
  });

  it('single-quotes a token the shell would expand inside double quotes', () => {
    const line = oneLiner({ origin: ORIGIN, os: 'linux', arch: 'x86_64', token: "a$b'c", masked: false });
    expect(line).toContain(`-H 'Authorization: Bearer a$b'\\''c' `);
  });
});

describe('download file name', () => {
  it('takes filename*, then filename, then the fallback', () => {
    expect(filenameFrom(`attachment; filename="a.tar.gz"; filename*=UTF-8''%E5%A5%8F.tar.gz`, 'x')).toBe(
      '奏.tar.gz',
    );
    expect(filenameFrom('attachment; filename="kanade-agent-0.1.0-linux-x86_64.tar.gz"', 'x')).toBe(
      'kanade-agent-0.1.0-linux-x86_64.tar.gz',
    );
    expect(filenameFrom('attachment; filename=plain.tgz', 'x')).toBe('plain.tgz');
    expect(filenameFrom('attachment', 'fallback.tar.gz')).toBe('fallback.tar.gz');
    expect(filenameFrom(null, 'fallback.tar.gz')).toBe('fallback.tar.gz');
  });

  it('drops directories a server puts in the name', () => {
    expect(filenameFrom('attachment; filename="../../etc/passwd"', 'x')).toBe('passwd');
  });
});
