// Connecting to the broker. An unreachable broker at startup is retried with
// capped exponential backoff and a log line per attempt (never a crash loop);
// after the first connection nats.js reconnects by itself, forever.
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';

export interface ConnectOptions {
  url: string;
  name: string;
  /** The broker's token (the embedded broker's, when it has one); never logged. */
  token?: string | undefined;
  log: Logger;
  /** Stop retrying when this resolves (shutdown during startup). */
  abort?: AbortSignal;
}

export async function connectWithRetry(opts: ConnectOptions): Promise<NatsConnection> {
  let delay = 500;
  for (let attempt = 1; ; attempt++) {
    try {
      const nc = await connect({
        // A cluster is a comma-separated list; every node is a seed, so one that is down does not block startup.
        servers: opts.url
          .split(',')
          .map((u) => u.trim())
          .filter(Boolean),
        name: opts.name,
        ...(opts.token ? { token: opts.token } : {}),
        reconnect: true,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 1000,
        pingInterval: 20_000,
      });
      if (attempt > 1) opts.log.info({ url: opts.url, attempt }, 'connected to NATS');
      watchStatus(nc, opts.log);
      return nc;
    } catch (err) {
      if (opts.abort?.aborted) throw err;
      opts.log.warn(
        { url: opts.url, attempt, retry_in_ms: delay, err: (err as Error).message },
        'NATS unreachable; retrying',
      );
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 10_000);
    }
  }
}

async function watchStatus(nc: NatsConnection, log: Logger): Promise<void> {
  for await (const s of nc.status()) {
    if (s.type === 'disconnect') log.warn({ server: s.server }, 'NATS disconnected');
    else if (s.type === 'reconnect') log.info({ server: s.server }, 'NATS reconnected');
    else if (s.type === 'error') log.warn({ err: String(s.error) }, 'NATS error');
  }
}

/** Drain (flush subscriptions, then close), but never wait more than `ms` for a broker that is gone. */
export async function drainQuietly(nc: NatsConnection, ms = 3000): Promise<void> {
  if (nc.isClosed()) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    nc.drain().catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
  if (!nc.isClosed()) await nc.close().catch(() => undefined);
}
