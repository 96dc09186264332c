// The schedule catalog: schedules in the `schedules` KV (JSON, what the
// backend and agent schedulers read) and the operator's YAML source in
// `schedules_yaml`. The scheduler (src/scheduler) watches the bucket; this
// service only writes it and answers the read-only views.
//
// - Writes are validated in full before anything is stored: the strict
//   Schedule schema (route), then what needs state or croner: the job must be
//   in the catalog and a calendar's days must lower to a croner pattern.
//   A failure is a 400 naming the field; nothing is written.
// - enable / disable is a compare-and-set on the entry's revision that flips
//   `enabled` in the stored JSON as it is (fields a newer writer added are
//   kept), then patches the `enabled:` line of the YAML source. A hard
//   disable also revokes the job (`cascade`) and kills its running
//   executions (`cascade_kill`, which implies the revoke). Enabling does not
//   un-revoke: that stays an explicit operator action.
// - Views: preview (next calendar fires after the gates), status (next run,
//   last run, 24 h counts), coverage (each roster member's latest result of
//   the job: ok / fail / skipped / running / pending) and upcoming fires.
import {
  describeWhen,
  FREEZE_KEY,
  freezeStateOf,
  isFrozen,
  KV,
  type Schedule,
  ScheduleRecord,
  scheduleJsonSchema,
  toRfc3339,
} from '@kanade/wire';
import { isMap, parseDocument, stringify } from 'yaml';
import { ApiError, badRequest, notFound } from '../http/errors.js';
import { lower, nextFires, whenProblem } from '../scheduler/lowering.js';
import { createRosterResolver } from '../scheduler/roster.js';
import type { Store } from '../store/index.js';
import type { LatestResult } from '../store/schedules.js';
import type { AuditService, Caller } from './audit.js';
import type { JobService } from './jobs.js';
import type { KillService } from './kill.js';
import { jsonOf, type KvAccess, readEntries } from './kv.js';
import type { ScriptService } from './scripts.js';

const CAS_ATTEMPTS = 5;
const RECENT_WINDOW_HOURS = 24;

export type CoverageState = 'ok' | 'fail' | 'skipped' | 'running' | 'pending';

export interface CoverageCounts {
  id: string;
  total: number;
  ok: number;
  fail: number;
  skipped: number;
  running: number;
  pending: number;
}

function stateOf(r: LatestResult | undefined): CoverageState {
  if (!r) return 'pending';
  if (r.finished_at === null) return 'running';
  if (r.skipped) return 'skipped';
  return r.exit_code === 0 ? 'ok' : 'fail';
}

/** Set the top-level `enabled:` of a YAML source, keeping everything else as written. */
export function patchEnabledLine(text: string, enabled: boolean): string {
  const line = /^enabled[ \t]*:[^\n#]*?([ \t]+#[^\n]*)?$/m;
  if (line.test(text))
    return text.replace(line, (_m, comment?: string) => `enabled: ${enabled}${comment ?? ''}`);
  const doc = parseDocument(text);
  if (isMap(doc.contents) && !doc.contents.flow) {
    return `${text}${text.endsWith('\n') || text.length === 0 ? '' : '\n'}enabled: ${enabled}\n`;
  }
  doc.set('enabled', enabled);
  return doc.toString();
}

export function createScheduleService(deps: {
  store: Store;
  kv: KvAccess;
  audit: AuditService;
  jobs: Pick<JobService, 'get'>;
  scripts: Pick<ScriptService, 'revoke'>;
  kill: Pick<KillService, 'killJob'>;
  now: () => number;
}) {
  const { store, kv, audit, now } = deps;
  const roster = createRosterResolver(store, kv, now);
  const encoder = new TextEncoder();
  let schema: Record<string, unknown> | undefined;

  async function all(): Promise<Schedule[]> {
    const out: Schedule[] = [];
    for (const value of (await readEntries(await kv.bucket(KV.SCHEDULES))).values()) {
      const r = ScheduleRecord.safeParse(jsonOf(value));
      if (r.success) out.push(r.data);
    }
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async function get(id: string): Promise<Schedule> {
    const e = await (await kv.bucket(KV.SCHEDULES)).get(id);
    if (e?.operation !== 'PUT') throw notFound(`no schedule ${id}`);
    const r = ScheduleRecord.safeParse(jsonOf(e.value));
    if (!r.success) {
      const issue = r.error.issues[0];
      throw new ApiError(
        'KANADE_ERR_UNPROCESSABLE',
        `schedule ${id} is stored but does not decode (${issue?.path.join('.')}: ${issue?.message}); upload it again`,
      );
    }
    return r.data;
  }

  async function frozen(): Promise<boolean> {
    const e = await (await kv.bucket(KV.FLEET_CONFIG)).get(FREEZE_KEY);
    return isFrozen(freezeStateOf(e?.operation === 'PUT' ? e.value : undefined), now());
  }

  /** The next time the backend would act on the schedule (null when it never will). */
  function nextRun(s: Schedule, t: number): number | null {
    if (!s.enabled) return null;
    const l = lower(s.when);
    if (l.mode === 'every_tick') return nextFires(s, t, 1)[0] ?? null;
    if (l.mode === 'event' || s.runs_on === 'agent') return null;
    return Math.floor(t / 60_000) * 60_000 + 60_000;
  }

  async function coverageOf(schedules: readonly Schedule[]) {
    const latest = new Map<string, Map<string, LatestResult>>();
    for (const r of store.schedules.latestPerPc([...new Set(schedules.map((s) => s.job_id))])) {
      const byPc = latest.get(r.job_id) ?? new Map<string, LatestResult>();
      byPc.set(r.pc_id, r);
      latest.set(r.job_id, byPc);
    }
    const rosters = new Map<string, Promise<string[]>>();
    return Promise.all(
      schedules.map(async (s) => {
        const key = JSON.stringify(s.target);
        const members = rosters.get(key) ?? roster.resolve(s.target).then((r) => r.roster);
        rosters.set(key, members);
        const byPc = latest.get(s.job_id);
        const agents = (await members).map((pc) => ({ pc_id: pc, result: byPc?.get(pc) }));
        const counts: CoverageCounts = {
          id: s.id,
          total: agents.length,
          ok: 0,
          fail: 0,
          skipped: 0,
          running: 0,
          pending: 0,
        };
        for (const a of agents) counts[stateOf(a.result)]++;
        return { schedule: s, counts, agents };
      }),
    );
  }

  async function setEnabled(
    id: string,
    enabled: boolean,
    opts: { cascade: boolean; cascadeKill: boolean },
    caller: Caller,
  ) {
    const bucket = await kv.bucket(KV.SCHEDULES);
    let changed = false;
    let jobId = '';
    for (let attempt = 1; ; attempt++) {
      const e = await bucket.get(id);
      if (e?.operation !== 'PUT') throw notFound(`no schedule ${id}`);
      const raw = jsonOf(e.value) as Record<string, unknown> | undefined;
      const parsed = ScheduleRecord.safeParse(raw);
      if (!raw || !parsed.success) {
        throw new ApiError(
          'KANADE_ERR_UNPROCESSABLE',
          `schedule ${id} is stored but does not decode; upload it again`,
        );
      }
      jobId = parsed.data.job_id;
      if (parsed.data.enabled === enabled) break;
      try {
        await bucket.update(id, encoder.encode(JSON.stringify({ ...raw, enabled })), e.revision);
        changed = true;
        break;
      } catch (err) {
        if (attempt >= CAS_ATTEMPTS) {
          throw new ApiError(
            'KANADE_ERR_CONFLICT',
            `schedule ${id} kept changing: ${(err as Error).message}; retry`,
          );
        }
      }
    }
    if (changed) {
      const yamlBucket = await kv.bucket(KV.SCHEDULES_YAML);
      const y = await yamlBucket.get(id);
      if (y?.operation === 'PUT' && y.value.length > 0) {
        await yamlBucket.put(
          id,
          encoder.encode(patchEnabledLine(new TextDecoder().decode(y.value), enabled)),
        );
      }
    }
    const revoke = !enabled && (opts.cascade || opts.cascadeKill);
    if (revoke) await deps.scripts.revoke(jobId, caller);
    const killed = !enabled && opts.cascadeKill ? await deps.kill.killJob(jobId, caller) : [];
    await audit.record({
      actor: 'operator',
      action: enabled ? 'schedule_enable' : 'schedule_disable',
      target: id,
      payload: { job_id: jobId, changed, ...(enabled ? {} : { cascade: revoke, killed_exec_ids: killed }) },
      caller,
    });
    return { id, enabled, changed, revoked: revoke, killed_exec_ids: killed };
  }

  return {
    all,
    get,
    setEnabled,

    /** Store a schedule after the checks that need state; returns upstream's create summary. */
    async upsert(s: Schedule, yamlSource: string | undefined, caller: Caller) {
      if (!(await deps.jobs.get(s.job_id))) {
        throw badRequest(
          `body field job_id: job ${s.job_id} is not in the catalog; create it first (POST /api/jobs)`,
        );
      }
      const problem = whenProblem(s);
      if (problem) throw badRequest(`body field ${problem.path}: ${problem.message}`);
      await (await kv.bucket(KV.SCHEDULES)).put(s.id, encoder.encode(JSON.stringify(s)));
      await (await kv.bucket(KV.SCHEDULES_YAML)).put(s.id, encoder.encode(yamlSource ?? stringify(s)));
      await audit.record({
        actor: 'operator',
        action: 'schedule_upsert',
        target: s.id,
        payload: { job_id: s.job_id, when: describeWhen(s.when), enabled: s.enabled, runs_on: s.runs_on },
        caller,
      });
      return { id: s.id, when: s.when, enabled: s.enabled, job_id: s.job_id };
    },

    /** The YAML source: the stored mirror, else a dump of the schedule. */
    async yaml(id: string): Promise<string> {
      const e = await (await kv.bucket(KV.SCHEDULES_YAML)).get(id);
      if (e?.operation === 'PUT' && e.value.length > 0) return new TextDecoder().decode(e.value);
      return stringify(await get(id));
    },

    async remove(id: string, caller: Caller): Promise<void> {
      const bucket = await kv.bucket(KV.SCHEDULES);
      const e = await bucket.get(id);
      if (e?.operation !== 'PUT') throw notFound(`no schedule ${id}`);
      await bucket.delete(id);
      await (await kv.bucket(KV.SCHEDULES_YAML)).delete(id);
      const fires = await kv.bucket(KV.SCHEDULER_FIRES).catch(() => undefined);
      await fires?.delete(id);
      await audit.record({ actor: 'operator', action: 'schedule_delete', target: id, caller });
    },

    async preview(id: string, count: number) {
      const s = await get(id);
      const t = now();
      const l = lower(s.when);
      const notes: string[] = [];
      if (l.mode === 'once_per_pc' || l.mode === 'once_per_target') {
        notes.push(
          'a reconcile cadence polls every minute and fires whoever has no success within `every` (once: ever), so there are no fixed fire times',
        );
      } else if (l.mode === 'event') {
        notes.push('fires on agent events (when.on), so there are no fixed fire times');
      }
      if (!s.enabled) notes.push('disabled: nothing fires until it is enabled');
      if (await frozen()) notes.push('the fleet is frozen: fires are skipped while the freeze lasts');
      if (l.mode === 'every_tick' && s.tz === 'local') {
        notes.push(
          `tz local: the ${s.runs_on === 'agent' ? "agents'" : "backend's"} time zone (backend: ${Intl.DateTimeFormat().resolvedOptions().timeZone})`,
        );
      }
      return {
        id: s.id,
        when: s.when,
        tz: s.tz,
        enabled: s.enabled,
        fires: nextFires(s, t, count).map(toRfc3339),
        ...(notes.length ? { note: notes.join('; ') } : {}),
      };
    },

    async status(id: string) {
      const s = await get(id);
      const t = now();
      const next = nextRun(s, t);
      const last = store.schedules.lastRun(s.job_id);
      const recent = store.schedules.recentCounts(s.job_id, t - RECENT_WINDOW_HOURS * 3_600_000);
      return {
        id: s.id,
        job_id: s.job_id,
        when: s.when,
        enabled: s.enabled,
        runs_on: s.runs_on,
        tz: s.tz,
        frozen: await frozen(),
        next_run: next === null ? null : toRfc3339(next),
        last_run: last
          ? {
              pc_id: last.pc_id,
              exit_code: last.exit_code,
              started_at: toRfc3339(last.started_at),
              finished_at: last.finished_at === null ? null : toRfc3339(last.finished_at),
            }
          : null,
        recent: { window_hours: RECENT_WINDOW_HOURS, ...recent },
      };
    },

    async coverage(id: string) {
      const [c] = await coverageOf([await get(id)]);
      const { schedule: s, counts } = c!;
      return {
        ...counts,
        when: s.when,
        job_id: s.job_id,
        runs_on: s.runs_on,
        agents: c!.agents.map((a) => ({
          pc_id: a.pc_id,
          state: stateOf(a.result),
          version: a.result?.version ?? null,
          finished_at: a.result?.finished_at ? toRfc3339(a.result.finished_at) : null,
        })),
      };
    },

    async coverageAll(): Promise<CoverageCounts[]> {
      return (await coverageOf(await all())).map((c) => c.counts);
    },

    async upcoming(limit: number) {
      const t = now();
      const rows: { id: string; job_id: string; when: Schedule['when']; next_run: number }[] = [];
      for (const s of await all()) {
        if (!s.enabled || lower(s.when).mode !== 'every_tick') continue;
        const next = nextFires(s, t, 1)[0];
        if (next !== undefined) rows.push({ id: s.id, job_id: s.job_id, when: s.when, next_run: next });
      }
      rows.sort((a, b) => a.next_run - b.next_run || (a.id < b.id ? -1 : 1));
      return rows.slice(0, limit).map((r) => ({ ...r, next_run: toRfc3339(r.next_run) }));
    },

    jsonSchema(): Record<string, unknown> {
      schema ??= scheduleJsonSchema();
      return schema;
    },
  };
}
export type ScheduleService = ReturnType<typeof createScheduleService>;
