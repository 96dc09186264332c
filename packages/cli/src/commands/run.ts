// run, ping, kill, revoke, unrevoke: acting on one PC or one job now.
import { readFileSync } from 'node:fs';
import { intOpt, parse } from '../args.js';
import type { Command } from '../context.js';
import { EXIT, usage } from '../errors.js';
import { formatTime } from '../output.js';

const RUN_USAGE = `usage: kanade run <pc_id> [--shell powershell|pwsh|cmd|sh] [--timeout <secs>] -- <script...>
       kanade run <pc_id> --script-file <file> | - (stdin)

Runs a script on one PC and waits for its result (timeout + 10 s). The script's stdout and
stderr are printed as they came back; the exit status is the script's: 0 when it exited 0,
8 when it ran and failed (or was skipped), 5 when the agent did not answer in time.`;

interface RunResult {
  pc_id: string;
  exit_code: number;
  skipped?: boolean | null;
  stdout: string;
  stderr: string;
  started_at: string;
  finished_at: string;
}

export const run: Command = {
  summary: 'run a script on one PC and print its result',
  usage: RUN_USAGE,
  async run(ctx, argv) {
    const dash = argv.indexOf('--');
    const head = dash >= 0 ? argv.slice(0, dash) : argv;
    const tail = dash >= 0 ? argv.slice(dash + 1) : [];
    const p = parse(
      head,
      { shell: { type: 'string' }, timeout: { type: 'string' }, 'script-file': { type: 'string' } },
      RUN_USAGE,
    );
    const pc = p.arg(0, 'pc_id');
    const file = p.opt('script-file');
    let script = [...p.positionals.slice(1), ...tail].join(' ');
    if (file === '-' || script === '-') script = await ctx.readStdin();
    else if (file) {
      try {
        script = readFileSync(file, 'utf8');
      } catch (err) {
        throw usage(`cannot read ${file}: ${(err as Error).message}`);
      }
    }
    if (!script.trim()) throw usage('no script: give it after --, or --script-file', RUN_USAGE);
    const timeout = intOpt(p, 'timeout', 60, 1, 86_400);
    const spinner = ctx.progress.spinner(`waiting for ${pc}`);
    const tick = setInterval(() => spinner.update(0), 200);
    let r: RunResult;
    try {
      r = (
        await ctx.api.post<RunResult>('/api/run', {
          pc_id: pc,
          shell: p.opt('shell') ?? 'powershell',
          script,
          timeout_secs: timeout,
        })
      ).data;
    } finally {
      clearInterval(tick);
      spinner.finish();
    }
    ctx.out.emit(r, () => {
      ctx.out.raw(r.stdout);
      if (r.stderr) ctx.out.rawErr(r.stderr.endsWith('\n') ? r.stderr : `${r.stderr}\n`);
      ctx.out.note(`${r.skipped ? 'skipped' : 'exit'} ${r.exit_code} on ${r.pc_id}`);
    });
    return r.exit_code === 0 && !r.skipped ? EXIT.OK : EXIT.FAILED;
  },
};

const PING_USAGE = `usage: kanade ping <pc_id> [--wait <secs>]

Asks the agent for a fresh heartbeat; exit 5 when it does not answer within --wait (default 5).`;

export const ping: Command = {
  summary: 'ask an agent for a fresh heartbeat (is it there?)',
  usage: PING_USAGE,
  async run(ctx, argv) {
    const p = parse(argv, { wait: { type: 'string' } }, PING_USAGE);
    const pc = p.arg(0, 'pc_id');
    const wait = intOpt(p, 'wait', 5, 1, 60);
    const started = Date.now();
    const r = await ctx.api.post<{ heartbeat: { pc_id: string; at: string; agent_version?: string } }>(
      `/api/agents/${encodeURIComponent(pc)}/ping`,
      undefined,
      { wait_secs: wait },
    );
    ctx.out.emit(r.data, () =>
      ctx.out.line(
        `${pc} answered in ${Date.now() - started} ms (agent ${r.data.heartbeat.agent_version ?? '?'}, at ${formatTime(r.data.heartbeat.at)})`,
      ),
    );
    return undefined;
  },
};

const KILL_USAGE = `usage: kanade kill <job_id>

Publishes kill.{exec_id} for every pending or running execution of the job: agents stop the
whole process tree. (The HTTP API kills by job; an exec_id is resolved to its job first.)`;

export const kill: Command = {
  summary: 'stop every running execution of a job',
  usage: KILL_USAGE,
  async run(ctx, argv) {
    const p = parse(argv, {}, KILL_USAGE);
    let id = p.arg(0, 'job_id');
    if (/^[0-9a-f]{8}-[0-9a-f]{4}-/i.test(id)) {
      const e = await ctx.api.get<{ execution: { job_id: string } }>(
        `/api/executions/${encodeURIComponent(id)}`,
      );
      ctx.out.note(`${id} is an execution of job ${e.data.execution.job_id}`);
      id = e.data.execution.job_id;
    }
    await ctx.api.post(`/api/jobs/${encodeURIComponent(id)}/kill`);
    ctx.out.emit({ job_id: id, killed: true }, () =>
      ctx.out.line(`kill sent to the running executions of ${id}`),
    );
    return undefined;
  },
};

function revokeCommand(action: 'revoke' | 'unrevoke'): Command {
  const text =
    action === 'revoke'
      ? `usage: kanade revoke <job_id>

Marks the job REVOKED in script_status: agents skip its Commands (exit 126), including
Commands already queued. Running ones continue; stop them with kanade kill.`
      : `usage: kanade unrevoke <job_id>

Makes a revoked job runnable again (script_status ACTIVE).`;
  return {
    summary:
      action === 'revoke'
        ? 'stop agents from running a job (emergency stop)'
        : 'make a revoked job runnable again',
    usage: text,
    async run(ctx, argv) {
      const p = parse(argv, {}, text);
      const id = p.arg(0, 'job_id');
      await ctx.api.post(`/api/scripts/${encodeURIComponent(id)}/${action}`);
      const status = action === 'revoke' ? 'REVOKED' : 'ACTIVE';
      ctx.out.emit({ job_id: id, status }, () => ctx.out.line(`${id} is ${status}`));
      return undefined;
    },
  };
}

export const revoke = revokeCommand('revoke');
export const unrevoke = revokeCommand('unrevoke');
