// The fleet freeze: GET /api/freeze (null when none), PUT /api/freeze
// (`{}` freezes until lifted, `{from, until}` plans a window), DELETE to
// lift it. While it is active every scheduled fire is skipped; operator exec
// and run still work.
import { Freeze } from '@kanade/wire';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services/index.js';
import { callerOf } from '../auth.js';
import { operator, viewer } from '../policy.js';
import { errorResponses } from './schemas.js';

const FreezeView = z
  .object({
    from: z.string().nullable(),
    until: z.string().nullable(),
    reason: z.string().nullable(),
    active: z.boolean().describe('fires are being skipped now'),
    corrupt: z.boolean().describe('the stored value does not decode; it counts as frozen until cleared'),
  })
  .meta({ id: 'Freeze' });

export const freezeRoutes: FastifyPluginAsyncZod<{ services: Services }> = async (app, { services }) => {
  app.get(
    '/api/freeze',
    {
      config: { policy: viewer() },
      schema: {
        summary: 'The fleet freeze, or null when none is set',
        response: { 200: FreezeView.nullable(), ...errorResponses },
      },
    },
    async () => services.freeze.get(),
  );

  app.put(
    '/api/freeze',
    {
      config: { policy: operator() },
      schema: {
        summary:
          'Freeze scheduled fires: {} until lifted, or a {from, until} window (RFC 3339), with a reason',
        body: Freeze,
        response: { 200: FreezeView, ...errorResponses },
      },
    },
    async (req) => services.freeze.set(req.body, callerOf(req)),
  );

  app.delete(
    '/api/freeze',
    {
      config: { policy: operator() },
      schema: {
        summary: 'Lift the fleet freeze (also clears a corrupt value)',
        response: { 204: z.null().describe('lifted'), ...errorResponses },
      },
    },
    async (req, reply) => {
      await services.freeze.clear(callerOf(req));
      reply.code(204);
      return null;
    },
  );
};
