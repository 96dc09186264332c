// The fleet-management pages in Chromium against a real stack (30 simulated
// agents; groups lab and canary overlap on sim-000006..sim-000010): probe
// results and check results are published on the real RESULTS stream and
// timeline events on OBS, exactly as agents send them. Covers Inventory
// (fleet table, per-PC facts with Now / History, search with per-column
// operators), Compliance, Events (kind chips, duplicates collapsed), Groups
// (add and remove members, static and dynamic definitions with preview),
// Config (global and group scopes, effective view with a conflict warning),
// the agent detail panels (groups, metadata, effective config), the Agents
// page's attribute filter and metadata column, the fleet freeze, and a
// viewer's read-only view. Screenshots go to e2e/artifacts/.
import { randomUUID } from 'node:crypto';
import { jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../test-support/backend.js';
import { type Browser, launchBrowser, screenshot } from './support/browser.js';
import { signInWithPassword, signInWithToken, signOut } from './support/session.js';
import { type Stack, startStack } from './support/stack.js';

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
let stack: Stack;
let browser: Browser;
let page: Page;
let nc: NatsConnection;

const SW_JOB = {
  id: 'sw-inventory',
  version: '1',
  description: 'Installed software',
  execute: { shell: 'sh', script: 'true', timeout: '60s' },
  inventory: {
    display: [
      { field: 'os_version', label: 'OS version' },
      { field: 'ram_bytes', label: 'RAM', type: 'bytes' },
      {
        field: 'software',
        label: 'Software',
        columns: [
          { field: 'name', label: 'Name' },
          { field: 'version', label: 'Version' },
        ],
      },
    ],
    history_scalars: ['os_version', 'ram_bytes'],
    explode: [
      {
        field: 'software',
        table: 'e2e_software',
        primary_key: ['name'],
        columns: [
          { field: 'name', index: true },
          { field: 'version' },
          { field: 'size_mb', type: 'integer' },
        ],
        track_history: true,
      },
    ],
  },
};

const CHECK_JOB = {
  id: 'disk-check',
  version: '1',
  execute: { shell: 'sh', script: 'true', timeout: '60s' },
  check: { name: 'disk_space', label: 'Disk space' },
};

const pc = (i: number) => `sim-${String(i).padStart(6, '0')}`;
const sw = (name: string, version: string, size_mb: number) => ({ name, version, size_mb });

async function api(path: string, init: { method?: string; body?: unknown } = {}) {
  const r = await stack.backend.fetch(path, {
    method: init.method ?? 'GET',
    ...(init.body !== undefined
      ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(init.body) }
      : {}),
  });
  if (!r.ok) throw new Error(`${init.method ?? 'GET'} ${path}: HTTP ${r.status} ${await r.text()}`);
  return r.status === 204 ? null : r.json();
}

async function publishResult(pcId: string, job: string, stdout: string, ageMs = 0) {
  const requestId = randomUUID();
  const now = Date.now() - ageMs;
  await jetstream(nc).publish(
    `results.${requestId}`,
    JSON.stringify({
      result_id: randomUUID(),
      request_id: requestId,
      pc_id: pcId,
      exit_code: 0,
      stdout,
      stderr: '',
      started_at: new Date(now - 1000).toISOString(),
      finished_at: new Date(now).toISOString(),
      manifest_id: job,
    }),
  );
}

async function publishEvent(pcId: string, kind: string, source: string, at: number, payload: unknown) {
  await jetstream(nc).publish(
    `obs.${pcId}`,
    JSON.stringify({
      pc_id: pcId,
      at: new Date(at).toISOString(),
      kind,
      source,
      event_record_id: randomUUID(),
      payload,
    }),
  );
}

/** expect.poll with room for a projection or a refetch to land. */
const until = <T>(fn: () => Promise<T> | T) => expect.poll(fn, { timeout: 15_000 });
const rows = (testId: string) => page.locator(`[data-testid="${testId}"] tbody tr`);

beforeAll(async () => {
  stack = await startStack({ agents: 30, groups: { lab: range(0, 10), canary: range(5, 15) } });
  nc = await connect({ servers: stack.nats.url });
  await api('/api/jobs', { method: 'POST', body: SW_JOB });
  await api('/api/jobs', { method: 'POST', body: CHECK_JOB });

  // Inventory: five PCs; sim-000001 reports twice, so it has a history.
  for (const i of [1, 2, 3, 4, 5]) {
    await publishResult(
      pc(i),
      'sw-inventory',
      JSON.stringify({
        os_version: '10.0.19045',
        ram_bytes: 8 * 1024 ** 3 * (i % 2 ? 1 : 2),
        software: [
          sw('Chrome', '120', 300),
          sw('7-Zip', '23', 2),
          ...(i === 3 ? [sw('Slack', '4.3', 150)] : []),
        ],
      }),
      60_000,
    );
  }
  await eventually(
    async () => ((await api('/api/inventory/jobs')) as { pc_count: number }[])[0]?.pc_count === 5,
    20_000,
    'inventory facts of five PCs',
  );
  await publishResult(
    pc(1),
    'sw-inventory',
    JSON.stringify({
      os_version: '10.0.22631',
      ram_bytes: 16 * 1024 ** 3,
      software: [sw('Chrome', '121', 310), sw('Zoom', '5.17', 120)],
    }),
  );

  // Compliance: two failing, one warning, three fine.
  const checks: [number, string, string][] = [
    [1, 'fail', 'C: 2% free'],
    [2, 'fail', 'C: 4% free'],
    [3, 'warn', 'C: 12% free'],
    [4, 'ok', 'C: 40% free'],
    [5, 'ok', 'C: 55% free'],
    [6, 'ok', 'C: 61% free'],
  ];
  for (const [i, status, detail] of checks)
    await publishResult(pc(i), 'disk-check', JSON.stringify({ status, detail }));

  // Events: a logon logged twice (UAC split token), logoffs and a boot.
  const t0 = Date.now() - 30 * 60_000;
  await publishEvent(pc(1), 'logon', 'Security', t0, { user: 'alice', logon_type: '2' });
  await publishEvent(pc(1), 'logon', 'Security', t0, { user: 'alice', logon_type: '2', elevated: true });
  await publishEvent(pc(1), 'logoff', 'Security', t0 + 60_000, { user: 'alice' });
  await publishEvent(pc(2), 'boot', 'System', t0 + 120_000, { reason: 'power button' });
  await publishEvent(pc(2), 'logon', 'Security', t0 + 180_000, { user: 'bob', logon_type: '10' });

  // Config: two groups disagree on the heartbeat of the PCs in both.
  await api('/api/groups/lab/config', { method: 'PUT', body: { heartbeat_interval: '45s' } });
  await api('/api/groups/canary/config', { method: 'PUT', body: { heartbeat_interval: '20s' } });

  await eventually(
    async () =>
      ((await api('/api/checks')) as { rows: unknown[] }).rows.length === 3 &&
      ((await api('/api/obs_events')) as { events: unknown[] }).events.length === 5 &&
      ((await api(`/api/inventory/sw-inventory/history/pc/${pc(1)}`)) as unknown[]).length > 0,
    20_000,
    'checks, events and history projected',
  );

  browser = await launchBrowser({ baseURL: stack.backend.url });
  page = browser.page;
  await signInWithToken(page, stack.backend.token);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await nc?.close();
  await stack?.stop();
});

describe('fleet pages in Chromium', () => {
  it('shows the inventory fleet table and one PC’s facts now and as a history of changes', async () => {
    await page.getByRole('link', { name: 'Inventory' }).click();
    await page.waitForURL(/\/inventory$/);
    await until(() => rows('inventory-table').count()).toBe(5);
    const first = await rows('inventory-table').first().textContent();
    expect(first).toContain(pc(1));
    expect(first).toContain('16.0 GiB');
    expect(first).toContain('2 rows');
    expect(await page.getByTestId('inventory-range').textContent()).toContain('1–5 of 5');

    await page.getByRole('button', { name: pc(1) }).click();
    await page.waitForURL(/pc=sim-000001/);
    const card = page.getByTestId('facts-sw-inventory');
    await card.waitFor();
    expect(await card.textContent()).toContain('10.0.22631');
    expect(await card.locator('tbody tr').count()).toBe(2);
    expect(await card.locator('tbody').textContent()).toContain('Zoom');
    await screenshot(page, 'inventory-facts');

    await card.getByRole('button', { name: 'History' }).click();
    const history = page.getByTestId('inventory-history');
    await history.locator('tbody tr').first().waitFor();
    const text = await history.textContent();
    expect(text).toContain('added');
    expect(text).toContain('removed');
    expect(text).toContain('changed');
    expect(text).toContain('name=Zoom');
    await history.getByRole('button', { name: 'removed', exact: true }).click();
    await until(() => history.locator('tbody tr').count()).toBe(1);
    expect(await history.locator('tbody').textContent()).toContain('name=7-Zip');
    await screenshot(page, 'inventory-history');
  });

  it('searches an explode table and the scalar facts with per-column operators', async () => {
    await page.goto('/inventory/search?job=sw-inventory');
    await page.locator('#search-target').selectOption('software');
    await page.getByRole('button', { name: '+ Filter' }).click();
    const filter = page.getByTestId('search-filter');
    await filter.getByLabel('Column').selectOption('name');
    await filter.getByLabel('Operator').selectOption('contains');
    await filter.getByLabel('Value').fill('hrom');
    await page.getByTestId('inventory-search').getByRole('button', { name: 'Search', exact: true }).click();
    await page.waitForURL(/f=name%3Acontains%3Ahrom/);
    await until(() => rows('search-results').count()).toBe(5);

    // Numeric columns offer comparisons.
    await filter.getByLabel('Column').selectOption('size_mb');
    await filter.getByLabel('Operator').selectOption('ge');
    await filter.getByLabel('Value').fill('150');
    await page.getByTestId('inventory-search').getByRole('button', { name: 'Search', exact: true }).click();
    await until(() => rows('search-results').count()).toBe(6);
    await screenshot(page, 'inventory-search');

    await page.locator('#search-target').selectOption('');
    await page.getByRole('button', { name: '+ Filter' }).click();
    await filter.getByLabel('Column').selectOption('os_version');
    await filter.getByLabel('Operator').selectOption('prefix');
    await filter.getByLabel('Value').fill('10.0.22');
    await page.getByTestId('inventory-search').getByRole('button', { name: 'Search', exact: true }).click();
    await until(() => rows('search-results').count()).toBe(1);
    await rows('search-results')
      .getByRole('link', { name: pc(1) })
      .click();
    await page.getByTestId('pc-facts').waitFor();
  });

  it('counts compliance per check and lists the PCs needing attention with their detail', async () => {
    await page.goto('/compliance');
    const check = page.getByTestId('check-disk_space');
    await check.waitFor();
    const counts = await check.textContent();
    expect(counts).toMatch(/fail\s*2/);
    expect(counts).toMatch(/warn\s*1/);
    expect(counts).toMatch(/ok\s*3/);
    await check.click();
    await page.waitForURL(/check=disk_space/);
    await until(() => rows('check-table').count()).toBe(3);
    expect(await page.getByTestId('check-table').textContent()).toContain('C: 2% free');
    // URL-backed checkboxes settle after the navigation, so click and wait for the URL.
    await page.getByLabel('Include ok').click();
    await page.waitForURL(/ok=1/);
    await until(() => rows('check-table').count()).toBe(6);
    await screenshot(page, 'compliance');
  });

  it('filters the event timeline with tri-state kind chips and folds duplicates', async () => {
    await page.goto('/events');
    await until(() => rows('events-table').count()).toBe(5);
    const logon = page.getByTestId('kind-chips').getByRole('button', { name: 'logon' });
    await logon.click();
    await page.waitForURL(/kinds=logon/);
    await until(() => rows('events-table').count()).toBe(3);
    await page.getByLabel('Collapse duplicates').click();
    await page.waitForURL(/collapse=1/);
    await until(() => rows('events-table').count()).toBe(2);
    expect(await page.getByTestId('events-table').textContent()).toContain('×2');
    await screenshot(page, 'events');
    await logon.click();
    await page.waitForURL(/kinds_ex=logon/);
    await until(() => rows('events-table').count()).toBe(2);
    await logon.click();
    await page.getByLabel('pc_id').fill(pc(2));
    await page.getByRole('button', { name: 'Apply' }).click();
    await until(() => rows('events-table').count()).toBe(2);
  });

  it('adds PCs to a group (unknown ids dropped) and removes one', async () => {
    await page.goto('/groups');
    await rows('groups-table').first().waitFor();
    expect(await rows('groups-table').filter({ hasText: 'canary' }).textContent()).toContain('10');
    await page.getByRole('button', { name: 'lab', exact: true }).click();
    const members = page.getByTestId('group-members');
    await until(() => rows('members-table').count()).toBe(10);
    await members.getByRole('button', { name: 'Add PCs' }).click();
    await page.locator('#group-pcs').fill(`${pc(21)} ${pc(22)} nope-1`);
    await page.locator('#group-pcs').press('Enter');
    await until(() => page.getByTestId('picked-pcs').textContent()).toContain(pc(22));
    expect(await page.getByRole('status').first().textContent()).toContain('nope-1');
    await page.getByRole('button', { name: 'Add 2 PCs to lab' }).click();
    await until(() => rows('members-table').count()).toBe(12);
    await page.getByRole('button', { name: `Remove ${pc(21)}` }).click();
    await until(() => rows('members-table').count()).toBe(11);
    await screenshot(page, 'groups');
  });

  it('creates static and dynamic group definitions and previews their members', async () => {
    await page.goto('/groups?tab=defs');
    await page.getByRole('button', { name: 'New definition' }).click();
    await page.locator('.cm-content').click();
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Delete');
    await page.keyboard.insertText(
      'id: late-pcs\ndescription: the last ten\nquery: "SELECT pc_id FROM agents WHERE pc_id >= \'sim-000021\'"\nrefresh: 30s\n',
    );
    await page.getByRole('button', { name: 'Save' }).click();
    await rows('defs-table').first().waitFor();
    expect(await page.getByTestId('defs-table').textContent()).toContain('dynamic');
    await page.getByRole('button', { name: 'Preview' }).click();
    await until(() => page.getByTestId('def-preview').textContent()).toContain('Resolves to 10 PCs');

    await page.getByRole('button', { name: 'New definition' }).click();
    await page.locator('.cm-content').click();
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Delete');
    await page.keyboard.insertText(`id: pair\nmembers: [${pc(1)}, ${pc(2)}]\n`);
    await page.getByRole('button', { name: 'Save' }).click();
    await until(() => rows('defs-table').count()).toBe(2);
    const pair = await rows('defs-table').filter({ hasText: 'pair' }).textContent();
    expect(pair).toContain('static');
    expect(pair).toContain('2 members');
    await screenshot(page, 'group-definitions');
  });

  it('edits the global and a group scope, and shows a conflict in the effective view', async () => {
    await page.goto('/config');
    const editor = page.getByTestId('scope-editor');
    await editor.getByLabel('Set host_perf_interval in this scope').check();
    await page.locator('#cfg-host_perf_interval').fill('90s');
    await editor.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved.').waitFor();

    await page.goto('/config?scope=group&name=lab');
    await expect.poll(() => page.getByTestId('field-host_perf_interval').textContent()).toContain('90s');
    expect(await page.locator('#cfg-heartbeat_interval').inputValue()).toBe('45s');

    await page.getByLabel('pc_id to resolve').fill(pc(6));
    await page.getByRole('button', { name: 'Resolve' }).click();
    const effective = page.getByTestId('effective-card');
    await effective.getByTestId('config-conflicts').waitFor();
    expect(await effective.getByTestId('config-conflicts').textContent()).toContain(
      'heartbeat_interval is set by canary, lab; lab wins',
    );
    expect(await effective.locator('[data-field="heartbeat_interval"]').textContent()).toBe('45s');
    expect(await effective.locator('[data-field="host_perf_interval"]').textContent()).toBe('90s');
    await screenshot(page, 'config');
  });

  it('manages groups and metadata on the agent page and shows its effective config', async () => {
    await page.goto(`/agents/${pc(6)}`);
    const groups = page.getByTestId('agent-groups');
    await groups.getByText('canary').waitFor();
    await groups.getByLabel('Group name').fill('extra');
    await groups.getByRole('button', { name: 'Add to group' }).click();
    await groups.getByRole('link', { name: 'extra' }).waitFor();

    const meta = page.getByTestId('agent-meta');
    await meta.getByRole('button', { name: 'Edit' }).click();
    await meta.getByLabel('Key').first().fill('site');
    await meta.getByLabel('Value').first().fill('osaka');
    await meta.getByRole('button', { name: 'Add row' }).click();
    await meta.getByLabel('Key').nth(1).fill('owner');
    await meta.getByLabel('Value').nth(1).fill('alice');
    await meta.getByRole('button', { name: 'Save' }).click();
    await meta.getByTestId('meta-entries').waitFor();
    expect(await meta.getByTestId('meta-entries').textContent()).toContain('osaka');
    await page.getByTestId('agent-effective').getByTestId('config-conflicts').waitFor();
    await screenshot(page, 'agent-detail-panels');
  });

  it('filters the roster by a metadata attribute and shows it as a column', async () => {
    // The roster filters on the SQL copy of agent_meta, which its projector keeps in step.
    await eventually(
      async () =>
        Number((await stack.backend.fetch('/api/agents?meta.site.eq=osaka')).headers.get('x-total-count')) ===
        1,
      15_000,
      'metadata projected',
    );
    await page.goto('/agents');
    await rows('agents-table').first().waitFor();
    await page.getByRole('button', { name: '+ Attribute filter' }).click();
    await page.getByLabel('Attribute').fill('site');
    await page.getByLabel('Operator').selectOption('eq');
    await page.getByLabel('Value').fill('osaka');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/meta\.site\.eq=osaka/);
    await until(() => rows('agents-table').count()).toBe(1);
    await page.getByRole('button', { name: 'Columns' }).click();
    await page.getByRole('checkbox', { name: 'site' }).check();
    await until(() => rows('agents-table').first().textContent()).toContain('osaka');
    await page.getByRole('heading', { name: 'Agents' }).click();
    await screenshot(page, 'agents-meta');
  });

  it('freezes the fleet from the Schedules page, shows the banner on the dashboard, and lifts it', async () => {
    await page.goto('/schedules');
    await page.getByRole('button', { name: 'Freeze fleet…' }).click();
    await page.locator('#freeze-reason').fill('e2e change window');
    await page.getByTestId('freeze-form').getByRole('button', { name: 'Freeze' }).click();
    await until(() => page.getByTestId('freeze-banner').getAttribute('data-active')).toBe('true');
    await page.goto('/dashboard');
    await page.getByTestId('freeze-banner').waitFor();
    expect(await page.getByTestId('freeze-banner').textContent()).toContain('e2e change window');
    await screenshot(page, 'dashboard-frozen');
    await page.goto('/schedules');
    await page.getByRole('button', { name: 'Lift freeze' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Lift freeze' }).click();
    await page.getByRole('button', { name: 'Freeze fleet…' }).waitFor();
    expect(await api('/api/freeze')).toBeNull();
  });

  it('gives a viewer read-only metadata, groups and config', async () => {
    await api('/api/accounts', {
      method: 'POST',
      body: { username: 'vera', role: 'viewer', password: 'viewer-password-1', must_change_pw: false },
    });
    await signOut(page);
    await signInWithPassword(page, 'vera', 'viewer-password-1');
    await page.goto(`/agents/${pc(6)}`);
    await page.getByTestId('meta-entries').waitFor();
    expect(await page.getByTestId('agent-meta').getByRole('button', { name: 'Edit' }).count()).toBe(0);
    expect(await page.getByTestId('agent-groups').getByLabel('Group name').count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Ping' }).count()).toBe(0);
    await screenshot(page, 'agent-detail-viewer');
    await page.goto('/config');
    await page.getByTestId('field-heartbeat_interval').waitFor();
    expect(await page.getByTestId('scope-editor').getByRole('button', { name: 'Save' }).count()).toBe(0);
    expect(await page.getByLabel('Set heartbeat_interval in this scope').isDisabled()).toBe(true);
    await page.goto('/groups');
    await rows('groups-table').first().waitFor();
    expect(await page.getByRole('button', { name: 'Add PCs to a group' }).count()).toBe(0);
  });

  it('shows the new pages in Japanese and dark mode on a phone', async () => {
    await page.evaluate(() => {
      localStorage.setItem('kanade_lang', 'ja');
      localStorage.setItem('kanade-theme', 'dark');
    });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto('/compliance?check=disk_space');
    await until(() => rows('check-table').count()).toBe(3);
    expect(await page.getByTestId('compliance-page').textContent()).toContain('失敗 2');
    await screenshot(page, 'compliance-ja-phone', { fullPage: false });
    await page.goto(`/agents/${pc(6)}`);
    await page.getByTestId('meta-entries').waitFor();
    expect(await page.getByTestId('agent-meta').textContent()).toContain('メタデータ');
    await screenshot(page, 'agent-detail-ja-phone');
  });
});
