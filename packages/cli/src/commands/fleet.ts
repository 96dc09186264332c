// config (the layered agent configuration), group and meta.
import { CONFIG_FIELDS, type ConfigField } from '@kanade/wire';
import { type Parsed, parse } from '../args.js';
import type { Command, Ctx } from '../context.js';
import { dispatch } from '../dispatch.js';
import { CliError, EXIT, usage } from '../errors.js';

const CONFIG_USAGE = `usage: kanade config get [--group <g> | --pc <pc_id>]
       kanade config set <field> <value> [--group <g> | --pc <pc_id>]
       kanade config unset <field> [--group <g> | --pc <pc_id>]
       kanade config clear [--group <g> | --pc <pc_id>]      drop the whole scope
       kanade config effective <pc_id>                       what the agent runs with

Without --group or --pc the global scope is meant. Fields: ${CONFIG_FIELDS.join(', ')}.
Layers: built-in defaults -> global -> the PC's groups (alphabetically) -> the PC.`;

const NUMBER_FIELDS = new Set<ConfigField>(['max_local_concurrent', 'process_perf_top_n']);
const BOOLEAN_FIELDS = new Set<ConfigField>(['process_perf_enabled']);

function scopePath(p: Parsed): { path: string; label: string } {
  const group = p.opt('group');
  const pc = p.opt('pc');
  if (group !== undefined && pc !== undefined) throw usage('give --group or --pc, not both', CONFIG_USAGE);
  if (group !== undefined)
    return { path: `/api/groups/${encodeURIComponent(group)}/config`, label: `groups.${group}` };
  if (pc !== undefined) return { path: `/api/pcs/${encodeURIComponent(pc)}/config`, label: `pcs.${pc}` };
  return { path: '/api/config', label: 'global' };
}

function field(name: string): ConfigField {
  if (!(CONFIG_FIELDS as readonly string[]).includes(name))
    throw usage(`unknown field ${JSON.stringify(name)}; one of ${CONFIG_FIELDS.join(', ')}`);
  return name as ConfigField;
}

function typed(f: ConfigField, text: string): string | number | boolean {
  if (NUMBER_FIELDS.has(f)) {
    const n = Number(text);
    if (!Number.isInteger(n)) throw usage(`${f}: expected an integer, got ${JSON.stringify(text)}`);
    return n;
  }
  if (BOOLEAN_FIELDS.has(f)) {
    if (text !== 'true' && text !== 'false') throw usage(`${f}: expected true or false`);
    return text === 'true';
  }
  return text;
}

const scopeOptions = { group: { type: 'string' }, pc: { type: 'string' } } as const;

function showScope(ctx: Ctx, label: string, scope: Record<string, unknown>) {
  ctx.out.emit(scope, () => {
    const rows = Object.entries(scope);
    if (rows.length === 0) ctx.out.line(`${label}: (empty scope: every field inherits)`);
    else
      ctx.out.table(
        rows.map(([k, v]) => ({ k, v })),
        [
          { header: `${label} field`, value: (r) => r.k },
          { header: 'value', value: (r) => r.v },
        ],
        '',
      );
  });
}

/** Read-modify-write of one scope (a field at a time, so the rest of the scope is kept). */
async function edit(ctx: Ctx, p: Parsed, change: (scope: Record<string, unknown>) => void) {
  const { path, label } = scopePath(p);
  const cur = (await ctx.api.get<Record<string, unknown>>(path)).data ?? {};
  change(cur);
  const r = await ctx.api.put<Record<string, unknown>>(path, cur);
  showScope(ctx, label, r.data);
}

export const config: Command = {
  summary: 'layered agent config: get, set, unset, clear, effective',
  usage: CONFIG_USAGE,
  run: (ctx, argv) =>
    dispatch(
      ctx,
      argv,
      {
        async get(c, a) {
          const p = parse(a, scopeOptions, CONFIG_USAGE);
          const { path, label } = scopePath(p);
          showScope(c, label, (await c.api.get<Record<string, unknown>>(path)).data ?? {});
          return undefined;
        },
        async set(c, a) {
          const p = parse(a, scopeOptions, CONFIG_USAGE);
          const f = field(p.arg(0, 'field'));
          const value = typed(f, p.arg(1, 'value'));
          await edit(c, p, (s) => {
            s[f] = value;
          });
          return undefined;
        },
        async unset(c, a) {
          const p = parse(a, scopeOptions, CONFIG_USAGE);
          const f = field(p.arg(0, 'field'));
          await edit(c, p, (s) => {
            delete s[f];
          });
          return undefined;
        },
        async clear(c, a) {
          const p = parse(a, scopeOptions, CONFIG_USAGE);
          const { path, label } = scopePath(p);
          if (label === 'global') await c.api.put(path, {});
          else await c.api.delete(path);
          c.out.emit({ scope: label, cleared: true }, () => c.out.line(`${label}: cleared`));
          return undefined;
        },
        async effective(c, a) {
          const p = parse(a, {}, CONFIG_USAGE);
          const pc = p.arg(0, 'pc_id');
          const r = await c.api.get<{
            pc_id: string;
            effective: Record<string, unknown>;
            warnings: { field: string; groups: string[] }[];
            my_groups: string[];
          }>(`/api/agents/${encodeURIComponent(pc)}/effective_config`);
          c.out.emit(r.data, () => {
            c.out.table(
              Object.entries(r.data.effective).map(([k, v]) => ({ k, v })),
              [
                { header: 'field', value: (x) => x.k },
                { header: 'value', value: (x) => x.v },
              ],
              '',
            );
            c.out.note(`groups: ${r.data.my_groups.join(', ') || '(none)'}`);
            for (const w of r.data.warnings)
              c.out.note(
                `warning: ${w.field} is set by several groups (${w.groups.join(', ')}); the last one wins`,
              );
          });
          return undefined;
        },
      },
      CONFIG_USAGE,
    ),
};

const GROUP_USAGE = `usage: kanade group list
       kanade group members <group>
       kanade group add <group> <pc_id>...
       kanade group rm <group> <pc_id>...

A PC's own view: kanade agent groups <pc_id>.`;

interface GroupRow {
  name: string;
  members: string[];
  has_config: boolean;
  emails: string[];
}

async function groupList(ctx: Ctx): Promise<GroupRow[]> {
  return (await ctx.api.get<{ groups: GroupRow[] }>('/api/groups')).data.groups;
}

export const group: Command = {
  summary: 'groups: list, members, add and remove PCs',
  usage: GROUP_USAGE,
  run: (ctx, argv) =>
    dispatch(
      ctx,
      argv,
      {
        async list(c, a) {
          parse(a, {}, GROUP_USAGE);
          const rows = await groupList(c);
          c.out.emit(rows, () =>
            c.out.table(
              rows,
              [
                { header: 'group', value: (g) => g.name },
                { header: 'members', value: (g) => g.members.length, right: true },
                { header: 'config', value: (g) => (g.has_config ? 'yes' : '') },
                { header: 'contacts', value: (g) => g.emails.join(',') },
              ],
              'no groups',
            ),
          );
          return undefined;
        },
        async members(c, a) {
          const p = parse(a, {}, GROUP_USAGE);
          const name = p.arg(0, 'group');
          const g = (await groupList(c)).find((x) => x.name === name);
          if (!g) throw new CliError(EXIT.NOT_FOUND, `no group ${name}`, 'see kanade group list');
          c.out.emit(g, () => {
            for (const m of g.members) c.out.line(m);
          });
          return undefined;
        },
        async add(c, a) {
          const p = parse(a, {}, GROUP_USAGE);
          const name = p.arg(0, 'group');
          const pcs = p.positionals.slice(1);
          if (pcs.length === 0) throw usage('missing <pc_id>', GROUP_USAGE);
          const out: Record<string, string[]> = {};
          for (const pc of pcs)
            out[pc] = (
              await c.api.post<{ groups: string[] }>(`/api/agents/${encodeURIComponent(pc)}/groups`, {
                group: name,
              })
            ).data.groups;
          c.out.emit(out, () => c.out.line(`added ${pcs.join(', ')} to ${name}`));
          return undefined;
        },
        async rm(c, a) {
          const p = parse(a, {}, GROUP_USAGE);
          const name = p.arg(0, 'group');
          const pcs = p.positionals.slice(1);
          if (pcs.length === 0) throw usage('missing <pc_id>', GROUP_USAGE);
          const out: Record<string, string[]> = {};
          for (const pc of pcs)
            out[pc] = (
              await c.api.delete<{ groups: string[] }>(
                `/api/agents/${encodeURIComponent(pc)}/groups/${encodeURIComponent(name)}`,
              )
            ).data.groups;
          c.out.emit(out, () => c.out.line(`removed ${pcs.join(', ')} from ${name}`));
          return undefined;
        },
      },
      GROUP_USAGE,
    ),
};

const META_USAGE = `usage: kanade meta get <pc_id>
       kanade meta set <pc_id> <key>=<value>...
       kanade meta rm <pc_id> <key>...
       kanade meta clear <pc_id>

Operator-entered attributes of a PC (asset tag, location, owner ...), filterable in the roster.`;

type Entry = { key: string; value: string };

async function metaOf(ctx: Ctx, pc: string): Promise<Entry[]> {
  return (await ctx.api.get<{ entries: Entry[] }>(`/api/agents/${encodeURIComponent(pc)}/meta`)).data.entries;
}

async function putMeta(ctx: Ctx, pc: string, entries: Entry[]) {
  const r = await ctx.api.put<{ entries: Entry[] }>(`/api/agents/${encodeURIComponent(pc)}/meta`, {
    entries,
  });
  showMeta(ctx, pc, r.data.entries);
}

function showMeta(ctx: Ctx, pc: string, entries: Entry[]) {
  ctx.out.emit({ pc_id: pc, entries }, () =>
    ctx.out.table(
      entries,
      [
        { header: 'key', value: (e) => e.key },
        { header: 'value', value: (e) => e.value },
      ],
      `${pc}: no meta`,
    ),
  );
}

export const meta: Command = {
  summary: "a PC's operator metadata: get, set, rm, clear",
  usage: META_USAGE,
  run: (ctx, argv) =>
    dispatch(
      ctx,
      argv,
      {
        async get(c, a) {
          const p = parse(a, {}, META_USAGE);
          const pc = p.arg(0, 'pc_id');
          showMeta(c, pc, await metaOf(c, pc));
          return undefined;
        },
        async set(c, a) {
          const p = parse(a, {}, META_USAGE);
          const pc = p.arg(0, 'pc_id');
          const pairs = p.positionals.slice(1).map((kv) => {
            const i = kv.indexOf('=');
            if (i <= 0) throw usage(`expected key=value, got ${JSON.stringify(kv)}`, META_USAGE);
            return { key: kv.slice(0, i), value: kv.slice(i + 1) };
          });
          if (pairs.length === 0) throw usage('missing <key>=<value>', META_USAGE);
          const entries = await metaOf(c, pc);
          for (const e of pairs) {
            const at = entries.findIndex((x) => x.key === e.key);
            if (at >= 0) entries[at] = e;
            else entries.push(e);
          }
          await putMeta(c, pc, entries);
          return undefined;
        },
        async rm(c, a) {
          const p = parse(a, {}, META_USAGE);
          const pc = p.arg(0, 'pc_id');
          const keys = new Set(p.positionals.slice(1));
          if (keys.size === 0) throw usage('missing <key>', META_USAGE);
          await putMeta(
            c,
            pc,
            (await metaOf(c, pc)).filter((e) => !keys.has(e.key)),
          );
          return undefined;
        },
        async clear(c, a) {
          const p = parse(a, {}, META_USAGE);
          await putMeta(c, p.arg(0, 'pc_id'), []);
          return undefined;
        },
      },
      META_USAGE,
    ),
};
