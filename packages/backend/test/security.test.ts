// Security properties checked against EVERY route the app registers: the
// route list comes from the live route table (routeTable(), built from the
// same sources as the backend under test), so a route added tomorrow is
// covered without touching this file. Requests go to the built backend and
// carry no valid body: authentication and authorization run in onRequest,
// before the body is parsed or validated, so the answer depends on the
// credential alone and no handler runs.
import { connect } from '@nats-io/transport-node';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { RouteEntry } from '../src/http/policy.js';
import { createLoginThrottle, THROTTLE } from '../src/services/throttle.js';
import { ADMIN_PASSWORD, type Harness, JWT_SECRET, routeTable, startHarness } from './auth-harness.js';

let h: Harness;
let routes: RouteEntry[];
const responses: string[] = [];

beforeAll(async () => {
  h = await startHarness();
  routes = await routeTable(h.nats.url);
});
afterAll(async () => {
  await h?.stop();
});

type Guarded = RouteEntry & { policy: Exclude<RouteEntry['policy'], { public: true } | undefined> };

/** Guarded routes (everything under /api plus /metrics that is not public), HEAD twins left out. */
function guarded(): Guarded[] {
  const list = routes.filter(
    (r): r is Guarded =>
      (r.url.startsWith('/api/') || r.url === '/metrics') &&
      r.method !== 'HEAD' &&
      r.policy !== undefined &&
      !('public' in r.policy),
  );
  expect(list.length).toBeGreaterThan(10);
  return list;
}

/** A concrete path for a route template: every parameter and wildcard becomes `1`. */
const pathOf = (url: string) => url.replace(/:[A-Za-z0-9_]+(\([^)]*\))?/g, '1').replace(/\*/g, '1');

async function hit(r: RouteEntry, token: string | null) {
  const res = await h.call({
    method: r.method,
    url: pathOf(r.url),
    token,
    ...(r.method === 'GET' || r.method === 'DELETE' ? {} : { body: {} }),
  });
  responses.push(res.body);
  return res;
}

/** Run `check` over the routes a few at a time; returns the routes that failed it, with what they answered. */
async function sweep(
  list: RouteEntry[],
  token: string | null,
  check: (r: RouteEntry, status: number, body: { code?: string; message?: string }) => boolean,
): Promise<string[]> {
  const failures: string[] = [];
  for (let i = 0; i < list.length; i += 8) {
    await Promise.all(
      list.slice(i, i + 8).map(async (r) => {
        const res = await hit(r, token);
        let body: { code?: string; message?: string } = {};
        try {
          body = res.json();
        } catch {
          // not JSON: the check decides
        }
        if (!check(r, res.status, body))
          failures.push(`${r.method} ${r.url} -> ${res.status} ${res.body.slice(0, 120)}`);
      }),
    );
  }
  return failures;
}

const key = new TextEncoder().encode(JWT_SECRET);
const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;
const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');

async function badTokens(): Promise<Record<string, string>> {
  const claims = { roles: ['admin'] };
  return {
    forged: await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('admin')
      .setAudience('kanade')
      .setExpirationTime(inAnHour())
      .sign(new TextEncoder().encode('an-attacker-guessed-this-secret')),
    expired: await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('admin')
      .setAudience('kanade')
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
      .sign(key),
    'wrong audience': await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('admin')
      .setAudience('not-kanade')
      .setExpirationTime(inAnHour())
      .sign(key),
    'alg none': `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'admin', aud: 'kanade', roles: ['admin'], exp: inAnHour() })}.`,
  };
}

describe('every guarded route', () => {
  it('answers 401 without a token', async () => {
    const failures = await sweep(
      guarded(),
      null,
      (_r, s, b) => s === 401 && b.code === 'KANADE_ERR_UNAUTHORIZED',
    );
    expect(failures).toEqual([]);
    // An unknown /api path does not reveal that it does not exist.
    expect((await h.call({ url: '/api/no-such-route', token: null })).status).toBe(401);
  });

  it('answers 401 to a forged, expired, wrong-audience or alg:none token', async () => {
    for (const [kind, token] of Object.entries(await badTokens())) {
      const failures = await sweep(
        guarded(),
        token,
        (_r, s, b) => s === 401 && b.code === 'KANADE_ERR_UNAUTHORIZED',
      );
      expect(failures, kind).toEqual([]);
    }
  });

  it('answers 403 to a viewer on every operator and admin route, and to an operator on every admin route', async () => {
    const viewer = await h.account('sec-viewer', 'viewer');
    const operator = await h.account('sec-operator', 'operator');
    const forbidden = (r: RouteEntry, s: number, b: { code?: string; message?: string }) =>
      s === 403 &&
      b.code === 'KANADE_ERR_FORBIDDEN' &&
      (b.message ?? '').includes(`${(r as Guarded).policy.role} role required`);
    const aboveViewer = guarded().filter((r) => r.policy.role !== 'viewer');
    const admins = guarded().filter((r) => r.policy.role === 'admin');
    expect(aboveViewer.length).toBeGreaterThan(admins.length);
    expect(await sweep(aboveViewer, viewer.token, forbidden)).toEqual([]);
    expect(await sweep(admins, operator.token, forbidden)).toEqual([]);
  });

  it("answers 403 naming the page to an account whose pages do not include the route's", async () => {
    // An admin limited to the Audit page: the role passes everywhere, so the page gate alone decides.
    const limited = await h.account('sec-auditor', 'admin', { allowed_features: ['audit'] });
    const others = guarded().filter((r) => !r.policy.selfService && r.policy.feature !== 'audit');
    const failures = await sweep(others, limited.token, (r, s, b) => {
      const feature = (r as Guarded).policy.feature;
      const expected = feature ? `requires ${feature}` : 'belongs to no page';
      return s === 403 && (b.message ?? '').includes(expected);
    });
    expect(failures).toEqual([]);
    expect((await h.call({ url: '/api/audit', token: limited.token })).status).toBe(200);
  });
});

describe('the database is authoritative on every request', () => {
  it('refuses a disabled account on its next request, its old sessions once re-enabled, and a deleted one', async () => {
    const { token, password } = await h.account('sec-dis', 'operator');
    expect((await h.call({ url: '/api/auth/me', token })).status).toBe(200);
    // Revocation ends tokens issued before it, to the millisecond (`iat_ms`): let a few pass.
    await new Promise((r) => setTimeout(r, 5));
    await h.call({ method: 'PATCH', url: '/api/accounts/sec-dis', body: { disabled: true } });
    let r = await h.call({ url: '/api/auth/me', token });
    expect(r.status).toBe(401);
    expect(r.json().message).toContain('account disabled');
    await h.call({ method: 'PATCH', url: '/api/accounts/sec-dis', body: { disabled: false } });
    r = await h.call({ url: '/api/auth/me', token });
    expect(r.status).toBe(401);
    expect(r.json().message).toBe('session revoked');
    const again = await h.login('sec-dis', password);
    expect((await h.call({ url: '/api/auth/me', token: again })).status).toBe(200);
    await h.call({ method: 'DELETE', url: '/api/accounts/sec-dis' });
    r = await h.call({ url: '/api/auth/me', token: again });
    expect(r.status).toBe(401);
    expect(r.json().message).toContain('unknown account');
  });

  it('applies a role change on the next request, whatever the token claims', async () => {
    const { token } = await h.account('sec-role', 'operator');
    const put = () => h.call({ method: 'PUT', url: '/api/server-settings', token, body: {} });
    expect((await put()).status).toBe(200);
    await h.call({ method: 'PATCH', url: '/api/accounts/sec-role', body: { role: 'viewer' } });
    const r = await put();
    expect(r.status).toBe(403);
    expect(r.json().message).toBe('operator role required (caller is viewer)');
    await h.call({ method: 'PATCH', url: '/api/accounts/sec-role', body: { role: 'admin' } });
    expect((await h.call({ url: '/api/accounts', token })).status).toBe(200);
  });
});

describe('login throttle', () => {
  it('locks a username after 5 consecutive failures, even for the right password, with Retry-After', async () => {
    const { password } = await h.account('sec-lock', 'viewer');
    const attempt = (pw: string) =>
      h.call({
        method: 'POST',
        url: '/api/auth/login',
        token: null,
        body: { username: 'sec-lock', password: pw },
      });
    for (let i = 0; i < THROTTLE.userFailures; i++)
      expect((await attempt('wrong-password')).status).toBe(401);
    const r = await attempt(password);
    expect(r.status).toBe(429);
    expect(r.json().code).toBe('KANADE_ERR_RATE_LIMITED');
    const retry = Number(r.headers.get('retry-after'));
    expect(retry).toBeGreaterThan(THROTTLE.userLockMs / 1000 - 10);
    expect(retry).toBeLessThanOrEqual(THROTTLE.userLockMs / 1000);
    // Other accounts are unaffected.
    await h.login('admin', ADMIN_PASSWORD);
  });

  it('releases the lock after 15 minutes and clears the streak on success (fake clock)', async () => {
    let t = 1_000_000;
    const nc = await connect({ servers: h.nats.url });
    onTestFinished(() => nc.close());
    const th = createLoginThrottle(nc, () => t);
    for (let i = 0; i < 4; i++) await th.failure('Ann', '10.0.0.1');
    expect(await th.retryAfter('ann', '10.0.0.2')).toBeUndefined();
    await th.success('ann');
    for (let i = 0; i < 4; i++) await th.failure('ann', '10.0.0.1');
    expect(await th.retryAfter('ann', '10.0.0.1')).toBeUndefined();
    await th.failure('ann', '10.0.0.1');
    expect(await th.retryAfter('ANN', '10.0.0.9')).toBe(15 * 60);
    t += 15 * 60 * 1000 - 1000;
    expect(await th.retryAfter('ann', '10.0.0.9')).toBe(1);
    t += 1000;
    expect(await th.retryAfter('ann', '10.0.0.9')).toBeUndefined();
    // After the lock, one more failure starts a new streak rather than re-locking at once.
    await th.failure('ann', '10.0.0.1');
    expect(await th.retryAfter('ann', '10.0.0.9')).toBeUndefined();
  });

  it('allows 30 failures per IP per minute, then 429 until the window slides (fake clock)', async () => {
    let t = 5_000_000;
    const nc = await connect({ servers: h.nats.url });
    onTestFinished(() => nc.close());
    const th = createLoginThrottle(nc, () => t);
    for (let i = 0; i < THROTTLE.ipFailures; i++) {
      expect(await th.retryAfter(`u${i}`, '10.1.1.1')).toBeUndefined();
      await th.failure(`u${i}`, '10.1.1.1');
      t += 1000;
    }
    expect(await th.retryAfter('fresh', '10.1.1.1')).toBe(30);
    expect(await th.retryAfter('fresh', '10.1.1.2')).toBeUndefined();
    t += 30_000;
    expect(await th.retryAfter('fresh', '10.1.1.1')).toBeUndefined();
  });
});

describe('secrets', () => {
  it('never appear in logs or responses, and no response carries a password hash', async () => {
    expect(responses.length).toBeGreaterThan(100);
    for (const body of responses) {
      expect(body).not.toMatch(/\$argon2/);
      for (const s of h.secrets) expect(body).not.toContain(s);
    }
    const accounts = await h.call({ url: '/api/accounts' });
    expect(accounts.body).not.toMatch(/argon2|password_hash|totp_secret/);
    const logs = h.be.logs.join('\n');
    expect(logs.length).toBeGreaterThan(0);
    expect(logs).not.toMatch(/\$argon2/);
    for (const s of h.secrets) expect(logs).not.toContain(s);
  });

  it('every mutating call this suite made left an audit row', async () => {
    expect(h.mutations.length).toBeGreaterThan(5);
    expect(await h.unaudited()).toEqual([]);
  });
});
