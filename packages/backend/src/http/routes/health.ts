// /api/health/fleet (503 when degraded, body still parsed by the dashboard) and /api/jetstream/status.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services/index.js';
import { ApiError } from '../errors.js';
import { viewer } from '../policy.js';
import { errorResponses } from './schemas.js';

const Resource = z.object({
  name: z.string(),
  exists: z.boolean(),
  messages: z.number().optional(),
  bytes: z.number().optional(),
  max_bytes: z.number().optional(),
});
const ProjectorTotals = z.object({
  received: z.number(),
  written: z.number(),
  invalid: z.number(),
  dropped: z.number(),
  flushes: z.number(),
  flushErrors: z.number(),
});
const FleetHealth = z.object({
  status: z.enum(['ok', 'unknown', 'degraded']),
  reasons: z.array(z.string()),
  agents: z.object({ known: z.number(), active: z.number(), stale: z.number() }),
  jetstream: z.object({
    all_ok: z.boolean(),
    healthy: z.number(),
    total: z.number(),
    missing: z.array(z.string()),
  }),
  ingest: z.record(z.string(), ProjectorTotals),
  observed_at: z.string(),
});

export const healthRoutes: FastifyPluginAsyncZod<{ services: Services }> = async (app, { services }) => {
  app.get(
    '/api/health/fleet',
    {
      config: { policy: viewer() },
      schema: {
        summary: 'Fleet health rollup; HTTP 503 when degraded',
        response: { 200: FleetHealth, 503: FleetHealth, ...errorResponses },
      },
    },
    async (_req, reply) => {
      const h = await services.health.fleet();
      reply.status(h.status === 'degraded' ? 503 : 200);
      return h;
    },
  );

  app.get(
    '/api/jetstream/status',
    {
      config: { policy: viewer('jetstream') },
      schema: {
        summary: 'Every stream, KV bucket and object store the backend bootstraps, with usage',
        response: {
          200: z.object({
            streams: z.array(Resource),
            kv_buckets: z.array(Resource),
            object_stores: z.array(Resource),
          }),
          ...errorResponses,
        },
      },
    },
    async () => {
      try {
        return await services.health.jetstream();
      } catch (err) {
        throw new ApiError('KANADE_ERR_UNAVAILABLE', `JetStream is not reachable: ${(err as Error).message}`);
      }
    },
  );
};
