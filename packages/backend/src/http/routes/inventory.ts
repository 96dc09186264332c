// Inventory: /api/inventory/jobs, /by-job/{manifest_id}, /{pc_id},
// /{manifest_id}/search/{field} (explode tables), /{manifest_id}/search-scalars
// and the change history (/history/pc/{pc_id}, /history/search,
// /history/first_seen). Search and history take free-form query keys
// (`col__op=value`, `identity.<key>=value`), validated by the service
// against the manifest's spec.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services/index.js';
import { intParam } from '../params.js';
import { viewer } from '../policy.js';
import { ErrorSchema, errorResponses } from './schemas.js';

const id = z.string().min(1).max(256);
const FreeQuery = z.record(z.string().max(256), z.union([z.string(), z.array(z.string()).max(32)]));
const Row = z.record(z.string(), z.unknown());
const History = z.array(
  z.object({
    id: z.number(),
    pc_id: z.string(),
    job_id: z.string(),
    field_path: z.string(),
    identity_json: z.string().nullable(),
    change_kind: z.enum(['added', 'removed', 'changed']),
    before_json: z.string().nullable(),
    after_json: z.string().nullable(),
    observed_at: z.string(),
  }),
);
const notFound = { 404: ErrorSchema };

export const inventoryRoutes: FastifyPluginAsyncZod<{ services: Services }> = async (app, { services }) => {
  const inv = services.inventory;

  app.get(
    '/api/inventory/jobs',
    {
      config: { policy: viewer('inventory') },
      schema: {
        summary: 'Jobs with an inventory hint: display, summary and explode specs, and how many PCs reported',
        response: {
          200: z.array(
            z.object({
              manifest_id: z.string(),
              description: z.string().nullable(),
              display: z.array(z.unknown()),
              summary: z.array(z.unknown()).nullable(),
              explode: z.array(z.unknown()).nullable(),
              history_scalars: z.array(z.string()).nullable(),
              pc_count: z.number(),
            }),
          ),
          ...errorResponses,
        },
      },
    },
    async () => inv.jobs(),
  );

  app.get(
    '/api/inventory/by-job/:manifest_id',
    {
      config: { policy: viewer('inventory') },
      schema: {
        summary: "One inventory job's facts across the fleet, paged by pc_id (q: pc_id substring)",
        params: z.object({ manifest_id: id }),
        querystring: z.object({
          limit: intParam(1, 1000).default(100),
          offset: intParam(0, 10_000_000).default(0),
          q: z.string().max(256).optional(),
        }),
        response: {
          200: z.object({
            manifest_id: z.string(),
            display: z.unknown(),
            summary: z.unknown(),
            rows: z.array(
              z.object({
                pc_id: z.string(),
                facts: z.unknown(),
                collected_at: z.string().nullable(),
                recorded_at: z.string(),
                last_logon_user: z.string().nullable(),
                last_logon_display_name: z.string().nullable(),
              }),
            ),
            total: z.number(),
          }),
          ...errorResponses,
        },
      },
    },
    async (req) => inv.byJob(req.params.manifest_id, req.query),
  );

  app.get(
    '/api/inventory/:pc_id',
    {
      config: { policy: viewer('inventory') },
      schema: {
        summary: "Every inventory job's facts for one PC",
        params: z.object({ pc_id: id }),
        response: {
          200: z.array(
            z.object({
              job_id: z.string(),
              facts: z.unknown(),
              display: z.unknown(),
              summary: z.unknown(),
              collected_at: z.string().nullable(),
              recorded_at: z.string(),
            }),
          ),
          ...errorResponses,
        },
      },
    },
    async (req) => inv.forPc(req.params.pc_id),
  );

  app.get(
    '/api/inventory/:manifest_id/search/:field',
    {
      config: { policy: viewer('inventory') },
      schema: {
        summary:
          'Cross-PC search of an explode table: col=v or col__{eq,ne,lt,le,gt,ge,contains,prefix,suffix}=v, limit (1000, max 5000), offset',
        params: z.object({ manifest_id: id, field: id }),
        querystring: FreeQuery,
        response: { 200: z.array(Row), ...errorResponses, ...notFound },
      },
    },
    async (req) => inv.search(req.params.manifest_id, req.params.field, req.query),
  );

  app.get(
    '/api/inventory/:manifest_id/search-scalars',
    {
      config: { policy: viewer('inventory') },
      schema: {
        summary: "The same filter syntax over the job's top-level scalar facts (its display fields)",
        params: z.object({ manifest_id: id }),
        querystring: FreeQuery,
        response: { 200: z.array(Row), ...errorResponses, ...notFound },
      },
    },
    async (req) => inv.searchScalars(req.params.manifest_id, req.query),
  );

  app.get(
    '/api/inventory/:manifest_id/history/pc/:pc_id',
    {
      config: { policy: viewer('inventory') },
      schema: {
        summary: "One PC's change history for a job, newest first (field, since, limit 500 max 5000, offset)",
        params: z.object({ manifest_id: id, pc_id: id }),
        querystring: FreeQuery,
        response: { 200: History, ...errorResponses },
      },
    },
    async (req) => inv.historyForPc(req.params.manifest_id, req.params.pc_id, req.query),
  );

  app.get(
    '/api/inventory/:manifest_id/history/search',
    {
      config: { policy: viewer('inventory') },
      schema: {
        summary:
          'Fleet-wide change history: field, kind, since, until, identity.<key>=<value>, limit, offset',
        params: z.object({ manifest_id: id }),
        querystring: FreeQuery,
        response: { 200: History, ...errorResponses },
      },
    },
    async (req) => inv.historySearch(req.params.manifest_id, req.query),
  );

  app.get(
    '/api/inventory/:manifest_id/history/first_seen',
    {
      config: { policy: viewer('inventory') },
      schema: {
        summary: 'Per PC, the earliest matching change (field, since, identity.<key>=<value>, limit, offset)',
        params: z.object({ manifest_id: id }),
        querystring: FreeQuery,
        response: {
          200: z.array(z.object({ pc_id: z.string(), first_seen_at: z.string() })),
          ...errorResponses,
        },
      },
    },
    async (req) => inv.firstSeen(req.params.manifest_id, req.query),
  );
};
