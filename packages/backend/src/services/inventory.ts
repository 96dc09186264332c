// Inventory reads: facts per PC and per job, explode-table search, scalar
// search and the change history. Manifests (for display hints and explode
// specs) come from a `jobs` KV watch cache, so a search costs no broker round
// trip.
//
// Search filters use upstream's syntax: `col=v` or `col__op=v` with op one of
// eq, ne, lt, le, gt, ge, contains, prefix, suffix; repeated keys are ANDed.
// Every column must be one the spec declares (anything else, including SQL
// in a key, is a 400 naming it); values are always bound, LIKE patterns are
// escaped, and a comparison on an integer or real column needs a number.
import { KV, ManifestRecord, parseRfc3339, toRfc3339 } from '@kanade/wire';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { badRequest, notFound } from '../http/errors.js';
import { manifestCacheFor, type StoredManifest } from '../projectors/manifest-cache.js';
import {
  type ExplodeSpec,
  explodeSpecError,
  FILTER_OPS,
  type FilterOp,
  isIdentifier,
  type SearchFilter,
  type SqlType,
  sqlType,
} from '../store/explode.js';
import type { Store } from '../store/index.js';
import { jsonOf, type KvAccess, readEntries } from './kv.js';

export type QueryRecord = Record<string, string | string[] | undefined>;

export const SEARCH_DEFAULT_LIMIT = 1000;
export const SEARCH_MAX_LIMIT = 5000;
const HISTORY_DEFAULT_LIMIT = 500;
const HISTORY_MAX_LIMIT = 5000;
const MAX_VALUE = 1024;
const COMPARISONS: ReadonlySet<string> = new Set(['eq', 'ne', 'lt', 'le', 'gt', 'ge']);
const NUMBER_RE = /^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/;

function intOf(q: QueryRecord, name: string, def: number, min: number, max: number): number {
  const raw = q[name];
  if (raw === undefined) return def;
  if (Array.isArray(raw)) throw badRequest(`query parameter ${name}: given more than once`);
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw badRequest(`query parameter ${name}: must be an integer from ${min} to ${max}`);
  }
  return n;
}

function one(q: QueryRecord, name: string): string | undefined {
  const raw = q[name];
  if (Array.isArray(raw)) throw badRequest(`query parameter ${name}: given more than once`);
  return raw === '' ? undefined : raw;
}

/**
 * Parse `col__op=value` filters. `columns` maps each allowed column to its type (undefined =
 * untyped JSON scalar: a numeric value is passed as a number and compared by the store both ways).
 */
export function parseFilters(
  q: QueryRecord,
  columns: ReadonlyMap<string, SqlType | undefined>,
  reserved: ReadonlySet<string>,
): SearchFilter[] {
  const out: SearchFilter[] = [];
  for (const [key, raw] of Object.entries(q)) {
    if (reserved.has(key) || raw === undefined) continue;
    const split = key.lastIndexOf('__');
    const suffix = split > 0 ? key.slice(split + 2) : '';
    const [column, op] = (FILTER_OPS as readonly string[]).includes(suffix)
      ? [key.slice(0, split), suffix as FilterOp]
      : [key, 'eq' as FilterOp];
    if (!columns.has(column)) {
      if (split > 0 && !columns.has(key) && columns.has(key.slice(0, split))) {
        throw badRequest(
          `query parameter ${JSON.stringify(key).slice(0, 80)}: unknown filter operator; use one of ${FILTER_OPS.join(', ')}`,
        );
      }
      throw badRequest(`unknown column for filter: ${JSON.stringify(column).slice(0, 80)}`);
    }
    const type = columns.get(column);
    for (const v of Array.isArray(raw) ? raw : [raw]) {
      if (v.length > MAX_VALUE) throw badRequest(`query parameter ${key}: at most ${MAX_VALUE} characters`);
      if (COMPARISONS.has(op) && (type === 'INTEGER' || type === 'REAL')) {
        if (!NUMBER_RE.test(v))
          throw badRequest(`query parameter ${key}: column ${column} is numeric; expected a number`);
        out.push({ column, op, value: Number(v) });
      } else if (COMPARISONS.has(op) && type === undefined && NUMBER_RE.test(v)) {
        out.push({ column, op, value: Number(v) });
      } else {
        out.push({ column, op, value: v });
      }
    }
  }
  return out;
}

function identityFilters(q: QueryRecord): [string, string][] {
  const out: [string, string][] = [];
  for (const [key, raw] of Object.entries(q)) {
    if (!key.startsWith('identity.') || raw === undefined) continue;
    const field = key.slice('identity.'.length);
    if (!isIdentifier(field)) {
      throw badRequest(
        `query parameter ${JSON.stringify(key).slice(0, 80)}: identity keys are plain identifiers`,
      );
    }
    for (const v of Array.isArray(raw) ? raw : [raw]) out.push([field, v]);
  }
  return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

function timeOf(q: QueryRecord, name: string): number | undefined {
  const raw = one(q, name);
  if (raw === undefined) return undefined;
  const t = parseRfc3339(raw);
  if (Number.isNaN(t)) {
    throw badRequest(`query parameter ${name}: expected an RFC 3339 timestamp such as 2026-05-01T10:00:00Z`);
  }
  return t;
}

function kindOf(q: QueryRecord): 'added' | 'removed' | 'changed' | undefined {
  const k = one(q, 'kind');
  if (k === undefined) return undefined;
  if (k !== 'added' && k !== 'removed' && k !== 'changed') {
    throw badRequest('query parameter kind: must be one of added, removed, changed');
  }
  return k;
}

/** Top-level identifier fields a manifest's inventory hint names (the scalar-search columns). */
function scalarFields(m: StoredManifest): string[] {
  const inv = m.inventory;
  if (!inv) return [];
  const names = [
    ...inv.display.map((d) => d.field),
    ...(inv.summary ?? []).map((d) => d.field),
    ...(inv.history_scalars ?? []),
  ];
  return [...new Set(names.filter(isIdentifier))];
}

export function createInventoryService(deps: {
  store: Store;
  nc: NatsConnection;
  log: Logger;
  kv: KvAccess;
}) {
  const { store, kv } = deps;
  const manifests = manifestCacheFor(deps.nc, deps.log);

  async function inventoryManifest(
    id: string,
  ): Promise<StoredManifest & { inventory: NonNullable<StoredManifest['inventory']> }> {
    const m = await manifests.get(id);
    if (!m) throw notFound(`no job ${id}`);
    if (!m.inventory) throw notFound(`job ${id} has no inventory hint`);
    return m as StoredManifest & { inventory: NonNullable<StoredManifest['inventory']> };
  }

  async function specOf(id: string, field: string): Promise<ExplodeSpec> {
    const m = await inventoryManifest(id);
    const spec = m.inventory.explode?.find((s) => s.field === field);
    if (!spec) throw notFound(`job ${id} has no explode field ${JSON.stringify(field).slice(0, 80)}`);
    const err = explodeSpecError(spec);
    if (err) throw badRequest(`job ${id}: ${err}`);
    return spec;
  }

  return {
    /** Manifests with an inventory hint, sorted by id, with how many PCs reported facts. */
    async jobs() {
      const counts = store.inventory.pcCounts();
      const out = [];
      for (const value of (await readEntries(await kv.bucket(KV.JOBS))).values()) {
        const r = ManifestRecord.safeParse(jsonOf(value));
        if (!r.success || !r.data.inventory) continue;
        const inv = r.data.inventory;
        out.push({
          manifest_id: r.data.id,
          description: r.data.description ?? null,
          display: inv.display,
          summary: inv.summary ?? null,
          explode: inv.explode ?? null,
          history_scalars: inv.history_scalars ?? null,
          pc_count: counts.get(r.data.id) ?? 0,
        });
      }
      return out.sort((a, b) => (a.manifest_id < b.manifest_id ? -1 : a.manifest_id > b.manifest_id ? 1 : 0));
    },

    async byJob(id: string, q: { limit: number; offset: number; q?: string | undefined }) {
      const m = await manifests.get(id);
      const r = store.inventory.byJob(id, {
        limit: q.limit,
        offset: q.offset,
        ...(q.q ? { pcLike: q.q } : {}),
      });
      return {
        manifest_id: id,
        display: m?.inventory?.display ?? r.display ?? [],
        summary: m?.inventory ? (m.inventory.summary ?? null) : (r.summary ?? null),
        rows: r.rows,
        total: r.total,
      };
    },

    forPc: (pcId: string) => store.inventory.forPc(pcId),

    async search(id: string, field: string, q: QueryRecord) {
      const spec = await specOf(id, field);
      const columns = new Map(spec.columns.map((c) => [c.field, sqlType(c.type)] as const));
      const filters = parseFilters(q, columns, new Set(['limit', 'offset']));
      const limit = intOf(q, 'limit', SEARCH_DEFAULT_LIMIT, 1, SEARCH_MAX_LIMIT);
      const offset = intOf(q, 'offset', 0, 0, 10_000_000);
      return store.explode.search(spec, id, filters, limit, offset).map((r) => ({
        ...r,
        collected_at: typeof r.collected_at === 'number' ? toRfc3339(r.collected_at) : null,
      }));
    },

    async searchScalars(id: string, q: QueryRecord) {
      const m = await inventoryManifest(id);
      const fields = scalarFields(m);
      const filters = parseFilters(
        q,
        new Map(fields.map((f) => [f, undefined])),
        new Set(['limit', 'offset']),
      );
      const limit = intOf(q, 'limit', SEARCH_DEFAULT_LIMIT, 1, SEARCH_MAX_LIMIT);
      const offset = intOf(q, 'offset', 0, 0, 10_000_000);
      return store.inventory.searchScalars(id, fields, filters, limit, offset);
    },

    historyForPc(id: string, pcId: string, q: QueryRecord) {
      const field = one(q, 'field');
      const since = timeOf(q, 'since');
      return store.inventory.history(id, {
        pc_id: pcId,
        ...(field !== undefined ? { field } : {}),
        ...(since !== undefined ? { since } : {}),
        identity: [],
        limit: intOf(q, 'limit', HISTORY_DEFAULT_LIMIT, 1, HISTORY_MAX_LIMIT),
        offset: intOf(q, 'offset', 0, 0, 10_000_000),
      });
    },

    historySearch(id: string, q: QueryRecord) {
      const field = one(q, 'field');
      const kind = kindOf(q);
      const since = timeOf(q, 'since');
      const until = timeOf(q, 'until');
      return store.inventory.history(id, {
        ...(field !== undefined ? { field } : {}),
        ...(kind !== undefined ? { kind } : {}),
        ...(since !== undefined ? { since } : {}),
        ...(until !== undefined ? { until } : {}),
        identity: identityFilters(q),
        limit: intOf(q, 'limit', HISTORY_DEFAULT_LIMIT, 1, HISTORY_MAX_LIMIT),
        offset: intOf(q, 'offset', 0, 0, 10_000_000),
      });
    },

    firstSeen(id: string, q: QueryRecord) {
      const field = one(q, 'field');
      const since = timeOf(q, 'since');
      return store.inventory.firstSeen(id, {
        ...(field !== undefined ? { field } : {}),
        ...(since !== undefined ? { since } : {}),
        identity: identityFilters(q),
        limit: intOf(q, 'limit', HISTORY_MAX_LIMIT, 1, HISTORY_MAX_LIMIT),
        offset: intOf(q, 'offset', 0, 0, 10_000_000),
      });
    },
  };
}
export type InventoryService = ReturnType<typeof createInventoryService>;
