// The CLI's pure parts: argument parsing and its usage errors, exit codes
// of HTTP statuses, tables, progress output off a terminal, and manifests
// read from a folder with script_file inlined.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { firstWord, parse, sinceOpt } from '../src/args.js';
import { CliError, EXIT, exitForStatus } from '../src/errors.js';
import { collectFiles, readManifests } from '../src/manifests.js';
import { renderTable } from '../src/output.js';
import { createProgress } from '../src/progress.js';

describe('arguments', () => {
  it('parses command options plus the global ones anywhere, and refuses unknown ones with exit 2', () => {
    const p = parse(
      ['pc-1', '--json', '--wait', '3', '--pc', 'a,b', '--pc', 'c'],
      {
        wait: { type: 'string' },
        pc: { type: 'string', multiple: true },
      },
      'usage: kanade x',
    );
    expect(p.positionals).toEqual(['pc-1']);
    expect(p.flag('json')).toBe(true);
    expect(p.opt('wait')).toBe('3');
    expect(p.many('pc')).toEqual(['a', 'b', 'c']);
    expect(() => p.arg(1, 'thing')).toThrow(/missing <thing>/);
    try {
      parse(['--nope'], {}, 'usage: kanade x <y>\n  more');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(CliError);
      expect((err as CliError).exitCode).toBe(EXIT.USAGE);
      expect((err as CliError).hint).toBe('kanade x <y>   (kanade x --help for more)');
    }
  });

  it('finds the command word past global option values', () => {
    expect(firstWord(['--backend-url', 'http://x', '--json', 'agent', 'list'])).toBe(3);
    expect(firstWord(['--json'])).toBe(-1);
  });

  it('reads --since as a duration ago or a time', () => {
    const now = Date.UTC(2026, 0, 2);
    expect(sinceOpt(parse(['--since', '1d'], { since: { type: 'string' } }, ''), now)).toBe(
      '2026-01-01T00:00:00.000Z',
    );
    expect(sinceOpt(parse(['--since', '2026-01-01T00:00:00Z'], { since: { type: 'string' } }, ''), now)).toBe(
      '2026-01-01T00:00:00Z',
    );
    expect(() => sinceOpt(parse(['--since', 'yesterday'], { since: { type: 'string' } }, ''), now)).toThrow(
      CliError,
    );
  });
});

describe('exit codes', () => {
  it('follow the HTTP status', () => {
    expect([401, 403, 404, 408, 504, 409, 413, 422, 500, 502].map(exitForStatus)).toEqual([
      4, 4, 3, 5, 5, 6, 6, 6, 1, 1,
    ]);
  });
});

describe('tables', () => {
  it('align columns, right-align numbers, and print - for missing values', () => {
    expect(
      renderTable(
        [
          { id: 'a', n: 5, x: null },
          { id: 'long-id', n: 123, x: 'y' },
        ],
        [
          { header: 'id', value: (r) => r.id },
          { header: 'n', value: (r) => r.n, right: true },
          { header: 'x', value: (r) => r.x },
        ],
      ),
    ).toBe('ID         N  X\na          5  -\nlong-id  123  y');
  });
});

describe('progress', () => {
  it('is silent off a terminal unless asked, then writes a line per tenth', () => {
    const lines: string[] = [];
    let t = 0;
    const quiet = createProgress({ mode: 'auto', tty: false, write: (s) => lines.push(s), now: () => t });
    quiet.bar('up', 100).update(50);
    expect(lines).toEqual([]);
    const on = createProgress({ mode: 'on', tty: false, write: (s) => lines.push(s), now: () => t });
    const bar = on.bar('uploading', 100);
    for (let i = 0; i <= 100; i += 5) {
      t += 100;
      bar.update(i);
    }
    bar.finish('done');
    expect(lines).toHaveLength(12);
    expect(lines[5]).toMatch(/^uploading \[#{14}-{14}\] {2}50% {2}50\/100\n$/);
    expect(lines.at(-1)).toBe('done\n');
  });
});

describe('manifests', () => {
  it('collects YAML files from folders and inlines script_file relative to the manifest', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kanade-manifests-'));
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'run.sh'), 'echo hi\n');
    writeFileSync(
      join(dir, 'sub', 'a.yaml'),
      'id: a\nversion: 1\nexecute:\n  shell: sh\n  timeout: 1m\n  script_file: run.sh\n',
    );
    writeFileSync(join(dir, 'b.yml'), '# keep me\nid: b\nversion: 1\n---\nid: c\nversion: 1\n');
    writeFileSync(join(dir, 'readme.md'), '# not a manifest');
    const files = collectFiles([dir]);
    expect(files.map((f) => f.slice(dir.length + 1))).toEqual(['b.yml', join('sub', 'a.yaml')]);
    const a = readManifests(files[1]!, true);
    expect(a[0]!.text).toContain('script: |');
    expect(a[0]!.text).toContain('echo hi');
    expect(a[0]!.text).not.toContain('script_file');
    const b = readManifests(files[0]!, true);
    expect(b.map((d) => d.id)).toEqual(['b', 'c']);
    const single = join(dir, 'single.yaml');
    writeFileSync(single, '# verbatim\nid: d\nversion: 1\n');
    expect(readManifests(single, true)[0]!.text).toBe('# verbatim\nid: d\nversion: 1\n');
    writeFileSync(join(dir, 'bad.yaml'), 'id: [x\n');
    expect(() => readManifests(join(dir, 'bad.yaml'), true)).toThrow(/bad\.yaml:\d+:\d+/);
    expect(() => collectFiles([join(dir, 'nope')])).toThrow(/no such file/);
  });
});
