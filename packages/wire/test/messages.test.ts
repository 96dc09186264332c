import { describe, expect, it } from 'vitest';
import { Heartbeat, HostPerf, ObsEvent, ProcessPerf } from '../src/index.js';

// Shapes as upstream's serde writes them (chrono `+00:00`, nanoseconds).
const upstreamBeat = {
  pc_id: 'WIN-01',
  at: '2026-05-01T10:00:00.123456789+00:00',
  agent_version: '0.43.45',
  hostname: 'WIN-01',
  os_family: 'windows',
  agent_cpu_pct: null,
  agent_rss_bytes: 41_000_000,
  agent_disk_read_bytes: 1234,
  agent_disk_written_bytes: 5678,
  last_logon_user: 'CORP\\alice',
  last_logon_display_name: 'Alice',
  command_keys: [],
  enforcing: false,
};

describe('Heartbeat', () => {
  it('accepts an upstream beat with nulls and keeps the three-state fields', () => {
    const r = Heartbeat.parse(upstreamBeat);
    expect(r.agent_cpu_pct).toBeNull();
    expect(r.command_keys).toEqual([]);
    expect(r.enforcing).toBe(false);
  });

  it('accepts a minimal beat (every optional missing)', () => {
    expect(Heartbeat.safeParse({ pc_id: 'p', at: '2026-05-01T10:00:00Z', agent_version: '1' }).success).toBe(
      true,
    );
  });

  it('tolerates unknown fields from newer agents and strips them', () => {
    const r = Heartbeat.parse({ ...upstreamBeat, command_protocols: ['legacy'], future_field: { x: 1 } });
    expect(r).not.toHaveProperty('future_field');
    expect(r.command_protocols).toEqual(['legacy']);
  });

  it.each([
    ['pc_id as number', { pc_id: 7 }],
    ['pc_id with a dot', { pc_id: 'a.b' }],
    ['bad timestamp', { at: 'yesterday' }],
    ['impossible date', { at: '2026-02-31T10:00:00Z' }],
    ['cpu as string', { agent_cpu_pct: '12' }],
    ['rss as float', { agent_rss_bytes: 1.5 }],
    ['huge hostname', { hostname: 'x'.repeat(10_000) }],
    ['enforcing as string', { enforcing: 'yes' }],
  ])('rejects %s', (_name, patch) => {
    expect(Heartbeat.safeParse({ ...upstreamBeat, ...patch }).success).toBe(false);
  });
});

describe('HostPerf and ProcessPerf', () => {
  it('accept an all-null sample', () => {
    expect(
      HostPerf.safeParse({ pc_id: 'p', at: '2026-05-01T10:00:00Z', cpu_pct: null, mem_used_bytes: null })
        .success,
    ).toBe(true);
  });

  it('reject wrong types', () => {
    expect(HostPerf.safeParse({ pc_id: 'p', at: '2026-05-01T10:00:00Z', cpu_pct: 'high' }).success).toBe(
      false,
    );
    expect(HostPerf.safeParse({ pc_id: 'p', at: 12 }).success).toBe(false);
  });

  it('validate each process of a snapshot', () => {
    const ok = { pid: 4, name: 'System', cpu_pct: 1.5, rss_bytes: 100 };
    expect(ProcessPerf.safeParse({ pc_id: 'p', at: '2026-05-01T10:00:00Z', processes: [ok] }).success).toBe(
      true,
    );
    expect(
      ProcessPerf.safeParse({ pc_id: 'p', at: '2026-05-01T10:00:00Z', processes: [{ ...ok, pid: -1 }] })
        .success,
    ).toBe(false);
  });
});

describe('ObsEvent', () => {
  it('defaults a missing payload to null', () => {
    expect(
      ObsEvent.parse({ pc_id: 'p', at: '2026-05-01T10:00:00Z', kind: 'boot', source: 'agent:startup' })
        .payload,
    ).toBe(null);
  });
});
