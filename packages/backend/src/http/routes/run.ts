// POST /api/run (an ad-hoc script on one PC, waiting for its result) and
// POST /api/agents/{pc_id}/ping (a fresh heartbeat on request).
import { isValidToken, RunAs } from '@kanade/wire';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services/index.js';
import { callerOf } from '../auth.js';
import { intParam } from '../params.js';
import { operator } from '../policy.js';
import { ErrorSchema, errorResponses } from './schemas.js';

const pcId = z.string().min(1).max(256).refine(isValidToken, 'must be one NATS subject token');

const RunBody = z.strictObject({
  pc_id: pcId,
  /** `ps` is upstream's alias of powershell; pwsh is PowerShell 7, sh is POSIX. */
  shell: z.enum(['powershell', 'ps', 'pwsh', 'cmd', 'sh']).default('powershell'),
  script: z
    .string()
    .min(1)
    .max(1024 * 1024),
  timeout_secs: z.number().int().min(1).max(86_400).default(60),
  exec_id: z.string().min(1).max(128).refine(isValidToken, 'must be one NATS subject token').optional(),
  job_id: z.string().min(1).max(128).refine(isValidToken, 'must be one NATS subject token').optional(),
  jitter_secs: z.number().int().min(0).max(86_400).optional(),
  run_as: RunAs.default('system'),
});

export const ExecResultSchema = z
  .looseObject({
    result_id: z.string(),
    request_id: z.string(),
    exec_id: z.string().nullish(),
    pc_id: z.string(),
    exit_code: z.number(),
    skipped: z.boolean().nullish(),
    stdout: z.string(),
    stderr: z.string(),
    started_at: z.string(),
    finished_at: z.string(),
  })
  .meta({ id: 'ExecResult' });

export const runRoutes: FastifyPluginAsyncZod<{ services: Services }> = async (app, { services }) => {
  app.post(
    '/api/run',
    {
      config: { policy: operator('run') },
      schema: {
        summary: 'Run a script on one PC and wait for its result (timeout + 10 s, then 408)',
        body: RunBody,
        response: { 200: ExecResultSchema, 408: ErrorSchema, 502: ErrorSchema, ...errorResponses },
      },
    },
    async (req) => {
      const b = req.body;
      return services.run.run(
        {
          pc_id: b.pc_id,
          shell: b.shell === 'ps' ? 'powershell' : b.shell,
          script: b.script,
          timeout_secs: b.timeout_secs,
          exec_id: b.exec_id ?? b.job_id,
          jitter_secs: b.jitter_secs,
          run_as: b.run_as,
        },
        callerOf(req),
      );
    },
  );

  app.post(
    '/api/agents/:pc_id/ping',
    {
      config: { policy: operator('agents') },
      schema: {
        summary: 'Ask the agent for a fresh heartbeat (408 when it does not answer within wait_secs)',
        params: z.object({ pc_id: pcId }),
        querystring: z.object({ wait_secs: intParam(1, 60).default(5) }),
        response: {
          200: z.object({ heartbeat: z.looseObject({ pc_id: z.string(), at: z.string() }) }),
          408: ErrorSchema,
          502: ErrorSchema,
          ...errorResponses,
        },
      },
    },
    async (req) => services.run.ping(req.params.pc_id, req.query.wait_secs),
  );
};
