// Runs sweep() on an interval (5 minutes by default; KANADE_SWEEP_INTERVAL_MS
// shortens it for tests), first right at startup as upstream does. Sweeps
// never overlap, and a failing sweep is logged and retried on the next tick.
import type { Logger } from 'pino';
import type { Store } from '../store/index.js';
import { type SweepReport, sweep } from './sweep.js';

export const DEFAULT_SWEEP_INTERVAL_MS = 5 * 60 * 1000;

export interface Sweeper {
  /** Run one sweep now (waits for one in progress first). */
  runOnce(): Promise<SweepReport | undefined>;
  stop(): Promise<void>;
}

export function startSweeper(deps: {
  store: Store;
  log: Logger;
  intervalMs: number;
  now?: () => number;
}): Sweeper {
  const now = deps.now ?? Date.now;
  let current: Promise<SweepReport | undefined> | undefined;

  function tick(): Promise<SweepReport | undefined> {
    current ??= (async () => {
      const started = performance.now();
      try {
        // Most of the interval for retention; the next sweep continues where this one stopped.
        const report = await sweep(deps.store, now(), { budgetMs: deps.intervalMs * 0.8 });
        const busy = report.expired + report.reaped + report.settled + Object.keys(report.deleted).length > 0;
        deps.log[busy ? 'info' : 'debug'](
          { ...report, ms: Math.round(performance.now() - started) },
          'sweep finished',
        );
        return report;
      } catch (err) {
        deps.log.warn({ err: (err as Error).message }, 'sweep failed; retrying next interval');
        return undefined;
      } finally {
        current = undefined;
      }
    })();
    return current;
  }

  void tick();
  const timer = setInterval(() => void tick(), deps.intervalMs);
  return {
    async runOnce() {
      await current;
      return tick();
    },
    async stop() {
      clearInterval(timer);
      await current;
    },
  };
}
