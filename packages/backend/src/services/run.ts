// Ad-hoc run on one PC and the active ping (upstream api/run.rs).
//
// Run: subscribe to `results.{request_id}` first (and flush, so the
// subscription exists before the agent can answer), then publish the Command
// to `commands.pc.{pc_id}` and wait up to timeout + 10 s for the agent's
// ExecResult, which also lands in RESULTS for the Activity pages. The
// Command uses upstream's ad-hoc identity (`adhoc-run` / `0.0.0`), which no
// revoke or version pin ever names.
//
// Ping: a request on `agents.{pc_id}.ping`, answered with a fresh heartbeat.
// No answer in time, or no agent subscribed, is a 408 as upstream.
import { randomUUID } from 'node:crypto';
import { type Command, ExecResult, Heartbeat, type RunAs, type Shell, subject } from '@kanade/wire';
import { jetstream } from '@nats-io/jetstream';
import { errors, type NatsConnection } from '@nats-io/transport-node';
import { ApiError } from '../http/errors.js';
import type { AuditService, Caller } from './audit.js';

export const RUN_WAIT_PADDING_SECS = 10;
export const ADHOC_ID = 'adhoc-run';
export const ADHOC_VERSION = '0.0.0';

export interface RunRequest {
  pc_id: string;
  shell: Shell;
  script: string;
  timeout_secs: number;
  exec_id?: string | undefined;
  jitter_secs?: number | undefined;
  run_as: RunAs;
}

export function createRunService(deps: { nc: NatsConnection; audit: AuditService }) {
  const { nc } = deps;
  const js = jetstream(nc);

  return {
    async run(req: RunRequest, caller: Caller): Promise<ExecResult> {
      const requestId = randomUUID();
      const cmd: Command = {
        id: ADHOC_ID,
        version: ADHOC_VERSION,
        request_id: requestId,
        shell: req.shell,
        script: req.script,
        timeout_secs: req.timeout_secs,
        run_as: req.run_as,
        staleness: { mode: 'cached' },
        ...(req.exec_id ? { exec_id: req.exec_id } : {}),
        ...(req.jitter_secs !== undefined ? { jitter_secs: req.jitter_secs } : {}),
      };
      const sub = nc.subscribe(subject.results(requestId), { max: 1 });
      try {
        await nc.flush();
        try {
          await js.publish(subject.commandsPc(req.pc_id), JSON.stringify(cmd));
        } catch (err) {
          throw new ApiError(
            'KANADE_ERR_BROKER',
            `publish to ${subject.commandsPc(req.pc_id)} failed: ${(err as Error).message}`,
          );
        }
        await deps.audit.record({
          actor: 'operator',
          action: 'run',
          target: req.pc_id,
          payload: {
            request_id: requestId,
            shell: req.shell,
            timeout_secs: req.timeout_secs,
            exec_id: req.exec_id ?? null,
          },
          caller,
        });
        const waitMs = (req.timeout_secs + RUN_WAIT_PADDING_SECS) * 1000;
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<undefined>((resolve) => {
          timer = setTimeout(() => resolve(undefined), waitMs);
        });
        const next = (async () => {
          for await (const m of sub) return m;
          return undefined;
        })();
        const msg = await Promise.race([next, timeout]);
        clearTimeout(timer);
        if (!msg) {
          throw new ApiError(
            'KANADE_ERR_REQUEST_TIMEOUT',
            `no result from ${req.pc_id} within ${waitMs / 1000}s (request_id ${requestId}); it may still arrive on the Activity page`,
          );
        }
        let body: unknown;
        try {
          body = msg.json();
        } catch {
          body = undefined;
        }
        const r = ExecResult.safeParse(body);
        if (!r.success)
          throw new ApiError('KANADE_ERR_BROKER', `the agent's result for ${requestId} is not an ExecResult`);
        return r.data;
      } finally {
        sub.unsubscribe();
      }
    },

    async ping(pcId: string, waitSecs: number): Promise<{ heartbeat: Heartbeat }> {
      let reply: Awaited<ReturnType<NatsConnection['request']>>;
      try {
        reply = await nc.request(subject.agentPing(pcId), new Uint8Array(0), { timeout: waitSecs * 1000 });
      } catch (err) {
        const silent =
          err instanceof errors.TimeoutError ||
          err instanceof errors.NoRespondersError ||
          (err instanceof errors.RequestError &&
            (err.isNoResponders() || err.cause instanceof errors.TimeoutError));
        if (!silent)
          throw new ApiError('KANADE_ERR_BROKER', `ping request failed: ${(err as Error).message}`);
        throw new ApiError('KANADE_ERR_REQUEST_TIMEOUT', `no ping reply from ${pcId} within ${waitSecs}s`);
      }
      let body: unknown;
      try {
        body = reply.json();
      } catch {
        body = undefined;
      }
      const hb = Heartbeat.safeParse(body);
      if (!hb.success)
        throw new ApiError('KANADE_ERR_BROKER', `the ping reply from ${pcId} is not a heartbeat`);
      return { heartbeat: hb.data };
    },
  };
}
export type RunService = ReturnType<typeof createRunService>;
