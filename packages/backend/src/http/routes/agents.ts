// Fleet roster and per-host telemetry: /api/agents...

import { toRfc3339 } from '@kanade/wire';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { rosterMetaQuery } from '../../services/agent-meta.js';
import type { Services } from '../../services/index.js';
import { AGENT_SORT_COLUMNS } from '../../store/agents.js';
import { durationParam, intParam, pcIdParam, regexParam, timeParam } from '../params.js';
import { viewer } from '../policy.js';
import { AgentSchema, ErrorSchema, errorResponses, PerfPointSchema } from './schemas.js';

const ListQuery = z
  .object({
    q: regexParam.optional(),
    user: regexParam.optional(),
    version: regexParam.optional(),
    quarantined: z.string().max(128).optional(),
    status: z.enum(['online', 'offline']).optional(),
    sort: z
      .union([z.enum(AGENT_SORT_COLUMNS), z.string().regex(/^meta:.{1,128}$/, 'a column name or meta:<key>')])
      .default('pc_id'),
    dir: z.enum(['asc', 'desc']).default('asc'),
    limit: intParam(1, 5000).default(100),
    offset: intParam(0, 10_000_000).default(0),
  })
  .loose();

const PerfQuery = z.object({
  from: timeParam.optional(),
  to: timeParam.optional(),
  step: durationParam(1000).optional(),
});

export const agentRoutes: FastifyPluginAsyncZod<{ services: Services }> = async (app, { services }) => {
  app.get(
    '/api/agents',
    {
      config: { policy: viewer('agents') },
      schema: {
        summary: 'List agents (paged; totals in X-Total-Count, X-Online-Count, X-Offline-Count)',
        querystring: ListQuery,
        response: { 200: z.array(AgentSchema), ...errorResponses },
      },
    },
    async (req, reply) => {
      const r = services.agents.list({ ...req.query, ...rosterMetaQuery(req.query) });
      reply
        .header('x-total-count', r.total)
        .header('x-online-count', r.online)
        .header('x-offline-count', r.offline);
      return r.rows;
    },
  );

  app.get(
    '/api/agents/versions',
    {
      config: { policy: viewer() },
      schema: {
        summary: 'Agent versions with total and active counts, busiest first',
        response: {
          200: z.array(z.object({ version: z.string().nullable(), total: z.number(), active: z.number() })),
        },
      },
    },
    async () => services.agents.versions(),
  );

  app.get(
    '/api/agents/:pc_id',
    {
      config: { policy: viewer() },
      schema: { params: pcIdParam, response: { 200: AgentSchema, 404: ErrorSchema, ...errorResponses } },
    },
    async (req) => services.agents.get(req.params.pc_id),
  );

  app.get(
    '/api/agents/:pc_id/perf',
    {
      config: { policy: viewer() },
      schema: {
        summary:
          'Host performance averaged into buckets of `step` (default 5m) over [from, to) (default the last hour)',
        params: pcIdParam,
        querystring: PerfQuery,
        response: {
          200: z.object({
            pc_id: z.string(),
            from: z.string(),
            to: z.string(),
            step_seconds: z.number(),
            points: z.array(PerfPointSchema),
          }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const r = services.agents.perf(req.params.pc_id, req.query);
      return { ...r, from: toRfc3339(r.from), to: toRfc3339(r.to) };
    },
  );

  app.get(
    '/api/agents/:pc_id/processes',
    {
      config: { policy: viewer() },
      schema: {
        summary: 'The latest top-N process snapshot (empty unless investigation mode is on)',
        params: pcIdParam,
        response: {
          200: z.object({
            pc_id: z.string(),
            latest_at: z.string().nullable(),
            processes: z.array(
              z.object({
                pid: z.number(),
                name: z.string(),
                cpu_pct: z.number(),
                rss_bytes: z.number(),
                disk_read_bytes_per_sec: z.number().nullable(),
                disk_written_bytes_per_sec: z.number().nullable(),
              }),
            ),
          }),
          ...errorResponses,
        },
      },
    },
    async (req) => services.agents.processes(req.params.pc_id),
  );
};
