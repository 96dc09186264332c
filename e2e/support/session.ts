// Signing in from a test: with the backend's API token through the login
// page, or with an account's username and password.
import type { Page } from 'playwright-core';

export async function signInWithToken(page: Page, token: string) {
  await page.goto('/login');
  await page.getByRole('button', { name: 'API token' }).click();
  await page.locator('#token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/dashboard$/);
}

export async function signInWithPassword(page: Page, username: string, password: string) {
  await page.goto('/login');
  await page.getByRole('button', { name: 'Account', exact: true }).click();
  await page.locator('#username').fill(username);
  await page.locator('#password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/dashboard$/);
}

export async function signOut(page: Page) {
  await page.getByRole('button', { name: 'Sign out' }).first().click();
  await page.waitForURL(/\/login/);
}
