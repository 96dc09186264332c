// buildApp(deps) assembles the Fastify instance without listening, so tests
// can `inject` and main can `listen`. Shared concerns (error shape, auth,
// route policy, compression, OpenAPI) are set up here; each resource is a
// plugin under routes/.
import compress from '@fastify/compress';
import swagger from '@fastify/swagger';
import { errors as natsErrors } from '@nats-io/transport-node';
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
import { isInvalidPattern, isStoreUnavailable } from '../store/db.js';
import { type AuthSettings, registerAuth } from './auth.js';
import { ApiError, codeForStatus, type ErrorBody } from './errors.js';
import { enforceRoutePolicies } from './policy.js';
import { accountRoutes } from './routes/accounts.js';
import { agentMetaRoutes } from './routes/agent-meta.js';
import { agentRoutes } from './routes/agents.js';
import { appPackageRoutes } from './routes/app-packages.js';
import { auditRoutes } from './routes/audit.js';
import { authRoutes } from './routes/auth.js';
import { checkRoutes } from './routes/checks.js';
import { collectRoutes } from './routes/collect.js';
import { configRoutes } from './routes/config.js';
import { execRoutes } from './routes/exec.js';
import { executionRoutes } from './routes/executions.js';
import { freezeRoutes } from './routes/freeze.js';
import { groupDefRoutes } from './routes/group-defs.js';
import { groupRoutes } from './routes/groups.js';
import { healthRoutes } from './routes/health.js';
import { installerRoutes } from './routes/installer.js';
import { inventoryRoutes } from './routes/inventory.js';
import { jobRoutes } from './routes/jobs.js';
import { metaRoutes } from './routes/meta.js';
import { obsEventRoutes } from './routes/obs-events.js';
import { perfRoutes } from './routes/perf.js';
import { permissionGroupRoutes } from './routes/permission-groups.js';
import { queryRoutes } from './routes/query.js';
import { releaseRoutes } from './routes/releases.js';
import { resultRoutes } from './routes/results.js';
import { runRoutes } from './routes/run.js';
import { scheduleRoutes } from './routes/schedules.js';
import { scriptObjectRoutes } from './routes/script-objects.js';
import { scriptRoutes } from './routes/scripts.js';
import { serverSettingsRoutes } from './routes/server-settings.js';
import { spaRoutes } from './routes/spa.js';
import { streamRoutes } from './routes/stream.js';

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

/** The NATS client gave up: timed out, disconnected, closed or draining (a broker outage, not a bug). */
function isBrokerUnavailable(err: unknown): boolean {
  return (
    err instanceof natsErrors.TimeoutError ||
    err instanceof natsErrors.ClosedConnectionError ||
    err instanceof natsErrors.ConnectionError ||
    err instanceof natsErrors.DrainingConnectionError ||
    (err instanceof natsErrors.RequestError && err.cause instanceof natsErrors.TimeoutError) ||
    // No responder for a JetStream request (nats.js: JetStreamNotEnabled, not exported): in a cluster,
    // the stream is electing a new leader.
    (err instanceof natsErrors.RequestError && err.isNoResponders()) ||
    (err instanceof Error && err.name === 'JetStreamNotEnabled')
  );
}

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
    } else if (isBrokerUnavailable(err)) {
      // A KV read or publish while the broker is down or restarting: nothing was done, retrying is safe.
      status = 503;
      req.log.warn({ err: err.message, url: req.url, method: req.method }, 'broker unavailable');
      body = {
        code: 'KANADE_ERR_UNAVAILABLE',
        message: `the NATS broker did not answer (${err.message}); retry once it is back`,
      };
    } else if (isInvalidPattern(err)) {
      status = 400;
      body = { code: 'KANADE_ERR_BAD_REQUEST', message: `invalid regular expression: ${err.message}` };
    } else if (isStoreUnavailable(err)) {
      // PostgreSQL is down or restarting: the store reconnects by itself; the request's transaction
      // was rolled back.
      status = 503;
      req.log.warn({ err: err.message, url: req.url, method: req.method }, 'database unavailable');
      body = { code: 'KANADE_ERR_UNAVAILABLE', message: `${err.message}; retry once it is back` };
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
  registerAuth(app, deps.auth, deps.services);
  await app.register(compress, { global: true, threshold: 1024 });
  await app.register(swagger, {
    openapi: { info: { title: 'kanade API', version: deps.version } },
    transform: jsonSchemaTransform,
  });

  await app.register(metaRoutes, { version: deps.version, services: deps.services });
  await app.register(healthRoutes, { services: deps.services });
  await app.register(agentRoutes, { services: deps.services });
  await app.register(perfRoutes, { services: deps.services });
  await app.register(authRoutes, { services: deps.services });
  await app.register(accountRoutes, { services: deps.services });
  await app.register(permissionGroupRoutes, { services: deps.services });
  await app.register(auditRoutes, { services: deps.services });
  await app.register(serverSettingsRoutes, { services: deps.services });
  await app.register(jobRoutes, { services: deps.services });
  await app.register(execRoutes, { services: deps.services });
  await app.register(runRoutes, { services: deps.services });
  await app.register(executionRoutes, { services: deps.services });
  await app.register(resultRoutes, { services: deps.services });
  await app.register(scriptRoutes, { services: deps.services });
  await app.register(scheduleRoutes, { services: deps.services });
  await app.register(freezeRoutes, { services: deps.services });
  await app.register(streamRoutes, { services: deps.services });
  await app.register(configRoutes, { services: deps.services });
  await app.register(groupRoutes, { services: deps.services });
  await app.register(agentMetaRoutes, { services: deps.services });
  await app.register(groupDefRoutes, { services: deps.services });
  await app.register(obsEventRoutes, { services: deps.services });
  await app.register(inventoryRoutes, { services: deps.services });
  await app.register(checkRoutes, { services: deps.services });
  await app.register(queryRoutes, { services: deps.services });
  await app.register(releaseRoutes, { services: deps.services });
  await app.register(installerRoutes, { services: deps.services });
  await app.register(appPackageRoutes, { services: deps.services });
  await app.register(scriptObjectRoutes, { services: deps.services });
  await app.register(collectRoutes, { services: deps.services });
  // The dashboard's catch-all GET /* (a wildcard: every other route wins over it). Keep it last.
  await app.register(spaRoutes);
  return app;
}
