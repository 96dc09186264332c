// Which page a path opens, and which requests the app starts early for it.
import { describe, expect, it } from 'vitest';
import { rosterUrl, rosterView } from '../src/lib/agents-query.js';
import { earlyPaths } from '../src/lib/early.js';
import { fleetPerfUrl } from '../src/lib/page-data.js';
import { pageForPath } from '../src/routes.js';

describe('routes and early requests', () => {
  it('maps paths to pages', () => {
    expect(pageForPath('/')).toBe('dashboard');
    expect(pageForPath('/agents')).toBe('agents');
    expect(pageForPath('/agents/sim-000001')).toBe('agentDetail');
    expect(pageForPath('/agent-install')).toBe('agent-install');
    expect(pageForPath('/activity/abc')).toBe('resultDetail');
    expect(pageForPath('/inventory/search')).toBe('inventory');
    expect(pageForPath('/login')).toBeUndefined();
    expect(pageForPath('/nope')).toBe('notFound');
  });

  it('starts the session, the version and the page data', () => {
    const now = Date.UTC(2026, 4, 1, 10, 7);
    const dash = earlyPaths('/dashboard', '', now);
    expect(dash).toContain('/api/auth/me');
    expect(dash).toContain('/api/health/fleet');
    expect(dash).toContain(fleetPerfUrl('mem_total_bytes', now));
    const search = '?status=online&sort=meta:site&dir=desc&meta.site.eq=osaka&page=2';
    expect(earlyPaths('/agents', search, now)).toContain(rosterUrl(rosterView(new URLSearchParams(search))));
    expect(earlyPaths('/jobs', '', now)).toEqual(['/api/auth/me', '/api/version']);
  });

  it('builds the roster URL the page asks for', () => {
    const v = rosterView(new URLSearchParams('status=online&q=^lab&sort=bogus&limit=7&page=3&meta.a.b.eq=x'));
    expect(v).toMatchObject({ status: 'online', q: '^lab', sort: null, limit: 50, page: 2 });
    expect(rosterUrl(v)).toBe('/api/agents?status=online&q=%5Elab&limit=50&offset=100&meta.a.b.eq=x');
  });
});
