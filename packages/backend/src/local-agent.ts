// The all-in-one mode runs a real agent for this host as a child process, so
// a fresh `npm start` shows one live agent with real telemetry. Its state (the
// result outbox, run history, downloaded releases) lives in the backend's data
// directory, not in ~/.kanade-agent: removing the data directory starts over
// completely, and two data directories on one host do not share one outbox.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';

export interface LocalAgent {
  stop(): Promise<void>;
}

function agentMain(): string | undefined {
  try {
    const entry = fileURLToPath(import.meta.resolve('@kanade/agent'));
    const main = join(dirname(entry), 'main.js');
    return existsSync(main) ? main : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `stateDir` is used unless KANADE_AGENT_STATE_DIR is set (the child inherits the environment, and the
 * variable keeps its documented meaning there).
 */
export function startLocalAgent(
  natsUrl: string,
  stateDir: string,
  log: Logger,
  natsToken?: string,
): LocalAgent | undefined {
  const main = agentMain();
  if (!main) {
    log.warn('the agent package is not built; no local agent (run `npm run build`)');
    return undefined;
  }
  let stopping = false;
  let child: ChildProcess | undefined;
  let restarts = 0;

  const fromEnv = process.env.KANADE_AGENT_STATE_DIR || undefined;
  const args = fromEnv ? [main, '--nats', natsUrl] : [main, '--nats', natsUrl, '--state-dir', stateDir];

  const launch = () => {
    // The broker token goes in the environment, not the command line, which every local user can read.
    const env = natsToken ? { ...process.env, KANADE_NATS_TOKEN: natsToken } : process.env;
    const c = spawn(process.execPath, args, { env, stdio: ['ignore', 'inherit', 'inherit'] });
    child = c;
    log.info({ pid: c.pid, state_dir: fromEnv ?? stateDir }, 'local agent started');
    c.once('exit', (code, signal) => {
      if (stopping) return;
      const delay = Math.min(1000 * 2 ** restarts++, 60_000);
      log.warn({ code, signal, restart_in_ms: delay }, 'local agent exited; restarting');
      setTimeout(() => !stopping && launch(), delay).unref();
    });
  };
  launch();
  const killOnExit = () => child?.kill('SIGKILL');
  process.once('exit', killOnExit);

  return {
    async stop() {
      stopping = true;
      process.removeListener('exit', killOnExit);
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => c.kill('SIGKILL'), 5000);
        c.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        c.kill('SIGTERM');
      });
    },
  };
}
