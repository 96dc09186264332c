// Shared first steps of `npm start`, `npm test` and the `npm run` helpers:
// install what is missing, then build what is stale. Each step is skipped
// when there is nothing to do, so a warm start takes well under a second.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

function log(msg) {
  process.stderr.write(`[setup] ${msg}\n`);
}

function mtime(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

/** `npm ci` when node_modules is missing or older than the lock file. */
export function ensureDependencies() {
  const lock = join(ROOT, 'package-lock.json');
  const marker = join(ROOT, 'node_modules', '.package-lock.json');
  if (existsSync(marker) && mtime(marker) >= mtime(lock)) return;
  log('installing npm dependencies (npm ci)...');
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('npm ci failed');
}

function onPath(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** nats-server from Debian when running as root; otherwise say exactly what to install. */
export function ensureNatsServer() {
  if (process.env.KANADE_NATS_URL || onPath('nats-server')) return;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot && onPath('apt-get')) {
    log('nats-server is missing; installing the Debian package (apt-get install nats-server)...');
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
    execFileSync('apt-get', ['install', '-y', '-qq', 'nats-server'], {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (onPath('nats-server') || existsSync('/usr/sbin/nats-server')) return;
  }
  throw new Error(
    'nats-server is not installed. Install it with `sudo apt-get install nats-server` (Debian/Ubuntu) ' +
      'or from https://github.com/nats-io/nats-server/releases, or point kanade at a running broker ' +
      'with KANADE_NATS_URL=nats://host:4222.',
  );
}

export async function buildAll() {
  const { build } = await import('./build.mjs');
  await build();
}

export async function setup({ nats = true } = {}) {
  ensureDependencies();
  if (nats) ensureNatsServer();
  await buildAll();
}
