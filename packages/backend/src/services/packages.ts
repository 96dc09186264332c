// App packages (`app_packages`, installers of any size) and script objects
// (`scripts`, bodies of at most 4 MiB that manifests name in
// `execute.script_object`): the same `name/version` shape over two stores.
// A version is immutable once stored (a second upload is a 409), so a
// script object's digest, which exec puts into every Command, cannot change
// under a job; replace one by deleting it first. Lists come from the
// object_store_meta index, never from a scan of the store.

import type { Readable } from 'node:stream';
import { isObjectSegment, OBJ, packageKey } from '@kanade/wire';
import type { ObjectInfo } from '@nats-io/obj';
import { badRequest, notFound } from '../http/errors.js';
import type { ObjectRow } from '../store/objects.js';
import type { AuditService, Caller } from './audit.js';
import type { ByteRange, ObjectAccess } from './objects.js';

export const APP_PACKAGE_MAX_BYTES = 8 * 1024 * 1024 * 1024;
export const SCRIPT_OBJECT_MAX_BYTES = 4 * 1024 * 1024;

export interface PackageView {
  name: string;
  version: string;
  key: string;
  size: number;
  digest: string | null;
  modified: number;
  description: string | null;
}

export interface UploadBody {
  body: AsyncIterable<Uint8Array>;
  length?: number | undefined;
  sha256?: string | undefined;
  description?: string | undefined;
}

function viewOf(r: ObjectRow): PackageView {
  const slash = r.key.indexOf('/');
  return {
    name: slash > 0 ? r.key.slice(0, slash) : r.key,
    version: slash > 0 ? r.key.slice(slash + 1) : '',
    key: r.key,
    size: r.size,
    digest: r.digest,
    modified: r.modified,
    description: r.description,
  };
}

function checkSegments(name: string, version: string) {
  for (const [what, v] of [
    ['name', name],
    ['version', version],
  ] as const) {
    if (!isObjectSegment(v))
      throw badRequest(
        `path parameter ${what}: letters, digits, . _ + = - only (at most 128, no slash), got ${JSON.stringify(v)}`,
      );
  }
}

function createPackageService(deps: {
  objects: ObjectAccess;
  audit: AuditService;
  bucket: string;
  what: string;
  action: string;
  maxBytes: number;
}) {
  const { objects, audit, bucket, what } = deps;

  return {
    maxBytes: deps.maxBytes,

    list(q: { name?: string | undefined; limit: number; offset: number }) {
      const r = objects.list(bucket, {
        prefix: q.name ? `${q.name}/` : undefined,
        order: 'key',
        limit: q.limit,
        offset: q.offset,
      });
      return { rows: r.rows.map(viewOf), total: r.total };
    },

    async upload(name: string, version: string, b: UploadBody, caller: Caller): Promise<PackageView> {
      checkSegments(name, version);
      const row = await objects.put(bucket, packageKey(name, version), {
        body: b.body,
        length: b.length,
        expectedSha256: b.sha256,
        maxBytes: deps.maxBytes,
        what,
        description: b.description,
      });
      await audit.record({
        actor: 'operator',
        action: `${deps.action}_upload`,
        target: row.key,
        payload: { size: row.size, digest: row.digest },
        caller,
      });
      return viewOf(row);
    },

    /** The live object, or a 404. */
    async open(name: string, version: string): Promise<ObjectInfo> {
      checkSegments(name, version);
      const key = packageKey(name, version);
      const info = await objects.info(bucket, key);
      if (!info) throw notFound(`${what} ${key} does not exist`);
      return info;
    },

    read: (info: ObjectInfo, range?: ByteRange): Readable => objects.read(bucket, info, range),

    async remove(name: string, version: string, caller: Caller): Promise<void> {
      checkSegments(name, version);
      const key = packageKey(name, version);
      if (!(await objects.remove(bucket, key))) throw notFound(`${what} ${key} does not exist`);
      await audit.record({ actor: 'operator', action: `${deps.action}_delete`, target: key, caller });
    },
  };
}
export type PackageService = ReturnType<typeof createPackageService>;

export function createAppPackageService(deps: { objects: ObjectAccess; audit: AuditService }) {
  return createPackageService({
    ...deps,
    bucket: OBJ.APP_PACKAGES,
    what: 'app package',
    action: 'app_package',
    maxBytes: APP_PACKAGE_MAX_BYTES,
  });
}

export function createScriptObjectService(deps: { objects: ObjectAccess; audit: AuditService }) {
  return createPackageService({
    ...deps,
    bucket: OBJ.SCRIPTS,
    what: 'script object',
    action: 'script_object',
    maxBytes: SCRIPT_OBJECT_MAX_BYTES,
  });
}
