// The audit trail (Audit page): GET /api/audit over the audit_log projection
// of the AUDIT stream, newest first, with the total in X-Total-Count.
import { toRfc3339 } from '@kanade/wire';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services/index.js';
import { intParam, regexParam, timeParam } from '../params.js';
import { viewer } from '../policy.js';
import { errorResponses } from './schemas.js';

const AuditQuery = z.object({
  actor: z
    .string()
    .min(1)
    .max(128)
    .optional()
    .describe('exact actor tier: operator, admin, scheduler, auth, ...'),
  action: regexParam.optional().describe('case-insensitive regular expression on the action'),
  target: regexParam.optional().describe('case-insensitive regular expression on the target'),
  payload: regexParam.optional().describe('case-insensitive regular expression on the JSON payload'),
  since: timeParam.optional().describe('RFC 3339; events at or after it'),
  limit: intParam(1, 1000).default(100),
  offset: intParam(0, 10_000_000).default(0),
});

const AuditEntry = z
  .object({
    id: z.number(),
    actor: z.string(),
    action: z.string(),
    target: z.string().nullable(),
    payload: z.unknown(),
    occurred_at: z.string(),
  })
  .meta({ id: 'AuditEntry' });

function parsePayload(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export const auditRoutes: FastifyPluginAsyncZod<{ services: Services }> = async (app, { services }) => {
  app.get(
    '/api/audit',
    {
      config: { policy: viewer('audit') },
      schema: {
        summary: 'Audit events, newest first (total in X-Total-Count)',
        querystring: AuditQuery,
        response: { 200: z.array(AuditEntry), ...errorResponses },
      },
    },
    async (req, reply) => {
      const { rows, total } = services.auditLog.list(req.query);
      reply.header('x-total-count', total);
      return rows.map((r) => ({
        ...r,
        payload: parsePayload(r.payload),
        occurred_at: toRfc3339(r.occurred_at),
      }));
    },
  );
};
