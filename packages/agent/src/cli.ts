// Command-line options of `kanade-agent`, parsed apart from main so defaults
// and errors are unit-tested without a process.

import { parseArgs } from 'node:util';
import { parseDuration } from '@kanade/wire';

export const USAGE = `usage: kanade-agent [--nats <url>] [options]

  --nats <url>       broker URL (default: $KANADE_NATS_URL or nats://127.0.0.1:4222)
  --pc-id <id>       this PC's id (default: the hostname, lowercased, with . * > and spaces as -)
  --heartbeat <d>    heartbeat interval (default 30s)
  --host-perf <d>    host_perf interval (default 60s)
  --state-dir <dir>  outbox and run history (default: $KANADE_AGENT_STATE_DIR or ~/.kanade-agent/<pc-id>)
  --boot-timeout <d> how long a new version has to confirm it runs after a self-update (default 60s)
  --no-self-update   ignore target_version (also: KANADE_AGENT_SELF_UPDATE=0)

Credentials: KANADE_NATS_TOKEN, or KANADE_NATS_USER and KANADE_NATS_PASSWORD.`;

export interface AgentCli {
  help: boolean;
  natsUrl: string;
  pcId: string | undefined;
  heartbeatMs: number;
  hostPerfMs: number;
  stateDir: string | undefined;
  /** Follow target_version (docs/agent-releases.md). */
  selfUpdateEnabled: boolean;
  bootTimeoutMs: number;
}

function duration(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0)
    throw new Error(`--${flag}: not a positive duration: ${JSON.stringify(text)}`);
  return ms;
}

/** Throws an Error whose message says which option was wrong. */
export function parseAgentArgs(argv: string[], env: NodeJS.ProcessEnv = {}): AgentCli {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      help: { type: 'boolean', short: 'h' },
      nats: { type: 'string' },
      'pc-id': { type: 'string' },
      heartbeat: { type: 'string' },
      'host-perf': { type: 'string' },
      'state-dir': { type: 'string' },
      'boot-timeout': { type: 'string' },
      'no-self-update': { type: 'boolean' },
    },
  });
  return {
    help: values.help ?? false,
    natsUrl: values.nats ?? env.KANADE_NATS_URL ?? 'nats://127.0.0.1:4222',
    pcId: values['pc-id'],
    heartbeatMs: duration('heartbeat', values.heartbeat, 30_000),
    hostPerfMs: duration('host-perf', values['host-perf'], 60_000),
    stateDir: values['state-dir'] ?? (env.KANADE_AGENT_STATE_DIR || undefined),
    selfUpdateEnabled: !values['no-self-update'] && env.KANADE_AGENT_SELF_UPDATE !== '0',
    bootTimeoutMs: duration('boot-timeout', values['boot-timeout'], 60_000),
  };
}
