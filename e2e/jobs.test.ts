// Jobs end to end in Chromium against a real stack whose 100 simulated
// agents answer commands (20 of them in group `lab`): write a job in the
// YAML editor (schema problems shown while typing, save refused until they
// are fixed), exec it to the group and watch the results arrive in Activity
// without reloading, revoke it (the agents then refuse it with exit 126),
// kill a run in flight (exit -1), and create a schedule that fires on the
// group while the page watches its coverage fill, then disable it (soft,
// then hard: the job is revoked). Screenshots go to e2e/artifacts/.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, launchBrowser, screenshot } from './support/browser.js';
import { type Stack, startStack } from './support/stack.js';

const LAB = Array.from({ length: 20 }, (_, i) => i);
let stack: Stack;
let browser: Browser;
let page: Page;

const JOB = `# e2e: says hello
id: e2e-hello
version: "1"
description: Say hello
execute:
  shell: sh
  script: |
    echo hello
  timeout: 30s
tags: [e2e]
`;

beforeAll(async () => {
  stack = await startStack({
    agents: 100,
    commands: { runMs: 2500 },
    groups: { lab: LAB },
    // Reconcile schedules every second instead of every minute, so a fire shows within the test.
    env: { KANADE_SCHEDULER_POLL_CRON: '* * * * * *' },
  });
  browser = await launchBrowser({ baseURL: stack.backend.url });
  page = browser.page;
  await page.goto('/login');
  await page.getByRole('button', { name: 'API token' }).click();
  await page.locator('#token').fill(stack.backend.token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/dashboard$/);
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

/** Replaces the editor's whole text (insertText: no auto-indent on the way in). */
async function setEditorText(text: string) {
  await page.locator('.cm-content').click();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(text);
}

async function resultRows() {
  return page.locator('[data-testid="results-table"] tbody tr').count();
}

/** Execs e2e-hello to group lab from the Exec page and opens its results in Activity. */
async function execToLab() {
  await page.goto('/exec?job=e2e-hello');
  await page.getByRole('button', { name: 'Groups', exact: true }).click();
  await page.locator('#exec-groups').fill('lab');
  await page.getByRole('button', { name: 'Execute', exact: true }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Execute' }).click();
  await page.getByTestId('exec-accepted').waitFor();
  expect(await page.getByTestId('exec-accepted').textContent()).toContain('20 targets');
  await page.getByRole('link', { name: /Watch the results/ }).click();
  await page.waitForURL(/\/activity\?exec_id=/);
}

describe('jobs in Chromium', () => {
  it('writes a job in the YAML editor, refusing to save until the schema problems are fixed', async () => {
    await page.goto('/jobs');
    await page.getByRole('button', { name: 'New job' }).click();
    await page.getByTestId('yaml-editor').waitFor();
    await setEditorText(JOB.replace('  shell: sh\n', '  shel: sh\n'));
    await expect
      .poll(() => page.getByTestId('yaml-problems').textContent())
      .toContain('execute.shell: is required');
    expect(await page.getByTestId('yaml-problems').textContent()).toContain(
      'execute.shel: is not a known field',
    );
    expect(await page.getByRole('button', { name: 'Save' }).isDisabled()).toBe(true);
    await screenshot(page, 'job-editor-problems');

    await setEditorText(JOB);
    await expect.poll(() => page.getByTestId('yaml-problems').textContent()).toContain('No problems found');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByTestId('job-editor').waitFor({ state: 'detached' });
    await page.getByRole('button', { name: 'e2e-hello' }).waitFor();
    expect(await page.locator('[data-testid="jobs-table"] tbody tr').count()).toBe(1);
    await screenshot(page, 'jobs');
  });

  it('execs the job to a group and shows the results arriving live in Activity', async () => {
    await execToLab();
    // No reload from here on: rows and their final state arrive through the live stream.
    await expect.poll(resultRows, { timeout: 20_000 }).toBe(20);
    await expect
      .poll(
        () => page.locator('[data-testid="results-table"] tbody tr', { hasText: '0 · success' }).count(),
        {
          timeout: 20_000,
        },
      )
      .toBe(20);
    expect(await page.getByTestId('live-status').getAttribute('data-status')).toBe('live');
    await screenshot(page, 'activity-results');

    await page.locator('[data-testid="results-table"] tbody tr').first().locator('summary').click();
    await expect
      .poll(() => page.locator('[data-testid="results-table"] pre').first().textContent())
      .toContain('hello');
  });

  it('revokes the job so agents refuse it, then makes it runnable again', async () => {
    await page.goto('/jobs');
    const row = page.locator('[data-testid="jobs-table"] tbody tr', { hasText: 'e2e-hello' });
    await row.getByRole('button', { name: 'Revoke' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
    await expect.poll(() => row.textContent()).toContain('revoked');

    await execToLab();
    await expect
      .poll(
        () => page.locator('[data-testid="results-table"] tbody tr', { hasText: '126 · revoked' }).count(),
        {
          timeout: 20_000,
        },
      )
      .toBe(20);
    await screenshot(page, 'activity-revoked');

    await page.goto('/jobs');
    await row.getByRole('button', { name: 'Unrevoke' }).click();
    await expect.poll(() => row.textContent()).toContain('active');
  });

  it('kills runs in flight from Activity', async () => {
    await execToLab();
    const running = page.locator('[data-testid="results-table"] tbody tr', { hasText: 'running' });
    await expect.poll(() => running.count(), { timeout: 20_000 }).toBeGreaterThan(0);
    await running.first().getByRole('button', { name: 'Kill' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Kill' }).click();
    await expect
      .poll(
        () => page.locator('[data-testid="results-table"] tbody tr', { hasText: '-1 · killed' }).count(),
        {
          timeout: 20_000,
        },
      )
      .toBeGreaterThan(0);
    await screenshot(page, 'activity-killed');
  });

  it('creates a schedule in the editor, shows its coverage filling as it fires, then disables it', async () => {
    const job = await stack.backend.fetch('/api/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/yaml' },
      body: JOB.replace('id: e2e-hello', 'id: e2e-sched'),
    });
    expect(job.status).toBe(200);

    await page.goto('/schedules');
    await page.getByRole('button', { name: 'New schedule' }).click();
    await page.getByTestId('yaml-editor').waitFor();
    await setEditorText(
      'id: e2e-sched-lab\njob_id: e2e-sched\nwhen:\n  per_target: once\ntarget:\n  groups: [lab]\n',
    );
    await expect.poll(() => page.getByTestId('yaml-problems').textContent()).toContain('No problems found');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByTestId('schedule-editor').waitFor({ state: 'detached' });

    const row = page.locator('[data-testid="schedules-table"] tbody tr', { hasText: 'e2e-sched-lab' });
    await expect
      .poll(() => row.getByTestId('coverage').getAttribute('data-total'), { timeout: 15_000 })
      .toBe('20');
    await expect
      .poll(() => row.getByTestId('coverage').getAttribute('data-ok'), { timeout: 30_000 })
      .toBe('20');
    await screenshot(page, 'schedules');

    await row.getByRole('button', { name: 'e2e-sched-lab' }).click();
    await page.getByTestId('schedule-drawer').getByRole('link', { name: 'sim-000001' }).waitFor();
    await screenshot(page, 'schedule-drawer');
    await page.getByTestId('schedule-drawer').getByRole('button', { name: 'Close' }).first().click();

    await row.getByRole('button', { name: 'Disable', exact: true }).click();
    await expect.poll(() => row.textContent()).toContain('disabled');
    await row.getByRole('button', { name: 'Enable' }).click();
    await expect.poll(() => row.textContent()).toContain('enabled');
    await row.getByRole('button', { name: 'Hard disable' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Hard disable' }).click();
    await expect.poll(() => row.textContent()).toContain('disabled');
    const status = (await stack.backend.json('/api/scripts/status')) as Record<string, string>;
    expect(status['e2e-sched']).toBe('REVOKED');
  });
});
