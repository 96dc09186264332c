// Exec: fan a catalog job out to its target (upstream `exec_manifest`), for
// operators (POST /api/exec) and the scheduler alike.
//
// Order matters and differs from upstream in one place:
// 1. resolve the target (target_count = PCs expected to answer, floor 1) and
//    the script source; a controller-tier job is confined to the configured
//    controller_group (422 when it is unset or has no alive member);
// 2. pin script_current[id] = version before any publish (upstream #258);
// 3. insert the executions row and the rollout's waves in one transaction
//    BEFORE publishing (upstream inserts after), so a result from a fast
//    agent always finds its execution; a publish failure before anything
//    went out removes them again, one after part of the fan-out went out
//    leaves the rest to the wave dispatcher (the execution stands);
// 4. publish one Command, shared request_id, to every subject (JetStream
//    publish: the ack says the EXEC stream holds it for agents that are
//    offline); delayed waves are left to the wave dispatcher;
// 5. audit `exec`.
import { randomUUID } from 'node:crypto';
import {
  type Command,
  durationSecs,
  type FanoutPlan,
  KV,
  OBJ,
  parseDuration,
  parseRfc3339,
  subject,
  type Target,
  toRfc3339,
} from '@kanade/wire';
import { jetstream } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { ApiError, notFound } from '../http/errors.js';
import type { Store } from '../store/index.js';
import type { WaveRow } from '../store/waves.js';
import type { AuditService, Caller } from './audit.js';
import type { JobService, StoredManifest } from './jobs.js';
import type { KvAccess } from './kv.js';
import type { ServerSettingsService } from './server-settings.js';
import type { TargetResolver } from './targets.js';
import type { WaveDispatcher } from './waves.js';

export interface ExecResponse {
  exec_id: string;
  job_id: string;
  version: string;
  target_count: number;
  subjects: string[];
}

export interface ExecDeps {
  store: Store;
  nc: NatsConnection;
  log: Logger;
  audit: AuditService;
  jobs: JobService;
  kv: KvAccess;
  targets: TargetResolver;
  settings: ServerSettingsService;
  waves: WaveDispatcher;
  now: () => number;
}

/** How long a command publish is retried while the broker fails over (see publish()). */
const PUBLISH_RETRY_MS = 15_000;

/** The object store reports `SHA-256=<base64url>`; Commands carry lowercase hex (upstream). */
function digestHex(digest: string): string {
  const b64 = digest.replace(/^SHA-256=/i, '');
  return Buffer.from(b64.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('hex');
}

export function createExecService(deps: ExecDeps) {
  const { store, nc, log } = deps;
  const js = jetstream(nc);
  const encoder = new TextEncoder();

  async function scriptSource(
    m: StoredManifest,
  ): Promise<Pick<Command, 'script' | 'script_object' | 'script_object_sha256'>> {
    if (m.execute.script) return { script: m.execute.script };
    const key = m.execute.script_object;
    if (!key)
      throw new ApiError(
        'KANADE_ERR_UNPROCESSABLE',
        `job ${m.id} has neither execute.script nor execute.script_object`,
      );
    let info: Awaited<ReturnType<Awaited<ReturnType<Objm['open']>>['info']>>;
    try {
      info = await (await new Objm(nc).open(OBJ.SCRIPTS)).info(key);
    } catch (err) {
      throw new ApiError(
        'KANADE_ERR_UNAVAILABLE',
        `object store ${OBJ.SCRIPTS} is not available: ${(err as Error).message}`,
      );
    }
    if (!info || info.deleted)
      throw notFound(`script_object ${key} is not in the ${OBJ.SCRIPTS} object store`);
    return { script: '', script_object: key, script_object_sha256: digestHex(info.digest) };
  }

  /** A controller-tier job runs only on alive members of the configured controller_group. */
  async function confineToControllers(m: StoredManifest, plan: FanoutPlan): Promise<FanoutPlan> {
    if (m.tier !== 'controller' && !m.feed?.length) return plan;
    if (plan.rollout) {
      throw new ApiError('KANADE_ERR_UNPROCESSABLE', 'a tier: controller job cannot use rollout waves');
    }
    const group = (await deps.settings.get()).controller_group;
    if (!group) {
      throw new ApiError(
        'KANADE_ERR_UNPROCESSABLE',
        'tier: controller but no controller_group is configured in the server settings; refusing to dispatch',
      );
    }
    const members = (await deps.targets.groupMembers([group])).get(group) ?? new Set<string>();
    const requested = plan.target.all ? members : await deps.targets.expected(plan.target);
    const pcs = [...requested].filter((pc) => members.has(pc)).sort();
    if (pcs.length === 0) {
      throw new ApiError(
        'KANADE_ERR_UNPROCESSABLE',
        `no alive member of controller_group ${group} matches this target`,
      );
    }
    return { ...plan, target: { all: false, groups: [], pcs } };
  }

  function command(
    m: StoredManifest,
    plan: FanoutPlan,
    ids: { exec_id: string; request_id: string },
    src: Pick<Command, 'script' | 'script_object' | 'script_object_sha256'>,
    retry: Command['retry'],
  ): Command {
    const cmd: Command = {
      id: m.id,
      version: m.version,
      request_id: ids.request_id,
      exec_id: ids.exec_id,
      shell: m.execute.shell,
      ...src,
      timeout_secs: durationSecs(m.execute.timeout),
      run_as: m.execute.run_as,
      staleness: m.staleness,
    };
    if (plan.jitter) cmd.jitter_secs = durationSecs(plan.jitter);
    if (retry) cmd.retry = retry;
    if (m.execute.cwd) cmd.cwd = m.execute.cwd;
    if (plan.deadline_at) cmd.deadline_at = toRfc3339(parseRfc3339(plan.deadline_at));
    if (m.emit) cmd.emit = m.emit;
    if (m.check) cmd.check = m.check;
    if (m.collect) cmd.collect = m.collect;
    if (m.finalize) {
      const f = m.finalize;
      cmd.finalize = {
        shell: f.shell,
        script: f.script,
        timeout_secs: durationSecs(f.timeout),
        run_as: f.run_as,
        ...(f.cwd ? { cwd: f.cwd } : {}),
        on_each_bundle: f.on_each_bundle,
      };
    }
    if (m.execute.bypass_local_limit) cmd.bypass_local_limit = true;
    return cmd;
  }

  // script_current[id] = version before any Command is published (agents skip a stale version with exit
  // 124). Execs of the same job and version in flight at once share one write: the value is the same, and a
  // burst of schedule fires would otherwise serialise hundreds of writes of one key on the broker.
  const pinning = new Map<string, Promise<void>>();
  function pinCurrent(id: string, version: string): Promise<void> {
    const key = `${id}\u0000${version}`;
    let p = pinning.get(key);
    if (!p) {
      p = deps.kv
        .bucket(KV.SCRIPT_CURRENT)
        .then((kv) => kv.put(id, encoder.encode(version)))
        .then(() => undefined)
        .finally(() => pinning.delete(key));
      pinning.set(key, p);
    }
    return p;
  }

  /**
   * JetStream publish, retried for up to PUBLISH_RETRY_MS: while a clustered broker fails over (a node
   * down, the EXEC stream electing a new leader) publishes time out for a few seconds, and giving up half
   * way through a fan-out would leave commands out for an execution that is then removed. The msgID
   * makes a retry whose first ack was lost a duplicate the stream drops; agents ignore a request_id
   * they have already handled.
   */
  async function publish(subj: string, payload: Uint8Array, msgID: string): Promise<void> {
    const deadline = Date.now() + PUBLISH_RETRY_MS;
    for (let attempt = 1; ; attempt++) {
      try {
        await js.publish(subj, payload, { msgID });
        return;
      } catch (err) {
        if (Date.now() >= deadline)
          throw new ApiError('KANADE_ERR_BROKER', `publish to ${subj} failed: ${(err as Error).message}`);
        log.warn({ subject: subj, attempt, err: (err as Error).message }, 'command publish failed; retrying');
        await new Promise((r) => setTimeout(r, Math.min(250 * attempt, 2000)));
      }
    }
  }

  return {
    /** `retry` is a schedule's on_failure.retry, forwarded to agents in the Command (upstream's exec_manifest). */
    async exec(
      jobId: string,
      requested: FanoutPlan,
      actor: string,
      caller?: Caller,
      retry?: Command['retry'],
    ): Promise<ExecResponse> {
      const m = await deps.jobs.get(jobId);
      if (!m) throw notFound(`job ${jobId} is not in the catalog; create it first (POST /api/jobs)`);
      const plan = await confineToControllers(m, requested);
      const src = await scriptSource(m);
      const ids = { exec_id: randomUUID(), request_id: randomUUID() };
      const commandJson = JSON.stringify(command(m, plan, ids, src, retry));
      const payload = encoder.encode(commandJson);
      const initiatedAt = deps.now();

      // Who is expected to answer, and (for a rollout) which wave each PC first belongs to.
      const waves: WaveRow[] = [];
      let expected: Set<string>;
      if (plan.rollout) {
        const members = await deps.targets.groupMembers(plan.rollout.waves.map((w) => w.group));
        expected = new Set();
        plan.rollout.waves.forEach((w, idx) => {
          const before = expected.size;
          for (const pc of members.get(w.group) ?? []) expected.add(pc);
          const delayMs = parseDuration(w.delay) ?? 0;
          waves.push({
            exec_id: ids.exec_id,
            idx,
            group_name: w.group,
            subject: subject.commandsGroup(w.group),
            delay_ms: delayMs,
            due_at: initiatedAt + delayMs,
            target_count: expected.size - before,
            status: delayMs === 0 ? 'published' : 'scheduled',
            published_at: delayMs === 0 ? initiatedAt : null,
            command: commandJson,
          });
        });
      } else {
        expected = await deps.targets.expected(plan.target);
      }
      const targetCount = Math.max(1, expected.size);
      const subjects = plan.rollout ? waves.map((w) => w.subject) : plainSubjects(plan.target);

      await pinCurrent(m.id, m.version);
      store.tx(() => {
        store.executions.insert({
          exec_id: ids.exec_id,
          job_id: m.id,
          version: m.version,
          initiated_by: actor,
          initiated_at: initiatedAt,
          target_count: targetCount,
          request_id: ids.request_id,
          abort_on_failure_pct: plan.rollout?.abort_on_failure_pct ?? null,
        });
        store.waves.insert(waves);
      });
      const now = plan.rollout
        ? waves.filter((w) => w.status === 'published').map((w) => w.subject)
        : subjects;
      let sent = 0;
      try {
        for (const subj of now) {
          await publish(subj, payload, `${ids.request_id}:${subj}`);
          sent++;
        }
      } catch (err) {
        if (sent === 0) {
          // Nothing went out: as if the exec had not been asked for.
          store.tx(() => {
            store.waves.removeForExecution(ids.exec_id);
            store.executions.remove(ids.exec_id);
          });
          throw err;
        }
        // Part of the fan-out is out and those agents will answer, so the execution stays (removing it
        // would orphan their results, and a client retrying the 503 would run the job twice). The rest
        // goes to the wave dispatcher, which publishes it once the broker takes it.
        const rest = now.slice(sent);
        const dueAt = deps.now();
        store.tx(() => {
          if (plan.rollout) store.waves.reschedule(ids.exec_id, rest, dueAt);
          else
            store.waves.insert(
              rest.map((subj, idx) => ({
                exec_id: ids.exec_id,
                idx,
                group_name: '',
                subject: subj,
                delay_ms: 0,
                due_at: dueAt,
                // Only rollouts read a wave's share (abort on failure); the execution's target_count stands.
                target_count: 0,
                status: 'scheduled' as const,
                published_at: null,
                command: commandJson,
              })),
            );
        });
        deps.waves.poke();
        log.warn(
          { exec_id: ids.exec_id, sent, unsent: rest, err: (err as Error).message },
          'part of the fan-out could not be published; the wave dispatcher will retry the rest',
        );
      }
      if (waves.some((w) => w.status === 'scheduled')) deps.waves.poke();
      log.info(
        {
          exec_id: ids.exec_id,
          job_id: m.id,
          version: m.version,
          actor,
          target_count: targetCount,
          subjects,
        },
        'execution published',
      );
      await deps.audit.record({
        actor,
        action: 'exec',
        target: m.id,
        payload: {
          exec_id: ids.exec_id,
          version: m.version,
          target_count: targetCount,
          subjects,
          wave_mode: Boolean(plan.rollout),
        },
        ...(caller ? { caller } : {}),
      });
      return { exec_id: ids.exec_id, job_id: m.id, version: m.version, target_count: targetCount, subjects };
    },
  };
}
export type ExecService = ReturnType<typeof createExecService>;

function plainSubjects(t: Target): string[] {
  return [
    ...(t.all ? [subject.commandsAll()] : []),
    ...t.groups.map((g) => subject.commandsGroup(g)),
    ...t.pcs.map((pc) => subject.commandsPc(pc)),
  ];
}
