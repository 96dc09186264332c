// Session revocation and TOTP replay refusal against the built backend and
// its real store: a password change (self-service or an admin reset), an MFA
// change and "sign out everywhere" end every session issued before them while
// the caller gets a fresh token; a TOTP code is accepted once, and two
// sign-ins racing with one code cannot both win. The millisecond rule (a
// token minted earlier in the revocation's own second is refused too; one
// without `iat_ms`, from before that claim, is compared by whole seconds) is
// pinned in-process with a fake clock, since a real one cannot be aimed
// inside a second. The HTTP cases let a few milliseconds pass before revoking,
// so that the token they revoke is strictly older.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { SignJWT } from 'jose';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { eventually } from '../../../test-support/backend.js';
import { createStoreDb } from '../../../test-support/db.js';
import { buildApp } from '../src/http/app.js';
import { createMetrics } from '../src/metrics.js';
import { createServices } from '../src/services/index.js';
import { createStore } from '../src/store/index.js';
import { type Harness, startHarness, totp } from './auth-harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

/** Resolves once the wall clock is a few milliseconds later, so a token minted before is strictly older. */
const later = () => new Promise((r) => setTimeout(r, 5));

const me = (token: string) => h.call({ url: '/api/auth/me', token });

async function expectRevoked(token: string) {
  const r = await me(token);
  expect(r.status).toBe(401);
  expect(r.json()).toEqual({ code: 'KANADE_ERR_UNAUTHORIZED', message: 'session revoked' });
}

/** The fresh session a credential change answers; remembered as a secret. */
function fresh(r: { status: number; json(): { token: string; exp: number; expires_at: string } }) {
  expect(r.status).toBe(200);
  const body = r.json();
  expect(Date.parse(body.expires_at)).toBe(body.exp * 1000);
  h.secrets.add(body.token);
  return body.token;
}

describe('session revocation', () => {
  it('refuses a token minted before a password change; the fresh token works', async () => {
    const { token, password } = await h.account('ses-pw', 'operator');
    const other = await h.login('ses-pw', password);
    await later();
    h.secrets.add('ses-pw-new-password');
    const r = await h.call({
      method: 'POST',
      url: '/api/auth/change-password',
      token,
      body: { old_password: password, new_password: 'ses-pw-new-password' },
    });
    const renewed = fresh(r);
    await expectRevoked(token);
    await expectRevoked(other);
    expect((await me(renewed)).json()).toMatchObject({ username: 'ses-pw', must_change_pw: false });
    expect((await me(await h.login('ses-pw', 'ses-pw-new-password'))).status).toBe(200);
  });

  it("revokes a user's tokens on an admin password reset or MFA reset, not on other edits", async () => {
    const { token, password } = await h.account('ses-reset', 'viewer');
    await later();
    const patch = (body: object) => h.call({ method: 'PATCH', url: '/api/accounts/ses-reset', body });
    expect((await patch({ email: 'reset@example.com', role: 'operator' })).status).toBe(200);
    expect((await me(token)).status).toBe(200);
    h.secrets.add('ses-reset-by-admin');
    expect((await patch({ password: 'ses-reset-by-admin' })).status).toBe(200);
    await expectRevoked(token);
    expect(
      (
        await h.call({
          method: 'POST',
          url: '/api/auth/login',
          token: null,
          body: { username: 'ses-reset', password },
        })
      ).status,
    ).toBe(401);
    const after = await h.login('ses-reset', 'ses-reset-by-admin');
    expect((await me(after)).json().must_change_pw).toBe(true);

    await later();
    expect((await patch({ reset_mfa: true })).status).toBe(200);
    await expectRevoked(after);
  });

  it('ends the other sessions on MFA enrolment and removal, handing the caller a fresh token', async () => {
    const account = await h.account('ses-mfa', 'viewer');
    const password = account.password;
    let token = account.token;
    const other = await h.login('ses-mfa', password);
    const { secret } = (await h.call({ method: 'POST', url: '/api/auth/mfa/init', token, body: {} })).json();
    await later();
    const code = totp(secret, 'ses-mfa').generate();
    token = fresh(await h.call({ method: 'POST', url: '/api/auth/mfa/verify', token, body: { code } }));
    await expectRevoked(other);
    expect((await me(token)).json().mfa_enabled).toBe(true);

    const stale = token;
    await later();
    token = fresh(await h.call({ method: 'POST', url: '/api/auth/mfa/disable', token, body: { password } }));
    await expectRevoked(stale);
    expect((await me(token)).json().mfa_enabled).toBe(false);
  });

  it('signs out everywhere on request, keeping the caller signed in with a fresh token', async () => {
    const { token, password } = await h.account('ses-all', 'operator');
    const other = await h.login('ses-all', password);
    await later();
    const renewed = fresh(
      await h.call({ method: 'POST', url: '/api/auth/logout-everywhere', token, body: {} }),
    );
    await expectRevoked(token);
    await expectRevoked(other);
    expect((await me(renewed)).status).toBe(200);
    // The service token has no account to sign out.
    const r = await h.call({ method: 'POST', url: '/api/auth/logout-everywhere', body: {} });
    expect(r.status).toBe(400);
    expect(r.json().message).toContain('not an account');
    await eventually(
      async () =>
        h.sql("SELECT 1 FROM audit_log WHERE action = 'account.logout_everywhere' AND target = 'ses-all'")
          .length === 1,
      10_000,
      'the logout_everywhere audit row',
    );
  });

  it('compares milliseconds, and whole seconds for a token without iat_ms (fake clock)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kanade-sessions-'));
    const db = await createStoreDb(dir);
    const nc = await connect({ servers: h.nats.url });
    let t = 1_800_000_000_300;
    const log = pino({ level: 'silent' });
    const secret = 'fake-clock-secret-0123456789abcdef';
    const services = createServices({
      store: createStore(db),
      nc,
      metrics: createMetrics(),
      log,
      now: () => t,
      jwtSecret: secret,
    });
    const app = await buildApp({
      log,
      auth: { disabled: false, staticToken: undefined },
      services,
      version: 't',
    });
    onTestFinished(async () => {
      await app.close();
      await nc.close();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    });
    await services.accounts.create(
      { username: 'clock', role: 'viewer', password: 'clock-password-1', must_change_pw: false },
      { username: 'test' },
    );
    const login = await services.accounts.login(
      { username: 'clock', password: 'clock-password-1', ip: '127.0.0.1' },
      'test',
    );
    // A token as this backend minted them before `iat_ms`: whole-second `iat` only.
    const secondsOnly = (at: number) =>
      new SignJWT({ roles: ['viewer'] })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject('clock')
        .setAudience('kanade')
        .setIssuedAt(Math.floor(at / 1000))
        .setExpirationTime(Math.floor(at / 1000) + 3600)
        .sign(new TextEncoder().encode(secret));
    const oldSameSecond = await secondsOnly(t);
    const oldEarlierSecond = await secondsOnly(t - 1000);
    const status = async (token: string) =>
      (await app.inject({ url: '/api/auth/me', headers: { authorization: `Bearer ${token}` } })).statusCode;
    const everywhere = async (token: string) => {
      const r = await app.inject({
        method: 'POST',
        url: '/api/auth/logout-everywhere',
        headers: { authorization: `Bearer ${token}` },
        payload: {},
      });
      expect(r.statusCode).toBe(200);
      return r.json().token as string;
    };
    expect(await status(oldSameSecond)).toBe(200);
    expect(await status(oldEarlierSecond)).toBe(200);

    t += 600; // later in the login's second (…000.900)
    const renewed = await everywhere(login.token);
    // Minted 600 ms before the revocation, in the same second: refused.
    expect(await status(login.token)).toBe(401);
    // Minted at the revocation's millisecond, right after it: accepted.
    expect(await status(renewed)).toBe(200);
    // Without iat_ms: the same second survives, an earlier second does not.
    expect(await status(oldSameSecond)).toBe(200);
    expect(await status(oldEarlierSecond)).toBe(401);

    t += 1; // one millisecond later (…000.901)
    const latest = await everywhere(renewed);
    expect(await status(renewed)).toBe(401);
    expect(await status(latest)).toBe(200);
  });
});

describe('TOTP codes', () => {
  it('accepts a code once, refuses it and any earlier code afterwards, and lets one of two racing sign-ins win', async () => {
    const { token, password } = await h.account('ses-otp', 'viewer');
    const { secret } = (await h.call({ method: 'POST', url: '/api/auth/mfa/init', token, body: {} })).json();
    const gen = totp(secret, 'ses-otp');
    fresh(
      await h.call({ method: 'POST', url: '/api/auth/mfa/verify', token, body: { code: gen.generate() } }),
    );
    const login = (code: string) =>
      h.call({
        method: 'POST',
        url: '/api/auth/login',
        token: null,
        body: { username: 'ses-otp', password, code },
      });
    // The enrolment code proved the authenticator, not a sign-in: it still signs in once.
    const now = Date.now();
    const current = gen.generate({ timestamp: now });
    let r = await login(current);
    expect(r.status).toBe(200);
    h.secrets.add(r.json().token);
    r = await login(current);
    expect(r.status).toBe(401);
    expect(r.json()).toEqual({ code: 'KANADE_ERR_UNAUTHORIZED', message: 'invalid MFA code' });

    // The next step's code is inside the ±1 window: two sign-ins race with it, one wins.
    const next = gen.generate({ timestamp: now + 30_000 });
    const raced = await Promise.all([login(next), login(next)]);
    expect(raced.map((x) => x.status).sort()).toEqual([200, 401]);
    for (const x of raced) if (x.status === 200) h.secrets.add(x.json().token);
    // A code from before the last accepted step is refused too.
    expect((await login(current)).status).toBe(401);
    await eventually(
      async () =>
        h.sql(
          `SELECT 1 FROM audit_log WHERE action = 'login_failed' AND target = 'ses-otp'
           AND json_extract(payload, '$.reason') = 'reused MFA code'`,
        ).length === 3,
      10_000,
      'three reused-code audit rows',
    );
  });
});

describe('audit', () => {
  it('every mutating call this file made left an audit row', async () => {
    expect(await h.unaudited()).toEqual([]);
  });
});
