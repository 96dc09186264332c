// Self-update's pure decision and its state files: which target is tried,
// and what survives a restart (current release, boot sentinel, quarantine).
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createReleaseState } from '../src/release-state.js';
import { updateTarget } from '../src/self-update.js';

describe('updateTarget', () => {
  it('moves only to another, unquarantined, well-formed version', () => {
    expect(updateTarget('0.2.0', '0.1.0', [])).toBe('0.2.0');
    expect(updateTarget(null, '0.1.0', [])).toBeUndefined();
    expect(updateTarget('0.1.0', '0.1.0', [])).toBeUndefined();
    expect(updateTarget('0.2.0', '0.1.0', ['0.2.0'])).toBeUndefined();
    expect(updateTarget('../../etc/passwd', '0.1.0', [])).toBeUndefined();
  });
});

describe('release state', () => {
  it('keeps the current release, the boot sentinel and the quarantine list across restarts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kanade-release-state-'));
    const s = createReleaseState(dir);
    expect(s.current()).toBeUndefined();
    expect(s.quarantined()).toEqual([]);
    const file = join(s.dir, '0.2.0.mjs');
    s.setBoot({ version: '0.2.0', file });
    expect(createReleaseState(dir).boot()).toMatchObject({ version: '0.2.0', file });
    s.clearBoot();
    expect(s.boot()).toBeUndefined();
    // current.json points at a bundle that must still exist.
    s.setCurrent({ version: '0.2.0', file });
    expect(s.current()).toBeUndefined();
    writeFileSync(file, '// bundle');
    expect(createReleaseState(dir).current()).toEqual({ version: '0.2.0', file });
    s.setCurrent({ version: '0.1.0', file: null });
    expect(s.current()).toBeUndefined();
    expect(s.quarantine('0.3.0')).toEqual(['0.3.0']);
    expect(s.quarantine('0.3.0')).toEqual(['0.3.0']);
    expect(createReleaseState(dir).quarantined()).toEqual(['0.3.0']);
    writeFileSync(join(s.dir, '0.3.0.mjs'), 'x');
    s.prune([file]);
    expect(readdirSync(s.dir).filter((f) => f.endsWith('.mjs'))).toEqual(['0.2.0.mjs']);
  });
});
