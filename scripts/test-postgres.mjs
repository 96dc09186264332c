// `npm run test:postgres`: the store-touching tests (vitest.postgres.config.ts)
// against PostgreSQL. Installs what is missing (npm dependencies, nats-server,
// and as root Debian's postgresql package), builds, starts ONE throwaway
// PostgreSQL server for the run (test-support/postgres.ts), hands its admin
// URL to the tests as KANADE_TEST_POSTGRES_URL, and stops it at the end, also
// on a failure or Ctrl-C. Extra arguments go to vitest (e.g. a file filter).
import { execFileSync, spawn } from 'node:child_process';
import { ROOT, setup } from './setup.mjs';

function log(msg) {
  process.stderr.write(`[test:postgres] ${msg}\n`);
}

/** As root with apt-get, install Debian's postgresql when no PostgreSQL is found; otherwise leave it to startPostgres's error. */
function ensurePostgres(postgresBinDir) {
  try {
    postgresBinDir();
    return;
  } catch (err) {
    const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
    if (!isRoot) throw err;
  }
  log('PostgreSQL is missing; installing the Debian package (apt-get install postgresql)...');
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-qq', 'postgresql'], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  postgresBinDir();
}

let pg;
try {
  await setup();
  const { tsImport } = await import('tsx/esm/api');
  const support = await tsImport('../test-support/postgres.ts', import.meta.url);
  ensurePostgres(support.postgresBinDir);
  const started = Date.now();
  pg = await support.startPostgres();
  log(`PostgreSQL on 127.0.0.1:${pg.port} (${pg.dir}), started in ${Date.now() - started} ms`);
} catch (err) {
  process.stderr.write(`[test:postgres] ${err.message}\n`);
  await pg?.stop();
  process.exit(1);
}

const vitest = spawn(
  'npx',
  ['vitest', 'run', '--config', 'vitest.postgres.config.ts', ...process.argv.slice(2)],
  { cwd: ROOT, stdio: 'inherit', env: { ...process.env, KANADE_TEST_POSTGRES_URL: pg.url } },
);
// Ctrl-C reaches vitest through the terminal; a signal sent to this process alone is passed on.
// Either way vitest exits, and the server is stopped below.
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'])
  process.on(sig, () => {
    if (vitest.exitCode === null && vitest.signalCode === null) vitest.kill(sig);
  });
const code = await new Promise((resolve) => {
  vitest.once('error', (err) => {
    log(`cannot run vitest: ${err.message}`);
    resolve(1);
  });
  vitest.once('exit', (c) => resolve(c ?? 1));
});
await pg.stop();
log('PostgreSQL stopped');
process.exit(code);
