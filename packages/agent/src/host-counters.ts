// Reads the host's cumulative counters for one host_perf sample. Linux reads
// /proc (parsed in procfs.ts); elsewhere CPU and memory come from node:os and
// swap, disk and network stay null, as the wire allows. The files are tiny
// procfs pseudo-files, so synchronous reads (microseconds) keep this simple.
// A file that cannot be read leaves its fields null instead of failing the sample.

import { readFileSync } from 'node:fs';
import os from 'node:os';
import {
  type CpuTimes,
  type IoCounters,
  type NetCounters,
  parseDiskstats,
  parseMeminfo,
  parseNetDev,
  parseProcStat,
} from './procfs.js';

export interface HostCounters {
  /** performance.now() when read: rates divide by monotonic time. */
  monoMs: number;
  cpu: CpuTimes | null;
  cpuCount: number | null;
  memUsed: number | null;
  memTotal: number | null;
  swapUsed: number | null;
  swapTotal: number | null;
  disk: IoCounters | null;
  net: NetCounters | null;
}

function readProc(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** os.cpus() times summed over all CPUs, in the same busy/total form as /proc/stat. */
function osCpuTimes(): { cpu: CpuTimes; count: number } | null {
  const cpus = os.cpus();
  if (cpus.length === 0) return null;
  let busy = 0;
  let total = 0;
  for (const { times } of cpus) {
    const all = times.user + times.nice + times.sys + times.idle + times.irq;
    total += all;
    busy += all - times.idle;
  }
  return { cpu: { busy, total }, count: cpus.length };
}

function readLinux(monoMs: number): HostCounters {
  const statText = readProc('/proc/stat');
  const stat = statText === undefined ? undefined : parseProcStat(statText);
  const memText = readProc('/proc/meminfo');
  const mem = memText === undefined ? {} : parseMeminfo(memText);
  const diskText = readProc('/proc/diskstats');
  const netText = readProc('/proc/net/dev');
  return {
    monoMs,
    cpu: stat?.cpu ?? null,
    cpuCount: stat && stat.cpuCount > 0 ? stat.cpuCount : os.cpus().length || null,
    memUsed: mem.memUsed ?? null,
    memTotal: mem.memTotal ?? null,
    swapUsed: mem.swapUsed ?? null,
    swapTotal: mem.swapTotal ?? null,
    disk: diskText === undefined ? null : parseDiskstats(diskText),
    net: netText === undefined ? null : parseNetDev(netText),
  };
}

function readPortable(monoMs: number): HostCounters {
  const cpu = osCpuTimes();
  const total = os.totalmem();
  return {
    monoMs,
    cpu: cpu?.cpu ?? null,
    cpuCount: cpu?.count ?? null,
    memUsed: total - os.freemem(),
    memTotal: total,
    swapUsed: null,
    swapTotal: null,
    disk: null,
    net: null,
  };
}

export function readHostCounters(platform: NodeJS.Platform = process.platform): HostCounters {
  const monoMs = performance.now();
  return platform === 'linux' ? readLinux(monoMs) : readPortable(monoMs);
}
