// Activity: /api/executions (one row per fan-out, newest first, paged with
// X-Total-Count) and /api/executions/{exec_id} (the execution, its results
// without output, paged the same way, and its rollout waves).
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services/index.js';
import { EXECUTION_STATUSES } from '../../store/executions.js';
import { intParam } from '../params.js';
import { viewer } from '../policy.js';
import { ErrorSchema, errorResponses } from './schemas.js';

export const ExecutionSchema = z
  .object({
    exec_id: z.string(),
    job_id: z.string(),
    version: z.string(),
    initiated_by: z.string(),
    initiated_at: z.string(),
    target_count: z.number(),
    success_count: z.number(),
    failure_count: z.number(),
    status: z.enum(EXECUTION_STATUSES),
    abort_on_failure_pct: z.number().nullable(),
    aborted_at: z.string().nullable(),
    abort_reason: z.string().nullable(),
  })
  .meta({ id: 'Execution' });

export const ResultSummarySchema = z.object({
  result_id: z.string(),
  request_id: z.string(),
  exec_id: z.string().nullable(),
  pc_id: z.string(),
  job_id: z.string().nullable(),
  version: z.string().nullable(),
  exit_code: z.number().nullable(),
  skipped: z.boolean(),
  reaped: z.boolean(),
  started_at: z.string(),
  finished_at: z.string().nullable(),
  recorded_at: z.string(),
});

const WaveSchema = z.object({
  idx: z.number(),
  group: z.string(),
  subject: z.string(),
  delay_ms: z.number(),
  due_at: z.string(),
  target_count: z.number(),
  status: z.enum(['scheduled', 'published', 'aborted']),
  published_at: z.string().nullable(),
});

export const executionRoutes: FastifyPluginAsyncZod<{ services: Services }> = async (app, { services }) => {
  app.get(
    '/api/executions',
    {
      config: { policy: viewer('activity') },
      schema: {
        summary: 'Executions, newest first (total in X-Total-Count)',
        querystring: z.object({
          job_id: z.string().min(1).max(128).optional(),
          status: z.enum(EXECUTION_STATUSES).optional(),
          limit: intParam(1, 1000).default(50),
          offset: intParam(0, 10_000_000).default(0),
        }),
        response: { 200: z.array(ExecutionSchema), ...errorResponses },
      },
    },
    async (req, reply) => {
      const r = services.results.executions(req.query);
      reply.header('x-total-count', r.total);
      return r.rows;
    },
  );

  app.get(
    '/api/executions/:exec_id',
    {
      config: { policy: viewer('activity') },
      schema: {
        summary: 'One execution with its results (no output; paged, total in X-Total-Count) and waves',
        params: z.object({ exec_id: z.string().min(1).max(128) }),
        querystring: z.object({
          limit: intParam(1, 10_000).default(1000),
          offset: intParam(0, 10_000_000).default(0),
        }),
        response: {
          200: z.object({
            execution: ExecutionSchema,
            results: z.array(ResultSummarySchema),
            waves: z.array(WaveSchema),
          }),
          404: ErrorSchema,
          ...errorResponses,
        },
      },
    },
    async (req, reply) => {
      const r = services.results.execution(req.params.exec_id, req.query);
      reply.header('x-total-count', r.total);
      return { execution: r.execution, results: r.results, waves: r.waves };
    },
  );
};
