// docs/routes.md is the index of every HTTP route with the role and page it
// requires, rendered from the live route table, so it cannot drift from the
// code. After adding or changing a route run
//   UPDATE_DOCS=1 npx vitest run packages/backend/test/routes-doc.test.ts
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNats, type TestNats } from '../../../test-support/nats-server.js';
import type { RouteEntry } from '../src/http/policy.js';
import { routeTable } from './auth-harness.js';

const DOC = new URL('../../../docs/routes.md', import.meta.url);

function render(routes: RouteEntry[]): string {
  const rows = routes
    .filter(
      (r) => r.method !== 'HEAD' && (r.url.startsWith('/api') || r.url === '/metrics' || r.url === '/health'),
    )
    .sort((a, b) => a.url.localeCompare(b.url) || a.method.localeCompare(b.method));
  const access = (r: RouteEntry) => {
    const p = r.policy;
    if (!p) return 'public';
    if ('public' in p) return 'public';
    return `${p.role}${'selfService' in p && p.selfService ? ' (self)' : ''}`;
  };
  const page = (r: RouteEntry) =>
    r.policy && !('public' in r.policy) && r.policy.feature ? r.policy.feature : '–';
  const lines = [
    '# Route index',
    '',
    'Every HTTP route of the backend with the least role it needs and the dashboard page it belongs to',
    "(accounts limited to some pages can only use those pages' routes). Generated from the live route table by",
    '`packages/backend/test/routes-doc.test.ts`; the request and response schemas are in the OpenAPI document',
    'served at `GET /api/docs`. Roles: viewer < operator < admin.',
    '',
    '| method | path | role | page | summary |',
    '|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.method} | \`${r.url}\` | ${access(r)} | ${page(r)} | ${(r.summary ?? '').replaceAll('|', '\\|')} |`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}

let nats: TestNats;
beforeAll(async () => {
  nats = await startNats();
});
afterAll(async () => {
  await nats?.stop();
});

describe('docs/routes.md', () => {
  it('lists every route with its policy', async () => {
    const text = render(await routeTable(nats.url));
    if (process.env.UPDATE_DOCS) writeFileSync(DOC, text);
    expect(readFileSync(DOC, 'utf8')).toBe(text);
  });
});
