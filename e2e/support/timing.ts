// Page timings measured inside the browser: milliseconds from navigation
// start until every selector matches, recorded by a MutationObserver that an
// init script installs before the page's own scripts run. Shared by the
// dashboard e2e test and `npm run bench -- dashboard`, so both measure the
// same moments: the first rendered Agents row, and a fully drawn Dashboard
// (every card present and both fleet charts holding data).
import type { Page } from 'playwright-core';

export const AGENTS_FIRST_ROW = ['[data-testid="agents-table"] tbody tr'];

export const DASHBOARD_DRAWN = [
  '[data-testid="fleet-health"]',
  '[data-testid="agent-versions"]',
  '[data-testid="top-cpu"]',
  '[data-testid="top-mem"]',
  '[data-testid="recent-results"]',
  '[data-testid="recent-audit"]',
  '[data-testid="upcoming-schedules"]',
  '[data-testid="compliance-summary"]',
  '[data-testid="chart-fleet-cpu"]:not([data-points="0"]) canvas',
  '[data-testid="chart-fleet-mem"]:not([data-points="0"]) canvas',
];

/**
 * Installs the observer on `page` (once per page; the name keys the result). The script is a string,
 * not a function: tsx (the benchmark runner) adds helpers to compiled functions that do not exist in
 * the page.
 */
export async function watchFor(page: Page, name: string, selectors: string[]) {
  await page.addInitScript(`(() => {
    const name = ${JSON.stringify(name)};
    const selectors = ${JSON.stringify(selectors)};
    const check = () => {
      if (window[name] === undefined && selectors.every((s) => document.querySelector(s)))
        window[name] = performance.now();
    };
    new MutationObserver(check).observe(document, { childList: true, subtree: true, attributes: true });
  })();`);
}

/** Waits for the moment `watchFor` recorded under `name` and returns it (ms since navigation start). */
export async function recorded(page: Page, name: string, timeoutMs = 30_000): Promise<number> {
  await page.waitForFunction((n) => (window as unknown as Record<string, number>)[n] !== undefined, name, {
    timeout: timeoutMs,
  });
  return page.evaluate((n) => (window as unknown as Record<string, number>)[n]!, name);
}

/** Navigates to `path` and returns the ms from navigation start until all `selectors` match. */
export async function timeUntil(
  page: Page,
  path: string,
  name: string,
  selectors: string[],
): Promise<number> {
  await watchFor(page, name, selectors);
  await page.goto(path);
  return recorded(page, name);
}
