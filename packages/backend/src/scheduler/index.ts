// The backend scheduler (upstream `scheduler/mod.rs`): every enabled
// `runs_on: backend` schedule in the `schedules` bucket becomes a croner job;
// each firing runs the gates and the fire policy and dispatches through the
// exec service, the same path as an operator exec, with actor `scheduler`.
//
// - Registrations mirror the bucket (mirror.ts: watch + reconcile after every
//   (re)attach), so a schedule deleted while the watch was down, or while no
//   backend ran, is unregistered and never fires. `runs_on: agent` and
//   disabled schedules are mirrored but get no timer.
// - One croner timer per distinct (pattern, zone) serves every schedule that
//   lowers to it: all reconcile schedules share the one-minute poll, and a
//   thousand schedules at 09:00 cost one wake-up, not a thousand.
// - The freeze is mirrored from `fleet_config/freeze`; until it has been read
//   once, and whenever its value is corrupt, the fleet counts as frozen.
// - Replicas: only the holder of the lease (lease.ts) fires; the others keep
//   their registrations warm and take over within the lease TTL.
// - Reconcile shapes (per_pc / per_target) poll every minute: gates, then the
//   job's successful completions decide who is due (policy.decideFire), the
//   dispatch marks in `scheduler_dispatch` drop what is still in flight, and
//   max_concurrent caps it. Marks are written after a successful dispatch.
//   The leader keeps the marks it wrote in memory and reloads the bucket when
//   it acquires the lease, so a tick costs no KV reads.
// - Calendar shapes fire the whole target. Each slot is claimed first with a
//   compare-and-set on `scheduler_fires/<schedule id>` (the last slot
//   handled), so a slot is handled once even across a lease handover.
// - Missed calendar fires (extension): when this replica acquires the lease,
//   a schedule with a `starting_deadline` whose latest slot is newer than its
//   last handled slot (and than the schedule itself) and still within the
//   deadline fires once, with deadline_at = slot + starting_deadline.
//   Without a starting_deadline a missed slot stays missed, as upstream.
// - `starting_deadline` becomes the Command's deadline_at (now + deadline).
//
// KANADE_SCHEDULER_POLL_CRON (read by server.ts) replaces the one-minute poll
// pattern; it exists for tests, which need reconcile ticks every second.
import {
  dispatchKey,
  type FanoutPlan,
  FREEZE_KEY,
  type FreezeState,
  freezeStateOf,
  isFrozen,
  KV,
  LAZY_KV_BUCKETS,
  parseDuration,
  parseRfc3339,
  type Schedule,
  ScheduleRecord,
  toRfc3339,
} from '@kanade/wire';
import type { KV as Bucket, KvEntry } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Cron } from 'croner';
import type { Logger } from 'pino';
import { ApiError } from '../http/errors.js';
import { ensureKvBucket } from '../nats/bootstrap.js';
import type { ExecService } from '../services/exec.js';
import type { JobService } from '../services/jobs.js';
import { createKvAccess, jsonOf, readEntries } from '../services/kv.js';
import type { Store } from '../store/index.js';
import { type Lease, startLease } from './lease.js';
import { cronOf, type Lowered, lower, nextFires, previousFire, zoneOf } from './lowering.js';
import { type Mirror, readAll, startMirror } from './mirror.js';
import {
  type Completion,
  capToSlots,
  decideFire,
  type FireAction,
  gate,
  scheduleSuppressionMs,
  suppressDispatched,
  unsettledMarks,
} from './policy.js';
import { createRosterResolver } from './roster.js';

const MARK_MAX_AGE_MS = LAZY_KV_BUCKETS.find((b) => b.name === KV.SCHEDULER_DISPATCH)!.maxAgeMs;
const MARK_WRITE_CONCURRENCY = 64;
/**
 * Fires dispatched at once. A fire is a handful of broker round trips (slot claim, job read, script pin,
 * publish, audit) and under a millisecond of CPU; the connection pipelines concurrent requests, so fires of
 * one minute are best all in flight together. A cap of 64 serialised them into rounds: 1,000 schedules due in
 * one minute took 2.1 s to fire (p99); with every fire in flight, 124 ms (`npm run bench -- scheduler`).
 * The cap only bounds memory if a pathological number of schedules share a minute.
 */
const FIRE_CONCURRENCY = 1024;
const STOP_WAIT_MS = 10_000;

export interface SchedulerDeps {
  nc: NatsConnection;
  store: Store;
  log: Logger;
  exec: Pick<ExecService, 'exec'>;
  jobs: Pick<JobService, 'get'>;
  now?: () => number;
  /** Poll pattern of the reconcile shapes (default every minute; tests use seconds). */
  pollCron?: string | undefined;
  leaseTtlMs?: number;
}

interface Registration {
  schedule: Schedule;
  revision: number;
  /** When this version of the schedule was written (the KV entry time). */
  created: number;
  lowered: Lowered;
  zone: string | undefined;
  /** The shared timer this schedule is on (undefined: not fired here). */
  timer: string | undefined;
}

export interface Scheduler {
  stop(): Promise<void>;
}

interface FireRecord {
  slot: string;
  at: string;
}

export function startScheduler(deps: SchedulerDeps): Scheduler {
  const { nc, store, log } = deps;
  const now = deps.now ?? Date.now;
  const kvAccess = createKvAccess(nc);
  const lazy = (name: string) => {
    let p: Promise<Bucket> | undefined;
    return () => {
      if (!p) {
        p = ensureKvBucket(nc, LAZY_KV_BUCKETS.find((b) => b.name === name)!);
        p.catch(() => {
          p = undefined;
        });
      }
      return p;
    };
  };
  const dispatchBucket = lazy(KV.SCHEDULER_DISPATCH);
  const firesBucket = lazy(KV.SCHEDULER_FIRES);
  const roster = createRosterResolver(store, kvAccess, now);
  const registry = new Map<string, Registration>();
  /** Dispatch marks (key -> ms) this leader knows of: loaded on acquiring the lease, then its own writes. */
  const marks = new Map<string, number>();
  /** Fire records (schedule id -> last handled slot and its revision), loaded likewise. */
  const fireRecords = new Map<string, { slot: number; revision: number }>();
  const inFlight = new Set<Promise<void>>();
  /** Reconcile schedules with a tick in progress. */
  const busy = new Set<string>();
  let freeze: FreezeState | undefined;
  let stopped = false;
  let lease: Lease | undefined;

  const frozen = () => freeze === undefined || isFrozen(freeze, now());

  // ---- registrations -------------------------------------------------------

  /** Timers by `${pattern} ${zone}`, each with the schedules it fires. */
  const timers = new Map<string, { cron: Cron; ids: Set<string> }>();

  function detach(id: string) {
    const key = registry.get(id)?.timer;
    const t = key ? timers.get(key) : undefined;
    if (!t || !key) return;
    t.ids.delete(id);
    if (t.ids.size === 0) {
      t.cron.stop();
      timers.delete(key);
    }
  }

  function attach(id: string, pattern: string, zone: string | undefined): string {
    const key = `${pattern} ${zone ?? 'local'}`;
    let t = timers.get(key);
    if (!t) {
      t = { cron: cronOf(pattern, zone, (self) => onTick(key, self)), ids: new Set() };
      timers.set(key, t);
    }
    t.ids.add(id);
    return key;
  }

  function unregister(id: string) {
    detach(id);
    registry.delete(id);
  }

  function register(entry: KvEntry) {
    const parsed = ScheduleRecord.safeParse(jsonOf(entry.value));
    detach(entry.key);
    if (!parsed.success) {
      registry.delete(entry.key);
      const issue = parsed.error.issues[0];
      log.warn(
        { schedule_id: entry.key, err: `${issue?.path.join('.')}: ${issue?.message}` },
        'schedule in KV does not decode; not registered',
      );
      return;
    }
    const s = parsed.data;
    const lowered = lower(s.when, deps.pollCron);
    const zone = zoneOf(s.tz);
    const reg: Registration = {
      schedule: s,
      revision: entry.revision,
      created: entry.created.getTime(),
      lowered,
      zone,
      timer: undefined,
    };
    registry.set(entry.key, reg);
    if (!s.enabled || s.runs_on === 'agent' || !lowered.cron) {
      log.info(
        { schedule_id: s.id, enabled: s.enabled, runs_on: s.runs_on },
        s.runs_on === 'agent' ? 'schedule runs on agents; not fired here' : 'schedule not registered',
      );
      return;
    }
    try {
      reg.timer = attach(entry.key, lowered.cron, zone);
    } catch (err) {
      log.warn(
        { schedule_id: s.id, cron: lowered.cron, err: (err as Error).message },
        'schedule cron rejected',
      );
      return;
    }
    log.info({ schedule_id: s.id, cron: lowered.cron, tz: s.tz, mode: lowered.mode }, 'schedule registered');
    if (lowered.mode === 'every_tick' && nextFires(s, now(), 1, { zone }).length === 0) {
      log.warn(
        { schedule_id: s.id },
        'calendar schedule has no future fire (past one-shot, or outside its window/active range)',
      );
    }
  }

  function applyEntry(entry: KvEntry) {
    const current = registry.get(entry.key);
    if (current && current.revision >= entry.revision) return;
    if (entry.operation === 'PUT') register(entry);
    else unregister(entry.key);
  }

  const catalog: Mirror = startMirror({
    nc,
    log,
    what: KV.SCHEDULES,
    bucket: () => kvAccess.bucket(KV.SCHEDULES),
    reconcile(entries) {
      for (const id of [...registry.keys()]) if (!entries.has(id)) unregister(id);
      for (const e of entries.values()) applyEntry(e);
      log.info({ schedules: registry.size }, 'schedules loaded');
    },
    apply: applyEntry,
  });
  const freezeMirror: Mirror = startMirror({
    nc,
    log,
    what: `${KV.FLEET_CONFIG}/${FREEZE_KEY}`,
    bucket: () => kvAccess.bucket(KV.FLEET_CONFIG),
    key: FREEZE_KEY,
    reconcile(entries) {
      freeze = freezeStateOf(entries.get(FREEZE_KEY)?.value);
    },
    apply(e) {
      freeze = freezeStateOf(e.operation === 'PUT' ? e.value : undefined);
      log.info({ frozen: isFrozen(freeze, now()), state: freeze.kind }, 'fleet freeze changed');
    },
  });

  // ---- firing ---------------------------------------------------------------

  let firing = 0;
  const queued: (() => void)[] = [];
  async function limited(fn: () => Promise<void>): Promise<void> {
    if (firing >= FIRE_CONCURRENCY) await new Promise<void>((resolve) => queued.push(resolve));
    firing++;
    try {
      await fn();
    } finally {
      firing--;
      queued.shift()?.();
    }
  }

  function track(p: Promise<void>) {
    inFlight.add(p);
    p.finally(() => inFlight.delete(p));
  }

  function onTick(key: string, self: Cron): void {
    if (stopped || !lease?.isLeader()) return;
    const slot = Math.floor((self.currentRun()?.getTime() ?? now()) / 1000) * 1000;
    for (const id of [...(timers.get(key)?.ids ?? [])]) {
      const reg = registry.get(id);
      if (!reg) continue;
      // A reconcile tick that overlaps the previous one of the same schedule would read the same marks
      // and fire twice; it is dropped (the next poll re-evaluates). Calendar slots are claimed instead.
      const reconcile = reg.lowered.mode !== 'every_tick';
      if (reconcile && busy.has(id)) continue;
      if (reconcile) busy.add(id);
      track(
        limited(() => fire(reg, slot, false))
          .catch((err) =>
            log.error({ schedule_id: id, err: (err as Error).message }, 'scheduler tick failed'),
          )
          .finally(() => {
            if (reconcile) busy.delete(id);
          }),
      );
    }
  }

  /** The last handled slot of a fire record (NaN when it has none). */
  const slotOf = (value: Uint8Array) =>
    parseRfc3339((jsonOf(value) as Partial<FireRecord> | undefined)?.slot ?? '');

  /**
   * Claim a calendar slot: a compare-and-set of the schedule's fire record, on the revision this leader
   * last saw (one round trip); when that is stale, read the record and decide again. False when the
   * slot was handled already (by us or another replica).
   */
  async function claimSlot(id: string, slot: number): Promise<boolean> {
    const kv = await firesBucket();
    const body = JSON.stringify({ slot: toRfc3339(slot), at: toRfc3339(now()) } satisfies FireRecord);
    const known = fireRecords.get(id);
    if (known && known.slot >= slot) return false;
    try {
      const revision = known ? await kv.update(id, body, known.revision) : await kv.create(id, body);
      fireRecords.set(id, { slot, revision });
      return true;
    } catch {
      const e = await kv.get(id);
      if (e?.operation === 'PUT' && slotOf(e.value) >= slot) {
        fireRecords.set(id, { slot: slotOf(e.value), revision: e.revision });
        return false;
      }
      try {
        const revision = e ? await kv.update(id, body, e.revision) : await kv.create(id, body);
        fireRecords.set(id, { slot, revision });
        return true;
      } catch {
        return false;
      }
    }
  }

  async function dispatch(
    reg: Registration,
    plan: FanoutPlan,
    why: string,
    extra: Record<string, unknown>,
  ): Promise<string | undefined> {
    const s = reg.schedule;
    try {
      const retry = s.on_failure?.retry;
      const r = await deps.exec.exec(
        s.job_id,
        plan,
        'scheduler',
        undefined,
        retry
          ? { max: retry.max, backoff_secs: Math.round((parseDuration(retry.backoff) ?? 0) / 1000) }
          : undefined,
      );
      log.info(
        {
          schedule_id: s.id,
          job_id: s.job_id,
          exec_id: r.exec_id,
          target_count: r.target_count,
          deadline_at: plan.deadline_at,
          why,
          ...extra,
        },
        'scheduler fired',
      );
      return r.exec_id;
    } catch (err) {
      const code = err instanceof ApiError ? err.code : undefined;
      log.warn(
        { schedule_id: s.id, job_id: s.job_id, why, code, err: (err as Error).message },
        'scheduler exec failed',
      );
      return undefined;
    }
  }

  /** max_concurrent: the unfinished runs of the job are counted only when the schedule has a cap. */
  function capped(action: FireAction, s: Schedule): FireAction {
    const max = s.constraints?.max_concurrent;
    return max ? capToSlots(action, max, store.schedules.inFlight(s.job_id)) : action;
  }

  function deadlineFrom(s: Schedule, from: number): string | undefined {
    const ms = s.starting_deadline ? parseDuration(s.starting_deadline) : undefined;
    return ms === undefined ? undefined : toRfc3339(from + ms);
  }

  function basePlan(s: Schedule, deadlineAt: string | undefined): FanoutPlan {
    return {
      target: s.target,
      ...(s.rollout ? { rollout: s.rollout } : {}),
      ...(s.jitter ? { jitter: s.jitter } : {}),
      ...(deadlineAt ? { deadline_at: deadlineAt } : {}),
    };
  }

  async function fireCalendar(reg: Registration, slot: number, catchUp: boolean): Promise<void> {
    const s = reg.schedule;
    if (!(await claimSlot(s.id, slot))) return;
    const t = now();
    const verdict = gate(s, frozen(), catchUp ? slot : t, reg.zone);
    if (verdict) {
      log.info({ schedule_id: s.id, slot: toRfc3339(slot), gate: verdict }, 'scheduler fire skipped');
      return;
    }
    if (capped({ kind: 'whole_target' }, s).kind === 'skip') {
      log.info(
        { schedule_id: s.id, slot: toRfc3339(slot) },
        'scheduler fire skipped: max_concurrent reached',
      );
      return;
    }
    await dispatch(
      reg,
      basePlan(s, deadlineFrom(s, catchUp ? slot : t)),
      catchUp ? 'missed calendar fire' : 'calendar',
      {
        slot: toRfc3339(slot),
        lateness_ms: t - slot,
      },
    );
  }

  function markOf(key: string, t: number): number | undefined {
    const at = marks.get(key);
    if (at === undefined) return undefined;
    if (t - at >= MARK_MAX_AGE_MS) {
      marks.delete(key);
      return undefined;
    }
    return at;
  }

  async function writeMarks(keys: string[], at: number): Promise<void> {
    const kv = await dispatchBucket();
    const value = toRfc3339(at);
    for (const k of keys) marks.set(k, at);
    for (let i = 0; i < keys.length; i += MARK_WRITE_CONCURRENCY) {
      await Promise.all(keys.slice(i, i + MARK_WRITE_CONCURRENCY).map((k) => kv.put(k, value)));
    }
  }

  async function fireReconcile(reg: Registration): Promise<void> {
    const s = reg.schedule;
    const { mode, cooldownMs } = reg.lowered;
    const t = now();
    const verdict = gate(s, frozen(), t, reg.zone);
    if (verdict) return;
    const manifest = await deps.jobs.get(s.job_id);
    if (!manifest) {
      log.warn({ schedule_id: s.id, job_id: s.job_id }, 'scheduler fire skipped: job not in the catalog');
      return;
    }
    const windowMs = scheduleSuppressionMs(s, parseDuration(manifest.execute.timeout) ?? 0);
    const { roster: members, expected } = await roster.resolve(s.target);
    const since = cooldownMs === null ? null : t - Math.max(cooldownMs, windowMs);
    const completions: Completion[] = store.schedules.completions(s.job_id, since);
    let action: FireAction = decideFire(mode, cooldownMs, expected, members, completions, t);
    if (action.kind === 'skip') return;

    const targetKey = dispatchKey.target(s.id);
    const pcKeys = new Map<string, string>();
    if (action.kind === 'pcs') for (const pc of action.pcs) pcKeys.set(pc, dispatchKey.pc(s.id, pc));
    const pcMarks = new Map<string, number>();
    for (const [pc, key] of pcKeys) {
      const at = markOf(key, t);
      if (at !== undefined) pcMarks.set(pc, at);
    }
    const memberSet = new Set(members);
    const live = unsettledMarks(
      pcMarks,
      markOf(targetKey, t),
      mode === 'once_per_target' ? completions.filter((c) => memberSet.has(c.pcId)) : completions,
    );
    action = suppressDispatched(action, live.pcMarks, live.targetMark, windowMs, t);
    action = capped(action, s);
    if (action.kind === 'skip') return;

    const deadlineAt = deadlineFrom(s, t);
    if (action.kind === 'pcs') {
      const pcs = action.pcs;
      const plan: FanoutPlan = {
        target: { all: false, groups: [], pcs },
        ...(s.jitter ? { jitter: s.jitter } : {}),
        ...(deadlineAt ? { deadline_at: deadlineAt } : {}),
      };
      if (await dispatch(reg, plan, 'per_pc due', { pcs: pcs.length })) {
        await writeMarks(
          pcs.map((pc) => pcKeys.get(pc)!),
          t,
        );
      }
    } else if (await dispatch(reg, basePlan(s, deadlineAt), 'per_target armed', {})) {
      await writeMarks([targetKey], t);
    }
  }

  function fire(reg: Registration, slot: number, catchUp: boolean): Promise<void> {
    return reg.lowered.mode === 'every_tick' ? fireCalendar(reg, slot, catchUp) : fireReconcile(reg);
  }

  // ---- leadership -----------------------------------------------------------

  /** On acquiring the lease: load the dispatch marks, then fire calendar slots missed while no one led. */
  async function onAcquire(): Promise<void> {
    const t = now();
    marks.clear();
    for (const [key, value] of await readEntries(await dispatchBucket())) {
      const at = parseRfc3339(new TextDecoder().decode(value));
      if (!Number.isNaN(at) && t - at < MARK_MAX_AGE_MS) marks.set(key, at);
    }
    fireRecords.clear();
    for (const [id, e] of await readAll(await firesBucket())) {
      const last = slotOf(e.value);
      if (!Number.isNaN(last)) fireRecords.set(id, { slot: last, revision: e.revision });
    }
    for (const reg of registry.values()) {
      const s = reg.schedule;
      if (!reg.timer || reg.lowered.mode !== 'every_tick' || !s.starting_deadline) continue;
      const deadlineMs = parseDuration(s.starting_deadline) ?? 0;
      const slot = previousFire(s, t, reg.zone);
      if (slot === undefined || t - slot >= deadlineMs || slot < reg.created) continue;
      const last = fireRecords.get(s.id)?.slot;
      if (last !== undefined && last >= slot) continue;
      log.info({ schedule_id: s.id, slot: toRfc3339(slot) }, 'catching up a missed calendar fire');
      track(limited(() => fireCalendar(reg, slot, true)));
    }
  }

  void Promise.all([catalog.ready, freezeMirror.ready]).then(() => {
    if (stopped) return;
    lease = startLease({
      nc,
      log,
      ...(deps.leaseTtlMs ? { ttlMs: deps.leaseTtlMs } : {}),
      onAcquire: () =>
        track(
          onAcquire().catch((err) =>
            log.error(
              { err: (err as Error).message },
              'scheduler: catching up after acquiring the lease failed',
            ),
          ),
        ),
    });
  });

  return {
    async stop() {
      stopped = true;
      for (const t of timers.values()) t.cron.stop();
      await Promise.race([
        Promise.allSettled([...inFlight]),
        new Promise((r) => setTimeout(r, STOP_WAIT_MS).unref()),
      ]);
      await lease?.stop();
      await Promise.all([catalog.stop(), freezeMirror.stop()]);
    },
  };
}
