// The compliance view over check_status: counts per check and the rows that
// need attention (ok rows only on request). Rows older than the server
// setting check_status_stale_days (default 30; 0 = never stale) are hidden,
// never deleted: a PC that stopped reporting drops out of the counts rather
// than showing a last-known status forever. Clearing a retired check deletes
// its rows and is audited.
import type { Store } from '../store/index.js';
import type { AuditService, Caller } from './audit.js';
import { SETTINGS_DEFAULTS, type ServerSettingsService } from './server-settings.js';

const DAY_MS = 24 * 60 * 60 * 1000;

export function createCheckService(deps: {
  store: Store;
  audit: AuditService;
  settings: ServerSettingsService;
  now: () => number;
}) {
  const { store, audit, settings, now } = deps;

  async function staleDays(): Promise<number> {
    try {
      return (await settings.get()).check_status_stale_days ?? SETTINGS_DEFAULTS.check_status_stale_days;
    } catch {
      return SETTINGS_DEFAULTS.check_status_stale_days;
    }
  }

  return {
    async list(q: { check?: string | undefined; include_ok: boolean; limit: number; offset: number }) {
      const days = await staleDays();
      const staleBefore = days > 0 ? now() - days * DAY_MS : 0;
      const { rows, total } = store.checks.list({
        ...(q.check !== undefined ? { check: q.check } : {}),
        includeOk: q.include_ok,
        staleBefore,
        limit: q.limit,
        offset: q.offset,
      });
      return { counts: store.checks.counts(staleBefore), rows, total, stale_days: days };
    },

    async clear(name: string, caller: Caller): Promise<{ check_name: string; deleted: number }> {
      const deleted = store.tx(() => store.checks.remove(name));
      await audit.record({
        actor: 'operator',
        action: 'check_clear',
        target: name,
        payload: { deleted },
        caller,
      });
      return { check_name: name, deleted };
    },
  };
}
export type CheckService = ReturnType<typeof createCheckService>;
