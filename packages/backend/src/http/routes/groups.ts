// Group membership: GET /api/groups (every group, from both membership
// buckets and the config scopes) and /api/agents/{pc_id}/groups (read,
// replace, add one, remove one). Add and remove are CAS updates of the PC's
// `agent_groups` key, so concurrent edits never lose a member.
import { isConfigKeyToken } from '@kanade/wire';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services/index.js';
import { callerOf } from '../auth.js';
import { operator, viewer } from '../policy.js';
import { errorResponses } from './schemas.js';

const token = (what: string) =>
  z.string().min(1).max(128).refine(isConfigKeyToken, `${what} may hold letters, digits, _, - and = only`);
const PcParam = z.object({ pc_id: token('a pc_id') });
const PcGroupParam = z.object({ pc_id: token('a pc_id'), group: token('a group name') });
const Groups = z.object({ groups: z.array(z.string()) });

export const groupRoutes: FastifyPluginAsyncZod<{ services: Services }> = async (app, { services }) => {
  app.get(
    '/api/groups',
    {
      config: { policy: viewer('groups') },
      schema: {
        summary:
          'Every group: members (operator-assigned and derived), whether it has a config scope, contacts',
        response: {
          200: z.object({
            groups: z.array(
              z.object({
                name: z.string(),
                members: z.array(z.string()),
                has_config: z.boolean(),
                emails: z.array(z.string()),
              }),
            ),
          }),
          ...errorResponses,
        },
      },
    },
    async () => services.groups.listAll(),
  );

  app.get(
    '/api/agents/:pc_id/groups',
    {
      config: { policy: viewer() },
      schema: {
        summary: "A PC's operator-assigned groups, and the groups derived from group definitions",
        params: PcParam,
        response: {
          200: z.object({ groups: z.array(z.string()), derived: z.array(z.string()) }),
          ...errorResponses,
        },
      },
    },
    async (req) => services.groups.memberships(req.params.pc_id),
  );

  app.put(
    '/api/agents/:pc_id/groups',
    {
      config: { policy: operator() },
      schema: {
        summary: "Replace a PC's groups (stored sorted and de-duplicated)",
        params: PcParam,
        body: z.strictObject({ groups: z.array(token('a group name')).max(1000) }),
        response: { 200: Groups, ...errorResponses },
      },
    },
    async (req) => services.groups.set(req.params.pc_id, req.body.groups, callerOf(req)),
  );

  app.post(
    '/api/agents/:pc_id/groups',
    {
      config: { policy: operator() },
      schema: {
        summary: 'Add a PC to a group (compare-and-swap; concurrent adds all land)',
        params: PcParam,
        body: z.strictObject({ group: token('a group name') }),
        response: { 200: Groups, ...errorResponses },
      },
    },
    async (req) => services.groups.add(req.params.pc_id, req.body.group, callerOf(req)),
  );

  app.delete(
    '/api/agents/:pc_id/groups/:group',
    {
      config: { policy: operator() },
      schema: {
        summary: 'Remove a PC from a group; returns the remaining groups',
        params: PcGroupParam,
        response: { 200: Groups, ...errorResponses },
      },
    },
    async (req) => services.groups.remove(req.params.pc_id, req.params.group, callerOf(req)),
  );
};
