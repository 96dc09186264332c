// Helpers shared by the benchmarks: process CPU/RSS from /proc, percentiles,
// and Prometheus counter scraping.
import { readdirSync, readFileSync } from 'node:fs';

const CLK_TCK = 100;

/** CPU seconds (user + system) used so far by `pid`, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  return statCpu(`/proc/${pid}/stat`);
}

/** CPU seconds used so far by thread `tid` of `pid`. */
export function threadCpuSeconds(pid: number, tid: string): number {
  return statCpu(`/proc/${pid}/task/${tid}/stat`);
}

function statCpu(path: string): number {
  const stat = readFileSync(path, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** Resident set size in bytes, from /proc/<pid>/status. */
export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function summarize(samples: number[]) {
  const s = [...samples].sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 100) / 100;
  return {
    n: s.length,
    p50_ms: r(percentile(s, 50)),
    p99_ms: r(percentile(s, 99)),
    max_ms: r(s[s.length - 1] ?? Number.NaN),
  };
}

/** Sum of a Prometheus counter per label value of `projector`. */
export function scrape(text: string, name: string): Record<string, number> {
  const out: Record<string, number> = {};
  const re = new RegExp(`^${name}\\{projector="([^"]+)"\\} ([0-9.e+]+)$`, 'gm');
  for (const m of text.matchAll(re)) out[m[1]!] = Number(m[2]);
  return out;
}

export function arg(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

/** CPU seconds used so far by `pid` and every live descendant (e.g. a PostgreSQL server and its backends). */
export function treeCpuSeconds(pid: number): number {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // the process exited while we looked
    }
  }
  let total = 0;
  const todo = [pid];
  while (todo.length) {
    const p = todo.pop()!;
    try {
      total += cpuSeconds(p);
    } catch {
      continue;
    }
    todo.push(...(children.get(p) ?? []));
  }
  return total;
}
