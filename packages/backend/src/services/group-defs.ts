// Group definitions (`group_defs` KV, JSON; `group_defs_yaml`, the editor's
// source): a named group whose members are either listed (`members:`) or
// computed by a read-only SQL query returning a `pc_id` column (`query:`,
// re-run at most every `refresh`, default 5m). Both buckets are created on
// the first write, as upstream's lazy buckets. The group materializer turns
// the definitions into `agent_groups_derived`, which agents union with the
// operators' `agent_groups`; definitions never touch `agent_groups`.
//
// The id becomes a group name, so it is one NATS subject token and one KV key
// token (letters, digits, _ - =; no dots). A dynamic query is checked by the
// read-only sandbox's validator at the write boundary, so a write or a
// stacked statement is a 400 on POST, not a silent failure every minute.
import { isConfigKeyToken, KV, LAZY_KV_BUCKETS, parseDuration } from '@kanade/wire';
import { JetStreamApiError, jetstreamManager } from '@nats-io/jetstream';
import { type KV as Bucket, Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { stringify } from 'yaml';
import { z } from 'zod';
import { ApiError, badRequest, notFound } from '../http/errors.js';
import { ensureKvBucket } from '../nats/bootstrap.js';
import type { AuditService, Caller } from './audit.js';
import { jsonOf, readEntries } from './kv.js';
import { QUERY_MAX_LIMIT, QueryError, type QueryRunner, validateReadOnly } from './query.js';

export const DEFAULT_REFRESH = '5m';
const MIN_REFRESH_MS = 10_000;

const token = (what: string) =>
  z.string().min(1).max(128).refine(isConfigKeyToken, `${what} may hold letters, digits, _, - and = only`);

const base = {
  id: token('id'),
  description: z.string().max(1024).nullish(),
  members: z.array(token('a member pc_id')).max(100_000).nullish(),
  query: z.string().min(1).max(16_384).nullish(),
  refresh: z
    .string()
    .max(64)
    .refine(
      (s) => (parseDuration(s) ?? 0) >= MIN_REFRESH_MS,
      'expected a duration of at least 10s such as 5m',
    )
    .nullish(),
  tags: z.array(z.string().max(128)).max(64).nullish(),
};

/** Writer schema: unknown keys refused, exactly one of members / query, the query read-only. */
export const GroupDefWrite = z.strictObject(base).superRefine((g, ctx) => {
  const hasMembers = g.members !== undefined && g.members !== null;
  const hasQuery = g.query !== undefined && g.query !== null;
  if (hasMembers === hasQuery) {
    ctx.addIssue({
      code: 'custom',
      path: ['members'],
      message: 'give exactly one of members (static) or query (dynamic)',
    });
  }
  if (hasQuery) {
    const why = validateReadOnly(g.query!);
    if (why) ctx.addIssue({ code: 'custom', path: ['query'], message: `not a read-only query: ${why}` });
  }
});
export type GroupDef = z.infer<typeof GroupDefWrite>;

/** Reader schema for stored definitions (unknown keys dropped). */
const GroupDefRecord = z.object(base);

export function kindOf(g: GroupDef): 'static' | 'dynamic' {
  return g.query ? 'dynamic' : 'static';
}

export function refreshMs(g: GroupDef): number {
  return parseDuration(g.refresh ?? DEFAULT_REFRESH) ?? (parseDuration(DEFAULT_REFRESH) as number);
}

function isMissingBucket(err: unknown): boolean {
  return (
    (err instanceof JetStreamApiError && err.code === 10059) ||
    /stream not found|bucket not found/i.test(String((err as Error)?.message))
  );
}

const encoder = new TextEncoder();

export function createGroupDefService(deps: {
  nc: NatsConnection;
  audit: AuditService;
  query: QueryRunner;
  /** Called after a definition changes, so the materializer runs without waiting for its timer. */
  onChange?: () => void;
}) {
  const { nc, audit, query } = deps;
  const kvm = new Kvm(nc);
  const cache = new Map<string, { hash: string; at: number; result: string[] | Error }>();

  const present = new Set<string>();

  /** The bucket, or undefined when no definition was ever written (binding alone does not check). */
  async function open(name: string): Promise<Bucket | undefined> {
    if (!present.has(name)) {
      try {
        await (await jetstreamManager(nc)).streams.info(`KV_${name}`);
        present.add(name);
      } catch (err) {
        if (isMissingBucket(err)) return undefined;
        throw new ApiError(
          'KANADE_ERR_UNAVAILABLE',
          `KV bucket ${name} is not available: ${(err as Error).message}`,
        );
      }
    }
    return kvm.open(name);
  }

  async function create(name: string): Promise<Bucket> {
    const spec = LAZY_KV_BUCKETS.find((b) => b.name === name)!;
    const kv = await ensureKvBucket(nc, spec);
    present.add(name);
    return kv;
  }

  async function get(id: string): Promise<GroupDef | undefined> {
    const kv = await open(KV.GROUP_DEFS);
    const e = await kv?.get(id);
    if (e?.operation !== 'PUT') return undefined;
    const r = GroupDefRecord.safeParse(jsonOf(e.value));
    return r.success ? (r.data as GroupDef) : undefined;
  }

  async function runQuery(g: GroupDef): Promise<string[]> {
    try {
      const res = await query.run(g.query!, QUERY_MAX_LIMIT);
      const idx = res.columns.findIndex((c) => c.toLowerCase() === 'pc_id');
      if (idx < 0)
        throw new Error(`the query must return a pc_id column (it returned: ${res.columns.join(', ')})`);
      const out: string[] = [];
      for (const row of res.rows) {
        const v = row[idx];
        if (v === null || v === undefined) continue;
        out.push(String(v));
      }
      return out;
    } catch (err) {
      throw err instanceof QueryError ? new Error(err.message) : err;
    }
  }

  return {
    /** Every stored definition, sorted by id (a missing bucket is an empty list). */
    async list(): Promise<GroupDef[]> {
      const kv = await open(KV.GROUP_DEFS);
      if (!kv) return [];
      const out: GroupDef[] = [];
      for (const value of (await readEntries(kv)).values()) {
        const r = GroupDefRecord.safeParse(jsonOf(value));
        if (r.success) out.push(r.data as GroupDef);
      }
      return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    },

    get,

    async upsert(g: GroupDef, yamlSource: string | undefined, caller: Caller) {
      const kv = (await open(KV.GROUP_DEFS)) ?? (await create(KV.GROUP_DEFS));
      await kv.put(g.id, encoder.encode(JSON.stringify(g)));
      const ykv = (await open(KV.GROUP_DEFS_YAML)) ?? (await create(KV.GROUP_DEFS_YAML));
      await ykv.put(g.id, encoder.encode(yamlSource ?? stringify(g)));
      cache.delete(g.id);
      await audit.record({
        actor: 'operator',
        action: 'group_def_upsert',
        target: g.id,
        payload: { kind: kindOf(g) },
        caller,
      });
      deps.onChange?.();
      return {
        id: g.id,
        description: g.description ?? null,
        kind: kindOf(g),
        member_count: g.members ? g.members.length : null,
        tags: g.tags ?? [],
      };
    },

    async yaml(id: string): Promise<string> {
      const e = await (await open(KV.GROUP_DEFS_YAML))?.get(id);
      if (e?.operation === 'PUT' && e.value.length > 0) return new TextDecoder().decode(e.value);
      const g = await get(id);
      if (!g) throw notFound(`no group definition ${id}`);
      return stringify(g);
    },

    async remove(id: string, caller: Caller): Promise<void> {
      const kv = await open(KV.GROUP_DEFS);
      if (!kv || (await kv.get(id))?.operation !== 'PUT') throw notFound(`no group definition ${id}`);
      await kv.delete(id);
      await (await open(KV.GROUP_DEFS_YAML))?.delete(id);
      cache.delete(id);
      await audit.record({ actor: 'operator', action: 'group_def_delete', target: id, caller });
      deps.onChange?.();
    },

    /**
     * The members of a definition: the list of a static group; the query's pc_ids for a dynamic
     * one, cached for `refresh` (an edited definition recomputes at once). Errors are cached too,
     * so a broken query does not re-run on every materializer pass. Ids that cannot be group
     * members (not a KV key token) are dropped.
     */
    async resolve(g: GroupDef, now: number): Promise<string[]> {
      if (!g.query) return [...new Set(g.members ?? [])].sort();
      const hash = JSON.stringify([g.query, g.refresh ?? null]);
      const hit = cache.get(g.id);
      if (hit && hit.hash === hash && now - hit.at < refreshMs(g)) {
        if (hit.result instanceof Error) throw hit.result;
        return hit.result;
      }
      let result: string[] | Error;
      try {
        result = [...new Set((await runQuery(g)).filter(isConfigKeyToken))].sort();
      } catch (err) {
        result = err as Error;
      }
      cache.set(g.id, { hash, at: now, result });
      if (result instanceof Error) throw result;
      return result;
    },

    /** GET /api/group-defs/{id}/members: a query error is a 400 with the SQLite message. */
    async members(id: string, now: number) {
      const g = await get(id);
      if (!g) throw notFound(`no group definition ${id}`);
      try {
        const members = await this.resolve(g, now);
        return { id, kind: kindOf(g), count: members.length, members };
      } catch (err) {
        throw badRequest(`resolve group ${id}: ${(err as Error).message}`);
      }
    },
  };
}
export type GroupDefService = ReturnType<typeof createGroupDefService>;
