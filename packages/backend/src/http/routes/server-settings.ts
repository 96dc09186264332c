// Server settings (Settings page): the `server_settings` KV document. GET is
// viewer (support-code hashes are never returned), PUT is operator and
// replaces the editable fields as a whole; a bad value is a 422 naming the
// field (the body is validated by the service, not the route schema, so the
// status is 422 rather than the generic 400).
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services/index.js';
import { MailSettings, parseEditable } from '../../services/server-settings.js';
import { callerOf } from '../auth.js';
import { operator, viewer } from '../policy.js';
import { ErrorSchema, errorResponses } from './schemas.js';

const SettingsSchema = z
  .object({
    agent_prune_days: z.number().nullish(),
    controller_group: z.string().nullish(),
    mail: MailSettings.nullish(),
    collect_retention_days: z.number().nullish(),
    session_ttl_hours: z.number().nullish(),
    check_status_stale_days: z.number().nullish(),
    agent_install: z
      .object({ nats_url: z.string().optional(), nats_token_set: z.boolean() })
      .optional()
      .describe(
        'what agent installers bake in; the token is write-only (PUT nats_token: a string sets it, null removes it, absent keeps it)',
      ),
    support_codes: z.array(
      z.object({
        scope: z.string(),
        label: z.string().nullish(),
        ttl_minutes: z.number().nullish(),
        disabled: z.boolean().optional(),
      }),
    ),
  })
  .meta({ id: 'ServerSettings' });

export const serverSettingsRoutes: FastifyPluginAsyncZod<{ services: Services }> = async (
  app,
  { services },
) => {
  const settings = services.serverSettings;

  app.get(
    '/api/server-settings',
    {
      config: { policy: viewer('settings') },
      schema: {
        summary: 'The stored server settings (unset fields fall back to /defaults)',
        response: { 200: SettingsSchema, 503: ErrorSchema, ...errorResponses },
      },
    },
    async () => settings.get(),
  );

  app.get(
    '/api/server-settings/defaults',
    {
      config: { policy: viewer('settings') },
      schema: { summary: 'The built-in defaults', response: { 200: SettingsSchema, ...errorResponses } },
    },
    async () => settings.defaults(),
  );

  app.put(
    '/api/server-settings',
    {
      config: { policy: operator('settings') },
      schema: {
        summary:
          'Replace the editable settings (fields left out become unset); support_codes are kept as stored. 422 names a bad field.',
        body: z.unknown(),
        response: {
          200: SettingsSchema,
          409: ErrorSchema,
          422: ErrorSchema,
          503: ErrorSchema,
          ...errorResponses,
        },
      },
    },
    async (req) => settings.replace(parseEditable(req.body), callerOf(req)),
  );
};
