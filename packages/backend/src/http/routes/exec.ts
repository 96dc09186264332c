// POST /api/exec/{job_id}: fan a catalog job out with a FanoutPlan (target,
// rollout waves with an optional abort_on_failure_pct, jitter, deadline_at).
import { FanoutPlan, ManifestId } from '@kanade/wire';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services/index.js';
import { callerOf } from '../auth.js';
import { operator } from '../policy.js';
import { ErrorSchema, errorResponses } from './schemas.js';

const ExecResponse = z
  .object({
    exec_id: z.string(),
    job_id: z.string(),
    version: z.string(),
    target_count: z.number(),
    subjects: z.array(z.string()),
  })
  .meta({ id: 'ExecResponse' });

export const execRoutes: FastifyPluginAsyncZod<{ services: Services }> = async (app, { services }) => {
  app.post(
    '/api/exec/:job_id',
    {
      config: { policy: operator('exec') },
      schema: {
        summary: 'Run a catalog job on its target: one Command per subject, delayed waves persisted',
        params: z.object({ job_id: ManifestId }),
        body: FanoutPlan,
        response: {
          200: ExecResponse,
          404: ErrorSchema,
          422: ErrorSchema,
          502: ErrorSchema,
          503: ErrorSchema,
          ...errorResponses,
        },
      },
    },
    async (req) => services.exec.exec(req.params.job_id, req.body, 'operator', callerOf(req)),
  );
};
