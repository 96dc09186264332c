// The built backend (packages/backend/dist/main.js) as a real child process
// for integration tests: its own temp data dir, the store the run selected
// (test-support/db.ts: SQLite, or the data dir's own PostgreSQL database), an
// ephemeral HTTP port read back from its "listening" log line, and helpers
// for authenticated requests.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { storeEnv, useDatabase } from './db.js';

const MAIN = fileURLToPath(new URL('../packages/backend/dist/main.js', import.meta.url));

export interface TestBackend {
  url: string;
  dataDir: string;
  token: string;
  proc: ChildProcess;
  logs: string[];
  fetch(path: string, init?: RequestInit & { token?: string | null }): Promise<Response>;
  json<T = unknown>(path: string): Promise<T>;
  /** SIGTERM and wait; resolves to the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** SIGKILL and wait. */
  kill(): Promise<void>;
}

export interface BackendOptions {
  natsUrl?: string;
  dataDir?: string;
  env?: Record<string, string>;
}

export async function startBackend(opts: BackendOptions = {}): Promise<TestBackend> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'kanade-be-'));
  // The store the run selected (test-support/db.ts), unless the test names its own PostgreSQL.
  const pinned = opts.env?.KANADE_POSTGRES_URL;
  if (pinned) useDatabase(dataDir, pinned);
  const store = pinned ? {} : await storeEnv(dataDir);
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    KANADE_DATA_DIR: dataDir,
    KANADE_BIND: '127.0.0.1:0',
    // Passed on so that a benchmark run can compare page sizes (store/db.ts).
    ...(process.env.KANADE_SQLITE_PAGE_SIZE
      ? { KANADE_SQLITE_PAGE_SIZE: process.env.KANADE_SQLITE_PAGE_SIZE }
      : {}),
    KANADE_LOCAL_AGENT: '0',
    KANADE_TELEMETRY_FLUSH_MS: '200',
    KANADE_LOG_LEVEL: 'info',
    ...(opts.natsUrl ? { KANADE_NATS_URL: opts.natsUrl } : {}),
    ...store,
    ...opts.env,
  };
  const proc = spawn(process.execPath, [MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: string[] = [];
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      // Never leave a half-started backend behind: the caller has no handle on it yet.
      proc.kill('SIGKILL');
      reject(new Error(`backend did not start:\n${logs.slice(-20).join('\n')}`));
    }, 30_000);
    const rl = createInterface({ input: proc.stdout! });
    rl.on('line', (line) => {
      logs.push(line);
      if (line.includes('"kanade backend listening"')) {
        clearTimeout(timer);
        resolve(JSON.parse(line).url);
      }
    });
    createInterface({ input: proc.stderr! }).on('line', (line) => logs.push(line));
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`backend exited with ${code} before listening:\n${logs.slice(-20).join('\n')}`));
    });
  });
  let token = opts.env?.KANADE_AUTH_STATIC_TOKEN ?? '';
  if (!token && !opts.env?.KANADE_AUTH_DISABLE)
    token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();

  const b: TestBackend = {
    url,
    dataDir,
    token,
    proc,
    logs,
    fetch(path, init = {}) {
      const headers = new Headers(init.headers);
      const t = init.token === undefined ? token : init.token;
      if (t) headers.set('authorization', `Bearer ${t}`);
      return fetch(url + path, { ...init, headers });
    },
    async json<T>(path: string) {
      const r = await b.fetch(path);
      if (!r.ok) throw new Error(`${path}: HTTP ${r.status} ${await r.text()}`);
      return (await r.json()) as T;
    },
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill(signal);
      return exited;
    },
    async kill() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGKILL');
      await exited;
    },
  };
  return b;
}

export function removeDir(dir: string) {
  rmSync(dir, { recursive: true, force: true });
}

/** Poll `fn` until it returns a value that is not undefined/false, or fail after `timeoutMs`. */
export async function eventually<T>(
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 15_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The backend's /metrics as `name{labels}` -> value. */
export async function scrapeMetrics(be: TestBackend): Promise<Map<string, number>> {
  const text = await (await be.fetch('/metrics')).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}
