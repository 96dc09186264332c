// Fleet-wide performance: /api/perf/fleet (from the per-minute rollup) and /api/perf/top.

import { toRfc3339 } from '@kanade/wire';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services/index.js';
import { FLEET_METRIC_NAMES } from '../../store/perf.js';
import { durationParam, intParam, timeParam } from '../params.js';
import { viewer } from '../policy.js';
import { errorResponses } from './schemas.js';

const metric = z.enum(FLEET_METRIC_NAMES as [string, ...string[]]).default('cpu_pct');

export const perfRoutes: FastifyPluginAsyncZod<{ services: Services }> = async (app, { services }) => {
  app.get(
    '/api/perf/fleet',
    {
      config: { policy: viewer() },
      schema: {
        summary:
          'Fleet-wide average or maximum of one metric per bucket (default: cpu_pct, avg, last 24 h, 15m)',
        querystring: z.object({
          metric,
          agg: z.enum(['avg', 'max']).default('avg'),
          from: timeParam.optional(),
          to: timeParam.optional(),
          step: durationParam(60_000).optional(),
        }),
        response: {
          200: z.object({
            metric: z.string(),
            agg: z.string(),
            from: z.string(),
            to: z.string(),
            step_seconds: z.number(),
            points: z.array(z.object({ at: z.string(), value: z.number().nullable() })),
          }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const r = services.agents.fleetPerf({ ...req.query, metric: req.query.metric as never });
      return { ...r, from: toRfc3339(r.from), to: toRfc3339(r.to) };
    },
  );

  app.get(
    '/api/perf/top',
    {
      config: { policy: viewer() },
      schema: {
        summary: 'Hosts with the highest average of a metric over the last `window` (default 5m)',
        querystring: z.object({
          metric,
          window: durationParam(60_000).default(5 * 60_000),
          limit: intParam(1, 50).default(5),
        }),
        response: {
          200: z.object({
            metric: z.string(),
            window_seconds: z.number(),
            rows: z.array(
              z.object({ pc_id: z.string(), hostname: z.string().nullable(), value: z.number() }),
            ),
          }),
          ...errorResponses,
        },
      },
    },
    async (req) =>
      services.agents.top({
        metric: req.query.metric as never,
        window: req.query.window as number,
        limit: req.query.limit,
      }),
  );
};
