// One typed Config from upstream's TOML sections plus environment overrides.
// Environment wins over the file; with neither, the backend is self-contained:
// ./data, SQLite at data/kanade.db, a child nats-server on 127.0.0.1:4222 and
// HTTP on 127.0.0.1:8080 (loopback unless configured otherwise).
import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { z } from 'zod';
import { BROKER_TOKEN_CHARS, BROKER_TOKEN_RE, isLoopbackHost } from './nats/hosts.js';

export interface Config {
  bind: { host: string; port: number };
  /** Broker to use; undefined means "start an embedded nats-server". */
  natsUrl: string | undefined;
  /**
   * `[nats] replicas` / KANADE_NATS_REPLICAS (1..5, default 1): how many cluster nodes hold a copy
   * of every stream, KV bucket and object store. More than 1 needs a clustered broker.
   */
  natsReplicas: number;
  /**
   * The all-in-one broker: KANADE_EMBEDDED_NATS_HOST (default 127.0.0.1) and _PORT. `token` is
   * KANADE_EMBEDDED_NATS_TOKEN; `requireToken` is set when the broker listens beyond loopback, where
   * it must not be open: without a configured token one is generated once into <data dir>/nats-token.
   */
  embeddedNats: {
    host: string;
    port: number;
    storeDir: string;
    token: string | undefined;
    requireToken: boolean;
  };
  dataDir: string;
  sqlitePath: string;
  /** `[db] postgres_url` / KANADE_POSTGRES_URL (env wins): use PostgreSQL instead of the SQLite file. */
  postgresUrl: string | undefined;
  logLevel: string;
  localAgent: boolean;
  auth: {
    disabled: boolean;
    staticToken: string | undefined;
    /** KANADE_JWT_SECRET; unset = generated once into <data dir>/jwt-secret */
    jwtSecret?: string | undefined;
    bootstrapAdminUser?: string | undefined;
    bootstrapAdminPassword?: string | undefined;
  };
  telemetry: { flushIntervalMs: number; flushMax: number };
  /** Sweeper interval (KANADE_SWEEP_INTERVAL_MS; default 5 minutes as upstream). */
  sweepIntervalMs: number;
  /** Agent watchdog interval (KANADE_WATCHDOG_INTERVAL_MS; default 60 s). */
  watchdogIntervalMs: number;
  configFile: string | undefined;
}

const FileSchema = z
  .object({
    server: z.object({ bind: z.string().optional(), public_url: z.string().optional() }).loose().optional(),
    nats: z
      .object({
        url: z.string().optional(),
        monitor_url: z.string().optional(),
        replicas: z.number().int().optional(),
      })
      .loose()
      .optional(),
    db: z
      .object({ sqlite_path: z.string().optional(), postgres_url: z.string().optional() })
      .loose()
      .optional(),
    log: z.object({ level: z.string().optional(), path: z.string().optional() }).loose().optional(),
    data: z.object({ dir: z.string().optional() }).loose().optional(),
    telemetry: z
      .object({
        flush_interval_ms: z.number().int().positive().optional(),
        flush_max: z.number().int().positive().optional(),
      })
      .optional(),
  })
  .loose();

export class ConfigError extends Error {}

export function parseBind(text: string, what: string): { host: string; port: number } {
  const m = /^\[?([^\]]*?)\]?:(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[2]) : Number.NaN;
  if (!m?.[1] || port < 0 || port > 65535) {
    throw new ConfigError(`${what} must be host:port (e.g. 127.0.0.1:8080), got ${JSON.stringify(text)}`);
  }
  return { host: m[1], port };
}

const LOG_LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']);

function truthy(v: string | undefined): boolean {
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

/**
 * Build the Config. `env` is usually process.env; `cwd` anchors relative paths.
 * `--config <file>` in argv wins over KANADE_BACKEND_CONFIG.
 */
export function loadConfig(env: NodeJS.ProcessEnv, argv: string[] = [], cwd = process.cwd()): Config {
  const flag = argv.indexOf('--config');
  const configFile = flag >= 0 ? argv[flag + 1] : env.KANADE_BACKEND_CONFIG || undefined;
  let file: z.infer<typeof FileSchema> = {};
  if (configFile) {
    let text: string;
    try {
      text = readFileSync(resolve(cwd, configFile), 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read config file ${configFile}: ${(err as Error).message}`);
    }
    let raw: unknown;
    try {
      raw = parseToml(text);
    } catch (err) {
      throw new ConfigError(`config file ${configFile} is not valid TOML: ${(err as Error).message}`);
    }
    const parsed = FileSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new ConfigError(`config file ${configFile}: ${issue.path.join('.')}: ${issue.message}`);
    }
    file = parsed.data;
  }

  const dataDir = resolve(cwd, env.KANADE_DATA_DIR || file.data?.dir || 'data');
  const sqliteRaw = env.KANADE_SQLITE_PATH || file.db?.sqlite_path;
  const sqlitePath = sqliteRaw
    ? isAbsolute(sqliteRaw)
      ? sqliteRaw
      : resolve(cwd, sqliteRaw)
    : join(dataDir, 'kanade.db');
  const postgresUrl = env.KANADE_POSTGRES_URL || file.db?.postgres_url || undefined;
  const bind = parseBind(
    env.KANADE_BIND || file.server?.bind || '127.0.0.1:8080',
    'KANADE_BIND / [server] bind',
  );
  const natsUrl = env.KANADE_NATS_URL || file.nats?.url || undefined;
  const natsReplicas = Number(env.KANADE_NATS_REPLICAS || file.nats?.replicas || 1);
  if (!Number.isInteger(natsReplicas) || natsReplicas < 1 || natsReplicas > 5) {
    throw new ConfigError(
      `KANADE_NATS_REPLICAS / [nats] replicas must be an integer from 1 to 5, got ${JSON.stringify(env.KANADE_NATS_REPLICAS || file.nats?.replicas)}`,
    );
  }
  if (natsReplicas > 1 && natsUrl === undefined) {
    throw new ConfigError(
      `KANADE_NATS_REPLICAS / [nats] replicas = ${natsReplicas} needs a clustered broker: the embedded nats-server ` +
        'is a single node. Set KANADE_NATS_URL / [nats] url to the cluster (e.g. nats://n1:4222,nats://n2:4222,nats://n3:4222).',
    );
  }
  const logLevel = (env.KANADE_LOG_LEVEL || file.log?.level || 'info').toLowerCase();
  if (!LOG_LEVELS.has(logLevel)) {
    throw new ConfigError(
      `log level must be one of ${[...LOG_LEVELS].join(', ')}, got ${JSON.stringify(logLevel)}`,
    );
  }
  const embeddedPort = env.KANADE_EMBEDDED_NATS_PORT ? Number(env.KANADE_EMBEDDED_NATS_PORT) : 4222;
  if (!Number.isInteger(embeddedPort) || embeddedPort < 0 || embeddedPort > 65535) {
    throw new ConfigError('KANADE_EMBEDDED_NATS_PORT must be a port number');
  }
  const embeddedHost = (env.KANADE_EMBEDDED_NATS_HOST || '127.0.0.1').trim();
  if (!/^[A-Za-z0-9.:-]+$/.test(embeddedHost)) {
    throw new ConfigError(
      `KANADE_EMBEDDED_NATS_HOST must be an address or host name (e.g. 0.0.0.0 or 10.0.0.5), got ${JSON.stringify(embeddedHost)}`,
    );
  }
  const embeddedToken = env.KANADE_EMBEDDED_NATS_TOKEN || undefined;
  if (
    embeddedToken !== undefined &&
    (embeddedToken.length < 16 || embeddedToken.length > 256 || !BROKER_TOKEN_RE.test(embeddedToken))
  ) {
    throw new ConfigError(`KANADE_EMBEDDED_NATS_TOKEN must be 16-256 characters of ${BROKER_TOKEN_CHARS}`);
  }
  const flushIntervalMs = Number(env.KANADE_TELEMETRY_FLUSH_MS || file.telemetry?.flush_interval_ms || 1000);
  const flushMax = Number(env.KANADE_TELEMETRY_FLUSH_MAX || file.telemetry?.flush_max || 10_000);
  if (!(flushIntervalMs > 0) || !(flushMax > 0))
    throw new ConfigError('telemetry flush settings must be positive');

  return {
    bind,
    natsUrl,
    natsReplicas,
    embeddedNats: {
      host: embeddedHost,
      port: embeddedPort,
      storeDir: join(dataDir, 'nats'),
      token: embeddedToken,
      requireToken: !isLoopbackHost(embeddedHost),
    },
    dataDir,
    sqlitePath,
    postgresUrl,
    logLevel,
    localAgent: natsUrl === undefined ? env.KANADE_LOCAL_AGENT !== '0' : truthy(env.KANADE_LOCAL_AGENT),
    auth: {
      // Upstream: the variable's presence alone opens the API; we also accept an explicit 0/false as "off".
      disabled:
        env.KANADE_AUTH_DISABLE !== undefined &&
        env.KANADE_AUTH_DISABLE !== '0' &&
        env.KANADE_AUTH_DISABLE.toLowerCase() !== 'false',
      staticToken: env.KANADE_AUTH_STATIC_TOKEN || undefined,
      jwtSecret: env.KANADE_JWT_SECRET || undefined,
      bootstrapAdminUser: env.KANADE_BOOTSTRAP_ADMIN_USER || undefined,
      bootstrapAdminPassword: env.KANADE_BOOTSTRAP_ADMIN_PASSWORD || undefined,
    },
    telemetry: { flushIntervalMs, flushMax },
    sweepIntervalMs:
      Number(env.KANADE_SWEEP_INTERVAL_MS) > 0 ? Number(env.KANADE_SWEEP_INTERVAL_MS) : 300_000,
    watchdogIntervalMs:
      Number(env.KANADE_WATCHDOG_INTERVAL_MS) > 0 ? Number(env.KANADE_WATCHDOG_INTERVAL_MS) : 60_000,
    configFile,
  };
}
