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
import { BrokerMisconfigured, bootstrapJetStream } from './nats/bootstrap.js';
import { connectWithRetry, drainQuietly } from './nats/connect.js';
import { type EmbeddedNats, startEmbeddedNats } from './nats/embedded.js';
import { joinReplicas, SessionKeyMismatch } from './nats/replicas.js';
import { resetIfWiped } from './projectors/consumer-reset.js';
import { startScheduler } from './scheduler/index.js';
import { loadOrCreateSecret } from './secrets.js';
import { createServices } from './services/index.js';
import { startCheckpointer } from './store/checkpointer.js';
import { createStore, openDb, redactUrl } from './store/index.js';
import { startSweeper } from './sweeper/index.js';

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
      if (err instanceof BrokerMisconfigured || err instanceof SessionKeyMismatch) throw err;
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
    const auth = { disabled: config.auth.disabled, staticToken: config.auth.staticToken };
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

    const db = openDb({ sqlitePath: config.sqlitePath, postgresUrl: config.postgresUrl });
    cleanups.push(() => {
      db.close();
    });
    const store = createStore(db);
    if (db.dialect === 'sqlite') {
      // WAL checkpoints on a thread of their own instead of inside some writer's commit (store/checkpointer.ts).
      const checkpointer = startCheckpointer(config.sqlitePath, log);
      cleanups.push(() => checkpointer.stop());
    }

    let natsUrl = config.natsUrl;
    let embedded: EmbeddedNats | undefined;
    if (!natsUrl) {
      const e = config.embeddedNats;
      // Beyond loopback the broker is never open: a configured token, or one generated once.
      const token =
        e.token ??
        (e.requireToken ? loadOrCreateSecret(join(config.dataDir, 'nats-token')).value : undefined);
      embedded = await startEmbeddedNats({ ...e, token }, log);
      cleanups.push(() => embedded!.stop());
      natsUrl = embedded.url;
    }
    const natsToken = embedded?.token;
    const nc = await connectWithRetry({ url: natsUrl, token: natsToken, name: 'kanade-backend/api', log });
    cleanups.push(() => drainQuietly(nc));
    const report = await retry('JetStream bootstrap', log, () => bootstrapJetStream(nc, config.natsReplicas));
    log.info(
      {
        replicas: config.natsReplicas,
        created: report.created,
        updated: report.updated,
        changes: report.changes,
        unchanged: report.unchanged.length,
      },
      'JetStream ready',
    );
    const jwtSecret = config.auth.jwtSecret ?? loadOrCreateSecret(join(config.dataDir, 'jwt-secret')).value;
    // Every replica must sign sessions with the same key (nats/replicas.ts says why it is not shared via KV);
    // checked before this replica consumes anything, so a refused one leaves no trace.
    const presence = await retry('replica registration', log, () =>
      joinReplicas({
        nc,
        log,
        jwtSecret,
        secretSource: config.auth.jwtSecret ? 'KANADE_JWT_SECRET' : join(config.dataDir, 'jwt-secret'),
      }),
    );
    cleanups.push(() => presence.stop());
    // Before the projectors start: a wiped database replays the streams (upstream consumer_reset).
    await retry('consumer reset', log, () => resetIfWiped(nc, db, log));

    const metrics = createMetrics();
    // Cleanups run in reverse: registered before the app's, the projectors stop after the HTTP app has
    // closed, so requests still in flight (a run waiting for its result) are answered.
    let ingest: Ingest | undefined;
    cleanups.push(() => ingest?.stop());
    // The HTTP app is built (its routes' schemas compiled, the first admin seeded) before the
    // projectors start: after a restart with a backlog, that work would otherwise take a core from
    // the drain for its first few hundred ms (bench results, docs/performance.md).
    const services = createServices({
      store,
      nc,
      metrics,
      log,
      jwtSecret,
      natsUrl,
      embeddedNats: embedded
        ? { host: config.embeddedNats.host, port: config.embeddedNats.port, token: embedded.token }
        : undefined,
    });
    cleanups.push(() => services.audit.stop());
    const seeded = await services.accounts.seedBootstrapAdmin({
      username: config.auth.bootstrapAdminUser,
      password: config.auth.bootstrapAdminPassword,
      // All-in-one mode (embedded broker): generate the first admin's password once.
      generatedPasswordFile: config.natsUrl ? undefined : join(config.dataDir, 'admin-password'),
    });
    if (seeded?.file) {
      process.stderr.write(
        `\nFirst sign-in: user "${seeded.username}", password "${seeded.password}" ` +
          `(also in ${seeded.file}; you will be asked to change it)\n\n`,
      );
    }
    const app = await buildApp({ log, auth, services, version: VERSION });
    cleanups.push(() => app.close());
    ingest = startIngest(
      {
        natsUrl,
        natsToken,
        sqlitePath: config.sqlitePath,
        postgresUrl: config.postgresUrl,
        logLevel: config.logLevel,
        flushIntervalMs: config.telemetry.flushIntervalMs,
        flushMax: config.telemetry.flushMax,
        writerThread: process.env.KANADE_INGEST_WRITER_THREAD !== '0',
        // Replicas on PostgreSQL share each durable, so each message is acked on its own there.
        ackAll: !config.postgresUrl && process.env.KANADE_INGEST_ACK_ALL !== '0',
      },
      metrics,
      log,
    );
    await ingest.ready;

    services.waves.start();
    cleanups.push(() => services.waves.stop());
    const sweeper = startSweeper({ store, log, intervalMs: config.sweepIntervalMs });
    cleanups.push(() => sweeper.stop());
    services.fleetTasks.start({ watchdogIntervalMs: config.watchdogIntervalMs });
    cleanups.push(() => services.fleetTasks.stop());
    void services.objectTasks.start();
    cleanups.push(() => services.objectTasks.stop());
    const scheduler = startScheduler({
      nc,
      store,
      log,
      exec: services.exec,
      jobs: services.jobs,
      // Test-only: a seconds-granular poll for the reconcile shapes (scheduler/index.ts).
      pollCron: process.env.KANADE_SCHEDULER_POLL_CRON || undefined,
    });
    cleanups.push(() => scheduler.stop());
    const address = await app.listen({ host: config.bind.host, port: config.bind.port });
    log.info(
      {
        url: address,
        data_dir: config.dataDir,
        ...(config.postgresUrl ? { postgres: redactUrl(config.postgresUrl) } : { sqlite: config.sqlitePath }),
        nats: natsUrl,
      },
      'kanade backend listening',
    );

    let agent: LocalAgent | undefined;
    if (config.localAgent) {
      agent = startLocalAgent(natsUrl, join(config.dataDir, 'agent'), log, natsToken);
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
