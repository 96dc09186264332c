// The per-PC event timeline: GET /api/obs_events (filters, newest first),
// /kinds, /sources and /recent (the dashboard feed).
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services/index.js';
import { IDENT_RE } from '../../store/explode.js';
import { intParam, timeParam } from '../params.js';
import { viewer } from '../policy.js';
import { errorResponses } from './schemas.js';

const csv = z
  .string()
  .max(4096)
  .transform((s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  )
  .refine((l) => l.length <= 100, 'at most 100 values');
const text = z.string().min(1).max(256);

const ListQuery = z
  .object({
    pc_id: text.optional(),
    from: timeParam.optional(),
    to: timeParam.optional(),
    kind: text.optional(),
    source: text.optional(),
    logon_type: z.string().max(64).optional(),
    kinds: csv.optional(),
    kinds_ex: csv.optional(),
    sources: csv.optional(),
    sources_ex: csv.optional(),
    payload_key: z.string().regex(IDENT_RE, 'a top-level payload key (letters, digits and _)').optional(),
    payload_value: z.string().max(1024).optional(),
    meta_any: z.string().min(1).max(256).optional(),
    limit: intParam(1, 5000).default(200),
  })
  .refine((q) => (q.payload_key === undefined) === (q.payload_value === undefined), {
    message: 'payload_key and payload_value go together',
    path: ['payload_value'],
  });

const Event = z
  .object({
    id: z.number(),
    pc_id: z.string(),
    at: z.string(),
    kind: z.string(),
    source: z.string(),
    event_record_id: z.string().nullable(),
    payload: z.unknown(),
  })
  .meta({ id: 'ObsEvent' });

export const obsEventRoutes: FastifyPluginAsyncZod<{ services: Services }> = async (app, { services }) => {
  app.get(
    '/api/obs_events',
    {
      config: { policy: viewer('events') },
      schema: {
        summary: 'Timeline events, newest first (filters ANDed; kinds/sources lists are comma-separated)',
        querystring: ListQuery,
        response: { 200: z.object({ events: z.array(Event) }), ...errorResponses },
      },
    },
    async (req) => {
      const { payload_key, payload_value, ...q } = req.query;
      return {
        events: services.obsEvents.list({
          ...q,
          ...(payload_key !== undefined && payload_value !== undefined
            ? { payload: { key: payload_key, value: payload_value } }
            : {}),
        }),
      };
    },
  );

  app.get(
    '/api/obs_events/kinds',
    {
      config: { policy: viewer('events') },
      schema: {
        summary: 'Every event kind seen',
        response: { 200: z.object({ kinds: z.array(z.string()) }), ...errorResponses },
      },
    },
    async () => ({ kinds: services.obsEvents.kinds() }),
  );

  app.get(
    '/api/obs_events/sources',
    {
      config: { policy: viewer('events') },
      schema: {
        summary: 'Every event source seen',
        response: { 200: z.object({ sources: z.array(z.string()) }), ...errorResponses },
      },
    },
    async () => ({ sources: services.obsEvents.sources() }),
  );

  app.get(
    '/api/obs_events/recent',
    {
      config: { policy: viewer() },
      schema: {
        summary: 'The newest events fleet-wide (dashboard feed)',
        querystring: z.object({ limit: intParam(1, 500).default(50) }),
        response: { 200: z.object({ events: z.array(Event) }), ...errorResponses },
      },
    },
    async (req) => ({ events: services.obsEvents.recent(req.query.limit) }),
  );
};
