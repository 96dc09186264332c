// Accounts end to end in Chromium on a real stack: the admin (API token)
// creates an operator account; its first sign-in is sent to the forced
// password change; it enrols TOTP from the QR page (the code computed here
// from the shown setup key); the next sign-in asks for the code; "sign out
// other sessions" revokes the tokens minted before it and keeps this one. The
// operator sees no admin-only page. Screenshots go to e2e/artifacts/.
import { Secret, TOTP } from 'otpauth';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
