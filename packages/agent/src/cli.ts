// Command-line options of `kanade-agent`, parsed apart from main so defaults
// and errors are unit-tested without a process.

import { parseArgs } from 'node:util';
import { parseDuration } from '@kanade/wire';

export const USAGE = `usage: kanade-agent [--nats <url>] [options]

  --nats <url>       broker URL (default: $KANADE_NATS_URL or nats://127.0.0.1:4222)
  --pc-id <id>       this PC's id (default: the hostname, lowercased, with . * > and spaces as -)
  --heartbeat <d>    heartbeat interval (default 30s)
  --host-perf <d>    host_perf interval (default 60s)

Credentials: KANADE_NATS_TOKEN, or KANADE_NATS_USER and KANADE_NATS_PASSWORD.`;

export interface AgentCli {
  help: boolean;
  natsUrl: string;
  pcId: string | undefined;
  heartbeatMs: number;
  hostPerfMs: number;
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
    },
  });
  return {
    help: values.help ?? false,
    natsUrl: values.nats ?? env.KANADE_NATS_URL ?? 'nats://127.0.0.1:4222',
    pcId: values['pc-id'],
    heartbeatMs: duration('heartbeat', values.heartbeat, 30_000),
    hostPerfMs: duration('host-perf', values['host-perf'], 60_000),
  };
}
