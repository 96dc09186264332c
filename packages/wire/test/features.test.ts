// The page-feature keys are stored in users.allowed_features and shared with
// upstream's SPA and backend, so the literal catalogue is pinned here.
import { describe, expect, it } from 'vitest';
import { canonicalizeFeatures, FEATURES, parseStoredFeatures, SHARED_OWNER_FEATURES } from '../src/index.js';

describe('feature catalogue', () => {
  it('is upstream’s 25 keys in catalogue order', () => {
    expect(FEATURES).toEqual([
      'dashboard',
      'run',
      'exec',
      'agents',
      'inventory',
      'compliance',
      'activity',
      'events',
      'audit',
      'logs',
      'collect',
      'analytics',
      'jobs',
      'schedules',
      'views',
      'notifications',
      'rollout',
      'agent-install',
      'apps',
      'groups',
      'config',
      'jetstream',
      'accounts',
      'settings',
      'remote',
    ]);
  });

  it('canonicalizes a submitted list: rejects the first unknown key, dedupes, catalogue order', () => {
    expect(canonicalizeFeatures(['compliance', 'inventory', 'compliance'])).toEqual({
      features: ['inventory', 'compliance'],
    });
    expect(canonicalizeFeatures(['audit', 'agentinstall', 'nope'])).toEqual({ unknown: 'agentinstall' });
    expect(canonicalizeFeatures(['Audit'])).toEqual({ unknown: 'Audit' });
    expect(canonicalizeFeatures([])).toEqual({ features: [] });
  });

  it('reads a stored list: NULL and malformed mean unrestricted, unknown keys are dropped', () => {
    expect(parseStoredFeatures(null)).toBeNull();
    expect(parseStoredFeatures('not json')).toBeNull();
    expect(parseStoredFeatures('{"x":1}')).toBeNull();
    expect(parseStoredFeatures('[]')).toEqual([]);
    expect(parseStoredFeatures('["compliance","inventory","bogus"]')).toEqual(['inventory', 'compliance']);
  });

  it('names only known features as shared owners', () => {
    for (const owners of Object.values(SHARED_OWNER_FEATURES)) {
      for (const f of owners) expect(FEATURES).toContain(f);
    }
  });
});
