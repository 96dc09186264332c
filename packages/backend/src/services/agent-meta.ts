// Operator-entered per-PC attributes (`agent_meta` bucket, pc_id ->
// {"entries":[{key,value}]}). The bucket is the source of truth: GET/PUT of
// one PC read and write it; the roster filters, the key list and the bulk
// read use the SQL copy the agent_meta projector keeps. Entries are
// normalised as upstream's AgentMeta::new: keys and values trimmed, empty
// keys dropped, a repeated key keeps its first position and its last value.
import { KV } from '@kanade/wire';
import { badRequest } from '../http/errors.js';
import { META_OPS, type MetaEntry, type MetaFilter, type MetaOp } from '../store/agent-meta.js';
import type { AgentSort } from '../store/agents.js';
import type { Store } from '../store/index.js';
import type { AuditService, Caller } from './audit.js';
import { jsonOf, type KvAccess } from './kv.js';

export const META_LIMITS = { entries: 200, key: 128, value: 4096 } as const;

export function normalizeMeta(entries: readonly { key: string; value: string }[]): MetaEntry[] {
  const order: string[] = [];
  const values = new Map<string, string>();
  for (const e of entries) {
    const key = e.key.trim();
    if (key === '') continue;
    if (!values.has(key)) order.push(key);
    values.set(key, e.value.trim());
  }
  return order.map((key) => ({ key, value: values.get(key)! }));
}

/** The entries of a stored value (anything malformed reads as none; bad rows are skipped). */
export function decodeMeta(value: Uint8Array | undefined): MetaEntry[] {
  if (!value || value.length === 0) return [];
  const v = jsonOf(value) as { entries?: unknown } | undefined;
  if (!Array.isArray(v?.entries)) return [];
  return normalizeMeta(
    v.entries.filter(
      (e): e is MetaEntry =>
        typeof e === 'object' && e !== null && typeof e.key === 'string' && typeof e.value === 'string',
    ),
  );
}

const encoder = new TextEncoder();

export function createAgentMetaService(deps: { store: Store; kv: KvAccess; audit: AuditService }) {
  const { store, kv, audit } = deps;
  const bucket = () => kv.bucket(KV.AGENT_META);

  return {
    async get(pcId: string): Promise<{ entries: MetaEntry[] }> {
      const e = await (await bucket()).get(pcId);
      return { entries: e?.operation === 'PUT' ? decodeMeta(e.value) : [] };
    },

    /** Replace the PC's whole set (normalised). */
    async put(
      pcId: string,
      entries: readonly MetaEntry[],
      caller: Caller,
    ): Promise<{ entries: MetaEntry[] }> {
      const next = normalizeMeta(entries);
      if (next.length > META_LIMITS.entries) {
        throw badRequest(`body field entries: at most ${META_LIMITS.entries} distinct keys`);
      }
      await (await bucket()).put(pcId, encoder.encode(JSON.stringify({ entries: next })));
      await audit.record({
        actor: 'operator',
        action: 'agent_meta_set',
        target: pcId,
        payload: { entries: next },
        caller,
      });
      return { entries: next };
    },

    /** Every key in use, sorted (from the SQL copy). */
    keys: (): string[] => store.agentMeta.keys(),

    /** The entries of each listed PC (from the SQL copy); PCs without meta get []. */
    bulk(pcIds: readonly string[]): Record<string, MetaEntry[]> {
      const found = store.agentMeta.forPcs(pcIds);
      return Object.fromEntries(pcIds.map((id) => [id, found.get(id) ?? []]));
    },
  };
}
export type AgentMetaService = ReturnType<typeof createAgentMetaService>;

/**
 * The agent_meta parts of a GET /api/agents query: `meta.<key>.<op>=<value>` filters (the key may
 * itself contain dots; the op is the last segment) and `sort=meta:<key>`. A bad op is a 400.
 */
export function rosterMetaQuery(query: Record<string, unknown>): {
  meta: MetaFilter[];
  sort: AgentSort;
  metaSort?: string;
} {
  const meta: MetaFilter[] = [];
  for (const [param, raw] of Object.entries(query)) {
    if (!param.startsWith('meta.')) continue;
    const dot = param.lastIndexOf('.');
    const key = param.slice('meta.'.length, dot);
    const op = param.slice(dot + 1);
    if (dot < 'meta.'.length || key === '' || !(META_OPS as readonly string[]).includes(op)) {
      throw badRequest(
        `query parameter ${JSON.stringify(param).slice(0, 80)}: expected meta.<key>.<op> with op one of ${META_OPS.join(', ')}`,
      );
    }
    for (const v of Array.isArray(raw) ? raw : [raw]) {
      if (typeof v !== 'string' || v.length > META_LIMITS.value) {
        throw badRequest(`query parameter ${param}: at most ${META_LIMITS.value} characters`);
      }
      meta.push({ key, op: op as MetaOp, value: v });
    }
  }
  const sort = typeof query.sort === 'string' ? query.sort : 'pc_id';
  if (sort.startsWith('meta:')) return { meta, sort: 'pc_id', metaSort: sort.slice('meta:'.length) };
  return { meta, sort: sort as AgentSort };
}
