// `npm test`: install what is missing, build, type-check, lint, then run every
// Vitest project (unit and integration tests against a real nats-server).
import { spawnSync } from 'node:child_process';
import { ROOT, setup } from './setup.mjs';

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

try {
  await setup();
} catch (err) {
  process.stderr.write(`[test] ${err.message}\n`);
  process.exit(1);
}
run('npx', ['tsc', '-p', 'tsconfig.json', '--noEmit']);
run('npx', ['biome', 'check', '.']);
run('npx', ['vitest', 'run', ...process.argv.slice(2)]);
