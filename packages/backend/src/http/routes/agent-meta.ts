// Operator-entered per-PC attributes: GET/PUT /api/agents/{pc_id}/meta (the
// `agent_meta` bucket), GET /api/agents/meta-keys and GET /api/agents/meta
// (bulk, for the PCs a page shows; from the SQL copy).
import { isConfigKeyToken } from '@kanade/wire';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { META_LIMITS } from '../../services/agent-meta.js';
import type { Services } from '../../services/index.js';
import { callerOf } from '../auth.js';
import { operator, viewer } from '../policy.js';
import { errorResponses } from './schemas.js';

const PcParam = z.object({
  pc_id: z
    .string()
    .min(1)
    .max(128)
    .refine(isConfigKeyToken, 'a pc_id may hold letters, digits, _, - and = only'),
});
const Entry = z.object({ key: z.string(), value: z.string() });
const Entries = z.object({ entries: z.array(Entry) });

export const agentMetaRoutes: FastifyPluginAsyncZod<{ services: Services }> = async (app, { services }) => {
  app.get(
    '/api/agents/meta-keys',
    {
      config: { policy: viewer('agents') },
      schema: {
        summary: 'Every agent_meta key in use, sorted',
        response: { 200: z.array(z.string()), ...errorResponses },
      },
    },
    async () => services.agentMeta.keys(),
  );

  app.get(
    '/api/agents/meta',
    {
      config: { policy: viewer('agents') },
      schema: {
        summary: 'agent_meta entries of the listed PCs (pc_ids: comma-separated, at most 1000)',
        querystring: z.object({
          pc_ids: z
            .string()
            .max(300_000)
            .transform((s) => [...new Set(s.split(',').filter(Boolean))])
            .refine((l) => l.length <= 1000, 'at most 1000 pc_ids'),
        }),
        response: { 200: z.object({ meta: z.record(z.string(), z.array(Entry)) }), ...errorResponses },
      },
    },
    async (req) => ({ meta: services.agentMeta.bulk(req.query.pc_ids) }),
  );

  app.get(
    '/api/agents/:pc_id/meta',
    {
      config: { policy: viewer() },
      schema: {
        summary: "A PC's attributes, in the operator's order",
        params: PcParam,
        response: { 200: Entries, ...errorResponses },
      },
    },
    async (req) => services.agentMeta.get(req.params.pc_id),
  );

  app.put(
    '/api/agents/:pc_id/meta',
    {
      config: { policy: operator() },
      schema: {
        summary:
          "Replace a PC's attributes (keys and values trimmed, empty keys dropped, a repeated key keeps its last value)",
        params: PcParam,
        body: z.strictObject({
          entries: z
            .array(
              z.strictObject({
                key: z.string().max(META_LIMITS.key),
                value: z.string().max(META_LIMITS.value),
              }),
            )
            .max(1000),
        }),
        response: { 200: Entries, ...errorResponses },
      },
    },
    async (req) => services.agentMeta.put(req.params.pc_id, req.body.entries, callerOf(req)),
  );
};
