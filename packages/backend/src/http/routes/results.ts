// Activity: /api/results (regex filters, status, since, paging with
// X-Total-Count, 200-character previews and match snippets), one result in
// full, and the live tail of a running one.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services/index.js';
import { intParam, regexParam, timeParam } from '../params.js';
import { viewer } from '../policy.js';
import { ResultSummarySchema } from './executions.js';
import { ErrorSchema, errorResponses } from './schemas.js';

const Snippet = z.object({
  before: z.string(),
  matched: z.string(),
  after: z.string(),
  clipped_before: z.boolean(),
  clipped_after: z.boolean(),
});

const ResultListRow = ResultSummarySchema.extend({
  stdout: z.string(),
  stdout_truncated: z.boolean(),
  stderr: z.string(),
  stderr_truncated: z.boolean(),
  stdout_match: Snippet.optional(),
  stderr_match: Snippet.optional(),
}).meta({ id: 'ResultListRow' });

const ResultDetail = ResultSummarySchema.extend({
  stdout: z.string(),
  stderr: z.string(),
  expires_at: z.string().nullable(),
  parent_result_id: z.string().nullable(),
});

const ResultIdParam = z.object({ result_id: z.string().min(1).max(128) });

export const resultRoutes: FastifyPluginAsyncZod<{ services: Services }> = async (app, { services }) => {
  app.get(
    '/api/results',
    {
      config: { policy: viewer('activity') },
      schema: {
        summary:
          'Results newest first. pc_id/job_id/exec_id/stdout/stderr are case-insensitive regexes (an anchored ' +
          'literal such as ^abc$ matches exactly); output regexes scan the newest 10,000 rows of the other filters',
        querystring: z.object({
          pc_id: regexParam.optional(),
          job_id: regexParam.optional(),
          exec_id: regexParam.optional(),
          stdout: regexParam.optional(),
          stderr: regexParam.optional(),
          status: z.enum(['success', 'failure', 'running']).optional(),
          since: timeParam.optional(),
          limit: intParam(1, 1000).default(50),
          offset: intParam(0, 10_000_000).default(0),
        }),
        response: { 200: z.array(ResultListRow), ...errorResponses },
      },
    },
    async (req, reply) => {
      const r = services.results.list(req.query);
      reply.header('x-total-count', r.total);
      return r.rows;
    },
  );

  app.get(
    '/api/results/:result_id',
    {
      config: { policy: viewer('activity') },
      schema: {
        summary: 'One result with its full output and its finalize children',
        params: ResultIdParam,
        response: {
          200: ResultDetail.extend({ finalize_children: z.array(ResultDetail) }),
          404: ErrorSchema,
          ...errorResponses,
        },
      },
    },
    async (req) => services.results.get(req.params.result_id),
  );

  app.get(
    '/api/results/:result_id/tail',
    {
      config: { policy: viewer('activity') },
      schema: {
        summary: 'Output so far: from the agent (job.tail) while running, from the database once finished',
        params: ResultIdParam,
        response: {
          200: z.object({
            running: z.boolean(),
            live: z.boolean(),
            stdout: z.string(),
            stderr: z.string(),
            stdout_truncated: z.boolean(),
            stderr_truncated: z.boolean(),
            exit_code: z.number().nullable(),
          }),
          404: ErrorSchema,
          ...errorResponses,
        },
      },
    },
    async (req) => services.results.tail(req.params.result_id),
  );
};
