// Investigation mode: while the layered config turns process_perf on (and it
// has not expired), publish the top-N processes by CPU on
// `process_perf.{pc_id}` at the host_perf interval, as upstream agents do.
// CPU is per core (100 = one full core) from the utime + stime delta of two
// samples, so the first sample after switching on only primes the deltas.
// Linux only (/proc/<pid>/stat); elsewhere the mode is logged once and
// ignored. Lossy like all telemetry: a failed sample is logged and skipped.

import { readdirSync, readFileSync } from 'node:fs';
import { type ProcessPerf, subject, toRfc3339 } from '@kanade/wire';

const CLK_TCK = 100;
const PAGE_SIZE = 4096;

interface ProcSample {
  name: string;
  ticks: number;
  rssBytes: number;
}

/** `/proc/<pid>/stat`: comm (may hold spaces and parentheses), utime + stime, rss pages. */
export function parsePidStat(text: string): ProcSample | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const f = text.slice(close + 2).split(' ');
  const utime = Number(f[11]);
  const stime = Number(f[12]);
  const rss = Number(f[21]);
  if (![utime, stime, rss].every(Number.isFinite)) return undefined;
  return { name: text.slice(open + 1, close), ticks: utime + stime, rssBytes: rss * PAGE_SIZE };
}

function readAll(): Map<number, ProcSample> {
  const out = new Map<number, ProcSample>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const s = parsePidStat(readFileSync(`/proc/${entry}/stat`, 'utf8'));
      if (s) out.set(Number(entry), s);
    } catch {
      // The process exited between the listing and the read.
    }
  }
  return out;
}

/** The top-N processes by CPU between two samples `dtMs` apart. */
export function topProcesses(
  before: ReadonlyMap<number, ProcSample>,
  after: ReadonlyMap<number, ProcSample>,
  dtMs: number,
  topN: number,
): ProcessPerf['processes'] {
  const rows: ProcessPerf['processes'] = [];
  for (const [pid, cur] of after) {
    const prev = before.get(pid);
    const ticks = prev && prev.name === cur.name ? Math.max(0, cur.ticks - prev.ticks) : 0;
    rows.push({
      pid,
      name: cur.name,
      cpu_pct: Math.round((((ticks / CLK_TCK) * 1000) / Math.max(1, dtMs)) * 100 * 100) / 100,
      rss_bytes: cur.rssBytes,
    });
  }
  rows.sort((a, b) => b.cpu_pct - a.cpu_pct || b.rss_bytes - a.rss_bytes);
  return rows.slice(0, topN);
}

export interface ProcessPerfLoop {
  /** (Re)start with these settings: on while now < untilMs, sampling every intervalMs. */
  configure(untilMs: number, topN: number, intervalMs: number): void;
  stop(): void;
}

export function createProcessPerfLoop(o: {
  pcId: string;
  publish(subject: string, body: string): void;
  log(line: string): void;
}): ProcessPerfLoop {
  let timer: NodeJS.Timeout | undefined;
  let prev: { at: number; procs: Map<number, ProcSample> } | undefined;
  let warned = false;

  function stop() {
    clearInterval(timer);
    timer = undefined;
    prev = undefined;
  }

  return {
    configure(untilMs, topN, intervalMs) {
      stop();
      if (untilMs <= Date.now()) return;
      if (process.platform !== 'linux') {
        if (!warned)
          o.log(`process_perf is on, but this agent samples processes on Linux only (${process.platform})`);
        warned = true;
        return;
      }
      const sample = () => {
        try {
          const now = Date.now();
          if (now >= untilMs) {
            stop();
            return;
          }
          const procs = readAll();
          if (prev) {
            const body: ProcessPerf = {
              pc_id: o.pcId,
              at: toRfc3339(now),
              processes: topProcesses(prev.procs, procs, now - prev.at, topN),
            };
            o.publish(subject.processPerf(o.pcId), JSON.stringify(body));
          }
          prev = { at: now, procs };
        } catch (err) {
          o.log(`process_perf failed: ${(err as Error).message}`);
        }
      };
      sample();
      timer = setInterval(sample, intervalMs);
      timer.unref();
    },
    stop,
  };
}
