// Group definitions: /api/group-defs (list, create from JSON or YAML),
// /{id}/yaml, /{id}/members (resolve now) and DELETE /{id}. A YAML body is
// parsed by this plugin's content-type parser (the jobs route's), so both
// forms meet the same strict schema; the verbatim YAML is kept for the editor.
import { isConfigKeyToken } from '@kanade/wire';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { GroupDefWrite } from '../../services/group-defs.js';
import type { Services } from '../../services/index.js';
import { callerOf } from '../auth.js';
import { operator, viewer } from '../policy.js';
import { YAML_CONTENT_TYPES } from './jobs.js';
import { errorResponses } from './schemas.js';

const IdParam = z.object({
  id: z.string().min(1).max(128).refine(isConfigKeyToken, 'an id may hold letters, digits, _, - and = only'),
});

const GroupDefView = z
  .object({
    id: z.string(),
    description: z.string().nullish(),
    members: z.array(z.string()).nullish(),
    query: z.string().nullish(),
    refresh: z.string().nullish(),
    tags: z.array(z.string()).nullish(),
  })
  .meta({ id: 'GroupDef' });

const yamlSources = new WeakMap<FastifyRequest, string>();

export const groupDefRoutes: FastifyPluginAsyncZod<{ services: Services }> = async (app, { services }) => {
  app.addContentTypeParser(YAML_CONTENT_TYPES, { parseAs: 'string' }, (req, body, done) => {
    try {
      yamlSources.set(req, body as string);
      done(null, services.jobs.parseYaml(body as string));
    } catch (err) {
      done(err as Error, undefined);
    }
  });

  app.get(
    '/api/group-defs',
    {
      config: { policy: viewer('groups') },
      schema: {
        summary: 'Every group definition, sorted by id',
        response: { 200: z.array(GroupDefView), ...errorResponses },
      },
    },
    async () => services.groupDefs.list(),
  );

  app.post(
    '/api/group-defs',
    {
      config: { policy: operator('groups') },
      schema: {
        summary:
          'Create or replace a group definition: static `members` or a read-only `query` returning pc_id (JSON or YAML)',
        body: GroupDefWrite,
        response: {
          200: z.object({
            id: z.string(),
            description: z.string().nullable(),
            kind: z.enum(['static', 'dynamic']),
            member_count: z.number().nullable(),
            tags: z.array(z.string()),
          }),
          ...errorResponses,
        },
      },
    },
    async (req) => services.groupDefs.upsert(req.body, yamlSources.get(req), callerOf(req)),
  );

  app.get(
    '/api/group-defs/:id/yaml',
    {
      config: { policy: viewer('groups') },
      schema: { summary: 'The YAML source of a group definition', params: IdParam },
    },
    async (req, reply) => {
      const text = await services.groupDefs.yaml(req.params.id);
      reply.type('application/yaml; charset=utf-8');
      return text;
    },
  );

  app.get(
    '/api/group-defs/:id/members',
    {
      config: { policy: viewer('groups') },
      schema: {
        summary: 'Resolve a group definition now (a dynamic query error is a 400)',
        params: IdParam,
        response: {
          200: z.object({
            id: z.string(),
            kind: z.enum(['static', 'dynamic']),
            count: z.number(),
            members: z.array(z.string()),
          }),
          ...errorResponses,
        },
      },
    },
    async (req) => services.groupDefs.members(req.params.id, Date.now()),
  );

  app.delete(
    '/api/group-defs/:id',
    {
      config: { policy: operator('groups') },
      schema: {
        summary: 'Delete a group definition',
        params: IdParam,
        response: { 204: z.null(), ...errorResponses },
      },
    },
    async (req, reply) => {
      await services.groupDefs.remove(req.params.id, callerOf(req));
      reply.code(204);
      return null;
    },
  );
};
