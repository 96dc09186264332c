// The dashboard in a real browser against a real stack (nats-server, the built
// backend serving the built SPA, 1,000 simulated agents): sign in with the API
// token, see the agents and their counts, open one and see its perf chart
// drawn, switch to Japanese and dark mode. Each test leaves a screenshot in
// e2e/artifacts/; the time to the first rendered Agents row and to a fully
// drawn Dashboard (fresh page load, token already stored) go to
// e2e/artifacts/timings.json.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { ARTIFACTS, type Browser, launchBrowser, screenshot } from './support/browser.js';
import { type Stack, startStack } from './support/stack.js';
import { AGENTS_FIRST_ROW, DASHBOARD_DRAWN, timeUntil } from './support/timing.js';

/** KANADE_E2E_AGENTS=100000 runs the same checks (and the timing) against a large fleet. */
const AGENTS = Number(process.env.KANADE_E2E_AGENTS ?? 1000);
const COUNT = AGENTS.toLocaleString('en-US');
let stack: Stack;
let browser: Browser;
let page: Page;
const timings: Record<string, number> = {};

beforeAll(async () => {
  stack = await startStack({ agents: AGENTS });
  await stack.backfillHostPerf(0, 120);
  browser = await launchBrowser({ baseURL: stack.backend.url });
  page = browser.page;
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  writeFileSync(
    join(ARTIFACTS, 'timings.json'),
    `${JSON.stringify({ agents: AGENTS, ...timings }, null, 2)}\n`,
  );
});

describe('dashboard in Chromium', () => {
  it('signs in with the API token and lands on the dashboard with the fleet counted', async () => {
    await page.goto('/');
    await page.waitForURL(/\/login\?next=/);
    await page.getByRole('button', { name: 'API token' }).click();
    await page.locator('#token').fill('not-the-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('did not accept');

    await page.locator('#token').fill(stack.backend.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/dashboard$/);
    await expect
      .poll(() => page.getByTestId('count-known').textContent(), { timeout: 15_000 })
      .toContain(COUNT);
    await expect.poll(() => page.getByTestId('count-active').textContent()).toContain(COUNT);
    await expect
      .poll(() => page.getByTestId('live-status').getAttribute('data-status'), { timeout: 15_000 })
      .toBe('live');
    expect(await page.getByTestId('backend-version').textContent()).toMatch(/^v\d+\.\d+\.\d+/);
    await page.getByTestId('top-mem').waitFor();
    await expect
      .poll(async () => Number(await page.getByTestId('chart-fleet-cpu').getAttribute('data-points')), {
        timeout: 15_000,
      })
      .toBeGreaterThan(0);
    expect(await page.getByTestId('degraded-banner').count()).toBe(0);
    await screenshot(page, 'dashboard');
    timings.dashboard_drawn_ms = Math.round(await timeUntil(page, '/dashboard', '__drawn', DASHBOARD_DRAWN));
  });

  it('lists the simulated agents with their counts, status chips in the URL and regex search', async () => {
    timings.agents_first_row_ms = Math.round(
      await timeUntil(page, '/agents', '__firstRow', AGENTS_FIRST_ROW),
    );
    expect(await page.getByTestId('count-all').textContent()).toBe(COUNT);
    expect(await page.getByTestId('count-online').textContent()).toBe(COUNT);
    expect(await page.getByTestId('count-offline').textContent()).toBe('0');
    expect(await page.locator('[data-testid="agents-table"] tbody tr').count()).toBe(50);
    expect(await page.getByTestId('agents-range').textContent()).toContain(`1–50 of ${COUNT}`);
    await screenshot(page, 'agents');

    await page.getByTestId('status-offline').click();
    await page.waitForURL(/status=offline/);
    await expect.poll(() => page.getByText('No agent matches these filters.').count()).toBe(1);
    await page.getByTestId('status-online').click();
    await page.waitForURL(/status=online/);

    await page.getByRole('searchbox').fill('0000(07|42)$');
    await page.waitForURL(/q=/);
    await expect.poll(() => page.locator('[data-testid="agents-table"] tbody tr').count()).toBe(2);
    expect(await page.getByTestId('agents-range').textContent()).toContain('of 2');

    expect(await page.getByRole('button', { name: 'Next' }).isDisabled()).toBe(true);
    await page.goto('/agents?sort=pc_id&dir=desc');
    await expect
      .poll(() => page.locator('[data-testid="agents-table"] tbody tr').first().textContent())
      .toContain(`sim-${String(AGENTS).padStart(6, '0')}`);
  });

  it('opens an agent and draws its perf charts', async () => {
    await page.goto('/agents?q=%5Esim-000001%24');
    await page.getByRole('link', { name: 'sim-000001' }).click();
    await page.waitForURL(/\/agents\/sim-000001/);
    await page.getByTestId('agent-header').waitFor();
    await expect
      .poll(async () => Number(await page.getByTestId('chart-cpu').getAttribute('data-points')), {
        timeout: 20_000,
      })
      .toBeGreaterThan(0);
    expect(await page.locator('[data-testid="chart-cpu"] canvas').count()).toBe(1);
    await page.getByRole('button', { name: '1h', exact: true }).click();
    await page.waitForURL(/range=1h/);
    await expect
      .poll(async () => Number(await page.getByTestId('chart-mem').getAttribute('data-points')))
      .toBeGreaterThanOrEqual(2 * 55);
    await screenshot(page, 'agent-detail');
  });

  it('switches to Japanese and dark mode, and keeps both after a reload', async () => {
    await page.goto('/settings');
    await page.getByRole('button', { name: '日本語' }).click();
    await page.getByRole('button', { name: 'ダーク' }).click();
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('ja');
    expect(await page.evaluate(() => document.documentElement.classList.contains('dark'))).toBe(true);
    await page.reload();
    await page.getByRole('link', { name: 'エージェント' }).first().waitFor();
    expect(await page.evaluate(() => document.documentElement.classList.contains('dark'))).toBe(true);
    await page.goto('/dashboard');
    await expect.poll(() => page.getByTestId('count-known').textContent()).toContain(COUNT);
    await page.getByTestId('top-mem').waitFor();
    await screenshot(page, 'dashboard-ja-dark');
  });

  it('names the failing query in the degraded-data banner, and polls when the live stream is down', async () => {
    await page.route('**/api/perf/top?metric=cpu_pct*', (r) =>
      r.fulfill({
        status: 500,
        contentType: 'application/json',
        body: '{"code":"KANADE_ERR_INTERNAL","message":"boom"}',
      }),
    );
    await page.route('**/api/stream', (r) => r.abort());
    onTestFinished(() => page.unrouteAll());
    await page.goto('/dashboard');
    await page.getByTestId('degraded-banner').waitFor();
    expect(await page.getByTestId('degraded-banner').textContent()).toMatch(/CPU.*boom/s);
    await expect.poll(() => page.getByTestId('live-status').getAttribute('data-status')).toBe('down');
    await expect.poll(() => page.getByTestId('count-known').textContent()).toContain(COUNT);
    await screenshot(page, 'dashboard-degraded');
  });

  it('turns the agents table into cards on a phone-sized screen', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto('/agents');
    await page.locator('[data-testid="agents-table"] tbody tr').first().waitFor();
    expect(await page.locator('[data-testid="agents-table"] thead').isVisible()).toBe(false);
    expect(await page.getByRole('button', { name: 'メニューを開く' }).isVisible()).toBe(true);
    await screenshot(page, 'agents-phone', { fullPage: false });
  });
});
