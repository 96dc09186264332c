// `npm run chaos [-- <scenario> ...]`: the reliability suite at full scale
// (KANADE_CHAOS_FULL=1): 100,000 fuzzed wire messages, 100,000 fuzzed API
// requests, and the chaos scenarios with their large counts. The same test
// files run at a small scale in `npm test`. Scenarios run one at a time (each
// starts its own nats-server and backend); each prints `[chaos] ...` lines
// saying what it did and what it found, and fails on any loss.
import { spawnSync } from 'node:child_process';
import { ROOT, setup } from './setup.mjs';

const T = 'packages/backend/test';
const SCENARIOS = {
  fuzz: [`${T}/fuzz/wire.test.ts`],
  'api-fuzz': [`${T}/fuzz/api.test.ts`],
  sigkill: [`${T}/chaos/sigkill.test.ts`],
  'broker-restart': [`${T}/chaos/broker-restart.test.ts`],
  wipe: [`${T}/chaos/wipe-replay.test.ts`],
  'disk-full': [`${T}/chaos/disk-full.test.ts`],
  'agent-outbox': [`${T}/chaos/agent-outbox.test.ts`],
};

const asked = process.argv.slice(2);
const unknown = asked.filter((a) => !(a in SCENARIOS));
if (unknown.length) {
  process.stderr.write(
    `unknown scenario(s): ${unknown.join(', ')}\nusage: npm run chaos [-- ${Object.keys(SCENARIOS).join('|')} ...]\n`,
  );
  process.exit(2);
}
try {
  await setup();
} catch (err) {
  process.stderr.write(`[chaos] ${err.message}\n`);
  process.exit(1);
}
let failed = 0;
for (const name of asked.length ? asked : Object.keys(SCENARIOS)) {
  process.stdout.write(`\n[chaos] === ${name} ===\n`);
  const r = spawnSync('npx', ['vitest', 'run', '--maxWorkers=1', ...SCENARIOS[name]], {
    cwd: ROOT,
    stdio: 'inherit',
    env: { ...process.env, KANADE_CHAOS_FULL: '1' },
  });
  if (r.status !== 0) {
    failed++;
    process.stdout.write(`[chaos] ${name}: FAILED\n`);
  }
}
process.exit(failed ? 1 : 0);
