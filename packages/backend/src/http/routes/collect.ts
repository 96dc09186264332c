// Collected bundles (Collect page): GET /api/collect/bundles (newest first,
// filtered by pc_id / job_id, total in X-Total-Count), GET
// /api/collect/bundles/{key} (the zip, streamed with ETag and Range) and
// DELETE. The key is `<pc_id>/<job_id>/[<label>__]<rfc3339>.zip`, so it is
// a wildcard path parameter.
import { toRfc3339 } from '@kanade/wire';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services/index.js';
import { callerOf } from '../auth.js';
import { intParam } from '../params.js';
import { operator, viewer } from '../policy.js';
import { downloadResponses, sendObject, TRANSFER_ROUTE } from './object-transfer.js';
import { ErrorSchema, errorResponses } from './schemas.js';

const Bundle = z
  .object({
    key: z.string(),
    pc_id: z.string().nullable(),
    job_id: z.string().nullable(),
    collected_at: z.string().nullable(),
    label: z.string().nullable(),
    size: z.number(),
    digest: z.string().nullable().describe('SHA-256, lowercase hex'),
    modified: z.string(),
    name: z.string().nullable().describe("the job's collect.name"),
    description: z.string().nullable(),
  })
  .meta({ id: 'CollectedBundle' });

const KeyParam = z.object({ '*': z.string().min(1).max(1024) });

export const collectRoutes: FastifyPluginAsyncZod<{ services: Services }> = async (app, { services }) => {
  const bundles = services.bundles;

  app.get(
    '/api/collect/bundles',
    {
      config: { policy: viewer('collect') },
      schema: {
        summary: 'Collected bundles, newest first (total in X-Total-Count)',
        querystring: z.object({
          pc_id: z.string().min(1).max(256).optional(),
          job_id: z.string().min(1).max(128).optional(),
          limit: intParam(1, 10_000).default(100),
          offset: intParam(0, 10_000_000).default(0),
        }),
        response: { 200: z.array(Bundle), ...errorResponses },
      },
    },
    async (req, reply) => {
      const r = await bundles.list(req.query);
      reply.header('x-total-count', r.total);
      return r.rows.map((b) => ({ ...b, modified: toRfc3339(b.modified) }));
    },
  );

  app.get(
    '/api/collect/bundles/*',
    {
      ...TRANSFER_ROUTE,
      config: { policy: viewer('collect') },
      schema: {
        summary: 'Download a collected bundle (a zip; ETag and Range supported)',
        params: KeyParam,
        response: downloadResponses,
      },
    },
    async (req, reply) => {
      const key = req.params['*'];
      const info = await bundles.open(key);
      return sendObject(req, reply, info, (range) => bundles.read(info, range), {
        filename: key.replaceAll('/', '_'),
        contentType: 'application/zip',
      });
    },
  );

  app.delete(
    '/api/collect/bundles/*',
    {
      config: { policy: operator('collect') },
      schema: {
        summary: 'Delete a collected bundle',
        params: KeyParam,
        response: { 204: z.null().describe('deleted'), 404: ErrorSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      await bundles.remove(req.params['*'], callerOf(req));
      reply.code(204);
      return null;
    },
  );
};
