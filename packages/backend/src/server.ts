// Starting and stopping the whole backend: database, broker (embedded or
// configured), JetStream bootstrap, ingest worker, HTTP and the local agent.
// main.ts wires it to the process; tests and benchmarks call it directly.
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import type { FastifyInstance } from 'fastify';
import pkg from '../package.json' with { type: 'json' };
import type { Config } from './config.js';
import { buildApp } from './http/app.js';
import { type Ingest, startIngest } from './ingest/supervisor.js';
import { type LocalAgent, startLocalAgent } from './local-agent.js';
import type { Logger } from './log.js';
import { createMetrics } from './metrics.js';
import { bootstrapJetStream } from './nats/bootstrap.js';
import { connectWithRetry, drainQuietly } from './nats/connect.js';
import { type EmbeddedNats, startEmbeddedNats } from './nats/embedded.js';
import { loadOrCreateSecret } from './secrets.js';
import { createServices } from './services/index.js';
import { createStore, openDb } from './store/index.js';

export const VERSION: string = pkg.version;

export interface Backend {
  url: string;
  natsUrl: string;
  app: FastifyInstance;
  nc: NatsConnection;
  ingest: Ingest;
  /** Where the generated admin token lives, when one was generated. */
  tokenFile: string | undefined;
  stop(): Promise<void>;
}

async function retry<T>(what: string, log: Logger, fn: () => Promise<T>): Promise<T> {
  let delay = 500;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      log.warn({ attempt, retry_in_ms: delay, err: (err as Error).message }, `${what} failed; retrying`);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 10_000);
    }
  }
}

export async function startBackend(config: Config, log: Logger): Promise<Backend> {
  const cleanups: (() => Promise<void> | void)[] = [];
  const stopAll = async () => {
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'error during shutdown');
      }
    }
    cleanups.length = 0;
  };

  try {
    let tokenFile: string | undefined;
    const auth = { ...config.auth };
    if (!auth.disabled && !auth.staticToken) {
      tokenFile = join(config.dataDir, 'admin-token');
      const secret = loadOrCreateSecret(tokenFile);
      auth.staticToken = secret.value;
      log.info(
        { file: tokenFile, created: secret.created },
        'API token (use as `Authorization: Bearer <token>`)',
      );
    }
    if (auth.disabled) log.warn('KANADE_AUTH_DISABLE is set: the API is open to anyone who can reach it');

    const db = openDb(config.sqlitePath);
    cleanups.push(() => {
      db.close();
    });
    const store = createStore(db);

    let natsUrl = config.natsUrl;
    if (!natsUrl) {
      const embedded: EmbeddedNats = await startEmbeddedNats(config.embeddedNats, log);
      cleanups.push(() => embedded.stop());
      natsUrl = embedded.url;
    }
    const nc = await connectWithRetry({ url: natsUrl, name: 'kanade-backend/api', log });
    cleanups.push(() => drainQuietly(nc));
    const report = await retry('JetStream bootstrap', log, () => bootstrapJetStream(nc));
    log.info(
      { created: report.created, updated: report.updated, unchanged: report.unchanged.length },
      'JetStream ready',
    );

    const metrics = createMetrics();
    const ingest = startIngest(
      {
        natsUrl,
        sqlitePath: config.sqlitePath,
        logLevel: config.logLevel,
        flushIntervalMs: config.telemetry.flushIntervalMs,
        flushMax: config.telemetry.flushMax,
      },
      metrics,
      log,
    );
    cleanups.push(() => ingest.stop());
    await ingest.ready;

    const services = createServices({ store, nc, metrics, log });
    const app = await buildApp({ log, auth, services, version: VERSION });
    cleanups.push(() => app.close());
    const address = await app.listen({ host: config.bind.host, port: config.bind.port });
    log.info(
      { url: address, data_dir: config.dataDir, sqlite: config.sqlitePath, nats: natsUrl },
      'kanade backend listening',
    );

    let agent: LocalAgent | undefined;
    if (config.localAgent) {
      agent = startLocalAgent(natsUrl, log);
      if (agent) cleanups.push(() => agent!.stop());
    }

    let stopped: Promise<void> | undefined;
    return {
      url: address,
      natsUrl,
      app,
      nc,
      ingest,
      tokenFile,
      stop: () => {
        stopped ??= stopAll();
        return stopped;
      },
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
