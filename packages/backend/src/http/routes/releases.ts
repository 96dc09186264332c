// Agent releases and rollout (the Rollout page): GET /api/agents/releases,
// POST /api/agents/publish (raw body; `version` and optional `platform` as
// query parameters or X-Kanade-Version / X-Kanade-Platform headers; the
// platform is detected from the file when not given), DELETE
// /api/agents/releases/{version} (409 while a config scope targets it),
// POST /api/agents/rollout and GET /api/agents/rollout (targets, versions in
// use and quarantine counts).
import {
  isConfigKeyToken,
  parseDuration,
  RELEASE_PLATFORMS,
  type ReleasePlatform,
  toRfc3339,
} from '@kanade/wire';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services/index.js';
import { detectPlatform, type ReleaseView } from '../../services/releases.js';
import { callerOf } from '../auth.js';
import { badRequest } from '../errors.js';
import { operator, viewer } from '../policy.js';
import { acceptRawUploads, guardUpload, TRANSFER_ROUTE, UPLOAD_SCHEMA, uploadOf } from './object-transfer.js';
import { ErrorSchema, errorResponses } from './schemas.js';

const Release = z
  .object({
    version: z.string(),
    platform: z.string(),
    key: z.string(),
    size: z.number(),
    digest: z.string().nullable().describe('SHA-256, lowercase hex'),
    modified: z.string(),
  })
  .meta({ id: 'AgentRelease' });

const release = (r: ReleaseView) => ({ ...r, modified: toRfc3339(r.modified) });

const Platform = z.enum(RELEASE_PLATFORMS);

const Jitter = z
  .string()
  .max(64)
  .refine((s) => parseDuration(s) !== undefined, 'expected a duration such as 0s, 30s, 10m or 1h');

const Token = z.string().min(1).max(128).refine(isConfigKeyToken, 'letters, digits, _, - and = only');

const RolloutBody = z.strictObject({
  version: z.string().min(1).max(128),
  scope: z.discriminatedUnion('type', [
    z.strictObject({ type: z.literal('global') }),
    z.strictObject({ type: z.literal('group'), value: Token }),
    z.strictObject({ type: z.literal('pc'), value: Token }),
  ]),
  jitter: Jitter.optional(),
});

function one(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

/** The body with its first chunk read, so the platform can be told from the file's magic bytes. */
async function peek(
  body: AsyncIterable<Uint8Array>,
): Promise<{ head: Uint8Array; body: AsyncIterable<Uint8Array> }> {
  const it = body[Symbol.asyncIterator]();
  const first = await it.next();
  const head = first.done ? new Uint8Array(0) : first.value;
  return {
    head,
    body: {
      async *[Symbol.asyncIterator]() {
        if (!first.done) yield first.value;
        for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
      },
    },
  };
}

export const releaseRoutes: FastifyPluginAsyncZod<{ services: Services }> = async (app, { services }) => {
  const releases = services.releases;
  acceptRawUploads(app);

  app.get(
    '/api/agents/releases',
    {
      config: { policy: viewer('rollout') },
      schema: {
        summary: 'Published agent releases, newest first, with size and SHA-256',
        response: { 200: z.array(Release), ...errorResponses },
      },
    },
    async () => releases.list().map(release),
  );

  app.post(
    '/api/agents/publish',
    {
      ...TRANSFER_ROUTE,
      config: { policy: operator('rollout') },
      schema: {
        summary:
          'Publish an agent release: the file as the raw body (application/octet-stream, at most 64 MiB); ' +
          'version (required) and platform as query parameters or X-Kanade-Version / X-Kanade-Platform',
        querystring: z.object({
          version: z.string().min(1).max(128).optional(),
          platform: Platform.optional(),
        }),
        ...UPLOAD_SCHEMA,
        response: { 201: Release, 409: ErrorSchema, 413: ErrorSchema, 422: ErrorSchema, ...errorResponses },
      },
    },
    async (req, reply) =>
      guardUpload(req, reply, async () => {
        const upload = uploadOf(req);
        const version = req.query.version ?? one(req.headers['x-kanade-version']);
        if (!version) {
          throw badRequest('query parameter version: required (or send the X-Kanade-Version header)');
        }
        let platform: ReleasePlatform | undefined = req.query.platform;
        const headerPlatform = one(req.headers['x-kanade-platform']);
        if (!platform && headerPlatform) {
          const p = Platform.safeParse(headerPlatform);
          if (!p.success)
            throw badRequest(`header x-kanade-platform: one of ${RELEASE_PLATFORMS.join(', ')}`);
          platform = p.data;
        }
        let body = upload.body;
        if (!platform) {
          const p = await peek(body);
          platform = detectPlatform(p.head);
          body = p.body;
        }
        const r = await releases.publish(
          { version, platform, body, length: upload.length, sha256: upload.sha256 },
          callerOf(req),
        );
        reply.code(201);
        return release(r);
      }),
  );

  app.delete(
    '/api/agents/releases/:version',
    {
      config: { policy: operator('rollout') },
      schema: {
        summary:
          'Delete every build of a release (or only ?platform=); 409 while a config scope targets the version',
        params: z.object({ version: z.string().min(1).max(128) }),
        querystring: z.object({ platform: Platform.optional() }),
        response: {
          200: z.object({ version: z.string(), removed: z.array(z.string()) }),
          404: ErrorSchema,
          409: ErrorSchema,
          ...errorResponses,
        },
      },
    },
    async (req) => ({
      version: req.params.version,
      removed: await releases.remove(req.params.version, req.query.platform, callerOf(req)),
    }),
  );

  app.post(
    '/api/agents/rollout',
    {
      config: { policy: operator('rollout') },
      schema: {
        summary:
          'Set target_version (and target_version_jitter) on the global, a group or a PC config scope; 404 when the version was never published',
        body: RolloutBody,
        response: {
          200: z.object({ key: z.string(), scope: z.record(z.string(), z.unknown()), changed: z.boolean() }),
          404: ErrorSchema,
          ...errorResponses,
        },
      },
    },
    async (req) => releases.rollout(req.body, callerOf(req)),
  );

  app.get(
    '/api/agents/rollout',
    {
      config: { policy: viewer('rollout') },
      schema: {
        summary:
          'Rollout state: every scope with a target_version, the versions agents run, and how many agents quarantined each version',
        response: {
          200: z.object({
            targets: z.array(
              z.object({
                scope: z.enum(['global', 'group', 'pc']),
                name: z.string().nullable(),
                key: z.string(),
                target_version: z.string(),
                target_version_jitter: z.string().nullable(),
              }),
            ),
            versions: z.array(
              z.object({ version: z.string().nullable(), total: z.number(), active: z.number() }),
            ),
            quarantined: z.array(z.object({ version: z.string(), agents: z.number() })),
          }),
          ...errorResponses,
        },
      },
    },
    async () => releases.status(),
  );
};
