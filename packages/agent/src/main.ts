// `kanade-agent`: runs the agent until SIGINT/SIGTERM, then exits 0; the
// process also swaps in new agent versions (launcher.ts). The backend spawns
// this as its "local agent for this host", so logs go to stderr and stdout
// stays unused.

import { type AgentCli, parseAgentArgs, USAGE } from './cli.js';
import { detectIdentity } from './identity.js';
import { launch } from './launcher.js';

const log = (line: string) => process.stderr.write(`[agent] ${line}\n`);

let cli: AgentCli;
try {
  cli = parseAgentArgs(process.argv.slice(2), process.env);
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n\n${USAGE}\n`);
  process.exit(2);
}
if (cli.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

try {
  detectIdentity(cli.pcId);
} catch (err) {
  log((err as Error).message);
  process.exit(2);
}

try {
  await launch({ cli, argv: process.argv.slice(2), log });
} catch (err) {
  log(`cannot start: ${(err as Error).message}`);
  process.exit(1);
}
