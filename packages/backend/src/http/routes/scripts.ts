// Revocation: /api/scripts/status and /api/scripts/{id}/revoke|unrevoke
// (the `script_status` KV that agents check before running a job).
import { ManifestId } from '@kanade/wire';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services/index.js';
import { callerOf } from '../auth.js';
import { operator, viewer } from '../policy.js';
import { errorResponses } from './schemas.js';

const IdParam = z.object({ id: ManifestId });

export const scriptRoutes: FastifyPluginAsyncZod<{ services: Services }> = async (app, { services }) => {
  app.get(
    '/api/scripts/status',
    {
      config: { policy: viewer('jobs') },
      schema: {
        summary: 'The revoke state of every job that has one: {id: "ACTIVE" | "REVOKED"}',
        response: { 200: z.record(z.string(), z.string()), ...errorResponses },
      },
    },
    async () => services.scripts.status(),
  );

  for (const action of ['revoke', 'unrevoke'] as const) {
    app.post(
      `/api/scripts/:id/${action}`,
      {
        config: { policy: operator('jobs') },
        schema: {
          summary:
            action === 'revoke'
              ? 'Revoke a job: agents skip its Commands (exit 126), including queued ones'
              : 'Make a revoked job runnable again',
          params: IdParam,
          response: { 204: z.null().describe('done'), ...errorResponses },
        },
      },
      async (req, reply) => {
        await services.scripts[action](req.params.id, callerOf(req));
        reply.code(204);
        return null;
      },
    );
  }
};
