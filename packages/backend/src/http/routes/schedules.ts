// Schedules: /api/schedules (list, create from JSON or YAML, delete, YAML
// source), soft/hard disable and enable, and the read-only views (preview,
// status, coverage, upcoming), plus the schedule's JSON Schema.
//
// A YAML body is parsed by this plugin's own content-type parser with the job
// catalog's YAML reader (same line/column 400s), so YAML and JSON meet the
// same strict Schedule schema; the verbatim text is kept for the
// `schedules_yaml` mirror.
import { ManifestId, Schedule } from '@kanade/wire';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services/index.js';
import { callerOf } from '../auth.js';
import { intParam } from '../params.js';
import { operator, viewer } from '../policy.js';
import { YAML_CONTENT_TYPES } from './jobs.js';
import { ErrorSchema, errorResponses } from './schemas.js';

const yamlSources = new WeakMap<FastifyRequest, string>();

// The id is a KV key: one that NATS refuses must be a 400 here, not a KV error (a 500) later.
const IdParam = z.object({ id: ManifestId });
const flag = z
  .enum(['true', 'false', '1', '0'], { error: 'expected true or false' })
  .transform((v) => v === 'true' || v === '1')
  .default(false);

const When = z.record(z.string(), z.unknown()).describe('the schedule `when` (a singleton map)');
const ScheduleRow = z
  .looseObject({ id: z.string(), job_id: z.string(), when: When, enabled: z.boolean() })
  .meta({ id: 'Schedule', description: 'A stored schedule (every field; see /api/schemas/schedule.json)' });
const Counts = {
  id: z.string(),
  total: z.number(),
  ok: z.number(),
  fail: z.number(),
  skipped: z.number(),
  running: z.number(),
  pending: z.number(),
};

export const scheduleRoutes: FastifyPluginAsyncZod<{ services: Services }> = async (app, { services }) => {
  app.addContentTypeParser(YAML_CONTENT_TYPES, { parseAs: 'string' }, (req, body, done) => {
    try {
      const text = body as string;
      yamlSources.set(req, text);
      done(null, services.jobs.parseYaml(text));
    } catch (err) {
      done(err as Error, undefined);
    }
  });

  app.get(
    '/api/schedules',
    {
      config: { policy: viewer('schedules') },
      schema: {
        summary: 'Every schedule, sorted by id (total in X-Total-Count)',
        response: { 200: z.array(ScheduleRow), ...errorResponses },
      },
    },
    async (_req, reply) => {
      const rows = await services.schedules.all();
      reply.header('x-total-count', rows.length);
      return rows;
    },
  );

  app.post(
    '/api/schedules',
    {
      config: { policy: operator('schedules') },
      schema: {
        summary:
          'Create or replace a schedule (JSON, or YAML with a YAML Content-Type); job_id must be in the catalog',
        body: Schedule,
        response: {
          200: z.object({ id: z.string(), when: When, enabled: z.boolean(), job_id: z.string() }),
          ...errorResponses,
        },
      },
    },
    async (req) => services.schedules.upsert(req.body, yamlSources.get(req), callerOf(req)),
  );

  app.get(
    '/api/schedules/coverage',
    {
      config: { policy: viewer('schedules') },
      schema: {
        summary:
          'Coverage counts of every schedule over its full target roster (ok / fail / skipped / running / pending)',
        response: { 200: z.array(z.object(Counts)), ...errorResponses },
      },
    },
    async () => services.schedules.coverageAll(),
  );

  app.get(
    '/api/schedules/upcoming',
    {
      config: { policy: viewer() },
      schema: {
        summary: 'The next calendar fires of enabled schedules, soonest first',
        querystring: z.object({ limit: intParam(1, 100).default(10) }),
        response: {
          200: z.array(z.object({ id: z.string(), job_id: z.string(), when: When, next_run: z.string() })),
          ...errorResponses,
        },
      },
    },
    async (req) => services.schedules.upcoming(req.query.limit),
  );

  app.get(
    '/api/schedules/:id/yaml',
    {
      config: { policy: viewer('schedules') },
      schema: {
        summary: 'The YAML source of a schedule (as uploaded, or generated from the stored JSON)',
        params: IdParam,
        response: { 200: z.string(), 404: ErrorSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const text = await services.schedules.yaml(req.params.id);
      reply.type('application/yaml; charset=utf-8');
      return text;
    },
  );

  app.delete(
    '/api/schedules/:id',
    {
      config: { policy: operator('schedules') },
      schema: {
        summary: 'Delete a schedule (and its YAML source); the scheduler unregisters it at once',
        params: IdParam,
        response: { 204: z.null().describe('deleted'), 404: ErrorSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      await services.schedules.remove(req.params.id, callerOf(req));
      reply.code(204);
      return null;
    },
  );

  const Toggled = z.object({
    id: z.string(),
    enabled: z.boolean(),
    changed: z.boolean(),
    revoked: z.boolean(),
    killed_exec_ids: z.array(z.string()),
  });

  app.post(
    '/api/schedules/:id/enable',
    {
      config: { policy: operator('schedules') },
      schema: {
        summary:
          'Enable a schedule (a revoked job stays revoked: unrevoke it with /api/scripts/{id}/unrevoke)',
        params: IdParam,
        response: { 200: Toggled, 404: ErrorSchema, 409: ErrorSchema, ...errorResponses },
      },
    },
    async (req) =>
      services.schedules.setEnabled(
        req.params.id,
        true,
        { cascade: false, cascadeKill: false },
        callerOf(req),
      ),
  );

  app.post(
    '/api/schedules/:id/disable',
    {
      config: { policy: operator('schedules') },
      schema: {
        summary:
          'Disable a schedule (soft: no more fires). cascade=true also revokes the job; cascade_kill=true also kills its running executions',
        params: IdParam,
        querystring: z.object({ cascade: flag, cascade_kill: flag }),
        response: { 200: Toggled, 404: ErrorSchema, 409: ErrorSchema, ...errorResponses },
      },
    },
    async (req) =>
      services.schedules.setEnabled(
        req.params.id,
        false,
        { cascade: req.query.cascade, cascadeKill: req.query.cascade_kill },
        callerOf(req),
      ),
  );

  app.get(
    '/api/schedules/:id/preview',
    {
      config: { policy: viewer('schedules') },
      schema: {
        summary:
          'The next fire times of a calendar schedule after its active window, maintenance window and skip dates',
        params: IdParam,
        querystring: z.object({ count: intParam(1, 50).default(10) }),
        response: {
          200: z.object({
            id: z.string(),
            when: When,
            tz: z.string(),
            enabled: z.boolean(),
            fires: z.array(z.string()),
            note: z.string().optional(),
          }),
          404: ErrorSchema,
          ...errorResponses,
        },
      },
    },
    async (req) => services.schedules.preview(req.params.id, req.query.count),
  );

  app.get(
    '/api/schedules/:id/status',
    {
      config: { policy: viewer('schedules') },
      schema: {
        summary: "Next run, the job's last run and its last 24 h of results",
        params: IdParam,
        response: {
          200: z.object({
            id: z.string(),
            job_id: z.string(),
            when: When,
            enabled: z.boolean(),
            runs_on: z.string(),
            tz: z.string(),
            frozen: z.boolean(),
            next_run: z.string().nullable(),
            last_run: z
              .object({
                pc_id: z.string(),
                exit_code: z.number().nullable(),
                started_at: z.string(),
                finished_at: z.string().nullable(),
              })
              .nullable(),
            recent: z.object({ window_hours: z.number(), ok: z.number(), fail: z.number() }),
          }),
          404: ErrorSchema,
          ...errorResponses,
        },
      },
    },
    async (req) => services.schedules.status(req.params.id),
  );

  app.get(
    '/api/schedules/:id/coverage',
    {
      config: { policy: viewer('schedules') },
      schema: {
        summary:
          "Each member of the schedule's full target roster with the state of its latest run of the job",
        params: IdParam,
        response: {
          200: z.object({
            ...Counts,
            when: When,
            job_id: z.string(),
            runs_on: z.string(),
            agents: z.array(
              z.object({
                pc_id: z.string(),
                state: z.enum(['ok', 'fail', 'skipped', 'running', 'pending']),
                version: z.string().nullable(),
                finished_at: z.string().nullable(),
              }),
            ),
          }),
          404: ErrorSchema,
          ...errorResponses,
        },
      },
    },
    async (req) => services.schedules.coverage(req.params.id),
  );

  app.get(
    '/api/schemas/schedule.json',
    {
      config: { policy: viewer() },
      schema: {
        summary: 'JSON Schema of a schedule, generated from the validator the API uses',
        response: { 200: z.record(z.string(), z.unknown()), ...errorResponses },
      },
    },
    async () => services.schedules.jsonSchema(),
  );
};
