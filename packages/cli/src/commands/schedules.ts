// schedule (create/list/delete/enable/disable) and freeze.
import { parse } from '../args.js';
import type { Command } from '../context.js';
import { dispatch } from '../dispatch.js';
import { formatTime } from '../output.js';
import { applyYaml } from './jobs.js';

const SCHEDULE_USAGE = `usage: kanade schedule create <file|folder>...        create or replace schedules from YAML (alias: apply)
       kanade schedule list
       kanade schedule delete <id>
       kanade schedule enable <id>
       kanade schedule disable <id> [--cascade] [--cascade-kill]

disable stops further fires; --cascade also revokes the job (agents skip queued Commands),
--cascade-kill also kills its running executions.`;

interface ScheduleRow {
  id: string;
  job_id: string;
  when: Record<string, unknown>;
  enabled: boolean;
  target?: unknown;
}

interface Toggled {
  id: string;
  enabled: boolean;
  changed: boolean;
  revoked: boolean;
  killed_exec_ids: string[];
}

async function applySchedules(ctx: Parameters<Command['run']>[0], argv: string[]) {
  const p = parse(argv, { 'dry-run': { type: 'boolean' } }, SCHEDULE_USAGE);
  return applyYaml(ctx, p.positionals, '/api/schedules', 'schedule', false, p.flag('dry-run'));
}

function toggle(enable: boolean) {
  return async (ctx: Parameters<Command['run']>[0], argv: string[]) => {
    const p = parse(
      argv,
      { cascade: { type: 'boolean' }, 'cascade-kill': { type: 'boolean' } },
      SCHEDULE_USAGE,
    );
    const id = p.arg(0, 'id');
    const r = await ctx.api.post<Toggled>(
      `/api/schedules/${encodeURIComponent(id)}/${enable ? 'enable' : 'disable'}`,
      undefined,
      enable ? undefined : { cascade: p.flag('cascade'), cascade_kill: p.flag('cascade-kill') },
    );
    ctx.out.emit(r.data, () => {
      ctx.out.line(
        `${id} is ${r.data.enabled ? 'enabled' : 'disabled'}${r.data.changed ? '' : ' (no change)'}`,
      );
      if (r.data.revoked) ctx.out.line('its job is revoked');
      if (r.data.killed_exec_ids.length) ctx.out.line(`killed ${r.data.killed_exec_ids.join(', ')}`);
    });
    return undefined;
  };
}

export const schedule: Command = {
  summary: 'schedules: create from YAML, list, delete, enable, disable',
  usage: SCHEDULE_USAGE,
  run: (ctx, argv) =>
    dispatch(
      ctx,
      argv,
      {
        create: applySchedules,
        apply: applySchedules,
        async list(c, a) {
          parse(a, {}, SCHEDULE_USAGE);
          const r = await c.api.get<ScheduleRow[]>('/api/schedules');
          c.out.emit(r.data, () =>
            c.out.table(
              r.data,
              [
                { header: 'id', value: (s) => s.id },
                { header: 'job', value: (s) => s.job_id },
                { header: 'enabled', value: (s) => (s.enabled ? 'yes' : 'no') },
                { header: 'when', value: (s) => s.when },
              ],
              'no schedules',
            ),
          );
          return undefined;
        },
        async delete(c, a) {
          const p = parse(a, {}, SCHEDULE_USAGE);
          const id = p.arg(0, 'id');
          await c.api.delete(`/api/schedules/${encodeURIComponent(id)}`);
          c.out.emit({ id, deleted: true }, () => c.out.line(`deleted schedule ${id}`));
          return undefined;
        },
        enable: toggle(true),
        disable: toggle(false),
      },
      SCHEDULE_USAGE,
    ),
};

const FREEZE_USAGE = `usage: kanade freeze [status]
       kanade freeze set [--from <rfc3339>] [--until <rfc3339>] [--reason <text>]
       kanade freeze lift

While a freeze is active every scheduled fire is skipped (operator exec and run still work).
set without --from/--until freezes until lifted.`;

interface FreezeView {
  from: string | null;
  until: string | null;
  reason: string | null;
  active: boolean;
  corrupt: boolean;
}

function describe(f: FreezeView | null): string {
  if (!f) return 'not frozen';
  if (f.corrupt) return 'frozen: the stored freeze is unreadable (lift it to clear)';
  const window =
    f.from || f.until
      ? ` from ${formatTime(f.from) === '-' ? 'now' : formatTime(f.from)} until ${formatTime(f.until) === '-' ? 'lifted' : formatTime(f.until)}`
      : ' until lifted';
  return `${f.active ? 'frozen' : 'freeze planned'}${window}${f.reason ? ` (${f.reason})` : ''}`;
}

export const freeze: Command = {
  summary: 'fleet-wide change freeze: status, set, lift',
  usage: FREEZE_USAGE,
  run: (ctx, argv) =>
    dispatch(
      ctx,
      argv,
      {
        async status(c, a) {
          parse(a, {}, FREEZE_USAGE);
          const r = await c.api.get<FreezeView | null>('/api/freeze');
          c.out.emit(r.data, () => c.out.line(describe(r.data)));
          return undefined;
        },
        async set(c, a) {
          const p = parse(
            a,
            { from: { type: 'string' }, until: { type: 'string' }, reason: { type: 'string' } },
            FREEZE_USAGE,
          );
          const body: Record<string, string> = {};
          for (const k of ['from', 'until', 'reason']) {
            const v = p.opt(k);
            if (v !== undefined) body[k] = v;
          }
          const r = await c.api.put<FreezeView>('/api/freeze', body);
          c.out.emit(r.data, () => c.out.line(describe(r.data)));
          return undefined;
        },
        async lift(c, a) {
          parse(a, {}, FREEZE_USAGE);
          await c.api.delete('/api/freeze');
          c.out.emit({ lifted: true }, () => c.out.line('freeze lifted'));
          return undefined;
        },
      },
      FREEZE_USAGE,
      'status',
    ),
};
