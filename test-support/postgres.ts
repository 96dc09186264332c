// A throwaway PostgreSQL cluster for tests and `npm run test:postgres`:
// initdb into a temp dir, trust auth (the server listens on 127.0.0.1 and a
// socket in that private dir only), fsync off, a free loopback port. Binaries
// come from PATH, else Debian's /usr/lib/postgresql/<newest>/bin. PostgreSQL
// refuses to run as root, so as root the dir is handed to Debian's `postgres`
// user and initdb/postgres run through `runuser`. stop() signals the
// postmaster itself (from postmaster.pid): runuser would forward SIGTERM,
// which is PostgreSQL's "smart" shutdown that waits for every client. A small
// supervising shell (SUPERVISOR) also shuts the server down when this process
// ends without calling stop(), e.g. a test worker killed on a timeout.
// pause()/resume() stop the server and start it again on the same data dir
// and port, for tests of what clients do while the database is away.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import pg from 'pg';

export interface TestPostgres {
  /** Superuser URL of the `postgres` database (trust auth, no password). */
  url: string;
  port: number;
  dir: string;
  /** Create an empty database (a fresh random name unless given); resolves to its URL. */
  createDatabase(name?: string): Promise<string>;
  /** The postmaster's pid (from postmaster.pid), e.g. to read its CPU time; undefined when not running. */
  postmasterPid(): number | undefined;
  /** Stop the server (fast shutdown: clients are disconnected), keeping its data dir and port. */
  pause(): Promise<void>;
  /** Start the paused server again on the same data dir and port; resolves once it accepts connections. */
  resume(): Promise<void>;
  /** Stop the server and remove its directory. */
  stop(): Promise<void>;
}

const NOT_INSTALLED =
  'PostgreSQL is not installed (no initdb/postgres on PATH or in /usr/lib/postgresql/*/bin): ' +
  "install Debian's postgresql package (`sudo apt-get install postgresql`).";

/** The directory holding initdb and postgres: a PATH entry first, else the newest Debian version. */
export function postgresBinDir(): string {
  const has = (dir: string) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres'));
  for (const dir of (process.env.PATH ?? '').split(delimiter)) if (dir && has(dir)) return dir;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => /^\d+(\.\d+)?$/.test(v))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  for (const v of versions) if (has(join(root, v, 'bin'))) return join(root, v, 'bin');
  throw new Error(NOT_INSTALLED);
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

/** argv prefix that runs a binary as the unprivileged `postgres` user when we are root. */
function asPostgres(bin: string, args: string[]): [string, string[]] {
  return isRoot() ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
}

function postgresUser(): { uid: number; gid: number } {
  const id = (flag: string) => spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
  const u = id('-u');
  const g = id('-g');
  if (u.status !== 0 || g.status !== 0)
    throw new Error(
      "running as root but there is no `postgres` user to run PostgreSQL as: install Debian's postgresql package",
    );
  return { uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()) };
}

/** A free loopback TCP port (also used by nats-cluster.ts). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

async function canConnect(url: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  try {
    await c.connect();
    await c.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => {});
  }
}

function exitedNow(p: ChildProcess) {
  return p.exitCode !== null || p.signalCode !== null;
}

let seq = 0;

/**
 * `sh -c SUPERVISOR _ <data dir> <postgres argv...>`: runs postgres, and when the shell's stdin (a pipe
 * from this process) closes, however this process ended, signals the postmaster a fast shutdown.
 * Exits with postgres. Background jobs read /dev/null unless redirected, hence fd 3.
 */
const SUPERVISOR = `data=$1; shift
exec 3<&0
"$@" </dev/null &
child=$!
(cat <&3 >/dev/null; pid=$(head -n1 "$data/postmaster.pid" 2>/dev/null); [ -n "$pid" ] && kill -INT "$pid") &
watcher=$!
wait "$child"; status=$?
kill "$watcher" 2>/dev/null
exit "$status"`;

/** The URL of database `name` on the server of `adminUrl`. */
export function databaseUrl(adminUrl: string, name: string): string {
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

async function admin<T>(adminUrl: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Create an empty database (a fresh random name unless given) on the server of `adminUrl`; resolves to its URL. */
export async function createDatabase(adminUrl: string, name?: string): Promise<string> {
  const db = name ?? `kanade_${process.pid}_${++seq}_${Math.random().toString(36).slice(2, 8)}`;
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(db)) throw new Error(`bad database name ${JSON.stringify(db)}`);
  await admin(adminUrl, (c) => c.query(`CREATE DATABASE ${db}`));
  return databaseUrl(adminUrl, db);
}

/** Drop the database of `url` (disconnecting its clients) and create it again empty, under the same name. */
export async function recreateDatabase(adminUrl: string, url: string): Promise<void> {
  const db = new URL(url).pathname.slice(1);
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(db)) throw new Error(`bad database name ${JSON.stringify(db)}`);
  await admin(adminUrl, async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    await c.query(`CREATE DATABASE ${db}`);
  });
}

export async function startPostgres(): Promise<TestPostgres> {
  const bin = postgresBinDir();
  const dir = mkdtempSync(join(tmpdir(), 'kanade-pg-'));
  const data = join(dir, 'data');
  const sock = join(dir, 'sock');
  mkdirSync(sock);
  try {
    if (isRoot()) {
      const { uid, gid } = postgresUser();
      for (const d of [dir, sock]) chownSync(d, uid, gid);
    }
    const [cmd, args] = asPostgres(join(bin, 'initdb'), [
      '-D',
      data,
      '--username=postgres',
      '--auth=trust',
      '--encoding=UTF8',
      '--locale=C',
      '--no-sync',
      '--no-instructions',
    ]);
    const init = spawnSync(cmd, args, { encoding: 'utf8' });
    if (init.status !== 0)
      throw new Error(`initdb failed (${init.status}):\n${init.stdout}\n${init.stderr}`.trim());
    // Only the loopback address and the private socket dir are reachable, so trust is safe here.
    writeFileSync(join(data, 'pg_hba.conf'), 'local all all trust\nhost all all 127.0.0.1/32 trust\n');
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  const log: string[] = [];
  const postmasterPid = (): number | undefined => {
    try {
      const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
      return Number.isInteger(pid) && pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  };
  const signal = (pid: number | undefined, sig: NodeJS.Signals) => {
    if (pid === undefined) return;
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  };
  /** Start postgres on `port`; resolves to the running process, or undefined with the log filled. */
  const launch = async (port: number): Promise<ChildProcess | undefined> => {
    log.length = 0;
    const [cmd, args] = asPostgres(join(bin, 'postgres'), [
      '-D',
      data,
      '-k',
      sock,
      '-h',
      '127.0.0.1',
      '-p',
      String(port),
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'shared_buffers=32MB',
      '-c',
      'max_connections=300',
      '-c',
      'log_min_messages=warning',
    ]);
    // Its own process group: a Ctrl-C in the terminal reaches the test runner, which then stops the server.
    const p = spawn('sh', ['-c', SUPERVISOR, 'kanade-postgres', data, cmd, ...args], {
      stdio: ['pipe', 'ignore', 'pipe'],
      detached: true,
    });
    p.stderr?.setEncoding('utf8');
    p.stderr?.on('data', (chunk: string) => {
      log.push(...chunk.split('\n').filter(Boolean));
      if (log.length > 200) log.splice(0, log.length - 200);
    });
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    const deadline = Date.now() + 30_000;
    while (!exitedNow(p) && Date.now() < deadline) {
      if (await canConnect(url)) return p;
      await new Promise((r) => setTimeout(r, 100));
    }
    if (!exitedNow(p)) {
      signal(postmasterPid(), 'SIGKILL');
      p.kill('SIGKILL');
    }
    return undefined;
  };

  let proc: ChildProcess | undefined;
  let port = 0;
  // The port may be taken between freePort() and postgres binding it: retry with another.
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    proc = await launch(port);
    if (proc) break;
    const bindFailed = log.some((l) => l.includes('could not bind') || l.includes('could not create'));
    if (!bindFailed || attempt >= 5) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`PostgreSQL did not start:\n${log.slice(-20).join('\n')}`);
    }
  }

  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const exitOf = (p: ChildProcess) =>
    new Promise<void>((resolve) => {
      if (exitedNow(p)) resolve();
      else p.once('exit', () => resolve());
    });
  let server = proc;
  let exited = exitOf(server);
  let stopping: Promise<void> | undefined;
  /** Fast shutdown: disconnect clients and exit; SIGKILL if it still lingers. */
  const shutdown = async () => {
    const pid = postmasterPid();
    signal(pid, 'SIGINT');
    server.stdin?.end();
    const timer = setTimeout(() => {
      signal(pid, 'SIGKILL');
      server.kill('SIGKILL');
    }, 10_000);
    await exited;
    clearTimeout(timer);
  };

  return {
    url,
    port,
    dir,
    createDatabase: (name) => createDatabase(url, name),
    postmasterPid,
    pause: shutdown,
    async resume() {
      const p = await launch(port);
      if (!p)
        throw new Error(`PostgreSQL did not start again on port ${port}:\n${log.slice(-20).join('\n')}`);
      server = p;
      exited = exitOf(p);
    },
    stop() {
      stopping ??= (async () => {
        await shutdown();
        rmSync(dir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}
