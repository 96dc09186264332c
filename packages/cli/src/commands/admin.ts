// account, audit, results, query, jetstream status.
import { intOpt, parse, sinceOpt } from '../args.js';
import type { Command, Ctx } from '../context.js';
import { dispatch } from '../dispatch.js';
import { usage } from '../errors.js';
import { formatBytes, formatTime } from '../output.js';

const ACCOUNT_USAGE = `usage: kanade account list
       kanade account create <username> --role viewer|operator|admin [--password-stdin] [--email <e>]
       kanade account set <username> [--role <r>] [--disable | --enable] [--password-stdin]
                          [--email <e>] [--reset-mfa]
       kanade account delete <username>

Admin only. A password set here must be changed at the next sign-in. Without --password-stdin
a new account has no password yet (send it a setup link from the dashboard).`;

interface Account {
  username: string;
  role: string;
  disabled: boolean;
  email?: string | null;
  must_change_pw?: boolean;
  mfa_enabled?: boolean;
  last_login_at?: string | null;
}

export const account: Command = {
  summary: 'accounts (admin): list, create, set, delete',
  usage: ACCOUNT_USAGE,
  run: (ctx, argv) =>
    dispatch(
      ctx,
      argv,
      {
        async list(c, a) {
          parse(a, {}, ACCOUNT_USAGE);
          const r = await c.api.get<Account[]>('/api/accounts');
          c.out.emit(r.data, () =>
            c.out.table(
              r.data,
              [
                { header: 'username', value: (x) => x.username },
                { header: 'role', value: (x) => x.role },
                { header: 'disabled', value: (x) => (x.disabled ? 'yes' : '') },
                { header: 'mfa', value: (x) => (x.mfa_enabled ? 'yes' : '') },
                { header: 'email', value: (x) => x.email ?? '' },
              ],
              'no accounts',
            ),
          );
          return undefined;
        },
        async create(c, a) {
          const p = parse(
            a,
            { role: { type: 'string' }, 'password-stdin': { type: 'boolean' }, email: { type: 'string' } },
            ACCOUNT_USAGE,
          );
          const username = p.arg(0, 'username');
          const role = p.opt('role');
          if (!role) throw usage('missing --role', ACCOUNT_USAGE);
          const body: Record<string, unknown> = { username, role };
          if (p.flag('password-stdin')) body.password = (await c.readStdin()).replace(/\r?\n$/, '');
          if (p.opt('email')) body.email = p.opt('email');
          const r = await c.api.post<Account>('/api/accounts', body);
          c.out.emit(r.data, () => c.out.line(`created ${r.data.username} (${r.data.role})`));
          return undefined;
        },
        async set(c, a) {
          const p = parse(
            a,
            {
              role: { type: 'string' },
              disable: { type: 'boolean' },
              enable: { type: 'boolean' },
              'password-stdin': { type: 'boolean' },
              email: { type: 'string' },
              'reset-mfa': { type: 'boolean' },
            },
            ACCOUNT_USAGE,
          );
          const username = p.arg(0, 'username');
          const body: Record<string, unknown> = {};
          if (p.opt('role')) body.role = p.opt('role');
          if (p.flag('disable') && p.flag('enable')) throw usage('--disable or --enable, not both');
          if (p.flag('disable')) body.disabled = true;
          if (p.flag('enable')) body.disabled = false;
          if (p.flag('password-stdin')) body.password = (await c.readStdin()).replace(/\r?\n$/, '');
          if (p.opt('email')) body.email = p.opt('email');
          if (p.flag('reset-mfa')) body.reset_mfa = true;
          if (Object.keys(body).length === 0) throw usage('nothing to change', ACCOUNT_USAGE);
          const r = await c.api.patch<Account>(`/api/accounts/${encodeURIComponent(username)}`, body);
          c.out.emit(r.data, () =>
            c.out.line(`${r.data.username}: ${r.data.role}${r.data.disabled ? ', disabled' : ''}`),
          );
          return undefined;
        },
        async delete(c, a) {
          const p = parse(a, {}, ACCOUNT_USAGE);
          const username = p.arg(0, 'username');
          await c.api.delete(`/api/accounts/${encodeURIComponent(username)}`);
          c.out.emit({ username, deleted: true }, () => c.out.line(`deleted ${username}`));
          return undefined;
        },
      },
      ACCOUNT_USAGE,
    ),
};

const AUDIT_USAGE = `usage: kanade audit [--actor <tier>] [--action <regex>] [--target <regex>] [--since <1h | rfc3339>]
                    [--limit N] [--offset N]

Operator actions, newest first. --actor is exact (operator, admin, scheduler, auth ...).`;

interface AuditRow {
  id: number;
  actor: string;
  action: string;
  target: string | null;
  payload: { caller?: string; source?: string | null } & Record<string, unknown>;
  occurred_at: string;
}

export const audit: Command = {
  summary: 'the audit trail of operator actions',
  usage: AUDIT_USAGE,
  async run(ctx, argv) {
    const p = parse(
      argv,
      {
        actor: { type: 'string' },
        action: { type: 'string' },
        target: { type: 'string' },
        since: { type: 'string' },
        limit: { type: 'string' },
        offset: { type: 'string' },
      },
      AUDIT_USAGE,
    );
    const r = await ctx.api.get<AuditRow[]>('/api/audit', {
      actor: p.opt('actor'),
      action: p.opt('action'),
      target: p.opt('target'),
      since: sinceOpt(p),
      limit: intOpt(p, 'limit', 50, 1, 1000),
      offset: intOpt(p, 'offset', 0, 0, 10_000_000),
    });
    ctx.out.emit(r.data, () => {
      ctx.out.table(
        r.data,
        [
          { header: 'time', value: (e) => formatTime(e.occurred_at) },
          { header: 'actor', value: (e) => e.actor },
          { header: 'action', value: (e) => e.action },
          { header: 'target', value: (e) => e.target },
          {
            header: 'by',
            value: (e) =>
              e.payload?.caller
                ? `${e.payload.caller}${e.payload.source ? ` (${e.payload.source})` : ''}`
                : '',
          },
        ],
        'no audit events match',
      );
      ctx.out.note(`${r.headers.get('x-total-count') ?? r.data.length} events`);
    });
    return undefined;
  },
};

const RESULTS_USAGE = `usage: kanade results [list] [--pc <regex>] [--job <regex>] [--exec <regex>]
                      [--status success|failure|running] [--since <1h | rfc3339>] [--limit N]
       kanade results show <result_id>              the full stdout and stderr

Filters are case-insensitive regular expressions (^abc$ matches exactly).`;

interface ResultRow {
  result_id: string;
  pc_id: string;
  job_id: string | null;
  exec_id: string | null;
  exit_code: number | null;
  skipped: boolean;
  started_at: string;
  finished_at: string | null;
  stdout: string;
  stderr: string;
}

async function resultList(ctx: Ctx, argv: string[]) {
  const p = parse(
    argv,
    {
      pc: { type: 'string' },
      job: { type: 'string' },
      exec: { type: 'string' },
      status: { type: 'string' },
      since: { type: 'string' },
      limit: { type: 'string' },
      offset: { type: 'string' },
    },
    RESULTS_USAGE,
  );
  const r = await ctx.api.get<ResultRow[]>('/api/results', {
    pc_id: p.opt('pc'),
    job_id: p.opt('job'),
    exec_id: p.opt('exec'),
    status: p.opt('status'),
    since: sinceOpt(p),
    limit: intOpt(p, 'limit', 50, 1, 1000),
    offset: intOpt(p, 'offset', 0, 0, 10_000_000),
  });
  ctx.out.emit(r.data, () => {
    ctx.out.table(
      r.data,
      [
        { header: 'finished', value: (x) => formatTime(x.finished_at) },
        { header: 'pc_id', value: (x) => x.pc_id },
        { header: 'job', value: (x) => x.job_id ?? '(run)' },
        {
          header: 'exit',
          value: (x) => (x.finished_at === null ? 'running' : `${x.exit_code}${x.skipped ? ' skipped' : ''}`),
          right: true,
        },
        { header: 'stdout', value: (x) => x.stdout.slice(0, 60) },
        { header: 'result_id', value: (x) => x.result_id },
      ],
      'no results match',
    );
    ctx.out.note(`${r.headers.get('x-total-count') ?? r.data.length} results`);
  });
  return undefined;
}

export const results: Command = {
  summary: 'results of runs and executions: list, show',
  usage: RESULTS_USAGE,
  run: (ctx, argv) =>
    dispatch(
      ctx,
      argv,
      {
        list: resultList,
        async show(c, a) {
          const p = parse(a, {}, RESULTS_USAGE);
          const r = await c.api.get<ResultRow>(`/api/results/${encodeURIComponent(p.arg(0, 'result_id'))}`);
          c.out.emit(r.data, () => {
            c.out.note(
              `${r.data.pc_id} ${r.data.job_id ?? '(run)'} exit ${r.data.exit_code ?? 'running'}${r.data.skipped ? ' (skipped)' : ''} at ${formatTime(r.data.finished_at)}`,
            );
            c.out.raw(r.data.stdout);
            if (r.data.stderr) c.out.note(r.data.stderr.replace(/\n$/, ''));
          });
          return undefined;
        },
      },
      RESULTS_USAGE,
      'list',
    ),
};

const QUERY_USAGE = `usage: kanade query "<SELECT ...>" [--limit N]

Admin only: one read-only SELECT / WITH against the backend's projection database
(default 1000 rows, max 10000; 15 s budget). --json prints {columns, rows, ...}.`;

export const query: Command = {
  summary: 'read-only SQL against the projection database (admin)',
  usage: QUERY_USAGE,
  async run(ctx, argv) {
    const p = parse(argv, { limit: { type: 'string' } }, QUERY_USAGE);
    const sql = p.positionals.join(' ').trim();
    if (!sql) throw usage('missing SQL', QUERY_USAGE);
    const r = await ctx.api.post<{
      columns: string[];
      rows: unknown[][];
      row_count: number;
      truncated: boolean;
      elapsed_ms: number;
    }>('/api/query', { sql, limit: intOpt(p, 'limit', 1000, 1, 10_000) });
    ctx.out.emit(r.data, () => {
      ctx.out.table(
        r.data.rows,
        r.data.columns.map((c, i) => ({ header: c, value: (row: unknown[]) => row[i] })),
        '(no rows)',
      );
      ctx.out.note(
        `${r.data.row_count} rows${r.data.truncated ? ' (truncated)' : ''} in ${r.data.elapsed_ms} ms`,
      );
    });
    return undefined;
  },
};

const JETSTREAM_USAGE = `usage: kanade jetstream status

Every stream, KV bucket and object store the backend uses, with its size.`;

interface Resource {
  name: string;
  exists: boolean;
  messages?: number;
  bytes?: number;
  max_bytes?: number;
}

export const jetstream: Command = {
  summary: 'broker resources: status',
  usage: JETSTREAM_USAGE,
  run: (ctx, argv) =>
    dispatch(
      ctx,
      argv,
      {
        async status(c, a) {
          parse(a, {}, JETSTREAM_USAGE);
          const r = await c.api.get<{
            streams: Resource[];
            kv_buckets: Resource[];
            object_stores: Resource[];
          }>('/api/jetstream/status');
          const rows = [
            ...r.data.streams.map((x) => ({ kind: 'stream', ...x })),
            ...r.data.kv_buckets.map((x) => ({ kind: 'kv', ...x })),
            ...r.data.object_stores.map((x) => ({ kind: 'object store', ...x })),
          ];
          c.out.emit(r.data, () => {
            c.out.table(
              rows,
              [
                { header: 'kind', value: (x) => x.kind },
                { header: 'name', value: (x) => x.name },
                { header: 'ok', value: (x) => (x.exists ? 'yes' : 'MISSING') },
                { header: 'messages', value: (x) => x.messages, right: true },
                { header: 'size', value: (x) => formatBytes(x.bytes), right: true },
                {
                  header: 'limit',
                  value: (x) =>
                    x.max_bytes === undefined || x.max_bytes < 0 ? 'none' : formatBytes(x.max_bytes),
                  right: true,
                },
              ],
              'nothing to show',
            );
            const missing = rows.filter((x) => !x.exists).length;
            if (missing) c.out.note(`${missing} resource(s) missing: restart the backend to bootstrap them`);
          });
          return undefined;
        },
      },
      JETSTREAM_USAGE,
      'status',
    ),
};
