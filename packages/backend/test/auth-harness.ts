// The built backend as a child process (test-support/backend.ts) on a real
// nats-server, for the account and security tests, plus:
// - every mutating request carries a unique X-Kanade-Source, so a test can
//   check that each one that succeeded left an audit row;
// - every password and token the suite handles is remembered, so a test can
//   prove none of them reached the logs or a response;
// - `routeTable()` builds the app in this process from the same sources
//   (buildApp with real services on a scratch database) and returns every
//   route it registered with its policy, so the security tests cover routes
//   nobody has written a test for yet. Build before running (npm run build).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { Secret, TOTP } from 'otpauth';
import { pino } from 'pino';
import { eventually, removeDir, startBackend, type TestBackend } from '../../../test-support/backend.js';
import { createStoreDb, openStoreDb } from '../../../test-support/db.js';
import { startNats, type TestNats } from '../../../test-support/nats-server.js';
import { buildApp } from '../src/http/app.js';
import type { RouteEntry } from '../src/http/policy.js';
import { createMetrics } from '../src/metrics.js';
import { createServices } from '../src/services/index.js';
import { createStore } from '../src/store/index.js';

/** An authenticator app for `secret` (base32), with the backend's TOTP parameters. */
export const totp = (secret: string, label: string) =>
  new TOTP({
    issuer: 'kanade',
    label,
    algorithm: 'SHA1',
    digits: 6,
    period: 30,
    secret: Secret.fromBase32(secret),
  });

export const JWT_SECRET = 'test-jwt-secret-0123456789abcdef';
export const STATIC_TOKEN = 'test-static-token-0123456789abcdef';
export const ADMIN_PASSWORD = 'bootstrap-admin-pw';

export interface Call {
  method?: string;
  url: string;
  /** undefined = the static token; null = no Authorization header */
  token?: string | null;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface Reply {
  status: number;
  headers: Headers;
  body: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests assert JSON bodies field by field
  json<T = any>(): T;
}

export interface Harness {
  be: TestBackend;
  nats: TestNats;
  /** Every bearer token and password the suite used, to look for in logs and responses. */
  secrets: Set<string>;
  /** Mutating calls that succeeded, with their X-Kanade-Source. */
  mutations: { source: string; method: string; url: string; status: number }[];
  call(c: Call): Promise<Reply>;
  login(username: string, password: string, code?: string): Promise<string>;
  /** Create an account through the API as the static-token admin and sign it in; returns its token. */
  account(
    username: string,
    role: 'viewer' | 'operator' | 'admin',
    extra?: Record<string, unknown>,
  ): Promise<{ token: string; password: string }>;
  sql<T>(query: string, ...params: unknown[]): T[];
  /** Waits until every recorded mutation has an audit row carrying its source; returns the ones still missing. */
  unaudited(timeoutMs?: number): Promise<string[]>;
  stop(): Promise<void>;
}

export async function startHarness(env: Record<string, string> = {}): Promise<Harness> {
  const nats = await startNats();
  let be: TestBackend;
  try {
    be = await startBackend({
      natsUrl: nats.url,
      env: {
        KANADE_JWT_SECRET: JWT_SECRET,
        KANADE_AUTH_STATIC_TOKEN: STATIC_TOKEN,
        KANADE_BOOTSTRAP_ADMIN_PASSWORD: ADMIN_PASSWORD,
        KANADE_LOG_LEVEL: 'debug',
        ...env,
      },
    });
  } catch (err) {
    await nats.stop();
    throw err;
  }
  const secrets = new Set<string>([JWT_SECRET, STATIC_TOKEN, ADMIN_PASSWORD]);
  const mutations: Harness['mutations'] = [];
  let seq = 0;

  const h: Harness = {
    be,
    nats,
    secrets,
    mutations,
    async call(c) {
      const method = (c.method ?? 'GET').toUpperCase();
      const headers: Record<string, string> = { ...c.headers };
      const mutating = method !== 'GET' && method !== 'HEAD';
      const source = headers['x-kanade-source'] ?? `suite-${++seq}`;
      if (mutating) headers['x-kanade-source'] = source;
      if (c.body !== undefined) headers['content-type'] ??= 'application/json';
      const res = await be.fetch(c.url, {
        method,
        headers,
        token: c.token === undefined ? STATIC_TOKEN : c.token,
        ...(c.body !== undefined
          ? { body: typeof c.body === 'string' ? c.body : JSON.stringify(c.body) }
          : {}),
      });
      const body = await res.text();
      if (mutating && res.status >= 200 && res.status < 300) {
        mutations.push({ source, method, url: c.url, status: res.status });
      }
      return { status: res.status, headers: res.headers, body, json: () => JSON.parse(body) };
    },
    async login(username, password, code) {
      const r = await h.call({
        method: 'POST',
        url: '/api/auth/login',
        token: null,
        body: { username, password, ...(code ? { code } : {}) },
      });
      if (r.status !== 200) throw new Error(`login ${username}: HTTP ${r.status} ${r.body}`);
      const token = r.json().token as string;
      secrets.add(token);
      return token;
    },
    async account(username, role, extra = {}) {
      const password = `pw-${username}-0123`;
      secrets.add(password);
      const r = await h.call({
        method: 'POST',
        url: '/api/accounts',
        body: { username, role, password, must_change_pw: false, ...extra },
      });
      if (r.status !== 201) throw new Error(`create ${username}: HTTP ${r.status} ${r.body}`);
      return { token: await h.login(username, password), password };
    },
    sql<T>(query: string, ...params: unknown[]): T[] {
      const db = openStoreDb(be.dataDir, { readonly: true });
      try {
        return db.prepare(query).all(...params) as T[];
      } finally {
        db.close();
      }
    },
    async unaudited(timeoutMs = 15_000) {
      const missing = () => {
        const seen = new Set(
          h
            .sql<{ source: string | null }>(
              `SELECT json_extract(payload, '$.source') AS source FROM audit_log`,
            )
            .map((r) => r.source),
        );
        return mutations.filter((m) => !seen.has(m.source)).map((m) => `${m.method} ${m.url} (${m.source})`);
      };
      await eventually(
        async () => missing().length === 0,
        timeoutMs,
        'an audit row for every mutation',
      ).catch(() => undefined);
      return missing();
    },
    async stop() {
      await be.kill();
      removeDir(be.dataDir);
      await nats.stop();
    },
  };
  return h;
}

/** Every route the current sources register, with its policy (see the header). */
export async function routeTable(natsUrl: string): Promise<RouteEntry[]> {
  const dir = mkdtempSync(join(tmpdir(), 'kanade-routes-'));
  const db = await createStoreDb(dir);
  const nc = await connect({ servers: natsUrl });
  try {
    const log = pino({ level: 'silent' });
    const services = createServices({ store: createStore(db), nc, metrics: createMetrics(), log });
    const app = await buildApp({
      log,
      auth: { disabled: false, staticToken: undefined },
      services,
      version: 'test',
    });
    await app.ready();
    const table = [...app.routeTable];
    await app.close();
    return table;
  } finally {
    await nc.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
