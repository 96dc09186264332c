// Liveness, version and Prometheus metrics.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services/index.js';
import { PUBLIC, viewer } from '../policy.js';

export const metaRoutes: FastifyPluginAsyncZod<{ services: Services; version: string }> = async (
  app,
  { services, version },
) => {
  app.get('/health', { schema: { hide: true } }, async (_req, reply) => {
    reply.type('text/plain');
    return 'ok';
  });

  app.get(
    '/api/version',
    {
      config: { policy: PUBLIC },
      schema: { summary: 'Backend version', response: { 200: z.object({ version: z.string() }) } },
    },
    async () => ({ version }),
  );

  app.get(
    '/api/docs',
    { config: { policy: viewer() }, schema: { summary: 'The OpenAPI 3 document of this API', hide: true } },
    async () => app.swagger(),
  );

  app.get('/metrics', { config: { policy: viewer() }, schema: { hide: true } }, async (_req, reply) => {
    const registry = services.metrics.registry;
    reply.type(registry.contentType);
    return registry.metrics();
  });
};
