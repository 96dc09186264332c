// The simulator's one NATS connection. It retries the first connect and every
// reconnect forever (a load generator should ride out a broker restart the way
// a fleet does) and reports connected/disconnected so the publisher can drop
// telemetry during an outage instead of buffering it. Credentials come from
// the same environment variables upstream agents read.
//
// `noAsyncTraces`: nats.js otherwise builds an Error (a stack capture) for
// every request up front, for a better timeout trace; at 100,000 JetStream
// publishes that was 40% of the simulator's CPU.

import { connect, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node';

export function connectionOptions(url: string, name: string, env = process.env): NodeConnectionOptions {
  const opts: NodeConnectionOptions = {
    servers: url,
    name,
    reconnect: true,
    maxReconnectAttempts: -1,
    waitOnFirstConnect: true,
    noAsyncTraces: true,
  };
  if (env.KANADE_NATS_TOKEN) opts.token = env.KANADE_NATS_TOKEN;
  if (env.KANADE_NATS_USER) {
    opts.user = env.KANADE_NATS_USER;
    opts.pass = env.KANADE_NATS_PASSWORD ?? '';
  }
  return opts;
}

export interface ConnectOptions {
  url: string;
  name: string;
  log: (line: string) => void;
  onConnectedChange: (connected: boolean) => void;
}

export async function connectNats(o: ConnectOptions): Promise<NatsConnection> {
  const nc = await connect(connectionOptions(o.url, o.name));
  o.onConnectedChange(true);
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        o.onConnectedChange(false);
        o.log(`disconnected from ${s.server}; reconnecting`);
      } else if (s.type === 'reconnect') {
        o.onConnectedChange(true);
        o.log(`reconnected to ${s.server}`);
      }
    }
  })();
  return nc;
}
