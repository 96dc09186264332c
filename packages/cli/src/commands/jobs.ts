// job (apply/list/get/delete from YAML files or folders) and exec.
import { durationOpt, parse } from '../args.js';
import type { Command, Ctx } from '../context.js';
import { dispatch } from '../dispatch.js';
import { CliError, EXIT, type ExitCode, usage } from '../errors.js';
import { collectFiles, readManifests } from '../manifests.js';

const JOB_USAGE = `usage: kanade job apply <file|folder>...   create or replace jobs from YAML (alias: create)
       kanade job list
       kanade job get <job_id>             the YAML source (--json: the stored manifest)
       kanade job delete <job_id>          revoke, then delete (409 while a schedule uses it)

A folder means every .yaml/.yml file under it; a file may hold several documents (---).
execute.script_file is read relative to the manifest and sent inline as execute.script.`;

interface JobRow {
  id: string;
  version: string;
  description?: string | null;
  tags?: string[];
  live: { running: number; pending: number };
}

/** Upload every document of every file; report each; the first failure decides the exit code. */
export async function applyYaml(
  ctx: Ctx,
  files: readonly string[],
  path: string,
  what: string,
  inlineScripts: boolean,
  dryRun: boolean,
): Promise<number | undefined> {
  const docs = collectFiles(files).flatMap((f) => readManifests(f, inlineScripts));
  if (docs.length === 0) throw usage('no YAML documents found');
  const results: {
    file: string;
    document: number;
    id: string | null;
    ok: boolean;
    error?: string;
    version?: string;
  }[] = [];
  let worst: ExitCode = EXIT.OK;
  for (const d of docs) {
    const where = `${d.file}${d.index > 0 ? ` (document ${d.index + 1})` : ''}`;
    if (dryRun) {
      results.push({ file: d.file, document: d.index + 1, id: d.id ?? null, ok: true });
      if (!ctx.out.json) ctx.out.line(`would apply ${what} ${d.id ?? '?'} from ${where}`);
      continue;
    }
    try {
      const r = await ctx.api.request<{ id: string; version?: string }>('POST', path, {
        text: { type: 'application/yaml', body: d.text },
      });
      results.push({ file: d.file, document: d.index + 1, id: r.data.id, version: r.data.version, ok: true });
      if (!ctx.out.json)
        ctx.out.line(`applied ${what} ${r.data.id}${r.data.version ? ` ${r.data.version}` : ''} (${where})`);
    } catch (err) {
      if (!(err instanceof CliError)) throw err;
      results.push({ file: d.file, document: d.index + 1, id: d.id ?? null, ok: false, error: err.message });
      if (!ctx.out.json) ctx.out.note(`error: ${where}: ${err.message}`);
      if (worst === EXIT.OK) worst = err.exitCode;
      // Nothing further can succeed without credentials or a backend.
      if (err.exitCode === EXIT.AUTH || err.exitCode === EXIT.UNREACHABLE) {
        worst = err.exitCode;
        break;
      }
    }
  }
  if (ctx.out.json) ctx.out.emit(results, () => {});
  if (worst !== EXIT.OK) ctx.out.note(`${results.filter((r) => !r.ok).length} of ${docs.length} failed`);
  return worst;
}

export const job: Command = {
  summary: 'the job catalog: apply YAML manifests, list, get, delete',
  usage: JOB_USAGE,
  run: (ctx, argv) =>
    dispatch(
      ctx,
      argv,
      {
        apply: applyJobs,
        create: applyJobs,
        async list(c, a) {
          parse(a, {}, JOB_USAGE);
          const [jobs, status] = await Promise.all([
            c.api.get<JobRow[]>('/api/jobs'),
            c.api.get<Record<string, string>>('/api/scripts/status'),
          ]);
          const rows = jobs.data.map((j) => ({ ...j, status: status.data[j.id] ?? 'ACTIVE' }));
          c.out.emit(rows, () =>
            c.out.table(
              rows,
              [
                { header: 'id', value: (r) => r.id },
                { header: 'version', value: (r) => r.version },
                { header: 'status', value: (r) => r.status },
                { header: 'running', value: (r) => r.live.running, right: true },
                { header: 'pending', value: (r) => r.live.pending, right: true },
                { header: 'description', value: (r) => r.description ?? '' },
              ],
              'no jobs (add one with kanade job apply <file.yaml>)',
            ),
          );
          return undefined;
        },
        async get(c, a) {
          const p = parse(a, {}, JOB_USAGE);
          const id = p.arg(0, 'job_id');
          if (c.out.json) {
            const found = (await c.api.get<JobRow[]>('/api/jobs')).data.find((j) => j.id === id);
            if (!found) throw new CliError(EXIT.NOT_FOUND, `no job ${id}`, 'see kanade job list');
            c.out.emit(found, () => {});
            return undefined;
          }
          const r = await c.api.get<string>(`/api/jobs/${encodeURIComponent(id)}/yaml`);
          c.out.raw(r.data.endsWith('\n') ? r.data : `${r.data}\n`);
          return undefined;
        },
        async delete(c, a) {
          const p = parse(a, {}, JOB_USAGE);
          const id = p.arg(0, 'job_id');
          await c.api.delete(`/api/jobs/${encodeURIComponent(id)}`);
          c.out.emit({ id, deleted: true }, () => c.out.line(`deleted job ${id}`));
          return undefined;
        },
      },
      JOB_USAGE,
    ),
};

async function applyJobs(ctx: Ctx, argv: string[]) {
  const p = parse(argv, { 'dry-run': { type: 'boolean' } }, JOB_USAGE);
  return applyYaml(ctx, p.positionals, '/api/jobs', 'job', true, p.flag('dry-run'));
}

const EXEC_USAGE = `usage: kanade exec <job_id> (--all | --group <g>... | --pc <pc_id>...) [--jitter <d>]
                   [--deadline <rfc3339>] [--wait [--timeout <d>]]

Runs a catalog job on its targets. --wait follows the execution with a progress bar until
every target answered: exit 0 when all succeeded, 8 when some failed, 5 when --timeout
(default 10m) ran out first.`;

interface Execution {
  exec_id: string;
  status: string;
  target_count: number;
  success_count: number;
  failure_count: number;
}

export const exec: Command = {
  summary: 'run a catalog job on all PCs, groups or PCs',
  usage: EXEC_USAGE,
  async run(ctx, argv) {
    const p = parse(
      argv,
      {
        all: { type: 'boolean' },
        group: { type: 'string', multiple: true },
        pc: { type: 'string', multiple: true },
        jitter: { type: 'string' },
        deadline: { type: 'string' },
        wait: { type: 'boolean' },
        timeout: { type: 'string' },
      },
      EXEC_USAGE,
    );
    const id = p.arg(0, 'job_id');
    const target = { all: p.flag('all'), groups: p.many('group'), pcs: p.many('pc') };
    if (!target.all && target.groups.length === 0 && target.pcs.length === 0)
      throw usage('no target: give --all, --group or --pc', EXEC_USAGE);
    const timeoutMs = durationOpt(p, 'timeout', 10 * 60_000);
    const r = await ctx.api.post<{ exec_id: string; target_count: number; version: string }>(
      `/api/exec/${encodeURIComponent(id)}`,
      {
        target,
        ...(p.opt('jitter') ? { jitter: p.opt('jitter') } : {}),
        ...(p.opt('deadline') ? { deadline_at: p.opt('deadline') } : {}),
      },
    );
    if (!p.flag('wait')) {
      ctx.out.emit(r.data, () =>
        ctx.out.line(
          `started ${id} ${r.data.version} on ${r.data.target_count} target(s): exec_id ${r.data.exec_id}`,
        ),
      );
      return undefined;
    }
    const e = await waitForExecution(ctx, r.data.exec_id, r.data.target_count, timeoutMs);
    ctx.out.emit(e, () =>
      ctx.out.line(
        `${id}: ${e.success_count} succeeded, ${e.failure_count} failed of ${e.target_count} (exec_id ${e.exec_id})`,
      ),
    );
    return e.failure_count > 0 ? EXIT.FAILED : EXIT.OK;
  },
};

async function waitForExecution(
  ctx: Ctx,
  execId: string,
  targets: number,
  timeoutMs: number,
): Promise<Execution> {
  const deadline = Date.now() + timeoutMs;
  const bar = ctx.progress.bar('running  ', targets);
  for (;;) {
    const e = (
      await ctx.api.get<{ execution: Execution }>(`/api/executions/${encodeURIComponent(execId)}`, {
        limit: 1,
      })
    ).data.execution;
    const done = e.success_count + e.failure_count;
    bar.update(done, `ok ${e.success_count}  failed ${e.failure_count}`);
    if (e.status !== 'pending' && e.status !== 'running') {
      bar.finish();
      return e;
    }
    if (Date.now() > deadline) {
      bar.finish();
      throw new CliError(
        EXIT.TIMEOUT,
        `${done} of ${e.target_count} targets answered before the wait ran out (exec_id ${execId})`,
        `follow it with kanade results --exec ${execId}, or wait longer with --timeout`,
      );
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}
