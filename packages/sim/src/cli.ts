// Command-line options of `kanade-sim`, parsed apart from main so the rules
// (defaults, duration syntax, limits) are unit-tested without a process.

import { parseArgs } from 'node:util';
import { parseDuration } from '@kanade/wire';
import type { CommandsOptions } from './commands.js';

export const USAGE = `usage: kanade-sim --nats <url> --agents <N> [options]

  --nats <url>         broker URL (default: $KANADE_NATS_URL or nats://127.0.0.1:4222)
  --agents <N>         number of virtual agents (default 1000)
  --duration <d>       stop after this long, e.g. 60s, 5m (default: until SIGINT/SIGTERM)
  --heartbeat <d>      heartbeat interval (default 30s, as upstream)
  --host-perf <d>      host_perf interval (default 60s, as upstream)
  --process-perf       also publish process_perf with each host_perf
  --process-top <n>    processes per process_perf message (default 10)
  --seed <n>           seed of the fleet's identities and starting values (default 1)
  --prefix <p>         pc_id prefix: <p>-000001 ... (default sim)
  --progress <d>       progress line on stderr this often (default 10s)
  --commands           answer commands like agents do (started event, then a result)
  --run-time <d>       mean run time of a command, e.g. 2s (default 1s; implies --commands)
  --failure-rate <x>   share of agents whose run exits 1, 0..1 (default 0; implies --commands)

The last line on stdout is a JSON summary of what was sent.`;

export interface SimCli {
  help: boolean;
  natsUrl: string;
  agents: number;
  durationMs: number | undefined;
  heartbeatMs: number;
  hostPerfMs: number;
  processPerf: boolean;
  processTopN: number;
  seed: number;
  prefix: string;
  progressMs: number;
  /** Set when the simulator answers commands. */
  commands: CommandsOptions | undefined;
}

function duration(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0)
    throw new Error(`--${flag}: not a positive duration: ${JSON.stringify(text)}`);
  return ms;
}

function integer(flag: string, text: string | undefined, fallback: number, min: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min)
    throw new Error(`--${flag}: expected an integer >= ${min}, got ${JSON.stringify(text)}`);
  return n;
}

/** Throws an Error whose message says which option was wrong. */
export function parseSimArgs(argv: string[], env: NodeJS.ProcessEnv = {}): SimCli {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      help: { type: 'boolean', short: 'h' },
      nats: { type: 'string' },
      agents: { type: 'string' },
      duration: { type: 'string' },
      heartbeat: { type: 'string' },
      'host-perf': { type: 'string' },
      'process-perf': { type: 'boolean' },
      'process-top': { type: 'string' },
      seed: { type: 'string' },
      prefix: { type: 'string' },
      progress: { type: 'string' },
      commands: { type: 'boolean' },
      'run-time': { type: 'string' },
      'failure-rate': { type: 'string' },
    },
  });
  const runTime = values['run-time'];
  const runMs = runTime === undefined ? undefined : parseDuration(runTime);
  if (runTime !== undefined && runMs === undefined)
    throw new Error(`--run-time: not a duration: ${JSON.stringify(runTime)}`);
  const rateText = values['failure-rate'];
  const failureRate = rateText === undefined ? undefined : Number(rateText);
  if (failureRate !== undefined && !(rateText!.trim() !== '' && failureRate >= 0 && failureRate <= 1))
    throw new Error(`--failure-rate: expected a number from 0 to 1, got ${JSON.stringify(rateText)}`);
  const commands =
    values.commands || runMs !== undefined || failureRate !== undefined
      ? { runMs: runMs ?? 1000, failureRate: failureRate ?? 0 }
      : undefined;
  return {
    help: values.help ?? false,
    natsUrl: values.nats ?? env.KANADE_NATS_URL ?? 'nats://127.0.0.1:4222',
    agents: integer('agents', values.agents, 1000, 1),
    durationMs: values.duration === undefined ? undefined : duration('duration', values.duration, 0),
    heartbeatMs: duration('heartbeat', values.heartbeat, 30_000),
    hostPerfMs: duration('host-perf', values['host-perf'], 60_000),
    processPerf: values['process-perf'] ?? false,
    processTopN: integer('process-top', values['process-top'], 10, 1),
    seed: integer('seed', values.seed, 1, 0),
    prefix: values.prefix ?? 'sim',
    progressMs: duration('progress', values.progress, 10_000),
    commands,
  };
}
