// Builds each workspace package's entry points with esbuild into dist/.
// A package is rebuilt only when a file under its src/ (or its package.json)
// is newer than its last build, so `npm start` on a warm tree costs nothing.
// Type checking is separate (`npm run typecheck`, part of `npm test`).
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildAgentRelease } from './build-agent-release.mjs';
import { ROOT } from './setup.mjs';

const PACKAGES = {
  wire: ['src/index.ts'],
  backend: ['src/index.ts', 'src/main.ts', 'src/ingest/worker.ts', 'src/ingest/writer-worker.ts'],
  sim: ['src/index.ts', 'src/main.ts'],
  agent: ['src/index.ts', 'src/main.ts'],
  cli: ['src/main.ts'],
};

function newest(dir) {
  let t = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    t = Math.max(t, entry.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

function mtime(p) {
  try {
    return statSync(p).mtimeMs;
  } catch {
    return 0;
  }
}

export async function build({ force = false } = {}) {
  const esbuild = await import('esbuild');
  for (const [name, entries] of Object.entries(PACKAGES)) {
    const pkg = join(ROOT, 'packages', name);
    const present = entries.filter((e) => existsSync(join(pkg, e)));
    if (present.length === 0) continue;
    const stamp = join(pkg, 'dist', '.stamp');
    const srcTime = Math.max(newest(join(pkg, 'src')), mtime(join(pkg, 'package.json')));
    if (!force && mtime(stamp) >= srcTime) continue;
    const started = Date.now();
    await esbuild.build({
      absWorkingDir: pkg,
      entryPoints: present,
      outdir: 'dist',
      outbase: 'src',
      bundle: true,
      packages: 'external',
      platform: 'node',
      format: 'esm',
      target: 'node20',
      sourcemap: true,
      logLevel: 'warning',
    });
    if (name === 'agent') {
      // The self-contained release bundle of this version, which agent installers ship until a release
      // is published (packages/backend/src/services/installer.ts).
      const { version } = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8'));
      await buildAgentRelease({ version, outFile: join(pkg, 'dist', 'kanade-agent.mjs') });
    }
    mkdirSync(join(pkg, 'dist'), { recursive: true });
    writeFileSync(stamp, String(Date.now()));
    process.stderr.write(`[build] ${name} in ${Date.now() - started} ms\n`);
  }
  await buildWeb(force);
}

// The dashboard SPA is a Vite build (packages/web/dist, served by the backend), with the same stale check.
async function buildWeb(force) {
  const pkg = join(ROOT, 'packages', 'web');
  if (!existsSync(join(pkg, 'index.html'))) return;
  const inputs = ['src', 'public', 'index.html', 'vite.config.ts', 'package.json'].map((p) => join(pkg, p));
  const srcTime = Math.max(
    ...inputs.map((p) => (existsSync(p) && statSync(p).isDirectory() ? newest(p) : mtime(p))),
  );
  const stamp = join(pkg, 'dist', '.stamp');
  if (!force && mtime(stamp) >= srcTime) return;
  const started = Date.now();
  const vite = await import('vite');
  await vite.build({ root: pkg, logLevel: 'warn' });
  writeFileSync(stamp, String(Date.now()));
  process.stderr.write(`[build] web in ${Date.now() - started} ms\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await build({ force: process.argv.includes('--force') });
}
