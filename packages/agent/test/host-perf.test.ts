import { HostPerf } from '@kanade/wire';
import { describe, expect, it } from 'vitest';
import type { HostCounters } from '../src/host-counters.js';
import { readHostCounters } from '../src/host-counters.js';
import { hostPerfBetween } from '../src/host-perf.js';

const AT = '2026-05-01T10:00:00.000Z';

function counters(over: Partial<HostCounters>): HostCounters {
  return {
    monoMs: 0,
    cpu: { busy: 0, total: 0 },
    cpuCount: 4,
    memUsed: 100,
    memTotal: 1000,
    swapUsed: 0,
    swapTotal: 0,
    disk: { readBytes: 0, writtenBytes: 0 },
    net: { rxBytes: 0, txBytes: 0 },
    ...over,
  };
}

describe('host_perf from two samples', () => {
  it('normalises CPU across cores and divides byte deltas by elapsed seconds', () => {
    const a = counters({
      monoMs: 1000,
      cpu: { busy: 100, total: 1000 },
      disk: { readBytes: 0, writtenBytes: 512 },
    });
    const b = counters({
      monoMs: 3000,
      cpu: { busy: 350, total: 2000 },
      disk: { readBytes: 4096, writtenBytes: 1536 },
      net: { rxBytes: 1000, txBytes: 3 },
    });
    const hp = HostPerf.parse(hostPerfBetween(a, b, 'pc-1', AT));
    expect(hp).toMatchObject({
      pc_id: 'pc-1',
      at: AT,
      cpu_pct: 25,
      cpu_count: 4,
      mem_used_bytes: 100,
      mem_total_bytes: 1000,
      disk_read_bytes_per_sec: 2048,
      disk_written_bytes_per_sec: 512,
      net_rx_bytes_per_sec: 500,
      net_tx_bytes_per_sec: 1.5,
    });
  });

  it('gives null instead of a negative rate when a counter goes backwards', () => {
    const a = counters({ monoMs: 0, net: { rxBytes: 5000, txBytes: 5000 } });
    const b = counters({ monoMs: 1000, net: { rxBytes: 10, txBytes: 6000 } });
    const hp = hostPerfBetween(a, b, 'pc-1', AT);
    expect(hp.net_rx_bytes_per_sec).toBeNull();
    expect(hp.net_tx_bytes_per_sec).toBe(1000);
  });

  it('sends nulls for what the platform does not measure, and the schema accepts it', () => {
    const bare = counters({
      cpu: null,
      cpuCount: null,
      swapUsed: null,
      swapTotal: null,
      disk: null,
      net: null,
    });
    const hp = HostPerf.parse(hostPerfBetween(bare, { ...bare, monoMs: 1000 }, 'pc-1', AT));
    expect(hp.cpu_pct).toBeNull();
    expect(hp.disk_read_bytes_per_sec).toBeNull();
    expect(hp.net_tx_bytes_per_sec).toBeNull();
  });

  it.runIf(process.platform === 'linux')('reads real counters on Linux', () => {
    const c = readHostCounters();
    expect(c.cpu?.total).toBeGreaterThan(0);
    expect(c.cpuCount).toBeGreaterThan(0);
    expect(c.memTotal).toBeGreaterThan(c.memUsed!);
    expect(c.disk).not.toBeNull();
    expect(c.net).not.toBeNull();
  });

  it('reads CPU and memory through node:os elsewhere', () => {
    const c = readHostCounters('darwin');
    expect(c.cpuCount).toBeGreaterThan(0);
    expect(c.memTotal).toBeGreaterThan(0);
    expect(c.disk).toBeNull();
  });
});
