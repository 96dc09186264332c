// Revocation (upstream Layer 2): `script_status[id]` is ACTIVE or REVOKED,
// and agents skip a revoked job's Commands with exit 126, including Commands
// already waiting in the EXEC stream. Values are raw UTF-8, as upstream.
import { KV } from '@kanade/wire';
import type { AuditService, Caller } from './audit.js';
import { SCRIPT_STATUS_ACTIVE, SCRIPT_STATUS_REVOKED } from './jobs.js';
import { type KvAccess, readEntries } from './kv.js';

export function createScriptService(deps: { kv: KvAccess; audit: AuditService }) {
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();

  async function set(id: string, status: string, caller: Caller) {
    await (await deps.kv.bucket(KV.SCRIPT_STATUS)).put(id, encoder.encode(status));
    await deps.audit.record({
      actor: 'operator',
      action: status === SCRIPT_STATUS_REVOKED ? 'revoke' : 'unrevoke',
      target: id,
      caller,
    });
  }

  return {
    /** `{cmd_id: "ACTIVE" | "REVOKED"}` for every id with a status. */
    async status(): Promise<Record<string, string>> {
      const out: Record<string, string> = {};
      for (const [id, value] of await readEntries(await deps.kv.bucket(KV.SCRIPT_STATUS))) {
        out[id] = decoder.decode(value).trim();
      }
      return out;
    },
    revoke: (id: string, caller: Caller) => set(id, SCRIPT_STATUS_REVOKED, caller),
    unrevoke: (id: string, caller: Caller) => set(id, SCRIPT_STATUS_ACTIVE, caller),
  };
}
export type ScriptService = ReturnType<typeof createScriptService>;
