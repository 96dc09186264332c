// The job catalog: manifests in the `jobs` KV (JSON, what agents, the
// scheduler and the projectors read) and the operator's YAML source in
// `jobs_yaml` (what the editor shows, comments and all). Writes are
// validated by the strict Manifest schema; reads use the tolerant one, since
// the bucket may hold entries written by an upstream backend. Deleting a job
// first revokes it (script_status = REVOKED) so Commands already in the EXEC
// stream are skipped by agents, then removes both entries; a schedule that
// still references the job makes the delete a 409.
import { KV, Manifest, ManifestRecord, manifestJsonSchema } from '@kanade/wire';
import { parseDocument, stringify } from 'yaml';
import type { z } from 'zod';
import { ApiError, notFound } from '../http/errors.js';
import type { Store } from '../store/index.js';
import type { AuditService, Caller } from './audit.js';
import { jsonOf, type KvAccess, readEntries } from './kv.js';

export type StoredManifest = z.infer<typeof ManifestRecord>;
export const SCRIPT_STATUS_REVOKED = 'REVOKED';
export const SCRIPT_STATUS_ACTIVE = 'ACTIVE';

export interface JobSummary {
  id: string;
  version: string;
  description: string | null;
  inventory: boolean;
}

export function createJobService(deps: { store: Store; kv: KvAccess; audit: AuditService }) {
  const { store, kv, audit } = deps;
  const encoder = new TextEncoder();
  let schema: Record<string, unknown> | undefined;

  // Concurrent reads of one job share a single KV round trip: a scheduler minute where hundreds of
  // schedules run the same job would otherwise queue hundreds of identical gets on the broker.
  const reading = new Map<string, Promise<StoredManifest | undefined>>();
  function get(id: string): Promise<StoredManifest | undefined> {
    let p = reading.get(id);
    if (!p) {
      p = read(id).finally(() => reading.delete(id));
      reading.set(id, p);
    }
    return p;
  }

  async function read(id: string): Promise<StoredManifest | undefined> {
    const e = await (await kv.bucket(KV.JOBS)).get(id);
    if (e?.operation !== 'PUT') return undefined;
    const r = ManifestRecord.safeParse(jsonOf(e.value));
    if (!r.success) {
      throw new ApiError(
        'KANADE_ERR_UNPROCESSABLE',
        `job ${id} is stored but is not a valid manifest (${r.error.issues[0]?.path.join('.')}: ${r.error.issues[0]?.message}); upload it again`,
      );
    }
    return r.data;
  }

  return {
    get,

    /** Every stored manifest, sorted by id, with the pending/running execution counts. */
    async list() {
      const entries = await readEntries(await kv.bucket(KV.JOBS));
      const live = store.executions.liveCounts();
      const out: (StoredManifest & { live: { running: number; pending: number } })[] = [];
      for (const value of entries.values()) {
        const r = ManifestRecord.safeParse(jsonOf(value));
        if (r.success) out.push({ ...r.data, live: live.get(r.data.id) ?? { running: 0, pending: 0 } });
      }
      return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    },

    /** Store a validated manifest and its YAML source (the submitted YAML, or a dump of the manifest). */
    async upsert(manifest: Manifest, yamlSource: string | undefined, caller: Caller): Promise<JobSummary> {
      await (await kv.bucket(KV.JOBS)).put(manifest.id, encoder.encode(JSON.stringify(manifest)));
      await (await kv.bucket(KV.JOBS_YAML)).put(
        manifest.id,
        encoder.encode(yamlSource ?? stringify(manifest)),
      );
      await audit.record({
        actor: 'operator',
        action: 'job_upsert',
        target: manifest.id,
        payload: { version: manifest.version, inventory: Boolean(manifest.inventory) },
        caller,
      });
      return {
        id: manifest.id,
        version: manifest.version,
        description: manifest.description ?? null,
        inventory: Boolean(manifest.inventory),
      };
    },

    /** The YAML source of a job: the stored mirror, else a dump of the manifest. */
    async yaml(id: string): Promise<string> {
      const e = await (await kv.bucket(KV.JOBS_YAML)).get(id);
      if (e && e.operation === 'PUT' && e.value.length > 0) return new TextDecoder().decode(e.value);
      const m = await get(id);
      if (!m) throw notFound(`no job ${id}`);
      return stringify(m);
    },

    async remove(id: string, caller: Caller): Promise<void> {
      if (!(await get(id))) throw notFound(`no job ${id}`);
      for (const [key, value] of await readEntries(await kv.bucket(KV.SCHEDULES))) {
        const s = jsonOf(value) as { id?: unknown; job_id?: unknown } | undefined;
        if (s?.job_id === id) {
          throw new ApiError(
            'KANADE_ERR_CONFLICT',
            `job ${id} is referenced by schedule ${typeof s.id === 'string' ? s.id : key}; remove the schedule first`,
          );
        }
      }
      await (await kv.bucket(KV.SCRIPT_STATUS)).put(id, encoder.encode(SCRIPT_STATUS_REVOKED));
      await (await kv.bucket(KV.JOBS)).delete(id);
      await (await kv.bucket(KV.JOBS_YAML)).delete(id);
      await audit.record({
        actor: 'operator',
        action: 'job_delete',
        target: id,
        payload: { revoked: true },
        caller,
      });
    },

    /** JSON Schema of the manifest (generated once from the zod schema). */
    jsonSchema(): Record<string, unknown> {
      schema ??= manifestJsonSchema();
      return schema;
    },

    /** The value of a YAML body; a syntax error is a 400 naming its line and column. */
    parseYaml(text: string): unknown {
      const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
      const err = doc.errors[0];
      if (err) {
        const pos = err.linePos?.[0];
        const what = err.message.split(' at line ')[0];
        throw new ApiError(
          'KANADE_ERR_BAD_REQUEST',
          pos ? `YAML error at line ${pos.line}, column ${pos.col}: ${what}` : `YAML error: ${what}`,
        );
      }
      return doc.toJS({ maxAliasCount: 100 });
    },

    /** Validate an uploaded manifest; a failure is a 400 naming the first bad field. */
    parse(body: unknown): Manifest {
      const r = Manifest.safeParse(body);
      if (r.success) return r.data;
      const msg = r.error.issues
        .slice(0, 5)
        .map((i) => (i.path.length ? `body field ${i.path.join('.')}: ${i.message}` : `body: ${i.message}`))
        .join('; ');
      throw new ApiError('KANADE_ERR_BAD_REQUEST', msg);
    },
  };
}
export type JobService = ReturnType<typeof createJobService>;
