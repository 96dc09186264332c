// Debian's Chromium driven by playwright-core (no browser download): headless,
// a fresh profile per launch, and the flags that keep it quiet and offline.
// Tests use one persistent context; the dashboard benchmark launches the
// browser once and opens a fresh context per cold navigation.
// Screenshots go to e2e/artifacts/ (git-ignored).
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, chromium, type Page, type Browser as PlaywrightBrowser } from 'playwright-core';

export const CHROMIUM = process.env.KANADE_CHROMIUM ?? '/usr/bin/chromium';
export const ARTIFACTS = fileURLToPath(new URL('../artifacts/', import.meta.url));

export interface Browser {
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

function checkChromium() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}: install Debian's package (apt-get install chromium) or set KANADE_CHROMIUM`,
    );
  }
}

/** Headless Chromium without a context, for callers that open one context per measurement. */
export async function launchChromium(): Promise<PlaywrightBrowser> {
  checkChromium();
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
}

export async function launchBrowser(opts: { baseURL: string; viewport?: { width: number; height: number } }) {
  checkChromium();
  const profile = mkdtempSync(join(tmpdir(), 'kanade-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    baseURL: opts.baseURL,
    viewport: opts.viewport ?? { width: 1400, height: 900 },
    args: ARGS,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  } satisfies Browser;
}

export async function screenshot(page: Page, name: string, opts: { fullPage?: boolean } = {}) {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: opts.fullPage ?? true });
}
