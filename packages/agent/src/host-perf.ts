// Turns two host counter snapshots into one upstream HostPerf message: CPU %
// from the busy/total delta (0-100 across all cores), byte rates from counter
// deltas over monotonic time. A delta that goes backwards (a counter reset, a
// disk or interface removed between samples) gives null for that field rather
// than a negative or absurd rate.

import type { HostPerf } from '@kanade/wire';
import type { HostCounters } from './host-counters.js';

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

function rate(prev: number | undefined, cur: number | undefined, dtSec: number): number | null {
  if (prev === undefined || cur === undefined || dtSec <= 0 || cur < prev) return null;
  return round2((cur - prev) / dtSec);
}

export function hostPerfBetween(prev: HostCounters, cur: HostCounters, pcId: string, at: string): HostPerf {
  const dtSec = (cur.monoMs - prev.monoMs) / 1000;
  let cpuPct: number | null = null;
  if (prev.cpu && cur.cpu) {
    const total = cur.cpu.total - prev.cpu.total;
    const busy = cur.cpu.busy - prev.cpu.busy;
    if (total > 0 && busy >= 0) cpuPct = round2(Math.min(100, (100 * busy) / total));
  }
  return {
    pc_id: pcId,
    at,
    cpu_pct: cpuPct,
    cpu_count: cur.cpuCount,
    mem_used_bytes: cur.memUsed,
    mem_total_bytes: cur.memTotal,
    swap_used_bytes: cur.swapUsed,
    swap_total_bytes: cur.swapTotal,
    disk_read_bytes_per_sec: rate(prev.disk?.readBytes, cur.disk?.readBytes, dtSec),
    disk_written_bytes_per_sec: rate(prev.disk?.writtenBytes, cur.disk?.writtenBytes, dtSec),
    net_rx_bytes_per_sec: rate(prev.net?.rxBytes, cur.net?.rxBytes, dtSec),
    net_tx_bytes_per_sec: rate(prev.net?.txBytes, cur.net?.txBytes, dtSec),
  };
}
