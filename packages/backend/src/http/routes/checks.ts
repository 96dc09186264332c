// Compliance: GET /api/checks (counts per check and the rows needing
// attention) and DELETE /api/checks/{check_name} (clear a retired check).
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services/index.js';
import { callerOf } from '../auth.js';
import { intParam } from '../params.js';
import { operator, viewer } from '../policy.js';
import { errorResponses } from './schemas.js';

const name = z.string().min(1).max(128);
const Status = z.enum(['ok', 'warn', 'fail', 'unknown']);

export const checkRoutes: FastifyPluginAsyncZod<{ services: Services }> = async (app, { services }) => {
  app.get(
    '/api/checks',
    {
      config: { policy: viewer('compliance') },
      schema: {
        summary:
          'Counts per check and the PC rows (ok rows only with include_ok=true); rows older than check_status_stale_days are hidden',
        querystring: z.object({
          check: name.optional(),
          include_ok: z
            .enum(['true', 'false', '1', '0'])
            .transform((v) => v === 'true' || v === '1')
            .default(false),
          limit: intParam(1, 10_000).default(1000),
          offset: intParam(0, 10_000_000).default(0),
        }),
        response: {
          200: z.object({
            counts: z.array(
              z.object({
                check_name: z.string(),
                label: z.string().nullable(),
                ok: z.number(),
                warn: z.number(),
                fail: z.number(),
                unknown: z.number(),
              }),
            ),
            rows: z.array(
              z.object({
                pc_id: z.string(),
                check_name: z.string(),
                label: z.string().nullable(),
                status: Status,
                detail: z.string().nullable(),
                recorded_at: z.string(),
              }),
            ),
            total: z.number(),
            stale_days: z.number(),
          }),
          ...errorResponses,
        },
      },
    },
    async (req) => services.checks.list(req.query),
  );

  app.delete(
    '/api/checks/:check_name',
    {
      config: { policy: operator('compliance') },
      schema: {
        summary: "Delete every PC's row of a check (a retired check)",
        params: z.object({ check_name: name }),
        response: { 200: z.object({ check_name: z.string(), deleted: z.number() }), ...errorResponses },
      },
    },
    async (req) => services.checks.clear(req.params.check_name, callerOf(req)),
  );
};
