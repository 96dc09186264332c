// `kanade <command> ...`: finds the global options and the command, builds
// the context, runs the command and turns what happened into an exit code
// (errors.ts). Kept apart from main.ts so the whole CLI runs in-process
// with injected streams and environment.
import { createInterface } from 'node:readline';
import pkg from '../package.json' with { type: 'json' };
import { firstWord } from './args.js';
import { account, audit, jetstream, query, results } from './commands/admin.js';
import { agent } from './commands/agents.js';
import { login, logout, whoami } from './commands/auth.js';
import { config, group, meta } from './commands/fleet.js';
import { exec, job } from './commands/jobs.js';
import { app, collect, script } from './commands/objects.js';
import { kill, ping, revoke, run, unrevoke } from './commands/run.js';
import { freeze, schedule } from './commands/schedules.js';
import type { Command, Ctx } from './context.js';
import { CliError, EXIT } from './errors.js';
import { createApi } from './http.js';
import { createOutput } from './output.js';
import { createProgress } from './progress.js';
import { readToken } from './token.js';

export const CLI_VERSION: string = pkg.version;

const version: Command = {
  summary: 'the CLI and backend versions',
  usage: 'usage: kanade version',
  async run(ctx) {
    let backend: string | null = null;
    try {
      backend = (await ctx.api.get<{ version: string }>('/api/version')).data.version;
    } catch {
      backend = null;
    }
    ctx.out.emit({ cli: CLI_VERSION, backend, backend_url: ctx.api.baseUrl }, () => {
      ctx.out.line(`kanade CLI ${CLI_VERSION}`);
      ctx.out.line(`backend ${backend ?? `not reachable at ${ctx.api.baseUrl}`}`);
    });
    return undefined;
  },
};

export const COMMANDS: Record<string, Command> = {
  login,
  logout,
  whoami,
  run,
  ping,
  kill,
  revoke,
  unrevoke,
  job,
  exec,
  schedule,
  freeze,
  agent,
  config,
  group,
  meta,
  account,
  audit,
  results,
  query,
  jetstream,
  app,
  script,
  collect,
  version,
};

function overview(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  return [
    'usage: kanade [--backend-url <url>] [--json] [--no-progress] <command> [args]',
    '',
    'commands:',
    ...Object.entries(COMMANDS).map(([k, c]) => `  ${k.padEnd(width)}  ${c.summary}`),
    '',
    'Backend: --backend-url or KANADE_BACKEND_URL (default http://127.0.0.1:8080).',
    'Credentials: --token, KANADE_AUTH_TOKEN, or the token `kanade login` saved.',
    '--json prints the API JSON for scripts; `kanade <command> --help` shows a command.',
    'Exit codes: 0 ok, 1 error, 2 usage, 3 not found, 4 auth, 5 timeout, 6 refused,',
    '            7 backend unreachable, 8 the remote work failed.',
  ].join('\n');
}

export interface Io {
  stdout(s: string | Uint8Array): void;
  stderr(s: string): void;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stderrIsTTY: boolean;
}

/** Global options found anywhere before a `--`. */
function globals(argv: readonly string[]) {
  const g: { backendUrl?: string; token?: string; json: boolean; progress?: boolean; help: boolean } = {
    json: false,
    help: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') break;
    const [name, inline] =
      a.startsWith('--') && a.includes('=')
        ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]
        : [a, undefined];
    const value = () => inline ?? argv[++i];
    if (name === '--backend-url') g.backendUrl = value();
    else if (name === '--token') g.token = value();
    else if (name === '--json') g.json = true;
    else if (name === '--progress') g.progress = true;
    else if (name === '--no-progress') g.progress = false;
    else if (name === '--help' || name === '-h') g.help = true;
  }
  return g;
}

export async function runCli(argv: readonly string[], env: NodeJS.ProcessEnv, io: Io): Promise<number> {
  const g = globals(argv);
  const out = createOutput({ json: g.json, stdout: (s) => io.stdout(s), stderr: io.stderr });
  const at = firstWord(argv);
  // `kanade --version`; after a command word, --version is that command's option (agent publish).
  const versionFlag = argv.indexOf('--version');
  if (versionFlag >= 0 && (at < 0 || versionFlag < at)) {
    io.stdout(`${CLI_VERSION}\n`);
    return EXIT.OK;
  }
  const name = at >= 0 ? argv[at]! : undefined;
  if (name === undefined || name === 'help') {
    const sub = name === 'help' ? argv[at + 1] : undefined;
    const c = sub ? COMMANDS[sub] : undefined;
    io.stdout(`${c ? c.usage : overview()}\n`);
    return name === undefined && !g.help ? EXIT.USAGE : EXIT.OK;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.stderr(`error: unknown command ${JSON.stringify(name)}\n${overview()}\n`);
    return EXIT.USAGE;
  }
  if (g.help) {
    io.stdout(`${command.usage}\n`);
    return EXIT.OK;
  }
  const backendUrl = g.backendUrl ?? env.KANADE_BACKEND_URL ?? 'http://127.0.0.1:8080';
  const token = g.token ?? (env.KANADE_AUTH_TOKEN || undefined) ?? readToken(env);
  const ctx: Ctx = {
    api: createApi({ baseUrl: backendUrl, token, version: CLI_VERSION }),
    out,
    progress: createProgress({
      mode: g.progress === false ? 'off' : g.progress ? 'on' : 'auto',
      tty: io.stderrIsTTY,
      write: io.stderr,
    }),
    env,
    async readStdin() {
      const chunks: Buffer[] = [];
      for await (const c of io.stdin) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(String(c)));
      return Buffer.concat(chunks).toString('utf8');
    },
    prompt(question, hidden) {
      if (!io.stdin.isTTY || !io.stderrIsTTY) return Promise.resolve(undefined);
      return new Promise((resolve) => {
        const rl = createInterface({ input: io.stdin, output: process.stderr, terminal: true });
        if (hidden) {
          // Echo nothing while the password is typed.
          (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = (s: string) => {
            if (s.startsWith(question)) process.stderr.write(question);
          };
        }
        rl.question(question, (answer) => {
          rl.close();
          if (hidden) process.stderr.write('\n');
          resolve(answer);
        });
      });
    },
  };
  // Global options stay in the list: every command's parser accepts them too.
  const rest = [...argv.slice(0, at), ...argv.slice(at + 1)];
  try {
    const code = await command.run(ctx, rest);
    return code ?? EXIT.OK;
  } catch (err) {
    if (err instanceof CliError) {
      io.stderr(`error: ${err.message}\n`);
      if (err.hint) io.stderr(`hint: ${err.hint}\n`);
      return err.exitCode;
    }
    io.stderr(`error: ${(err as Error).message ?? String(err)}\n`);
    return EXIT.ERROR;
  }
}
