// `kanade-agent`: runs the agent until SIGINT/SIGTERM, then exits 0. The
// backend spawns this as its "local agent for this host", so logs go to stderr
// and stdout stays unused.

import { type Agent, createAgent } from './agent.js';
import { type AgentCli, parseAgentArgs, USAGE } from './cli.js';

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

let agent: Agent;
try {
  agent = createAgent({ ...cli, log });
} catch (err) {
  log((err as Error).message);
  process.exit(2);
}

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log(`${signal}: stopping`);
  await agent.stop();
  // A pending first connect would otherwise keep the process alive.
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));

log(`starting as ${agent.identity.pcId}; connecting to ${cli.natsUrl}`);
try {
  await agent.start();
} catch (err) {
  log(`cannot start: ${(err as Error).message}`);
  process.exit(1);
}
