// Sign-in and sessions against the built backend on a real nats-server:
// login and its uniform 401, the JWT checks (signature, expiry, audience,
// algorithm, account lookup), the static token and KANADE_AUTH_DISABLE
// precedence, change-password, TOTP MFA, the session TTL taken from the
// server_settings KV and that document's validation, and the bootstrap admin
// in both startup modes.
import { statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, startBackend } from '../../../test-support/backend.js';
import {
  ADMIN_PASSWORD,
  type Harness,
  JWT_SECRET,
  STATIC_TOKEN,
  startHarness,
  totp,
} from './auth-harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

const key = (s: string) => new TextEncoder().encode(s);
const nowS = () => Math.floor(Date.now() / 1000);

async function jwt(
  claims: { sub: string; aud?: string; exp?: number },
  secret = JWT_SECRET,
): Promise<string> {
  let b = new SignJWT({ roles: ['admin'] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(claims.sub)
    .setExpirationTime(claims.exp ?? nowS() + 3600);
  if (claims.aud !== undefined) b = b.setAudience(claims.aud);
  return b.sign(key(secret));
}

describe('login', () => {
  it('signs in the bootstrap admin, who must change the password', async () => {
    const r = await h.call({
      method: 'POST',
      url: '/api/auth/login',
      token: null,
      body: { username: 'admin', password: ADMIN_PASSWORD },
    });
    expect(r.status).toBe(200);
    const body = r.json();
    h.secrets.add(body.token);
    expect(body).toMatchObject({ role: 'admin', must_change_pw: true });
    expect(body.exp - nowS()).toBeGreaterThan(24 * 3600 - 60);
    expect(body.exp - nowS()).toBeLessThanOrEqual(24 * 3600);
    expect(Date.parse(body.expires_at)).toBe(body.exp * 1000);
    const me = await h.call({ url: '/api/auth/me', token: body.token });
    expect(me.json()).toEqual({
      username: 'admin',
      role: 'admin',
      must_change_pw: true,
      allowed_features: null,
      mfa_enabled: false,
    });
    const [row] = h.sql<{ password_hash: string }>(
      "SELECT password_hash FROM users WHERE username = 'admin'",
    );
    expect(row!.password_hash).toMatch(/^\$argon2id\$/);
  });

  it('answers the same 401 for an unknown user, a wrong password and a disabled account', async () => {
    const { password } = await h.account('dora', 'viewer');
    expect(
      (await h.call({ method: 'PATCH', url: '/api/accounts/dora', body: { disabled: true } })).status,
    ).toBe(200);
    const attempts = [
      { username: 'nobody', password: 'whatever-123' },
      { username: 'admin', password: 'not-the-password' },
      { username: 'dora', password },
    ];
    for (const body of attempts) {
      const r = await h.call({ method: 'POST', url: '/api/auth/login', token: null, body });
      expect(r.status).toBe(401);
      expect(r.json()).toEqual({ code: 'KANADE_ERR_UNAUTHORIZED', message: 'invalid credentials' });
    }
  });

  it('rejects a malformed body with 400 naming the field', async () => {
    const r = await h.call({
      method: 'POST',
      url: '/api/auth/login',
      token: null,
      body: { username: 'admin' },
    });
    expect(r.status).toBe(400);
    expect(r.json().message).toContain('password');
  });
});

describe('bearer modes', () => {
  it('accepts the static token and a session JWT, and nothing else', async () => {
    const session = await h.login('admin', ADMIN_PASSWORD);
    const cases: [string | null, number, string?][] = [
      [STATIC_TOKEN, 200],
      [session, 200],
      [null, 401, 'missing bearer token'],
      [await jwt({ sub: 'admin', aud: 'kanade' }, 'another-secret-0123456789abcdef'), 401, 'bad signature'],
      [await jwt({ sub: 'admin', aud: 'kanade', exp: nowS() - 3600 }), 401, 'expired'],
      [await jwt({ sub: 'admin', aud: 'someone-else' }), 401, 'aud'],
      [await jwt({ sub: 'admin' }), 401, 'aud'],
      [await jwt({ sub: 'ghost', aud: 'kanade' }), 401, 'unknown account'],
      ['not.a.jwt', 401, 'malformed'],
    ];
    for (const [token, status, reason] of cases) {
      const r = await h.call({ url: '/api/accounts', token });
      expect(r.status, `${reason}`).toBe(status);
      if (reason) {
        expect(r.json().code).toBe('KANADE_ERR_UNAUTHORIZED');
        expect(r.json().message).toContain(reason);
        expect(r.headers.get('www-authenticate')).toBe('Bearer realm="kanade"');
      }
    }
  });

  it('reports service identities on /api/auth/me and refuses them self-service', async () => {
    expect((await h.call({ url: '/api/auth/me' })).json()).toEqual({
      username: 'service-token',
      role: 'admin',
      must_change_pw: false,
      allowed_features: null,
      mfa_enabled: false,
    });
    const r = await h.call({
      method: 'POST',
      url: '/api/auth/change-password',
      body: { old_password: 'x', new_password: 'yyyyyyyy' },
    });
    expect(r.status).toBe(400);
    expect(r.json().message).toContain('not an account');
  });

  it('opens everything with KANADE_AUTH_DISABLE, whatever the bearer', async () => {
    const open = await startBackend({
      natsUrl: h.nats.url,
      env: { KANADE_AUTH_DISABLE: '1', KANADE_JWT_SECRET: JWT_SECRET },
    });
    try {
      for (const token of [null, 'garbage']) {
        const r = await open.fetch('/api/accounts', { token });
        expect(r.status).toBe(200);
      }
      expect(await (await open.fetch('/api/auth/me', { token: null })).json()).toMatchObject({
        username: 'auth-disabled',
        role: 'admin',
        allowed_features: null,
      });
    } finally {
      await open.kill();
      removeDir(open.dataDir);
    }
  });
});

describe('change-password', () => {
  it('checks the old password and the length, then clears must_change_pw', async () => {
    const { token, password } = await h.account('carol', 'operator', { must_change_pw: true });
    const change = (body: object) =>
      h.call({ method: 'POST', url: '/api/auth/change-password', token, body });
    let r = await change({ old_password: password, new_password: 'short' });
    expect(r.status).toBe(400);
    expect(r.json().message).toContain('new_password');
    r = await change({ old_password: 'wrong-old-pw', new_password: 'long-enough-1' });
    expect(r.status).toBe(400);
    expect(r.json().message).toContain('old_password');
    h.secrets.add('carol-new-password');
    r = await change({ old_password: password, new_password: 'carol-new-password' });
    expect(r.status).toBe(200);
    // The change ends the account's sessions and answers a fresh token (sessions.test.ts).
    const renewed = r.json().token as string;
    h.secrets.add(renewed);
    expect((await h.call({ url: '/api/auth/me', token: renewed })).json().must_change_pw).toBe(false);
    await h.login('carol', 'carol-new-password');
    const old = await h.call({
      method: 'POST',
      url: '/api/auth/login',
      token: null,
      body: { username: 'carol', password },
    });
    expect(old.status).toBe(401);
  });
});

describe('TOTP MFA', () => {
  it('enrols with a proven code, then requires the code at sign-in', async () => {
    const account = await h.account('mia', 'viewer');
    const password = account.password;
    let token = account.token;
    const init = await h.call({ method: 'POST', url: '/api/auth/mfa/init', token, body: {} });
    expect(init.status).toBe(200);
    const { secret, otpauth_url } = init.json();
    expect(otpauth_url).toMatch(/^otpauth:\/\/totp\/kanade:mia\?/);
    expect(otpauth_url).toContain('issuer=kanade');
    expect(otpauth_url).toContain('digits=6');
    expect(otpauth_url).toContain('period=30');
    const gen = totp(secret, 'mia');
    const wrong = gen.generate({ timestamp: Date.now() + 10 * 60_000 });

    let r = await h.call({ method: 'POST', url: '/api/auth/mfa/verify', token, body: { code: wrong } });
    expect(r.status).toBe(400);
    expect((await h.call({ url: '/api/auth/me', token })).json().mfa_enabled).toBe(false);
    r = await h.call({ method: 'POST', url: '/api/auth/mfa/verify', token, body: { code: gen.generate() } });
    expect(r.status).toBe(200);
    // Enrolment ends the account's other sessions and answers a fresh token (sessions.test.ts).
    token = r.json().token;
    h.secrets.add(token);
    expect((await h.call({ url: '/api/auth/me', token })).json().mfa_enabled).toBe(true);

    const login = (code?: string) =>
      h.call({
        method: 'POST',
        url: '/api/auth/login',
        token: null,
        body: { username: 'mia', password, ...(code ? { code } : {}) },
      });
    r = await login();
    expect(r.status).toBe(401);
    expect(r.json().code).toBe('KANADE_ERR_MFA_REQUIRED');
    r = await login(wrong);
    expect(r.status).toBe(401);
    expect(r.json().code).toBe('KANADE_ERR_UNAUTHORIZED');
    r = await login(gen.generate());
    expect(r.status).toBe(200);
    h.secrets.add(r.json().token);

    r = await h.call({ method: 'POST', url: '/api/auth/mfa/init', token, body: {} });
    expect(r.status).toBe(409);
    r = await h.call({
      method: 'POST',
      url: '/api/auth/mfa/disable',
      token,
      body: { password: 'not-mine-123' },
    });
    expect(r.status).toBe(400);
    r = await h.call({ method: 'POST', url: '/api/auth/mfa/disable', token, body: { password } });
    expect(r.status).toBe(200);
    h.secrets.add(r.json().token);
    expect((await login()).status).toBe(200);
    const [row] = h.sql<{ totp_secret: string | null }>(
      "SELECT totp_secret FROM users WHERE username = 'mia'",
    );
    expect(row!.totp_secret).toBeNull();
  });
});

describe('server settings and the session TTL', () => {
  it('mints tokens for session_ttl_hours', async () => {
    let r = await h.call({ method: 'PUT', url: '/api/server-settings', body: { session_ttl_hours: 2 } });
    expect(r.status).toBe(200);
    expect(r.json()).toMatchObject({ session_ttl_hours: 2 });
    r = await h.call({
      method: 'POST',
      url: '/api/auth/login',
      token: null,
      body: { username: 'admin', password: ADMIN_PASSWORD },
    });
    h.secrets.add(r.json().token);
    expect(r.json().exp - nowS()).toBeGreaterThan(2 * 3600 - 60);
    expect(r.json().exp - nowS()).toBeLessThanOrEqual(2 * 3600);
    r = await h.call({ method: 'PUT', url: '/api/server-settings', body: {} });
    expect(r.status).toBe(200);
    expect(r.json().session_ttl_hours).toBeUndefined();
  });

  it('answers 422 naming the field for a bad value', async () => {
    const bad: [object, string][] = [
      [{ session_ttl_hours: 0 }, 'session_ttl_hours'],
      [{ session_ttl_hours: 8761 }, 'session_ttl_hours'],
      [{ session_ttl_hours: 1.5 }, 'session_ttl_hours'],
      [{ collect_retention_days: 0 }, 'collect_retention_days'],
      [{ agent_prune_days: 36_501 }, 'agent_prune_days'],
      [{ mail: { host: 'smtp', port: 70_000, encryption: 'tls', from: 'a@b.c' } }, 'mail.port'],
      [{ mail: { host: 'smtp', port: 25, encryption: 'ssl', from: 'a@b.c' } }, 'mail.encryption'],
      [{ no_such_setting: 1 }, 'no_such_setting'],
    ];
    for (const [body, field] of bad) {
      const r = await h.call({ method: 'PUT', url: '/api/server-settings', body });
      expect(r.status, JSON.stringify(body)).toBe(422);
      expect(r.json().code).toBe('KANADE_ERR_UNPROCESSABLE');
      expect(r.json().message).toContain(field);
    }
    expect((await h.call({ url: '/api/server-settings/defaults' })).json()).toEqual({
      collect_retention_days: 30,
      session_ttl_hours: 24,
      check_status_stale_days: 30,
      support_codes: [],
    });
  });

  it('never returns support-code hashes and keeps them and unknown fields across a PUT', async () => {
    const nc = await connect({ servers: h.nats.url });
    try {
      const kv = await new Kvm(nc).open('server_settings');
      const hash = '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA';
      await kv.put(
        'current',
        JSON.stringify({
          session_ttl_hours: 48,
          nats_auth_mode: 'token',
          support_codes: [{ scope: 'helpdesk', hash, label: 'Desk' }],
        }),
      );
      let r = await h.call({ url: '/api/server-settings' });
      expect(r.json()).toEqual({
        session_ttl_hours: 48,
        support_codes: [{ scope: 'helpdesk', label: 'Desk' }],
      });
      expect(r.body).not.toContain('argon2');
      r = await h.call({
        method: 'PUT',
        url: '/api/server-settings',
        body: { ...r.json<object>(), controller_group: 'feeds' },
      });
      expect(r.status).toBe(200);
      const stored = JSON.parse(new TextDecoder().decode((await kv.get('current'))!.value));
      expect(stored).toEqual({
        session_ttl_hours: 48,
        controller_group: 'feeds',
        nats_auth_mode: 'token',
        support_codes: [{ scope: 'helpdesk', hash, label: 'Desk' }],
      });
      await kv.put('current', '{}');
    } finally {
      await nc.close();
    }
  });
});

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

describe('bootstrap admin', () => {
  it('all-in-one mode: generates the password and the JWT secret once (0600) and prints the password', async () => {
    const port = await freePort();
    const env = { KANADE_EMBEDDED_NATS_PORT: String(port) };
    let be = await startBackend({ env });
    const dataDir = be.dataDir;
    try {
      const pwFile = join(dataDir, 'admin-password');
      const secretFile = join(dataDir, 'jwt-secret');
      for (const f of [pwFile, secretFile]) expect(statSync(f).mode & 0o777).toBe(0o600);
      const { readFileSync } = await import('node:fs');
      const password = readFileSync(pwFile, 'utf8').trim();
      expect(password.length).toBeGreaterThanOrEqual(8);
      expect(be.logs.some((l) => l.includes('First sign-in') && l.includes(password))).toBe(true);
      const login = async () => {
        const r = await be.fetch('/api/auth/login', {
          method: 'POST',
          token: null,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: 'admin', password }),
        });
        expect(r.status).toBe(200);
        return (await r.json()) as { token: string; must_change_pw: boolean };
      };
      const first = await login();
      expect(first.must_change_pw).toBe(true);

      await be.stop();
      be = await startBackend({ env, dataDir });
      expect(readFileSync(pwFile, 'utf8').trim()).toBe(password);
      expect(be.logs.some((l) => l.includes('First sign-in'))).toBe(false);
      // The generated JWT secret survives the restart, so the session does too.
      expect((await be.fetch('/api/auth/me', { token: first.token })).status).toBe(200);
    } finally {
      await be.stop();
      removeDir(dataDir);
    }
  });

  it('with a configured broker and no password: no account, a warning, the static token still works', async () => {
    const be = await startBackend({
      natsUrl: h.nats.url,
      env: { KANADE_BOOTSTRAP_ADMIN_USER: 'root', KANADE_JWT_SECRET: JWT_SECRET },
    });
    try {
      expect((await be.json<unknown[]>('/api/accounts')).length).toBe(0);
      expect(be.logs.some((l) => l.includes('no admin account was created'))).toBe(true);
    } finally {
      await be.kill();
      removeDir(be.dataDir);
    }
  });

  it('uses KANADE_BOOTSTRAP_ADMIN_USER with KANADE_BOOTSTRAP_ADMIN_PASSWORD', async () => {
    const be = await startBackend({
      natsUrl: h.nats.url,
      env: {
        KANADE_BOOTSTRAP_ADMIN_USER: 'root',
        KANADE_BOOTSTRAP_ADMIN_PASSWORD: 'root-password-1',
        KANADE_JWT_SECRET: JWT_SECRET,
      },
    });
    try {
      const accounts =
        await be.json<{ username: string; role: string; must_change_pw: boolean }[]>('/api/accounts');
      expect(accounts).toMatchObject([{ username: 'root', role: 'admin', must_change_pw: true }]);
    } finally {
      await be.kill();
      removeDir(be.dataDir);
    }
  });
});
