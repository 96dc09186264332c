// Object-store keys and digests shared by backend, agent and CLI: release
// keys as upstream stores them, bundle keys, and the store's digest format.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  isObjectSegment,
  objectDigestHex,
  packageKey,
  parseBundleKey,
  parseReleaseKey,
  releaseKey,
} from '../src/index.js';

describe('release keys', () => {
  it('are <version> for Windows and <version>-<platform> otherwise, as upstream', () => {
    expect(releaseKey('0.2.0', 'windows')).toBe('0.2.0');
    expect(releaseKey('0.2.0', 'linux-x86_64')).toBe('0.2.0-linux-x86_64');
    expect(releaseKey('0.2.0', 'macos-aarch64')).toBe('0.2.0-macos-aarch64');
    expect(releaseKey('0.2.0', 'node')).toBe('0.2.0-node');
  });

  it('parse back, including versions that contain a hyphen', () => {
    expect(parseReleaseKey('1.0.0-rc1-linux-aarch64')).toEqual({
      version: '1.0.0-rc1',
      platform: 'linux-aarch64',
    });
    expect(parseReleaseKey('1.0.0-rc1')).toEqual({ version: '1.0.0-rc1', platform: 'windows' });
    expect(parseReleaseKey('2.0.0-node')).toEqual({ version: '2.0.0', platform: 'node' });
  });

  it('take plain segments only (no slash, no path tricks)', () => {
    expect(isObjectSegment('1.2.3+build.5')).toBe(true);
    for (const bad of ['', '../x', 'a/b', '.hidden', 'with space', 'x'.repeat(129)])
      expect(isObjectSegment(bad)).toBe(false);
    expect(packageKey('tool', '1.0')).toBe('tool/1.0');
  });
});

describe('bundle keys', () => {
  it('split into pc, job, optional label and time', () => {
    expect(parseBundleKey('pc-1/collect-logs/daily__2026-11-30T10:00:00Z.zip')).toEqual({
      pcId: 'pc-1',
      jobId: 'collect-logs',
      label: 'daily',
      collectedAt: '2026-11-30T10:00:00Z',
    });
    expect(parseBundleKey('pc-1/j/2026-11-30T10:00:00Z.zip')?.label).toBeNull();
    expect(parseBundleKey('pc-1/j.zip')).toBeUndefined();
    expect(parseBundleKey('pc-1/j/x.tar')).toBeUndefined();
  });
});

describe('object digests', () => {
  it('turn the store format SHA-256=<base64url> into lowercase hex', () => {
    const data = Buffer.from('kanade');
    const hex = createHash('sha256').update(data).digest('hex');
    const b64url = createHash('sha256').update(data).digest('base64url');
    expect(objectDigestHex(`SHA-256=${b64url}=`)).toBe(hex);
    expect(objectDigestHex(`SHA-256=${b64url}`)).toBe(hex);
    expect(objectDigestHex('MD5=abc')).toBeUndefined();
    expect(objectDigestHex('SHA-256=AAAA')).toBeUndefined();
  });
});
