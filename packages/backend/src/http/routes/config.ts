// Layered agent configuration: /api/config (global scope), /api/config/defaults,
// /api/groups/{name}/config, /api/pcs/{pc_id}/config, their `inherited` views
// and /api/agents/{pc_id}/effective_config. Scope bodies are validated
// strictly (unknown fields and bad durations are a 400 naming the field).
import { ConfigScopeWrite, isConfigKeyToken } from '@kanade/wire';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services/index.js';
import { callerOf } from '../auth.js';
import { operator, viewer } from '../policy.js';
import { errorResponses } from './schemas.js';

const tokenParam = (what: string) =>
  z.string().min(1).max(128).refine(isConfigKeyToken, `${what} may hold letters, digits, _, - and = only`);
const GroupParam = z.object({ name: tokenParam('a group name') });
const PcParam = z.object({ pc_id: tokenParam('a pc_id') });

const Scope = z
  .object({
    max_local_concurrent: z.number().optional(),
    target_version: z.string().optional(),
    target_version_jitter: z.string().optional(),
    heartbeat_interval: z.string().optional(),
    host_perf_interval: z.string().optional(),
    process_perf_enabled: z.boolean().optional(),
    process_perf_expires_at: z.string().optional(),
    process_perf_top_n: z.number().optional(),
    client_display_name: z.string().optional(),
  })
  .meta({ id: 'ConfigScope', description: 'One layer of agent configuration; unset fields inherit' });

const Effective = z
  .object({
    max_local_concurrent: z.number().nullable(),
    target_version: z.string().nullable(),
    target_version_jitter: z.string(),
    heartbeat_interval: z.string(),
    host_perf_interval: z.string(),
    process_perf_enabled: z.boolean(),
    process_perf_expires_at: z.string().nullable(),
    process_perf_top_n: z.number(),
    client_display_name: z.string().nullable(),
  })
  .meta({ id: 'EffectiveConfig' });

const EffectiveView = z.object({
  pc_id: z.string(),
  effective: Effective,
  warnings: z.array(
    z.object({ kind: z.literal('multi_group_conflict'), field: z.string(), groups: z.array(z.string()) }),
  ),
  my_groups: z.array(z.string()),
});

export const configRoutes: FastifyPluginAsyncZod<{ services: Services }> = async (app, { services }) => {
  const cfg = services.agentConfig;

  app.get(
    '/api/config',
    {
      config: { policy: viewer('config') },
      schema: {
        summary: 'The global config scope ({} when unset)',
        response: { 200: Scope, ...errorResponses },
      },
    },
    async () => cfg.get({ scope: 'global' }),
  );
  app.put(
    '/api/config',
    {
      config: { policy: operator('config') },
      schema: {
        summary: 'Replace the global config scope',
        body: ConfigScopeWrite,
        response: { 200: Scope, ...errorResponses },
      },
    },
    async (req) => cfg.put({ scope: 'global' }, req.body, callerOf(req)),
  );
  app.get(
    '/api/config/defaults',
    {
      config: { policy: viewer('config') },
      schema: {
        summary: 'The built-in defaults every scope builds on',
        response: { 200: Effective, ...errorResponses },
      },
    },
    async () => cfg.defaults(),
  );

  app.get(
    '/api/groups/:name/config',
    {
      config: { policy: viewer('config') },
      schema: {
        summary: 'A group config scope ({} when unset)',
        params: GroupParam,
        response: { 200: Scope, ...errorResponses },
      },
    },
    async (req) => cfg.get({ scope: 'group', name: req.params.name }),
  );
  app.put(
    '/api/groups/:name/config',
    {
      config: { policy: operator('config') },
      schema: {
        summary: 'Replace a group config scope',
        params: GroupParam,
        body: ConfigScopeWrite,
        response: { 200: Scope, ...errorResponses },
      },
    },
    async (req) => cfg.put({ scope: 'group', name: req.params.name }, req.body, callerOf(req)),
  );
  app.delete(
    '/api/groups/:name/config',
    {
      config: { policy: operator('config') },
      schema: {
        summary: 'Drop a group config scope',
        params: GroupParam,
        response: { 204: z.null(), ...errorResponses },
      },
    },
    async (req, reply) => {
      await cfg.remove({ scope: 'group', name: req.params.name }, callerOf(req));
      reply.code(204);
      return null;
    },
  );
  app.get(
    '/api/groups/:name/config/inherited',
    {
      config: { policy: viewer('config') },
      schema: {
        summary: 'What a group scope builds on: built-in defaults and the global scope',
        params: GroupParam,
        response: { 200: z.object({ group: z.string(), effective: Effective }), ...errorResponses },
      },
    },
    async (req) => cfg.groupInherited(req.params.name),
  );

  app.get(
    '/api/pcs/:pc_id/config',
    {
      config: { policy: viewer('config') },
      schema: {
        summary: 'A PC config scope ({} when unset)',
        params: PcParam,
        response: { 200: Scope, ...errorResponses },
      },
    },
    async (req) => cfg.get({ scope: 'pc', pcId: req.params.pc_id }),
  );
  app.put(
    '/api/pcs/:pc_id/config',
    {
      config: { policy: operator('config') },
      schema: {
        summary: 'Replace a PC config scope',
        params: PcParam,
        body: ConfigScopeWrite,
        response: { 200: Scope, ...errorResponses },
      },
    },
    async (req) => cfg.put({ scope: 'pc', pcId: req.params.pc_id }, req.body, callerOf(req)),
  );
  app.delete(
    '/api/pcs/:pc_id/config',
    {
      config: { policy: operator('config') },
      schema: {
        summary: 'Drop a PC config scope',
        params: PcParam,
        response: { 204: z.null(), ...errorResponses },
      },
    },
    async (req, reply) => {
      await cfg.remove({ scope: 'pc', pcId: req.params.pc_id }, callerOf(req));
      reply.code(204);
      return null;
    },
  );
  app.get(
    '/api/pcs/:pc_id/config/inherited',
    {
      config: { policy: viewer('config') },
      schema: {
        summary:
          "What a PC scope builds on: built-in, global and the PC's groups alphabetically (its own scope left out)",
        params: PcParam,
        response: { 200: EffectiveView, ...errorResponses },
      },
    },
    async (req) => cfg.pcInherited(req.params.pc_id),
  );

  app.get(
    '/api/agents/:pc_id/effective_config',
    {
      config: { policy: viewer('config') },
      schema: {
        summary:
          'The configuration the agent runs with: built-in -> global -> groups alphabetically -> pc, with conflict warnings',
        params: PcParam,
        response: { 200: EffectiveView, ...errorResponses },
      },
    },
    async (req) => cfg.effective(req.params.pc_id),
  );
};
