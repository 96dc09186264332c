import { Heartbeat, HostPerf, isValidToken, ProcessPerf, toRfc3339 } from '@kanade/wire';
import { describe, expect, it } from 'vitest';
import {
  AGENT_VERSIONS,
  createFleet,
  hostnameOf,
  OS_FAMILIES,
  pcIdOf,
  stepAgent,
  stepHost,
} from '../src/fleet.js';
import { heartbeatJson, hostPerfJson, processPerfJson } from '../src/messages.js';

const AT = toRfc3339(Date.UTC(2026, 4, 1, 10, 0, 0, 123));

describe('fleet model', () => {
  it('names agents <prefix>-000001... and gives each a unique hostname', () => {
    const f = createFleet({ agents: 20_000, seed: 42, prefix: 'lab' });
    expect(pcIdOf(f, 0)).toBe('lab-000001');
    expect(pcIdOf(f, 19_999)).toBe('lab-020000');
    const hosts = new Set<string>();
    for (let i = 0; i < f.size; i++) hosts.add(hostnameOf(f, i));
    expect(hosts.size).toBe(f.size);
  });

  it('is reproducible for a seed and mixes OS families and agent versions', () => {
    const a = createFleet({ agents: 10_000, seed: 5 });
    const b = createFleet({ agents: 10_000, seed: 5 });
    expect(a.os).toEqual(b.os);
    expect(a.cpuPct).toEqual(b.cpuPct);
    const osCount = OS_FAMILIES.map((_, k) => a.os.filter((o) => o === k).length);
    expect(osCount.every((c) => c > 500)).toBe(true);
    expect(osCount[0]).toBeGreaterThan(osCount[1]! + osCount[2]!);
    const newest = a.version.filter((v) => v === 0).length;
    expect(newest / a.size).toBeGreaterThan(0.7);
    expect(new Set(a.version).size).toBe(AGENT_VERSIONS.length);
  });

  it('refuses prefixes that would break subjects or JSON', () => {
    for (const prefix of ['a.b', 'a b', '*', 'x>', 'q"', '']) {
      expect(() => createFleet({ agents: 1, prefix })).toThrow(RangeError);
    }
    expect(() => createFleet({ agents: 0 })).toThrow(RangeError);
  });

  it('renders messages every wire schema accepts, with sane values, over many steps', () => {
    const f = createFleet({ agents: 2000, seed: 9 });
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < f.size; i++) {
        const pcId = pcIdOf(f, i);
        expect(isValidToken(pcId)).toBe(true);
        stepAgent(f, i, 30);
        stepHost(f, i);
        const hb = Heartbeat.parse(JSON.parse(heartbeatJson(f, i, pcId, AT)));
        expect(hb.pc_id).toBe(pcId);
        expect(hb.at).toBe(AT);
        if (round === 0) expect(hb.agent_cpu_pct).toBeNull();
        else expect(hb.agent_cpu_pct).toBeGreaterThanOrEqual(0);
        expect(OS_FAMILIES).toContain(hb.os_family);
        expect(hb.agent_rss_bytes).toBeGreaterThan(0);
        const hp = HostPerf.parse(JSON.parse(hostPerfJson(f, i, pcId, AT)));
        expect(hp.cpu_pct).toBeGreaterThanOrEqual(0);
        expect(hp.cpu_pct).toBeLessThanOrEqual(100);
        expect(hp.mem_used_bytes).toBeLessThanOrEqual(hp.mem_total_bytes!);
        expect(hp.swap_used_bytes).toBeLessThanOrEqual(hp.swap_total_bytes!);
        if (i % 50 === 0) {
          const pp = ProcessPerf.parse(JSON.parse(processPerfJson(f, i, pcId, AT, 25)));
          expect(pp.processes).toHaveLength(25);
          const cpus = pp.processes.map((p) => p.cpu_pct);
          expect(cpus).toEqual([...cpus].sort((x, y) => y - x));
          expect(new Set(pp.processes.map((p) => p.name)).size).toBe(25);
        }
      }
    }
  });

  it('keeps cumulative agent disk counters monotonic', () => {
    const f = createFleet({ agents: 1, seed: 1 });
    let read = f.agentDiskRead[0]!;
    let written = f.agentDiskWritten[0]!;
    for (let k = 0; k < 100; k++) {
      stepAgent(f, 0, 30);
      expect(f.agentDiskRead[0]).toBeGreaterThanOrEqual(read);
      expect(f.agentDiskWritten[0]).toBeGreaterThanOrEqual(written);
      read = f.agentDiskRead[0]!;
      written = f.agentDiskWritten[0]!;
    }
  });
});
