// POST /api/query (admin): one read-only SELECT / WITH over the projection
// database, in the sandbox of services/query.ts. A refused or failing
// statement is a 400 with the reason, a query past 15 s a 408. Every call is
// audited with its SQL (an admin reading arbitrary tables is worth a trail).
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services/index.js';
import { QUERY_DEFAULT_LIMIT, QUERY_MAX_LIMIT, QueryError } from '../../services/query.js';
import { callerOf } from '../auth.js';
import { ApiError, badRequest } from '../errors.js';
import { admin } from '../policy.js';
import { errorResponses } from './schemas.js';

export const queryRoutes: FastifyPluginAsyncZod<{ services: Services }> = async (app, { services }) => {
  app.post(
    '/api/query',
    {
      config: { policy: admin('accounts') },
      schema: {
        summary: `Run one read-only SELECT / WITH (limit default ${QUERY_DEFAULT_LIMIT}, max ${QUERY_MAX_LIMIT}; 15 s budget)`,
        body: z.strictObject({
          sql: z.string().min(1).max(100_000),
          limit: z.number().int().min(1).max(QUERY_MAX_LIMIT).default(QUERY_DEFAULT_LIMIT),
        }),
        response: {
          200: z.object({
            columns: z.array(z.string()),
            rows: z.array(z.array(z.unknown())),
            row_count: z.number(),
            truncated: z.boolean(),
            elapsed_ms: z.number(),
          }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const started = performance.now();
      const caller = callerOf(req);
      try {
        const r = await services.rawQuery.run(req.body.sql, req.body.limit);
        const elapsed = Math.round(performance.now() - started);
        await services.audit.record({
          actor: 'admin',
          action: 'query',
          payload: { sql: req.body.sql.slice(0, 4096), rows: r.rows.length, elapsed_ms: elapsed },
          caller,
        });
        return { ...r, row_count: r.rows.length, elapsed_ms: elapsed };
      } catch (err) {
        if (!(err instanceof QueryError)) throw err;
        if (err.kind === 'timeout') throw new ApiError('KANADE_ERR_REQUEST_TIMEOUT', err.message);
        throw badRequest(err.message);
      }
    },
  );
};
