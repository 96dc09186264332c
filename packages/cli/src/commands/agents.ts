// agent: the roster, releases and staged rollout, a PC's groups.
import { intOpt, parse } from '../args.js';
import type { Command, Ctx } from '../context.js';
import { dispatch } from '../dispatch.js';
import { usage } from '../errors.js';
import { formatBytes, formatTime } from '../output.js';
import { uploadFile } from '../transfer.js';

const AGENT_USAGE = `usage: kanade agent list [--status online|offline] [--q <regex>] [--version <regex>]
                        [--quarantined <version>] [--limit N] [--offset N]
       kanade agent show <pc_id>
       kanade agent publish <file> --version <v> [--platform node|windows|linux-x86_64|...]
       kanade agent releases
       kanade agent unpublish <version> [--platform <p>]     (409 while a scope targets it)
       kanade agent rollout <version> (--global | --group <g> | --pc <pc_id>) [--jitter <d>]
       kanade agent current                                    targets, versions in use, quarantine
       kanade agent groups <pc_id> [--set g1,g2 | --add <g> | --rm <g>]

publish uploads a release file with a progress bar and its SHA-256 (the backend refuses bytes
that do not match). The platform is detected from the file when not given: a JavaScript
bundle built by scripts/build-agent-release.mjs is "node", this project's agent.
rollout sets target_version on one config scope; agents in it update themselves after a
random delay of up to --jitter (default: the scope's target_version_jitter, else 10m).`;

interface AgentRow {
  pc_id: string;
  hostname: string | null;
  online: boolean;
  agent_version: string | null;
  os_family: string | null;
  last_heartbeat: string | null;
  last_logon_user: string | null;
  quarantined_versions?: string[];
}

interface Release {
  version: string;
  platform: string;
  key: string;
  size: number;
  digest: string | null;
  modified: string;
}

async function list(ctx: Ctx, argv: string[]) {
  const p = parse(
    argv,
    {
      status: { type: 'string' },
      q: { type: 'string' },
      version: { type: 'string' },
      quarantined: { type: 'string' },
      limit: { type: 'string' },
      offset: { type: 'string' },
    },
    AGENT_USAGE,
  );
  const r = await ctx.api.get<AgentRow[]>('/api/agents', {
    status: p.opt('status'),
    q: p.opt('q'),
    version: p.opt('version'),
    quarantined: p.opt('quarantined'),
    limit: intOpt(p, 'limit', 100, 1, 5000),
    offset: intOpt(p, 'offset', 0, 0, 10_000_000),
  });
  ctx.out.emit(r.data, () => {
    ctx.out.table(
      r.data,
      [
        { header: 'pc_id', value: (a) => a.pc_id },
        { header: 'status', value: (a) => (a.online ? 'online' : 'offline') },
        { header: 'version', value: (a) => a.agent_version },
        { header: 'os', value: (a) => a.os_family },
        { header: 'last heartbeat', value: (a) => formatTime(a.last_heartbeat) },
        { header: 'user', value: (a) => a.last_logon_user },
        { header: 'quarantined', value: (a) => a.quarantined_versions?.join(',') ?? '' },
      ],
      'no agents match',
    );
    ctx.out.note(
      `${r.headers.get('x-total-count') ?? r.data.length} agents (${r.headers.get('x-online-count') ?? '?'} online)`,
    );
  });
  return undefined;
}

async function show(ctx: Ctx, argv: string[]) {
  const p = parse(argv, {}, AGENT_USAGE);
  const pc = encodeURIComponent(p.arg(0, 'pc_id'));
  const [agent, groups, meta] = await Promise.all([
    ctx.api.get<Record<string, unknown>>(`/api/agents/${pc}`),
    ctx.api.get<{ groups: string[]; derived: string[] }>(`/api/agents/${pc}/groups`),
    ctx.api.get<{ entries: { key: string; value: string }[] }>(`/api/agents/${pc}/meta`),
  ]);
  const data = { ...agent.data, groups: groups.data, meta: meta.data.entries };
  ctx.out.emit(data, () => {
    const rows = Object.entries(agent.data).map(([k, v]) => ({ k, v }));
    rows.push({ k: 'groups', v: groups.data.groups.join(', ') || '-' });
    if (groups.data.derived.length) rows.push({ k: 'derived groups', v: groups.data.derived.join(', ') });
    for (const e of meta.data.entries) rows.push({ k: `meta.${e.key}`, v: e.value });
    ctx.out.table(
      rows,
      [
        { header: 'field', value: (r) => r.k },
        { header: 'value', value: (r) => r.v },
      ],
      '',
    );
  });
  return undefined;
}

async function publish(ctx: Ctx, argv: string[]) {
  const p = parse(argv, { version: { type: 'string' }, platform: { type: 'string' } }, AGENT_USAGE);
  const file = p.arg(0, 'file');
  const version = p.opt('version') ?? p.positionals[1];
  if (!version) throw usage('missing --version', AGENT_USAGE);
  const r = await uploadFile<Release>(ctx, '/api/agents/publish', file, {
    query: { version, platform: p.opt('platform') },
    maxBytes: 64 * 1024 * 1024,
    what: 'release',
  });
  ctx.out.emit(r, () =>
    ctx.out.line(
      `published ${r.version} (${r.platform}, ${formatBytes(r.size)}, sha256 ${r.digest}) as ${r.key}`,
    ),
  );
  return undefined;
}

async function releases(ctx: Ctx, argv: string[]) {
  parse(argv, {}, AGENT_USAGE);
  const r = await ctx.api.get<Release[]>('/api/agents/releases');
  ctx.out.emit(r.data, () =>
    ctx.out.table(
      r.data,
      [
        { header: 'version', value: (x) => x.version },
        { header: 'platform', value: (x) => x.platform },
        { header: 'size', value: (x) => formatBytes(x.size), right: true },
        { header: 'published', value: (x) => formatTime(x.modified) },
        { header: 'sha256', value: (x) => x.digest },
      ],
      'no releases (publish one with kanade agent publish <file> --version <v>)',
    ),
  );
  return undefined;
}

async function unpublish(ctx: Ctx, argv: string[]) {
  const p = parse(argv, { platform: { type: 'string' } }, AGENT_USAGE);
  const version = p.arg(0, 'version');
  const r = await ctx.api.delete<{ version: string; removed: string[] }>(
    `/api/agents/releases/${encodeURIComponent(version)}`,
    { platform: p.opt('platform') },
  );
  ctx.out.emit(r.data, () => ctx.out.line(`removed ${r.data.removed.join(', ')}`));
  return undefined;
}

async function rollout(ctx: Ctx, argv: string[]) {
  const p = parse(
    argv,
    {
      global: { type: 'boolean' },
      group: { type: 'string' },
      pc: { type: 'string' },
      jitter: { type: 'string' },
    },
    AGENT_USAGE,
  );
  const version = p.arg(0, 'version');
  const chosen = [p.flag('global'), p.opt('group') !== undefined, p.opt('pc') !== undefined].filter(
    Boolean,
  ).length;
  if (chosen !== 1) throw usage('give exactly one of --global, --group <g>, --pc <pc_id>', AGENT_USAGE);
  const scope = p.flag('global')
    ? { type: 'global' }
    : p.opt('group') !== undefined
      ? { type: 'group', value: p.opt('group') }
      : { type: 'pc', value: p.opt('pc') };
  const r = await ctx.api.post<{ key: string; scope: Record<string, unknown>; changed: boolean }>(
    '/api/agents/rollout',
    { version, scope, ...(p.opt('jitter') ? { jitter: p.opt('jitter') } : {}) },
  );
  ctx.out.emit(r.data, () =>
    ctx.out.line(
      `${r.data.key}: target_version ${version}${r.data.scope.target_version_jitter ? `, jitter ${r.data.scope.target_version_jitter}` : ''}${r.data.changed ? '' : ' (no change)'}`,
    ),
  );
  return undefined;
}

interface RolloutStatus {
  targets: {
    scope: string;
    name: string | null;
    key: string;
    target_version: string;
    target_version_jitter: string | null;
  }[];
  versions: { version: string | null; total: number; active: number }[];
  quarantined: { version: string; agents: number }[];
}

async function current(ctx: Ctx, argv: string[]) {
  parse(argv, {}, AGENT_USAGE);
  const r = await ctx.api.get<RolloutStatus>('/api/agents/rollout');
  ctx.out.emit(r.data, () => {
    ctx.out.line('targets:');
    ctx.out.table(
      r.data.targets,
      [
        { header: 'scope', value: (t) => t.key },
        { header: 'target_version', value: (t) => t.target_version },
        { header: 'jitter', value: (t) => t.target_version_jitter ?? '(inherited)' },
      ],
      '  no scope sets a target_version: agents keep what they run',
    );
    ctx.out.line('versions in use:');
    ctx.out.table(
      r.data.versions,
      [
        { header: 'version', value: (v) => v.version ?? '(unknown)' },
        { header: 'agents', value: (v) => v.total, right: true },
        { header: 'active', value: (v) => v.active, right: true },
      ],
      '  no agents yet',
    );
    if (r.data.quarantined.length) {
      ctx.out.line('quarantined (failed to start on these agents, rolled back):');
      ctx.out.table(
        r.data.quarantined,
        [
          { header: 'version', value: (q) => q.version },
          { header: 'agents', value: (q) => q.agents, right: true },
        ],
        '',
      );
    }
  });
  return undefined;
}

async function groups(ctx: Ctx, argv: string[]) {
  const p = parse(
    argv,
    { set: { type: 'string' }, add: { type: 'string' }, rm: { type: 'string' } },
    AGENT_USAGE,
  );
  const pc = encodeURIComponent(p.arg(0, 'pc_id'));
  const set = p.opt('set');
  const add = p.opt('add');
  const rm = p.opt('rm');
  if ([set, add, rm].filter((x) => x !== undefined).length > 1)
    throw usage('give one of --set, --add, --rm', AGENT_USAGE);
  let r: { groups: string[]; derived?: string[] };
  if (set !== undefined)
    r = (
      await ctx.api.put<{ groups: string[] }>(`/api/agents/${pc}/groups`, {
        groups: set
          .split(',')
          .map((g) => g.trim())
          .filter(Boolean),
      })
    ).data;
  else if (add !== undefined)
    r = (await ctx.api.post<{ groups: string[] }>(`/api/agents/${pc}/groups`, { group: add })).data;
  else if (rm !== undefined)
    r = (await ctx.api.delete<{ groups: string[] }>(`/api/agents/${pc}/groups/${encodeURIComponent(rm)}`))
      .data;
  else r = (await ctx.api.get<{ groups: string[]; derived: string[] }>(`/api/agents/${pc}/groups`)).data;
  ctx.out.emit(r, () => {
    ctx.out.line(`groups: ${r.groups.join(', ') || '(none)'}`);
    if (r.derived?.length) ctx.out.line(`derived: ${r.derived.join(', ')}`);
  });
  return undefined;
}

export const agent: Command = {
  summary: 'agents: list, show, publish/rollout releases, rollout state, groups',
  usage: AGENT_USAGE,
  run: (ctx, argv) =>
    dispatch(ctx, argv, { list, show, publish, releases, unpublish, rollout, current, groups }, AGENT_USAGE),
};
