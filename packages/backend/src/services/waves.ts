// The wave dispatcher: publishes the delayed waves of rollouts when they fall
// due. Waves live in `exec_waves` with their due time, so a restart loses
// nothing: on start the dispatcher publishes every overdue wave (in due
// order) and sleeps until the next one. Publishing is at least once: the
// wave is marked published after the EXEC stream acked it, so a crash in
// between publishes it again, and agents drop the repeat by request_id.
//
// Abort on failure (an extension over upstream): when the execution carries
// rollout.abort_on_failure_pct, a wave about to fire first looks at the
// finished results so far (all from earlier waves); if more than that share
// failed, it and every later wave are marked aborted, the execution records
// when and why, and its target_count shrinks to the PCs of the waves that
// did go out, so it can still complete.
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Store } from '../store/index.js';
import type { WaveRow } from '../store/waves.js';
import type { AuditService } from './audit.js';

const IDLE_CHECK_MS = 60_000;
const RETRY_MS = 2000;
const BATCH = 100;

export interface WaveDispatcher {
  /** Publish what is due now and re-arm the timer (after new waves were inserted). */
  poke(): void;
  start(): void;
  stop(): Promise<void>;
}

export function createWaveDispatcher(deps: {
  store: Store;
  nc: NatsConnection;
  log: Logger;
  audit: AuditService;
  now: () => number;
}): WaveDispatcher {
  const { store, log } = deps;
  const js = jetstream(deps.nc);
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = true;

  function arm(delayMs?: number) {
    clearTimeout(timer);
    if (stopped) return;
    const next = store.waves.nextDueAt();
    const wait =
      delayMs ?? (next === null ? IDLE_CHECK_MS : Math.min(IDLE_CHECK_MS, Math.max(0, next - deps.now())));
    timer = setTimeout(run, wait);
  }

  function run() {
    if (running) {
      again = true;
      return;
    }
    running = dispatchDue().finally(() => {
      running = undefined;
    });
  }

  /** Publish everything due, then re-arm (a failure retries after RETRY_MS). */
  async function dispatchDue() {
    let failed = false;
    try {
      do {
        again = false;
        for (const w of store.waves.due(deps.now(), BATCH)) await fire(w);
      } while (again && !stopped);
    } catch (err) {
      failed = true;
      log.warn({ err: (err as Error).message, retry_in_ms: RETRY_MS }, 'wave dispatch failed; retrying');
    }
    arm(failed ? RETRY_MS : undefined);
  }

  async function fire(w: WaveRow) {
    const exec = store.executions.get(w.exec_id);
    const counters = store.executions.counters(w.exec_id);
    if (exec && counters && exec.abort_on_failure_pct !== null && !exec.aborted_at) {
      const finished = counters.success + counters.failure;
      const failedPct = finished > 0 ? (counters.failure / finished) * 100 : 0;
      if (finished > 0 && failedPct > exec.abort_on_failure_pct) {
        await abort(w, exec.job_id, counters.failure, finished, exec.abort_on_failure_pct);
        return;
      }
    }
    if (!exec || exec.aborted_at) {
      store.waves.abortRemaining(w.exec_id);
      return;
    }
    await js.publish(w.subject, w.command);
    store.waves.markPublished(w.exec_id, w.idx, deps.now());
    log.info({ exec_id: w.exec_id, wave: w.idx, subject: w.subject }, 'wave published');
  }

  async function abort(w: WaveRow, jobId: string, failed: number, finished: number, pct: number) {
    const at = deps.now();
    const reason = `wave ${w.idx} (group ${w.group_name}) and later not sent: ${failed} of ${finished} finished results failed (${Math.round((failed / finished) * 1000) / 10}% > ${pct}%)`;
    const stoppedWaves = store.tx(() => {
      const n = store.waves.abortRemaining(w.exec_id);
      store.executions.abort(w.exec_id, at, reason, Math.max(1, store.waves.publishedTargetCount(w.exec_id)));
      return n;
    });
    log.warn({ exec_id: w.exec_id, job_id: jobId, waves: stoppedWaves, reason }, 'rollout aborted');
    try {
      await deps.audit.record({
        actor: 'backend',
        action: 'exec_abort',
        target: jobId,
        payload: { exec_id: w.exec_id, wave: w.idx, waves_stopped: stoppedWaves, failed, finished, pct },
      });
    } catch {
      // audit.record logged it; the abort itself is already recorded on the execution
    }
  }

  return {
    poke: () => arm(0),
    start() {
      stopped = false;
      arm(0);
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
