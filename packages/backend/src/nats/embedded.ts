// The all-in-one default: a child `nats-server -js` on loopback with its store
// under the data dir, stopped with the backend. A pid file lets the next start
// clean up a broker orphaned by a SIGKILLed backend instead of failing on a
// busy port.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { isWildcardHost, natsUrlOf } from './hosts.js';

export interface EmbeddedNats {
  /** Where clients connect (no credentials in it; a wildcard listen address is reached on loopback). */
  url: string;
  /** The token every client must present, when the broker has one. */
  token: string | undefined;
  stop(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function isNatsServer(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('nats-server');
  } catch {
    return false;
  }
}

function portOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ host, port });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

async function reapOrphan(pidFile: string, log: Logger): Promise<void> {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (Number.isInteger(pid) && pid > 0 && alive(pid) && isNatsServer(pid)) {
    log.warn({ pid }, 'stopping a nats-server left behind by a previous run');
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  }
  rmSync(pidFile, { force: true });
}

export async function startEmbeddedNats(
  opts: { host: string; port: number; storeDir: string; token?: string | undefined },
  log: Logger,
): Promise<EmbeddedNats> {
  // The backend and the local agent reach a broker listening on every interface over loopback.
  const connectHost = isWildcardHost(opts.host) ? '127.0.0.1' : opts.host;
  mkdirSync(opts.storeDir, { recursive: true });
  const pidFile = join(opts.storeDir, 'nats-server.pid');
  await reapOrphan(pidFile, log);
  if (await portOpen(connectHost, opts.port)) {
    throw new Error(
      `port ${opts.host}:${opts.port} is already in use, so the embedded nats-server cannot start. ` +
        'Stop whatever listens there, or use that broker with KANADE_NATS_URL=nats://host:port.',
    );
  }
  const conf = join(opts.storeDir, 'nats-server.conf');
  // Mode 0600: with a token, the file holds it (BROKER_TOKEN_RE: only characters that need no quoting).
  // The file is removed first, since writeFileSync's mode applies only to a file it creates.
  rmSync(conf, { force: true });
  writeFileSync(
    conf,
    [
      '# written by kanade-backend at every start; edit KANADE_* settings instead',
      `host: "${opts.host}"`,
      `port: ${opts.port}`,
      `pid_file: "${pidFile}"`,
      'max_payload: 8MB',
      `jetstream { store_dir: "${join(opts.storeDir, 'jetstream')}" }`,
      ...(opts.token ? [`authorization { token: "${opts.token}" }`] : []),
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  // Own process group: a Ctrl-C in the terminal must reach the backend only,
  // so it can flush to a broker that is still up and then stop it.
  const child: ChildProcess = spawn('nats-server', ['-c', conf], {
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  let stderrTail = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderrTail = (stderrTail + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const spawnError = new Promise<never>((_, reject) =>
    child.once('error', (err) => reject(new Error(`cannot start nats-server: ${err.message}`))),
  );
  // If the backend dies without running its shutdown, do not leave the broker behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const url = natsUrlOf(connectHost, opts.port);
  const ready = (async () => {
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) break;
      if (await portOpen(connectHost, opts.port)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGKILL');
    throw new Error(
      `embedded nats-server did not start: ${stderrTail.trim().split('\n').slice(-3).join(' | ')}`,
    );
  })();
  await Promise.race([ready, spawnError]);
  log.info(
    {
      url,
      listen: `${opts.host}:${opts.port}`,
      token: opts.token !== undefined,
      store: opts.storeDir,
      pid: child.pid,
    },
    'embedded nats-server started',
  );

  return {
    url,
    token: opts.token,
    async stop() {
      process.removeListener('exit', killOnExit);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(pidFile, { force: true });
      log.info('embedded nats-server stopped');
    },
  };
}
