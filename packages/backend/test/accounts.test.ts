// Account administration against the built backend and its real store:
// CRUD and its validation, the atomic last-enabled-admin guard (including two
// admins demoting each other at once), permission groups and per-account page
// allow-lists as the auth layer applies them, and the audit query.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStoreDb } from '../../../test-support/db.js';
import { type Harness, startHarness } from './auth-harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

const patch = (username: string, body: object, token?: string) =>
  h.call({ method: 'PATCH', url: `/api/accounts/${username}`, body, ...(token ? { token } : {}) });

describe('accounts CRUD', () => {
  it('lists accounts without secrets', async () => {
    const r = await h.call({ url: '/api/accounts' });
    expect(r.status).toBe(200);
    expect(r.json()).toEqual([
      {
        username: 'admin',
        role: 'admin',
        disabled: false,
        must_change_pw: true,
        email: null,
        allowed_features: null,
        permission_group: null,
        mfa_enabled: false,
        created_at: expect.stringMatching(/Z$/),
        updated_at: expect.stringMatching(/Z$/),
      },
    ]);
    expect(r.body).not.toMatch(/argon2|password_hash|totp/);
  });

  it('creates an account, and refuses duplicates and bad input naming the field', async () => {
    const body = { username: 'vera', role: 'viewer', password: 'vera-password', email: 'vera@example.com' };
    h.secrets.add(body.password);
    let r = await h.call({ method: 'POST', url: '/api/accounts', body });
    expect(r.status).toBe(201);
    expect(r.json()).toMatchObject({
      username: 'vera',
      role: 'viewer',
      must_change_pw: true,
      email: 'vera@example.com',
      setup_link_sent: false,
    });
    expect((await h.call({ method: 'POST', url: '/api/accounts', body })).status).toBe(409);

    const bad: [object, number, string][] = [
      [{ ...body, username: 'v2', password: 'short' }, 400, 'password'],
      [{ ...body, username: 'v2', role: 'root' }, 400, 'role'],
      [{ ...body, username: 'has space' }, 400, 'username'],
      [{ ...body, username: 'v2', email: 'not-an-email' }, 400, 'email'],
      [{ ...body, username: 'v2', allowed_features: ['audit', 'bogus'] }, 400, 'allowed_features'],
      [{ ...body, username: 'v2', permission_group: 'nope' }, 422, 'permission_group'],
      [{ username: 'v2', role: 'viewer' }, 422, 'password'],
      [{ ...body, username: 'v2', is_admin: true }, 400, 'is_admin'],
    ];
    for (const [b, status, field] of bad) {
      r = await h.call({ method: 'POST', url: '/api/accounts', body: b });
      expect(r.status, JSON.stringify(b)).toBe(status);
      expect(r.json().message).toContain(field);
    }
    expect(h.sql("SELECT username FROM users WHERE username = 'v2'")).toEqual([]);
  });

  it('patches any subset of fields; a password reset forces a change; null clears', async () => {
    let r = await patch('vera', {
      role: 'operator',
      must_change_pw: false,
      allowed_features: ['inventory', 'agents', 'agents'],
    });
    expect(r.status).toBe(200);
    expect(r.json()).toMatchObject({
      role: 'operator',
      must_change_pw: false,
      allowed_features: ['agents', 'inventory'],
    });
    h.secrets.add('vera-reset-pw');
    r = await patch('vera', { password: 'vera-reset-pw', email: null, allowed_features: null });
    expect(r.json()).toMatchObject({ must_change_pw: true, email: null, allowed_features: null });
    const login = await h.call({
      method: 'POST',
      url: '/api/auth/login',
      token: null,
      body: { username: 'vera', password: 'vera-reset-pw' },
    });
    expect(login.json().must_change_pw).toBe(true);
    h.secrets.add(login.json().token);
    expect((await patch('nobody', { role: 'viewer' })).status).toBe(404);
    expect((await patch('vera', { password: 'short' })).status).toBe(400);
    expect((await h.call({ method: 'DELETE', url: '/api/accounts/vera' })).status).toBe(204);
    expect((await h.call({ method: 'DELETE', url: '/api/accounts/vera' })).status).toBe(404);
  });
});

describe('last enabled admin', () => {
  it('cannot be demoted, disabled or deleted', async () => {
    for (const r of [
      await patch('admin', { role: 'operator' }),
      await patch('admin', { disabled: true }),
      await h.call({ method: 'DELETE', url: '/api/accounts/admin' }),
    ]) {
      expect(r.status).toBe(409);
      expect(r.json().message).toContain('last enabled admin');
    }
    // A disabled admin does not count: it cannot be the one that keeps the fleet reachable.
    await h.account('dormant', 'admin');
    expect((await patch('dormant', { disabled: true })).status).toBe(200);
    expect((await patch('admin', { role: 'viewer' })).status).toBe(409);
    expect((await h.call({ method: 'DELETE', url: '/api/accounts/dormant' })).status).toBe(204);
  });

  it('holds when two admins demote each other at the same moment', async () => {
    await h.account('adm2', 'admin');
    for (let round = 0; round < 5; round++) {
      const [a, b] = await Promise.all([
        patch('admin', { role: 'operator' }),
        patch('adm2', { role: 'operator' }),
      ]);
      expect([a.status, b.status].sort()).toEqual([200, 409]);
      const admins = h.sql<{ n: number }>(
        "SELECT COUNT(*) AS n FROM users WHERE role = 'admin' AND disabled = 0",
      );
      expect(admins[0]!.n).toBe(1);
      // restore both to admin for the next round
      expect((await patch(a.status === 200 ? 'admin' : 'adm2', { role: 'admin' })).status).toBe(200);
    }
    expect((await h.call({ method: 'DELETE', url: '/api/accounts/adm2' })).status).toBe(204);
  });
});

describe('page allow-lists and permission groups', () => {
  it('applies a group over the account list, live, and refuses to delete a group with members', async () => {
    let r = await h.call({
      method: 'POST',
      url: '/api/permission-groups',
      body: { name: 'auditors', features: ['audit'] },
    });
    expect(r.status).toBe(201);
    expect(r.json()).toMatchObject({ name: 'auditors', features: ['audit'], member_count: 0 });
    expect(
      (
        await h.call({
          method: 'POST',
          url: '/api/permission-groups',
          body: { name: 'auditors', features: [] },
        })
      ).status,
    ).toBe(409);
    expect(
      (
        await h.call({
          method: 'POST',
          url: '/api/permission-groups',
          body: { name: 'x', features: ['nope'] },
        })
      ).status,
    ).toBe(400);

    const { token } = await h.account('gina', 'operator', {
      permission_group: 'auditors',
      allowed_features: ['settings'],
    });
    const get = (url: string) => h.call({ url, token });
    expect((await get('/api/audit')).status).toBe(200);
    r = await get('/api/server-settings');
    expect(r.status).toBe(403);
    expect(r.json().message).toContain('requires settings');
    r = await get('/api/agents/versions');
    expect(r.status).toBe(403);
    expect(r.json().message).toContain('belongs to no page');
    const me = (await get('/api/auth/me')).json();
    expect(me.allowed_features).toEqual(['audit']);

    expect(
      (
        await h.call({
          method: 'PATCH',
          url: '/api/permission-groups/auditors',
          body: { features: ['settings'] },
        })
      ).status,
    ).toBe(200);
    expect((await get('/api/audit')).status).toBe(403);
    expect((await get('/api/server-settings')).status).toBe(200);

    expect((await h.call({ url: '/api/permission-groups' })).json()).toMatchObject([
      { name: 'auditors', member_count: 1 },
    ]);
    r = await h.call({ method: 'DELETE', url: '/api/permission-groups/auditors' });
    expect(r.status).toBe(409);
    expect((await patch('gina', { permission_group: null, allowed_features: ['audit'] })).status).toBe(200);
    expect((await h.call({ method: 'DELETE', url: '/api/permission-groups/auditors' })).status).toBe(204);
    expect((await h.call({ method: 'DELETE', url: '/api/permission-groups/auditors' })).status).toBe(404);
    expect((await get('/api/audit')).status).toBe(200);
    expect((await get('/api/server-settings')).status).toBe(403);
  });

  it('fails closed for an account whose group has vanished', async () => {
    const { token } = await h.account('dan', 'viewer');
    expect((await h.call({ url: '/api/audit', token })).status).toBe(200);
    const db = openStoreDb(h.be.dataDir, { migrate: false });
    try {
      db.prepare("UPDATE users SET permission_group = 'ghost' WHERE username = 'dan'").run();
    } finally {
      db.close();
    }
    expect((await h.call({ url: '/api/audit', token })).status).toBe(403);
    expect((await h.call({ url: '/api/auth/me', token })).json().allowed_features).toEqual([]);
  });

  it('an empty list leaves only self-service; shared pickers widen reads only', async () => {
    const empty = await h.account('ed', 'admin', { allowed_features: [] });
    expect((await h.call({ url: '/api/auth/me', token: empty.token })).status).toBe(200);
    expect((await h.call({ url: '/api/accounts', token: empty.token })).status).toBe(403);

    const runner = await h.account('rita', 'viewer', { allowed_features: ['run'] });
    expect((await h.call({ url: '/api/agents', token: runner.token })).status).toBe(200);
    const r = await h.call({ url: '/api/agents/versions', token: runner.token });
    expect(r.status).toBe(403);
  });
});

describe('GET /api/audit', () => {
  it('filters by actor, regex on action/target/payload and since, pages, and counts', async () => {
    const before = new Date(Date.now() - 1000).toISOString();
    for (const n of ['aud1', 'aud2', 'aud3']) await h.account(n, 'viewer', { email: `${n}@example.com` });
    const want = (rows: { action: string; target: string }[]) => rows.map((r) => `${r.action}:${r.target}`);
    let r = await h.call({
      url: `/api/audit?actor=admin&action=${encodeURIComponent('^account\\.create$')}&target=^aud`,
    });
    // The projection is asynchronous: wait until all three are in.
    for (let i = 0; i < 100 && r.json().length < 3; i++) {
      await new Promise((res) => setTimeout(res, 100));
      r = await h.call({
        url: `/api/audit?actor=admin&action=${encodeURIComponent('^account\\.create$')}&target=^aud`,
      });
    }
    expect(r.status).toBe(200);
    expect(want(r.json())).toEqual(['account.create:aud3', 'account.create:aud2', 'account.create:aud1']);
    expect(r.headers.get('x-total-count')).toBe('3');
    expect(r.json()[0]).toMatchObject({
      actor: 'admin',
      payload: {
        role: 'viewer',
        email: 'aud3@example.com',
        caller: 'service-token',
        source: expect.any(String),
      },
      occurred_at: expect.stringMatching(/Z$/),
    });

    r = await h.call({ url: `/api/audit?payload=aud2@example&since=${before}` });
    expect(want(r.json())).toEqual(['account.create:aud2']);
    r = await h.call({ url: '/api/audit?action=^account\\.create$&target=^aud&limit=1&offset=1' });
    expect(want(r.json())).toEqual(['account.create:aud2']);
    expect(r.headers.get('x-total-count')).toBe('3');
    r = await h.call({ url: `/api/audit?since=${new Date(Date.now() + 60_000).toISOString()}` });
    expect(r.json()).toEqual([]);
    expect(r.headers.get('x-total-count')).toBe('0');
    r = await h.call({ url: '/api/audit?actor=auth&action=^login$&target=^admin$' });
    expect(r.status).toBe(200);

    for (const q of ['action=(', 'since=yesterday', 'limit=0', 'limit=5000']) {
      r = await h.call({ url: `/api/audit?${q}` });
      expect(r.status, q).toBe(400);
      expect(r.json().message).toContain(q.split('=')[0]);
    }
  });

  it('never records a password or a hash', async () => {
    const rows = h.sql<{ payload: string | null }>('SELECT payload FROM audit_log');
    expect(rows.length).toBeGreaterThan(10);
    for (const { payload } of rows) {
      expect(payload ?? '').not.toMatch(/argon2/);
      for (const s of h.secrets) expect(payload ?? '').not.toContain(s);
    }
    expect(await h.unaudited()).toEqual([]);
  });
});
