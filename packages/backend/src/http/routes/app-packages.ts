// App packages (Apps page): GET /api/app-packages (from the object_store_meta
// index, paged, total in X-Total-Count), GET /api/app-packages/{name}/{version}
// (streamed, ETag + Range), POST (raw body, streamed into the store, at most
// 8 GiB, optional X-Kanade-Sha256) and DELETE. routes/script-objects.ts
// mounts the same routes over the `scripts` store with its 4 MiB cap.
import { toRfc3339 } from '@kanade/wire';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services/index.js';
import type { PackageService, PackageView } from '../../services/packages.js';
import { callerOf } from '../auth.js';
import { intParam } from '../params.js';
import { operator, viewer } from '../policy.js';
import {
  acceptRawUploads,
  downloadResponses,
  guardUpload,
  sendObject,
  TRANSFER_ROUTE,
  UPLOAD_SCHEMA,
  uploadOf,
} from './object-transfer.js';
import { ErrorSchema, errorResponses } from './schemas.js';

const NameVersion = z.object({ name: z.string().min(1).max(128), version: z.string().min(1).max(128) });

const view = (p: PackageView) => ({ ...p, modified: toRfc3339(p.modified) });

/** The list/get/upload/delete routes of one `name/version` store under `base`. */
export function packageRoutes(opts: {
  base: string;
  what: string;
  schemaId: string;
  service: (s: Services) => PackageService;
}): FastifyPluginAsyncZod<{ services: Services }> {
  const Row = z
    .object({
      name: z.string(),
      version: z.string(),
      key: z.string(),
      size: z.number(),
      digest: z.string().nullable().describe('SHA-256, lowercase hex'),
      modified: z.string(),
      description: z.string().nullable(),
    })
    .meta({ id: opts.schemaId });

  return async (app, { services }) => {
    const svc = opts.service(services);
    acceptRawUploads(app);

    app.get(
      opts.base,
      {
        config: { policy: viewer('apps') },
        schema: {
          summary: `Every ${opts.what}, by name and version (total in X-Total-Count)`,
          querystring: z.object({
            name: z.string().min(1).max(128).optional().describe('only versions of this name'),
            limit: intParam(1, 10_000).default(1000),
            offset: intParam(0, 10_000_000).default(0),
          }),
          response: { 200: z.array(Row), ...errorResponses },
        },
      },
      async (req, reply) => {
        const r = svc.list(req.query);
        reply.header('x-total-count', r.total);
        return r.rows.map(view);
      },
    );

    app.get(
      `${opts.base}/:name/:version`,
      {
        ...TRANSFER_ROUTE,
        config: { policy: viewer('apps') },
        schema: {
          summary: `Download a ${opts.what} (streamed; ETag, If-None-Match, If-Match and Range supported)`,
          params: NameVersion,
          response: downloadResponses,
        },
      },
      async (req, reply) => {
        const info = await svc.open(req.params.name, req.params.version);
        return sendObject(req, reply, info, (range) => svc.read(info, range), {
          filename: `${req.params.name}-${req.params.version}`,
        });
      },
    );

    app.post(
      `${opts.base}/:name/:version`,
      {
        ...TRANSFER_ROUTE,
        config: { policy: operator('apps') },
        schema: {
          summary:
            `Upload a ${opts.what} as the raw body (application/octet-stream, at most ` +
            `${svc.maxBytes / 1024 / 1024} MiB); 409 when the version exists`,
          params: NameVersion,
          querystring: z.object({ description: z.string().max(1024).optional() }),
          ...UPLOAD_SCHEMA,
          response: { 201: Row, 409: ErrorSchema, 413: ErrorSchema, 422: ErrorSchema, ...errorResponses },
        },
      },
      async (req, reply) =>
        guardUpload(req, reply, async () => {
          const upload = uploadOf(req);
          const p = await svc.upload(
            req.params.name,
            req.params.version,
            { ...upload, description: req.query.description },
            callerOf(req),
          );
          reply.code(201);
          return view(p);
        }),
    );

    app.delete(
      `${opts.base}/:name/:version`,
      {
        config: { policy: operator('apps') },
        schema: {
          summary: `Delete a ${opts.what}`,
          params: NameVersion,
          response: { 204: z.null().describe('deleted'), 404: ErrorSchema, ...errorResponses },
        },
      },
      async (req, reply) => {
        await svc.remove(req.params.name, req.params.version, callerOf(req));
        reply.code(204);
        return null;
      },
    );
  };
}

export const appPackageRoutes = packageRoutes({
  base: '/api/app-packages',
  what: 'app package',
  schemaId: 'AppPackage',
  service: (s) => s.appPackages,
});
