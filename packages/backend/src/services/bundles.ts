// Collected bundles: zips that agents running a job with a `collect:` hint
// upload to the `collections` store under
// `<pc_id>/<job_id>/[<label>__]<rfc3339>.zip`. The backend never writes
// them; it lists them from the object_store_meta index (the projector sees
// every agent upload), streams them out and deletes them. The bundle's name
// and description come from the job manifest's collect hint, looked up once
// per job per list call; a job that no longer exists leaves them null.
import type { Readable } from 'node:stream';
import { OBJ, parseBundleKey } from '@kanade/wire';
import type { ObjectInfo } from '@nats-io/obj';
import { notFound } from '../http/errors.js';
import type { AuditService, Caller } from './audit.js';
import type { JobService } from './jobs.js';
import type { ByteRange, ObjectAccess } from './objects.js';

export interface BundleView {
  key: string;
  pc_id: string | null;
  job_id: string | null;
  collected_at: string | null;
  label: string | null;
  size: number;
  digest: string | null;
  modified: number;
  name: string | null;
  description: string | null;
}

export function createBundleService(deps: { objects: ObjectAccess; audit: AuditService; jobs: JobService }) {
  const { objects, audit } = deps;
  const bucket = OBJ.COLLECTIONS;

  async function collectHint(jobId: string): Promise<{ name: string; description: string | null } | null> {
    try {
      const m = await deps.jobs.get(jobId);
      return m?.collect ? { name: m.collect.name, description: m.collect.description ?? null } : null;
    } catch {
      return null;
    }
  }

  return {
    async list(q: {
      pc_id?: string | undefined;
      job_id?: string | undefined;
      limit: number;
      offset: number;
    }) {
      const r = objects.list(bucket, {
        prefix: q.pc_id ? `${q.pc_id}/${q.job_id ? `${q.job_id}/` : ''}` : undefined,
        contains: !q.pc_id && q.job_id ? `/${q.job_id}/` : undefined,
        order: 'newest',
        limit: q.limit,
        offset: q.offset,
      });
      const hints = new Map<string, Promise<{ name: string; description: string | null } | null>>();
      const rows: BundleView[] = [];
      for (const row of r.rows) {
        const k = parseBundleKey(row.key);
        let hint: { name: string; description: string | null } | null = null;
        if (k) {
          let h = hints.get(k.jobId);
          if (!h) {
            h = collectHint(k.jobId);
            hints.set(k.jobId, h);
          }
          hint = await h;
        }
        rows.push({
          key: row.key,
          pc_id: k?.pcId ?? null,
          job_id: k?.jobId ?? null,
          collected_at: k?.collectedAt ?? null,
          label: k?.label ?? null,
          size: row.size,
          digest: row.digest,
          modified: row.modified,
          name: hint?.name ?? row.description,
          description: hint?.description ?? null,
        });
      }
      return { rows, total: r.total };
    },

    async open(key: string): Promise<ObjectInfo> {
      const info = await objects.info(bucket, key);
      if (!info) throw notFound(`collected bundle ${key} does not exist`);
      return info;
    },

    read: (info: ObjectInfo, range?: ByteRange): Readable => objects.read(bucket, info, range),

    async remove(key: string, caller: Caller): Promise<void> {
      if (!(await objects.remove(bucket, key))) throw notFound(`collected bundle ${key} does not exist`);
      await audit.record({ actor: 'operator', action: 'collect_bundle_delete', target: key, caller });
    },
  };
}
export type BundleService = ReturnType<typeof createBundleService>;
