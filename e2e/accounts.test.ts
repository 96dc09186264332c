// Accounts end to end in Chromium on a real stack: the admin (API token)
// creates an operator account; its first sign-in is sent to the forced
// password change; it enrols TOTP from the QR page (the code computed here
// from the shown setup key); the next sign-in asks for the code; "sign out
// other sessions" revokes the tokens minted before it and keeps this one. The
// operator sees no admin-only page. The same operator then adds agents: the
// Add agents page warns that the stack's loopback broker is unreachable from
// other machines, shows the one-liner with its token masked (Copy copies it
// whole) and downloads the .tar.gz, or says how to get a build when there is
// none; Settings keeps the installers' broker URL and a write-only broker
// token, and the page then shows both. Screenshots go to e2e/artifacts/.
import { readFileSync } from 'node:fs';
import { Secret, TOTP } from 'otpauth';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { type Browser, launchBrowser, screenshot } from './support/browser.js';
import { type Stack, startStack } from './support/stack.js';

let stack: Stack;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  stack = await startStack({ agents: 10 });
  browser = await launchBrowser({ baseURL: stack.backend.url });
  page = browser.page;
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

async function signIn(username: string, password: string) {
  await page.goto('/login');
  await page.getByRole('button', { name: 'Account', exact: true }).click();
  await page.locator('#username').fill(username);
  await page.locator('#password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function signOut() {
  await page.getByRole('button', { name: 'Sign out' }).first().click();
  await page.waitForURL(/\/login/);
}

describe('accounts in Chromium', () => {
  it('lets the admin create an operator account', async () => {
    await page.goto('/login');
    await page.getByRole('button', { name: 'API token' }).click();
    await page.locator('#token').fill(stack.backend.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/dashboard$/);
    await page.getByRole('link', { name: 'Accounts' }).click();
    await page.locator('#acc-user').fill('alice');
    await page.locator('#acc-role').selectOption('operator');
    await page.locator('#acc-pw').fill('first-password-1');
    await page.getByRole('button', { name: 'Create' }).click();
    await page.locator('[data-testid="accounts-table"] tbody tr', { hasText: 'alice' }).waitFor();
    expect(
      await page.locator('[data-testid="accounts-table"] tbody tr', { hasText: 'alice' }).textContent(),
    ).toContain('must change password');
    await screenshot(page, 'accounts');
    await signOut();
  });

  it('sends a first sign-in to the forced password change', async () => {
    await signIn('alice', 'first-password-1');
    await page.waitForURL(/\/change-password$/);
    await page.locator('#pw-current').fill('first-password-1');
    await page.locator('#pw-new').fill('second-password-2');
    await page.locator('#pw-confirm').fill('second-password-2');
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.waitForURL(/\/dashboard$/);
    expect(await page.getByTestId('session-user').textContent()).toContain('alice');
    // Operators see Exec and Jobs but not the admin-only Accounts page.
    expect(await page.getByRole('link', { name: 'Exec', exact: true }).count()).toBe(1);
    expect(await page.getByRole('link', { name: 'Accounts', exact: true }).count()).toBe(0);
  });

  it('enrols TOTP from the QR page, and the next sign-in asks for the code', async () => {
    await page.getByRole('link', { name: 'Account', exact: true }).click();
    await page.getByRole('button', { name: 'Set up' }).click();
    const secret = (await page.getByTestId('mfa-secret').textContent())!.trim();
    await page.locator('img[alt="otpauth QR code"]').waitFor();
    await screenshot(page, 'account-mfa');
    const totp = new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30, algorithm: 'SHA1' });
    await page.locator('#mfa-code').fill(totp.generate());
    await page.getByRole('button', { name: 'Turn on' }).click();
    await page.getByRole('button', { name: 'Turn off' }).waitFor();
    await signOut();

    await signIn('alice', 'second-password-2');
    await page.locator('#totp').waitFor();
    expect(await page.getByRole('alert').textContent()).toContain('6-digit code');
    await page.locator('#totp').fill(totp.generate());
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/dashboard$/);
    expect(await page.getByTestId('session-user').textContent()).toContain('alice');
  });

  it('signs out every other session from the account page and stays signed in', async () => {
    const tokenNow = () => page.evaluate(() => localStorage.getItem('kanade_token'));
    const status = async (token: string | null) =>
      (
        await fetch(`${stack.backend.url}/api/agents?limit=1`, {
          headers: { authorization: `Bearer ${token}` },
        })
      ).status;
    const before = await tokenNow();
    expect(await status(before)).toBe(200);
    // Tokens carry whole seconds, and one minted in the second of the revocation survives it.
    await new Promise((r) => setTimeout(r, 1100));
    await page.getByRole('link', { name: 'Account', exact: true }).click();
    await page.getByRole('button', { name: 'Sign out other sessions' }).click();
    await page.getByText('Every other session has been signed out.').waitFor();
    const after = await tokenNow();
    expect(after).not.toBe(before);
    expect(await status(before)).toBe(401);
    expect(await status(after)).toBe(200);
    // The page keeps working with the fresh token.
    await page.getByRole('link', { name: 'Dashboard', exact: true }).click();
    await page.waitForURL(/\/dashboard$/);
    expect(await page.getByTestId('session-user').textContent()).toContain('alice');
  });
});

describe('adding agents in Chromium', () => {
  const tokenNow = async () => (await page.evaluate(() => localStorage.getItem('kanade_token')))!;

  it('warns about the loopback broker, masks the one-liner’s token and downloads the installer', async () => {
    await page.getByRole('link', { name: 'Add agents' }).click();
    await page.waitForURL(/\/agent-install$/);
    const warning = page.getByTestId('loopback-warning');
    await warning.waitFor();
    expect(await warning.textContent()).toContain('Broker URL for agents');
    expect(await warning.getByRole('link', { name: 'Open Settings' }).getAttribute('href')).toBe('/settings');
    expect(await page.getByTestId('installer-broker').textContent()).toBe(stack.nats.url);

    const token = await tokenNow();
    const shown = (await page.getByTestId('one-liner').textContent())!;
    expect(shown).toBe(
      `curl -fsSL -H "Authorization: Bearer ${token.slice(0, 6)}…" "${stack.backend.url}/api/agents/installer.sh?os=linux&arch=x86_64" | sudo sh`,
    );
    expect(await page.getByTestId('token-warning').textContent()).toContain('session token');
    await browser.context.grantPermissions(['clipboard-read', 'clipboard-write']);
    await page.getByRole('button', { name: 'Copy', exact: true }).click();
    await page.getByRole('button', { name: 'Copied' }).waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(shown.replace(/\S+…/, token));

    await page.getByRole('button', { name: 'aarch64' }).click();
    expect(await page.getByTestId('one-liner').textContent()).toContain('arch=aarch64');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download', exact: true }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/\.tar\.gz$/);
    const file = readFileSync((await download.path())!);
    expect([file[0], file[1]]).toEqual([0x1f, 0x8b]); // gzip
    await screenshot(page, 'agent-install');
  });

  it('keeps the installers’ broker URL and a write-only token in Settings', async () => {
    await page.getByRole('link', { name: 'Open Settings' }).click();
    await page.waitForURL(/\/settings$/);
    const save = page.getByRole('button', { name: 'Save' });
    await page.locator('#ss-nats-url').fill('http://broker.example.net');
    await save.click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('nats_url');

    await page.locator('#ss-nats-url').fill('nats://broker.example.net:4222');
    expect(await page.locator('#ss-nats-token').getAttribute('placeholder')).toBe('not set');
    await page.locator('#ss-nats-token').fill('e2e-broker-secret');
    await save.click();
    await page.getByText('Saved.').waitFor();
    await page.reload();
    expect(await page.locator('#ss-nats-url').inputValue()).toBe('nats://broker.example.net:4222');
    expect(await page.locator('#ss-nats-token').inputValue()).toBe('');
    expect(await page.locator('#ss-nats-token').getAttribute('placeholder')).toContain('set — leave empty');
    expect(await page.content()).not.toContain('e2e-broker-secret');
    await screenshot(page, 'settings-agent-install');

    await page.getByRole('link', { name: 'Add agents' }).click();
    await expect
      .poll(() => page.getByTestId('installer-broker').textContent())
      .toBe('nats://broker.example.net:4222');
    expect(await page.getByTestId('installer-token').textContent()).toBe('set');
    expect(await page.getByTestId('loopback-warning').count()).toBe(0);

    // Remove the token again; the URL stays.
    await page.getByRole('link', { name: 'Settings', exact: true }).click();
    await page.locator('#ss-nats-token-clear').check();
    await save.click();
    await page.getByText('Saved.').waitFor();
    expect(await page.locator('#ss-nats-token').getAttribute('placeholder')).toBe('not set');
    expect(await page.locator('#ss-nats-url').inputValue()).toBe('nats://broker.example.net:4222');
  });

  it('says what to do when there is nothing to install, and offers no download', async () => {
    await page.route('**/api/agents/installer/info', async (r) => {
      const info = await (await r.fetch()).json();
      await r.fulfill({ json: { ...info, release: null } });
    });
    onTestFinished(() => page.unrouteAll());
    await page.goto('/agent-install');
    await page.getByTestId('no-release').waitFor();
    expect(await page.getByTestId('no-release').textContent()).toContain('kanade agent publish');
    expect(await page.getByRole('button', { name: 'Download', exact: true }).isDisabled()).toBe(true);
    expect(await page.getByRole('button', { name: 'Copy', exact: true }).isDisabled()).toBe(true);
  });
});
