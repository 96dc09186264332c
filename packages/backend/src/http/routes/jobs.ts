// The job catalog: /api/jobs (list, create from JSON or YAML, YAML source,
// delete), /api/jobs/{job_id}/kill and the manifest's JSON Schema.
//
// A YAML body (application/yaml, text/yaml, application/x-yaml, text/x-yaml)
// is parsed by this plugin's content-type parser, so YAML and JSON uploads
// meet the same zod Manifest schema and get the same field-naming 400s; a
// YAML syntax error is a 400 with its line and column. The verbatim YAML is
// kept on the request for the `jobs_yaml` mirror.
import { Manifest, ManifestId } from '@kanade/wire';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services/index.js';
import { callerOf } from '../auth.js';
import { operator, viewer } from '../policy.js';
import { ErrorSchema, errorResponses } from './schemas.js';

export const YAML_CONTENT_TYPES = ['application/yaml', 'text/yaml', 'application/x-yaml', 'text/x-yaml'];

const yamlSources = new WeakMap<FastifyRequest, string>();

const JobIdParam = z.object({ id: ManifestId });
const KillParam = z.object({ job_id: ManifestId });

const JobListRow = z
  .looseObject({
    id: z.string(),
    version: z.string(),
    live: z.object({ running: z.number(), pending: z.number() }),
  })
  .meta({ id: 'JobListRow', description: 'A stored manifest (all its fields) plus live execution counts' });

const JobSummary = z.object({
  id: z.string(),
  version: z.string(),
  description: z.string().nullable(),
  inventory: z.boolean(),
});

export const jobRoutes: FastifyPluginAsyncZod<{ services: Services }> = async (app, { services }) => {
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
    '/api/jobs',
    {
      config: { policy: viewer('jobs') },
      schema: {
        summary: 'Every job in the catalog, sorted by id, with live {running, pending} execution counts',
        response: { 200: z.array(JobListRow), ...errorResponses },
      },
    },
    async () => services.jobs.list(),
  );

  app.post(
    '/api/jobs',
    {
      config: { policy: operator('jobs') },
      schema: {
        summary: 'Create or replace a job manifest (JSON, or YAML with a YAML Content-Type)',
        body: Manifest,
        response: { 200: JobSummary, ...errorResponses },
      },
    },
    async (req) => services.jobs.upsert(req.body, yamlSources.get(req), callerOf(req)),
  );

  app.get(
    '/api/jobs/:id/yaml',
    {
      config: { policy: viewer('jobs') },
      schema: {
        summary: 'The YAML source of a job (as uploaded, or generated from the manifest)',
        params: JobIdParam,
        response: { 200: z.string(), 404: ErrorSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const text = await services.jobs.yaml(req.params.id);
      reply.type('application/yaml; charset=utf-8');
      return text;
    },
  );

  app.delete(
    '/api/jobs/:id',
    {
      config: { policy: operator('jobs') },
      schema: {
        summary: 'Revoke the job (script_status REVOKED), then delete it; 409 while a schedule references it',
        params: JobIdParam,
        response: {
          204: z.null().describe('deleted'),
          404: ErrorSchema,
          409: ErrorSchema,
          ...errorResponses,
        },
      },
    },
    async (req, reply) => {
      await services.jobs.remove(req.params.id, callerOf(req));
      reply.code(204);
      return null;
    },
  );

  app.post(
    '/api/jobs/:job_id/kill',
    {
      config: { policy: operator('jobs') },
      schema: {
        summary: 'Publish kill.{exec_id} for every pending or running execution of the job (204 either way)',
        params: KillParam,
        response: { 204: z.null().describe('kill published'), ...errorResponses },
      },
    },
    async (req, reply) => {
      await services.kill.killJob(req.params.job_id, callerOf(req));
      reply.code(204);
      return null;
    },
  );

  app.get(
    '/api/schemas/manifest.json',
    {
      config: { policy: viewer() },
      schema: {
        summary: 'JSON Schema of a job manifest, generated from the validator the API uses',
        response: { 200: z.record(z.string(), z.unknown()), ...errorResponses },
      },
    },
    async () => services.jobs.jsonSchema(),
  );
};
