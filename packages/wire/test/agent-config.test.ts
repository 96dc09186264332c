// The layered-config resolver: precedence (built-in < global < groups
// alphabetically < pc), conflict warnings, tolerant reading of stored scopes,
// strict writing, duration fallbacks and the process-perf expiry rule.
import { describe, expect, it } from 'vitest';
import {
  BUILTIN_CONFIG,
  CONFIG_KEY,
  type ConfigScope,
  ConfigScopeWrite,
  compactScope,
  configDurationMs,
  decodeScope,
  isConfigKeyToken,
  parseConfigKey,
  processPerfActiveAt,
  readScope,
  resolve,
} from '../src/index.js';

const groups = (entries: Record<string, ConfigScope>) => new Map(Object.entries(entries));

describe('resolve', () => {
  it('gives the built-in defaults for an empty stack', () => {
    const r = resolve(undefined, new Map(), undefined, []);
    expect(r.effective).toEqual(BUILTIN_CONFIG);
    expect(r.effective).toMatchObject({
      heartbeat_interval: '30s',
      host_perf_interval: '60s',
      target_version_jitter: '10m',
      process_perf_enabled: false,
      process_perf_top_n: 20,
      target_version: null,
      max_local_concurrent: null,
    });
    expect(r.warnings).toEqual([]);
  });

  it('applies global, then groups, then the pc scope; unset fields fall through', () => {
    const r = resolve(
      { heartbeat_interval: '45s', host_perf_interval: '2m', target_version: '1.0.0' },
      groups({ canary: { heartbeat_interval: '10s', target_version: '1.1.0' } }),
      { heartbeat_interval: '5s' },
      ['canary'],
    );
    expect(r.effective.heartbeat_interval).toBe('5s');
    expect(r.effective.target_version).toBe('1.1.0');
    expect(r.effective.host_perf_interval).toBe('2m');
    expect(r.effective.process_perf_top_n).toBe(20);
  });

  it('applies groups alphabetically (last wins) and warns about fields set by several groups', () => {
    const scopes = groups({
      wave1: { heartbeat_interval: '12s', process_perf_top_n: 5 },
      'dept-eng': { heartbeat_interval: '24s', host_perf_interval: '90s' },
      zeta: { process_perf_top_n: 7 },
    });
    const r = resolve(undefined, scopes, undefined, ['zeta', 'wave1', 'dept-eng', 'wave1']);
    expect(r.effective.heartbeat_interval).toBe('12s');
    expect(r.effective.process_perf_top_n).toBe(7);
    expect(r.effective.host_perf_interval).toBe('90s');
    expect(r.warnings).toEqual([
      { kind: 'multi_group_conflict', field: 'heartbeat_interval', groups: ['dept-eng', 'wave1'] },
      { kind: 'multi_group_conflict', field: 'process_perf_top_n', groups: ['wave1', 'zeta'] },
    ]);
  });

  it('ignores groups the pc is not in and groups without a scope', () => {
    const r = resolve(
      { heartbeat_interval: '40s' },
      groups({ other: { heartbeat_interval: '1s' } }),
      undefined,
      ['ghost'],
    );
    expect(r.effective.heartbeat_interval).toBe('40s');
    expect(r.warnings).toEqual([]);
  });

  it('reports which fields a scope set (the rest are built-in defaults)', () => {
    const r = resolve(
      { heartbeat_interval: '30s' },
      groups({ a: { process_perf_enabled: true } }),
      { host_perf_interval: '5s' },
      ['a'],
    );
    expect([...r.setFields].sort()).toEqual([
      'heartbeat_interval',
      'host_perf_interval',
      'process_perf_enabled',
    ]);
  });

  it('lets the pc scope override a conflicting pair of groups', () => {
    const r = resolve(
      undefined,
      groups({ a: { heartbeat_interval: '1m' }, b: { heartbeat_interval: '2m' } }),
      { heartbeat_interval: '3m' },
      ['a', 'b'],
    );
    expect(r.effective.heartbeat_interval).toBe('3m');
    expect(r.warnings).toHaveLength(1);
  });
});

describe('reading and writing scopes', () => {
  it('reads tolerantly: unknown keys dropped, a bad field ignored on its own', () => {
    expect(
      readScope({
        heartbeat_interval: '15s',
        process_perf_top_n: 'many',
        max_local_concurrent: 0,
        inventory_interval: '24h',
        process_perf_enabled: null,
      }),
    ).toEqual({ heartbeat_interval: '15s' });
    expect(readScope([1, 2])).toEqual({});
    expect(decodeScope(new TextEncoder().encode('not json'))).toEqual({});
  });

  it('writes strictly, naming the bad field', () => {
    expect(
      ConfigScopeWrite.safeParse({ heartbeat_interval: '15s', process_perf_enabled: true }).success,
    ).toBe(true);
    for (const bad of [
      { heartbeat_interval: 'soon' },
      { heartbeat_interval: '0s' },
      { process_perf_expires_at: 'tomorrow' },
      { max_local_concurrent: 0 },
      { inventory_interval: '24h' },
    ]) {
      const r = ConfigScopeWrite.safeParse(bad);
      expect(r.success, JSON.stringify(bad)).toBe(false);
      expect(r.error?.issues[0]?.path.join('.') || r.error?.issues[0]?.message).toBeTruthy();
    }
    expect(compactScope({ heartbeat_interval: '15s', target_version: null })).toEqual({
      heartbeat_interval: '15s',
    });
  });

  it('falls back to the built-in duration when a stored one does not parse', () => {
    const { effective } = resolve(
      { heartbeat_interval: 'garbage', host_perf_interval: '5s' },
      new Map(),
      undefined,
      [],
    );
    expect(configDurationMs(effective, 'heartbeat_interval')).toBe(30_000);
    expect(configDurationMs(effective, 'host_perf_interval')).toBe(5000);
  });
});

describe('process perf', () => {
  const now = Date.UTC(2026, 4, 1, 12);
  const eff = (s: ConfigScope) => resolve(s, new Map(), undefined, []).effective;

  it('is on while enabled and before its expiry', () => {
    expect(processPerfActiveAt(eff({}), now)).toBe(false);
    expect(processPerfActiveAt(eff({ process_perf_enabled: true }), now)).toBe(true);
    expect(
      processPerfActiveAt(
        eff({ process_perf_enabled: true, process_perf_expires_at: '2026-05-01T12:30:00Z' }),
        now,
      ),
    ).toBe(true);
    expect(
      processPerfActiveAt(
        eff({ process_perf_enabled: true, process_perf_expires_at: '2026-05-01T12:00:00Z' }),
        now,
      ),
    ).toBe(false);
  });
});

describe('config keys', () => {
  it('builds and parses the three scopes', () => {
    expect(CONFIG_KEY.group('canary')).toBe('groups.canary');
    expect(CONFIG_KEY.pc('pc-1')).toBe('pcs.pc-1');
    expect(parseConfigKey('global')).toEqual({ scope: 'global' });
    expect(parseConfigKey('groups.canary')).toEqual({ scope: 'group', name: 'canary' });
    expect(parseConfigKey('pcs.pc-1')).toEqual({ scope: 'pc', pcId: 'pc-1' });
    expect(parseConfigKey('target_version')).toBeUndefined();
    expect(isConfigKeyToken('pc-01_A')).toBe(true);
    for (const bad of ['a.b', 'a b', '', 'a*', 'ü']) expect(isConfigKeyToken(bad)).toBe(false);
  });
});
