import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Command, SCRIPT_STATUS, toRfc3339 } from '@kanade/wire';
import { describe, expect, it } from 'vitest';
import { isForMe, parseGroups } from '../src/groups.js';
import { openHandledSet, RETAIN_MS } from '../src/handled.js';
import { triage } from '../src/intake.js';
import { createLiveTails, TAIL_GRACE_MS } from '../src/live-tail.js';
import { createCapture, createRing } from '../src/output.js';
import { preflight, retryNote, withNotes } from '../src/preflight.js';
import { invocationFor } from '../src/shell.js';
import { command, tempDir } from './support.js';

const view = (over: Partial<{ current: string; status: string; unreadable: boolean }> = {}) => ({
  current: undefined,
  status: undefined,
  unreadable: false,
  ...over,
});

describe('preflight', () => {
  const now = Date.parse('2026-05-01T10:00:00Z');
  it('runs a command with no KV entries and no deadline', () => {
    expect(preflight(command(), view(), now)).toBeUndefined();
  });
  it('skips a version other than script_current with 124, before looking at the revoke', () => {
    const cmd = command({ version: '1.0.0' });
    expect(preflight(cmd, view({ current: '1.1.0', status: SCRIPT_STATUS.REVOKED }), now)?.exitCode).toBe(
      124,
    );
    expect(preflight(cmd, view({ current: '1.0.0' }), now)).toBeUndefined();
  });
  it('skips a revoked script with 126 and runs an ACTIVE one', () => {
    expect(preflight(command(), view({ status: 'REVOKED' }), now)?.exitCode).toBe(126);
    expect(preflight(command(), view({ status: 'ACTIVE' }), now)).toBeUndefined();
  });
  it('skips after the starting deadline with 125; at the deadline itself it still runs', () => {
    expect(preflight(command({ deadline_at: toRfc3339(now - 1) }), view(), now)?.exitCode).toBe(125);
    expect(preflight(command({ deadline_at: toRfc3339(now) }), view(), now)).toBeUndefined();
    const late = preflight(command({ deadline_at: '2026-05-01T09:58:30Z' }), view(), now);
    expect(late?.stderr).toMatch(/^skipped: starting deadline expired 1m30s ago/);
  });
  it('runs on an unreadable KV view under `cached` and refuses it under `strict` (127)', () => {
    expect(preflight(command(), view({ unreadable: true }), now)).toBeUndefined();
    const strict = command({ staleness: { mode: 'strict', max_cache_age: '5m' } });
    expect(preflight(strict, view({ unreadable: true }), now)?.exitCode).toBe(127);
  });
  it('writes notes under stderr and the retry summary as upstream', () => {
    expect(withNotes('boom\n', 'timeout after 5s')).toBe('boom\ntimeout after 5s');
    expect(withNotes('', 'killed')).toBe('killed');
    expect(withNotes('as is\n')).toBe('as is\n');
    expect(retryNote(0, 1, false)).toBeUndefined();
    expect(retryNote(1, 0, false)).toBe('succeeded after 1 retry');
    expect(retryNote(2, 1, false)).toBe('failed after 2 retries exhausted');
    expect(retryNote(2, -1, true)).toBe('stopped by remote kill after 2 retries');
  });
});

describe('shells per OS', () => {
  it('runs sh with -c on Linux and macOS and refuses it on Windows', () => {
    for (const os of ['linux', 'darwin'] as const) {
      expect(invocationFor('sh', 'echo hi', os, '/x')).toEqual({ program: 'sh', args: ['-c', 'echo hi'] });
    }
    expect(invocationFor('sh', 'echo hi', 'win32', 'C:\\x')).toHaveProperty('unsupported');
  });
  it('runs PowerShell from a BOM-prefixed file, and powershell/cmd only on Windows', () => {
    const ps = invocationFor('powershell', 'Write-Output é', 'win32', 'C:\\s\\a.ps1');
    expect(ps).toMatchObject({
      program: 'powershell.exe',
      args: ['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-File', 'C:\\s\\a.ps1'],
    });
    expect(
      (ps as { scriptFile: Buffer }).scriptFile.equals(
        Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('Write-Output é')]),
      ),
    ).toBe(true);
    expect(invocationFor('pwsh', 'x', 'linux', '/s/a.ps1')).toMatchObject({
      program: 'pwsh',
      args: ['-NoProfile', '-NonInteractive', '-File', '/s/a.ps1'],
    });
    expect(invocationFor('cmd', 'dir & echo x', 'win32', '')).toEqual({
      program: 'cmd.exe',
      args: ['/d', '/s', '/c', '"dir & echo x"'],
      verbatim: true,
    });
    expect(invocationFor('powershell', 'x', 'linux', '')).toHaveProperty('unsupported');
    expect(invocationFor('cmd', 'x', 'darwin', '')).toHaveProperty('unsupported');
  });
});

describe('addressing and dedup of commands', () => {
  it('takes commands.all, its own commands.pc and the groups it is in, nothing else', () => {
    expect(isForMe('commands.all', 'pc1', [])).toBe(true);
    expect(isForMe('commands.pc.pc1', 'pc1', [])).toBe(true);
    expect(isForMe('commands.pc.pc10', 'pc1', [])).toBe(false);
    expect(isForMe('commands.group.lab', 'pc1', ['lab'])).toBe(true);
    expect(isForMe('commands.group.lab', 'pc1', ['ops'])).toBe(false);
    expect(isForMe('commands.group.lab.x', 'pc1', ['lab'])).toBe(false);
  });
  it('reads agent_groups values and treats a malformed one as no groups', () => {
    const logs: string[] = [];
    const enc = (s: string) => new TextEncoder().encode(s);
    expect(parseGroups(enc('{"groups":["a","b"],"extra":1}'), (l) => logs.push(l))).toEqual(['a', 'b']);
    expect(parseGroups(enc('not json'), (l) => logs.push(l))).toEqual([]);
    expect(parseGroups(undefined, (l) => logs.push(l))).toEqual([]);
    expect(logs).toHaveLength(1);
  });
  it('decodes only what is addressed here, and refuses bad and already-handled commands', () => {
    const cmd = command();
    const handled = new Set<string>();
    const has = { has: (id: string) => handled.has(id) };
    const boom = () => {
      throw new Error('decoded');
    };
    expect(triage('commands.pc.other', boom, 'pc1', [], has)).toEqual({ ignore: 'not addressed to this PC' });
    expect(triage('commands.all', () => cmd, 'pc1', [], has)).toEqual({ cmd });
    expect(triage('commands.all', boom, 'pc1', [], has)).toEqual({ ignore: 'not JSON' });
    expect(triage('commands.all', () => ({ id: 'x' }), 'pc1', [], has)).toHaveProperty('ignore');
    const dotted: Command = { ...cmd, request_id: 'a.b' };
    expect(triage('commands.all', () => dotted, 'pc1', [], has)).toHaveProperty('ignore');
    handled.add(cmd.request_id);
    expect(triage('commands.all', () => cmd, 'pc1', [], has)).toEqual({ ignore: 'already handled' });
  });
  it('keeps handled request_ids on disk across reopen and forgets them after 8 days', () => {
    const dir = tempDir();
    let now = Date.parse('2026-05-01T00:00:00Z');
    const a = openHandledSet(dir, () => now);
    a.add('old');
    now += RETAIN_MS / 2;
    a.add('recent');
    a.close();
    expect(readFileSync(join(dir, 'handled-requests.log'), 'utf8').trim().split('\n')).toHaveLength(2);

    now += RETAIN_MS / 2 + 1;
    const b = openHandledSet(dir, () => now);
    expect(b.has('old')).toBe(false);
    expect(b.has('recent')).toBe(true);
    expect(b.size).toBe(1);
    b.close();
    expect(readFileSync(join(dir, 'handled-requests.log'), 'utf8')).toBe(
      `${now - RETAIN_MS / 2 - 1} recent\n`,
    );
  });
});

describe('output buffers', () => {
  it('returns output under the cap verbatim, even with a character split across chunks', () => {
    const c = createCapture(100);
    const bytes = Buffer.from('héllo wörld');
    c.push(bytes.subarray(0, 2));
    c.push(bytes.subarray(2));
    expect(c.finish()).toBe('héllo wörld');
  });
  it('keeps the head and the tail of oversized output with a marker saying what was dropped', () => {
    const c = createCapture(30);
    for (let i = 0; i < 100; i++) c.push(Buffer.from(String(i % 10)));
    const out = c.finish();
    expect(c.total).toBe(100);
    expect(out).toBe(
      '01234567890123456789\n[kanade] output truncated: 100 bytes written, 70 dropped ' +
        '(kept the first 20 and the last 10).\n0123456789',
    );
  });
  it('keeps one huge chunk within the cap', () => {
    const c = createCapture(1024);
    c.push(Buffer.alloc(10 * 1024 * 1024, 'x'));
    expect(c.finish().length).toBeLessThan(1200);
  });
  it('serves the trailing bytes of a stream, cut at a character boundary', () => {
    const r = createRing(4);
    r.push(Buffer.from('ab'));
    expect(r.snapshot()).toEqual({ text: 'ab', truncated: false });
    r.push(Buffer.from('cdé'));
    expect(r.snapshot()).toEqual({ text: 'cdé', truncated: true });
    const cut = createRing(2);
    cut.push(Buffer.from('éa'));
    expect(cut.snapshot()).toEqual({ text: 'a', truncated: true });
  });
  it('keeps a finished run readable for the grace period, then forgets it', () => {
    let now = 0;
    const tails = createLiveTails(() => now);
    const t = tails.register('r1');
    t.stdout.push(Buffer.from('out'));
    expect(tails.reply('r1')).toMatchObject({ found: true, running: true, stdout: 'out' });
    t.finish();
    now += TAIL_GRACE_MS - 1;
    expect(tails.reply('r1')).toMatchObject({ found: true, running: false, stdout: 'out' });
    now += 1;
    expect(tails.reply('r1')).toMatchObject({ found: false });
  });
});
