// Builds an agent release: packages/agent/src/main.ts bundled with every
// dependency into ONE self-contained ESM file (`kanade-agent-<version>.mjs`)
// that runs with `node <file>` from any directory, reporting `<version>` as
// its agent_version. This file is what `kanade agent publish` uploads and
// what agents download when they update themselves (docs/agent-releases.md).
//
//   node scripts/build-agent-release.mjs --version 0.2.0 [--out <file>]
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ROOT } from './setup.mjs';

// The bundle holds CommonJS dependencies (nats.js): give them `require` in ESM.
const BANNER = [
  '// kanade-agent release bundle',
  "import { createRequire as __kanadeCreateRequire } from 'node:module';",
  'const require = __kanadeCreateRequire(import.meta.url);',
].join('\n');

/** Build the release bundle of `version` into `outFile`; resolves to the file's path. */
export async function buildAgentRelease({ version, outFile }) {
  if (!/^[A-Za-z0-9][A-Za-z0-9._+=-]{0,127}$/.test(version))
    throw new Error(`--version: letters, digits, . _ + = - only, got ${JSON.stringify(version)}`);
  const out = resolve(outFile ?? join(ROOT, 'packages/agent/dist/releases', `kanade-agent-${version}.mjs`));
  mkdirSync(dirname(out), { recursive: true });
  const esbuild = await import('esbuild');
  await esbuild.build({
    absWorkingDir: join(ROOT, 'packages/agent'),
    entryPoints: ['src/main.ts'],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    define: { __KANADE_AGENT_VERSION__: JSON.stringify(version) },
    banner: { js: BANNER },
    logLevel: 'warning',
  });
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { version: { type: 'string' }, out: { type: 'string' } } });
  if (!values.version) {
    process.stderr.write('usage: node scripts/build-agent-release.mjs --version <v> [--out <file>]\n');
    process.exit(2);
  }
  process.stdout.write(`${await buildAgentRelease({ version: values.version, outFile: values.out })}\n`);
}
