// Argument parsing on node:util parseArgs: every command declares its
// options; the global ones (--backend-url, --token, --json, --progress,
// --no-progress, --help) are accepted anywhere on the line. A wrong option
// or a missing argument is a usage error (exit 2) that shows the command's
// usage.
import { parseArgs } from 'node:util';
import { parseDuration } from '@kanade/wire';
import { usage } from './errors.js';

export type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;

export const GLOBAL_OPTIONS: OptionSpec = {
  'backend-url': { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
  progress: { type: 'boolean' },
  'no-progress': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

/** Index of the first word that is neither an option nor the value of a global option; -1 if none. */
export function firstWord(argv: readonly string[]): number {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') return -1;
    if (a === '--backend-url' || a === '--token') {
      i++;
      continue;
    }
    if (!a.startsWith('-')) return i;
  }
  return -1;
}

export interface Parsed {
  positionals: string[];
  /** A string option, or undefined. */
  opt(name: string): string | undefined;
  flag(name: string): boolean;
  /** A repeatable option; comma-separated values are split too. */
  many(name: string): string[];
  /** The positional at `i`, or a usage error naming it. */
  arg(i: number, name: string): string;
}

export function parse(argv: readonly string[], options: OptionSpec, usageText: string): Parsed {
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      options: { ...GLOBAL_OPTIONS, ...options },
      allowPositionals: true,
      strict: true,
    }));
  } catch (err) {
    throw usage((err as Error).message.replace(/\. To specify.*$/s, ''), usageText);
  }
  const p: Parsed = {
    positionals,
    opt: (name) => {
      const v = values[name];
      return typeof v === 'string' ? v : undefined;
    },
    flag: (name) => values[name] === true,
    many: (name) => {
      const v = values[name];
      const list = Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
      return list
        .flatMap((x) => String(x).split(','))
        .map((x) => x.trim())
        .filter(Boolean);
    },
    arg: (i, name) => {
      const v = positionals[i];
      if (v === undefined || v === '') throw usage(`missing <${name}>`, usageText);
      return v;
    },
  };
  return p;
}

/** A positive integer option, or the default. */
export function intOpt(p: Parsed, name: string, fallback: number, min = 1, max = 1_000_000): number {
  const v = p.opt(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max)
    throw usage(`--${name}: expected an integer from ${min} to ${max}`);
  return n;
}

/** A duration option (`30s`, `5m`, `1h30m`) in ms, or the default. */
export function durationOpt(p: Parsed, name: string, fallback: number): number {
  const v = p.opt(name);
  if (v === undefined) return fallback;
  const ms = parseDuration(v);
  if (ms === undefined) throw usage(`--${name}: expected a duration such as 30s, 5m or 1h`);
  return ms;
}

/** `--since`: an RFC 3339 time, or a duration meaning "that long ago". */
export function sinceOpt(p: Parsed, now = Date.now()): string | undefined {
  const v = p.opt('since');
  if (v === undefined) return undefined;
  const ms = parseDuration(v);
  if (ms !== undefined) return new Date(now - ms).toISOString();
  if (Number.isNaN(Date.parse(v))) throw usage('--since: expected a duration (1h, 2d) or an RFC 3339 time');
  return v;
}
