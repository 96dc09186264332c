// `npm run sim|agent|bench -- ...`: set up, then run that tool with the given arguments.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, setup } from './setup.mjs';

const [tool, ...args] = process.argv.slice(2);
const targets = {
  sim: ['node', [join(ROOT, 'packages/sim/dist/main.js'), ...args]],
  agent: ['node', [join(ROOT, 'packages/agent/dist/main.js'), ...args]],
  bench: ['node', ['--import', 'tsx', join(ROOT, 'bench/main.ts'), ...args]],
  kanade: ['node', [join(ROOT, 'packages/cli/dist/main.js'), ...args]],
};
const target = targets[tool];
if (!target) {
  process.stderr.write(`usage: node scripts/run.mjs <${Object.keys(targets).join('|')}> [args]\n`);
  process.exit(2);
}
try {
  await setup({ nats: tool === 'bench' });
} catch (err) {
  process.stderr.write(`[run] ${err.message}\n`);
  process.exit(1);
}
// npm runs scripts from the repository root; the CLI resolves file arguments where the user typed them.
const cwd = tool === 'kanade' ? (process.env.INIT_CWD ?? process.cwd()) : process.cwd();
const r = spawnSync(target[0], target[1], { cwd, stdio: 'inherit' });
process.exit(r.status ?? 1);
