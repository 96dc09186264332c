// Named page allow-lists (admin, Accounts page): /api/permission-groups.
// A group assigned to an account always wins over the account's own list;
// deleting a group that still has members is a 409.
import { toRfc3339 } from '@kanade/wire';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services/index.js';
import { callerOf } from '../auth.js';
import { admin } from '../policy.js';
import { FeatureList } from './accounts.js';
import { ErrorSchema, errorResponses } from './schemas.js';

const GroupName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._ -]{0,63}$/, '1-64 characters: letters, digits, space and . _ - ');

const GroupSchema = z
  .object({
    name: z.string(),
    features: z.array(z.string()),
    member_count: z.number(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: 'PermissionGroup' });

const group = (g: {
  name: string;
  features: string[];
  member_count: number;
  created_at: number;
  updated_at: number;
}) => ({
  ...g,
  created_at: toRfc3339(g.created_at),
  updated_at: toRfc3339(g.updated_at),
});

const NameParam = z.object({ name: GroupName });

export const permissionGroupRoutes: FastifyPluginAsyncZod<{ services: Services }> = async (
  app,
  { services },
) => {
  const accounts = services.accounts;

  app.get(
    '/api/permission-groups',
    {
      config: { policy: admin('accounts') },
      schema: {
        summary: 'Permission groups with their member counts',
        response: { 200: z.array(GroupSchema), ...errorResponses },
      },
    },
    async () => accounts.listGroups().map(group),
  );

  app.post(
    '/api/permission-groups',
    {
      config: { policy: admin('accounts') },
      schema: {
        summary: 'Create a permission group',
        body: z.strictObject({ name: GroupName, features: FeatureList }),
        response: { 201: GroupSchema, 409: ErrorSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const g = await accounts.createGroup(req.body.name, req.body.features, callerOf(req));
      reply.code(201);
      return group(g);
    },
  );

  app.patch(
    '/api/permission-groups/:name',
    {
      config: { policy: admin('accounts') },
      schema: {
        summary: "Replace a group's features (members follow at their next request)",
        params: NameParam,
        body: z.strictObject({ features: FeatureList }),
        response: { 200: GroupSchema, 404: ErrorSchema, ...errorResponses },
      },
    },
    async (req) => group(await accounts.updateGroup(req.params.name, req.body.features, callerOf(req))),
  );

  app.delete(
    '/api/permission-groups/:name',
    {
      config: { policy: admin('accounts') },
      schema: {
        summary: 'Delete a permission group (409 while it has members)',
        params: NameParam,
        response: {
          204: z.null().describe('deleted'),
          404: ErrorSchema,
          409: ErrorSchema,
          ...errorResponses,
        },
      },
    },
    async (req, reply) => {
      await accounts.removeGroup(req.params.name, callerOf(req));
      reply.code(204);
      return null;
    },
  );
};
