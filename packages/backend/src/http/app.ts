// buildApp(deps) assembles the Fastify instance without listening, so tests
// can `inject` and main can `listen`. Shared concerns (error shape, auth,
// route policy, compression, OpenAPI) are set up here; each resource is a
// plugin under routes/.
import compress from '@fastify/compress';
import swagger from '@fastify/swagger';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  LogController,
} from 'fastify';
import {
  hasZodFastifySchemaValidationErrors,
  isResponseSerializationError,
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import type { Services } from '../services/index.js';
import { type AuthSettings, registerAuth } from './auth.js';
import { ApiError, codeForStatus, type ErrorBody } from './errors.js';
import { enforceRoutePolicies } from './policy.js';
import { agentRoutes } from './routes/agents.js';
import { healthRoutes } from './routes/health.js';
import { metaRoutes } from './routes/meta.js';
import { perfRoutes } from './routes/perf.js';

export interface AppDeps {
  log: Logger;
  auth: AuthSettings;
  services: Services;
  version: string;
}

const PART_NAMES: Record<string, string> = {
  querystring: 'query parameter',
  params: 'path parameter',
  body: 'body field',
  headers: 'header',
};

function describeValidation(err: FastifyError): string {
  if (hasZodFastifySchemaValidationErrors(err)) {
    return err.validation
      .map((v) => {
        const field = v.instancePath.replace(/^\//, '').replaceAll('/', '.');
        const part = PART_NAMES[err.validationContext ?? ''] ?? err.validationContext ?? 'input';
        return field ? `${part} ${field}: ${v.message}` : `${part}: ${v.message}`;
      })
      .join('; ');
  }
  return err.message;
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.log as unknown as FastifyBaseLogger,
    // Per-request log lines would dominate the log at fleet scale; failures are logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    trustProxy: false,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  app.setErrorHandler((err: FastifyError, req, reply) => {
    let body: ErrorBody;
    let status: number;
    if (err instanceof ApiError) {
      status = err.statusCode;
      body = { code: err.code, message: err.message };
    } else if (err.validation) {
      status = 400;
      body = { code: 'KANADE_ERR_BAD_REQUEST', message: describeValidation(err) };
    } else if (
      !isResponseSerializationError(err) &&
      err.statusCode &&
      err.statusCode >= 400 &&
      err.statusCode < 500
    ) {
      status = err.statusCode;
      body = { code: codeForStatus(status), message: err.message };
    } else {
      status = 500;
      req.log.error({ err, url: req.url, method: req.method }, 'request failed');
      body = { code: 'KANADE_ERR_INTERNAL', message: 'internal error; see the backend log' };
    }
    if (status === 401) reply.header('www-authenticate', 'Bearer realm="kanade"');
    reply.status(status).send(body);
  });

  app.setNotFoundHandler((req, reply) => {
    reply
      .status(404)
      .send({ code: 'KANADE_ERR_NOT_FOUND', message: `no route ${req.method} ${req.url.split('?', 1)[0]}` });
  });

  enforceRoutePolicies(app);
  registerAuth(app, deps.auth);
  await app.register(compress, { global: true, threshold: 1024 });
  await app.register(swagger, {
    openapi: { info: { title: 'kanade API', version: deps.version } },
    transform: jsonSchemaTransform,
  });

  await app.register(metaRoutes, { version: deps.version, services: deps.services });
  await app.register(healthRoutes, { services: deps.services });
  await app.register(agentRoutes, { services: deps.services });
  await app.register(perfRoutes, { services: deps.services });
  return app;
}
