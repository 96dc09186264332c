// Agent installers (the Add agents page): GET /api/agents/installer/info,
// GET /api/agents/installer (the .tar.gz) and GET /api/agents/installer.sh
// (the one-liner's script, which embeds the caller's bearer token so its own
// download is authenticated, as upstream's). services/installer.ts has the
// rules; `os` is linux only, `arch` is accepted for upstream's links and
// changes nothing (the TypeScript agent runs on Node.js on either).
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services/index.js';
import { INSTALLER_ARCH, INSTALLER_OS } from '../../services/installer.js';
import { bearer } from '../auth.js';
import { badRequest } from '../errors.js';
import { viewer } from '../policy.js';
import { ErrorSchema, errorResponses } from './schemas.js';

const Platform = z.object({
  os: z
    .string()
    .default('linux')
    .refine((os) => (INSTALLER_OS as readonly string[]).includes(os), {
      message:
        'only linux: this backend builds installers for its TypeScript agent on Linux (systemd); Windows and macOS are not built yet',
    }),
  arch: z.enum(INSTALLER_ARCH).default('x86_64'),
});

const Info = z
  .object({
    platforms: z.array(z.object({ os: z.string(), arch: z.array(z.string()) })),
    nats_url: z.string(),
    nats_url_source: z.enum(['settings', 'backend']),
    loopback: z.boolean().describe('only an agent on the backend machine could reach this broker URL'),
    nats_token_set: z.boolean(),
    release: z
      .object({ version: z.string(), source: z.enum(['agent_releases', 'bundled']) })
      .nullable()
      .describe('what an installer would install; null: nothing to install yet'),
  })
  .meta({ id: 'AgentInstallerInfo' });

export const installerRoutes: FastifyPluginAsyncZod<{ services: Services }> = async (app, { services }) => {
  const installer = services.installer;

  app.get(
    '/api/agents/installer/info',
    {
      config: { policy: viewer('agent-install') },
      schema: {
        summary:
          'What an agent installer would contain: the release, the broker URL and whether a token is set',
        response: { 200: Info, ...errorResponses },
      },
    },
    async (req) => installer.info(req.hostname),
  );

  app.get(
    '/api/agents/installer',
    {
      config: { policy: viewer('agent-install') },
      schema: {
        summary:
          'A .tar.gz that installs the agent as a systemd service (install.sh, the agent, agent.env with the broker URL and token)',
        querystring: Platform,
        response: { 200: z.unknown().describe('the .tar.gz'), 404: ErrorSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const a = await installer.archive(req.hostname);
      reply
        .header('content-type', 'application/gzip')
        .header('content-disposition', `attachment; filename="${a.filename}"`)
        .header('cache-control', 'no-store')
        .header('x-kanade-version', a.version);
      return a.body;
    },
  );

  app.get(
    '/api/agents/installer.sh',
    {
      config: { policy: viewer('agent-install') },
      schema: {
        summary:
          'A script that downloads the installer with the caller’s bearer token and runs it: curl -fsSL -H "Authorization: Bearer …" <url> | sudo sh',
        querystring: Platform,
        response: { 200: z.string().describe('a POSIX sh script'), ...errorResponses },
      },
    },
    async (req, reply) => {
      const token = bearer(req);
      if (!token)
        throw badRequest('send the token as Authorization: Bearer: the script embeds it for its download');
      const url = `${req.protocol}://${req.host}/api/agents/installer?os=${req.query.os}&arch=${req.query.arch}`;
      reply.header('content-type', 'text/x-shellscript; charset=utf-8').header('cache-control', 'no-store');
      return installer.script(url, token);
    },
  );
};
