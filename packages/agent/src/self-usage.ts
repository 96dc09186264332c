// The agent's own footprint for its heartbeat: CPU as percent of one core
// (process.cpuUsage delta over wall time since the previous beat, so null on
// the first beat, as upstream), resident memory, and cumulative storage bytes
// read/written by this process (Linux /proc/self/io; null elsewhere).

import { readFileSync } from 'node:fs';
import { parseProcIo } from './procfs.js';

export interface SelfUsage {
  cpuPct: number | null;
  rssBytes: number;
  diskReadBytes: number | null;
  diskWrittenBytes: number | null;
}

export interface SelfSampler {
  sample(): SelfUsage;
}

function readSelfIo(): { readBytes: number; writtenBytes: number } | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    return parseProcIo(readFileSync('/proc/self/io', 'utf8'));
  } catch {
    return undefined;
  }
}

export function createSelfSampler(): SelfSampler {
  let prevCpu: NodeJS.CpuUsage | undefined;
  let prevMono = 0;
  return {
    sample() {
      const mono = performance.now();
      const cpu = process.cpuUsage();
      let cpuPct: number | null = null;
      if (prevCpu && mono > prevMono) {
        const usedUs = cpu.user - prevCpu.user + (cpu.system - prevCpu.system);
        cpuPct = Math.round((usedUs / ((mono - prevMono) * 1000)) * 100 * 100) / 100;
      }
      prevCpu = cpu;
      prevMono = mono;
      const io = readSelfIo();
      return {
        cpuPct,
        rssBytes: process.memoryUsage.rss(),
        diskReadBytes: io?.readBytes ?? null,
        diskWrittenBytes: io?.writtenBytes ?? null,
      };
    },
  };
}
