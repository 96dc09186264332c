// Account administration (admin, Accounts page): /api/accounts. Responses
// never carry password hashes or TOTP secrets: the schemas list the fields.
import { canonicalizeFeatures, type Feature, toRfc3339 } from '@kanade/wire';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AccountView } from '../../services/accounts.js';
import type { Services } from '../../services/index.js';
import { callerOf } from '../auth.js';
import { admin } from '../policy.js';
import { ErrorSchema, errorResponses } from './schemas.js';

const USERNAME_RE = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
const Username = z
  .string()
  .regex(USERNAME_RE, '1-64 characters: letters, digits and . _ @ - (starting with a letter or digit)');

const RoleSchema = z.enum(['viewer', 'operator', 'admin']);

/** A page allow-list: known keys only, stored de-duplicated in catalogue order. */
export const FeatureList = z
  .array(z.string().max(64))
  .max(64)
  .transform((keys, ctx): Feature[] => {
    const r = canonicalizeFeatures(keys);
    if ('unknown' in r) {
      ctx.addIssue({ code: 'custom', message: `unknown feature ${JSON.stringify(r.unknown)}` });
      return z.NEVER;
    }
    return r.features;
  });

const Password = z.string().max(1024, 'at most 1024 characters');
const Email = z.email().max(320);
const GroupName = z.string().min(1).max(64);

export const AccountSchema = z
  .object({
    username: z.string(),
    role: RoleSchema,
    disabled: z.boolean(),
    must_change_pw: z.boolean(),
    email: z.string().nullable(),
    allowed_features: z.array(z.string()).nullable(),
    permission_group: z.string().nullable(),
    mfa_enabled: z.boolean(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: 'Account' });

const account = (a: AccountView) => ({
  ...a,
  created_at: toRfc3339(a.created_at),
  updated_at: toRfc3339(a.updated_at),
});

const UsernameParam = z.object({ username: Username });

export const accountRoutes: FastifyPluginAsyncZod<{ services: Services }> = async (app, { services }) => {
  const accounts = services.accounts;

  app.get(
    '/api/accounts',
    {
      config: { policy: admin('accounts') },
      schema: {
        summary: 'Every account (no password hashes)',
        response: { 200: z.array(AccountSchema), ...errorResponses },
      },
    },
    async () => accounts.list().map(account),
  );

  app.post(
    '/api/accounts',
    {
      config: { policy: admin('accounts') },
      schema: {
        summary: 'Create an account (argon2id, at least 8 characters); must_change_pw defaults to true',
        body: z.strictObject({
          username: Username,
          role: RoleSchema,
          password: Password.optional(),
          email: Email.nullish(),
          allowed_features: FeatureList.nullish(),
          permission_group: GroupName.nullish(),
          must_change_pw: z.boolean().optional(),
        }),
        response: {
          201: AccountSchema.extend({ setup_link_sent: z.boolean() }),
          409: ErrorSchema,
          422: ErrorSchema,
          ...errorResponses,
        },
      },
    },
    async (req, reply) => {
      const a = await accounts.create(req.body, callerOf(req));
      reply.code(201);
      return { ...account(a), setup_link_sent: false };
    },
  );

  app.patch(
    '/api/accounts/:username',
    {
      config: { policy: admin('accounts') },
      schema: {
        summary:
          'Change any of role, password (forces a change at next sign-in), disabled, email, allowed_features, ' +
          'permission_group (null clears), must_change_pw, reset_mfa. A new password, reset_mfa or a change of disabled ' +
          'ends every session of the account. The last enabled admin cannot be demoted or disabled (409).',
        params: UsernameParam,
        body: z.strictObject({
          role: RoleSchema.optional(),
          password: Password.optional(),
          disabled: z.boolean().optional(),
          email: Email.nullish(),
          allowed_features: FeatureList.nullish(),
          permission_group: GroupName.nullish(),
          must_change_pw: z.boolean().optional(),
          reset_mfa: z.literal(true).optional(),
        }),
        response: {
          200: AccountSchema,
          404: ErrorSchema,
          409: ErrorSchema,
          422: ErrorSchema,
          ...errorResponses,
        },
      },
    },
    async (req) => account(await accounts.update(req.params.username, req.body, callerOf(req))),
  );

  app.delete(
    '/api/accounts/:username',
    {
      config: { policy: admin('accounts') },
      schema: {
        summary: 'Delete an account (409 for the last enabled admin)',
        params: UsernameParam,
        response: {
          204: z.null().describe('deleted'),
          404: ErrorSchema,
          409: ErrorSchema,
          ...errorResponses,
        },
      },
    },
    async (req, reply) => {
      await accounts.remove(req.params.username, callerOf(req));
      reply.code(204);
      return null;
    },
  );
};
