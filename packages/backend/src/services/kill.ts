// Kill: a job's pending and running executions get `kill.{exec_id}` (core
// publish, empty body; agents subscribe per running exec and kill the whole
// process tree). With nothing running it is a no-op, as upstream (204 either
// way). The flush puts the kills on the wire before the operator is told.
import { subject } from '@kanade/wire';
import type { NatsConnection } from '@nats-io/transport-node';
import { ApiError } from '../http/errors.js';
import type { Store } from '../store/index.js';
import type { AuditService, Caller } from './audit.js';

export function createKillService(deps: { store: Store; nc: NatsConnection; audit: AuditService }) {
  return {
    /** Publish kill.{exec_id} for every live execution of the job; returns the exec ids. */
    async killJob(jobId: string, caller: Caller): Promise<string[]> {
      const execIds = deps.store.executions.liveExecIds(jobId);
      try {
        for (const id of execIds) deps.nc.publish(subject.kill(id));
        await deps.nc.flush();
      } catch (err) {
        throw new ApiError('KANADE_ERR_BROKER', `publishing kill failed: ${(err as Error).message}`);
      }
      await deps.audit.record({
        actor: 'operator',
        action: 'kill',
        target: jobId,
        payload: { exec_ids: execIds },
        caller,
      });
      return execIds;
    },
  };
}
export type KillService = ReturnType<typeof createKillService>;
