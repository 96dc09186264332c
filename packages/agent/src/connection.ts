// The agent's NATS connection, as upstream's: named `kanade-agent/<pc_id>`,
// retrying the first connect and every reconnect forever (a PC outlives any
// broker outage), credentials from KANADE_NATS_TOKEN or KANADE_NATS_USER /
// KANADE_NATS_PASSWORD. Publishes made while disconnected are buffered by
// nats.js and sent on reconnect. The URL may list a cluster's nodes,
// comma-separated (as the backend's KANADE_NATS_URL and agent installers do).

import { connect, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node';

export function connectionOptions(url: string, pcId: string, env = process.env): NodeConnectionOptions {
  const opts: NodeConnectionOptions = {
    servers: url.includes(',')
      ? url
          .split(',')
          .map((u) => u.trim())
          .filter(Boolean)
      : url,
    name: `kanade-agent/${pcId}`,
    reconnect: true,
    maxReconnectAttempts: -1,
    waitOnFirstConnect: true,
  };
  if (env.KANADE_NATS_TOKEN) opts.token = env.KANADE_NATS_TOKEN;
  if (env.KANADE_NATS_USER) {
    opts.user = env.KANADE_NATS_USER;
    opts.pass = env.KANADE_NATS_PASSWORD ?? '';
  }
  return opts;
}

export async function connectNats(
  url: string,
  pcId: string,
  log: (line: string) => void,
  onConnectedChange: (connected: boolean) => void = () => {},
): Promise<NatsConnection> {
  const nc = await connect(connectionOptions(url, pcId));
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        log(`disconnected from ${s.server}; reconnecting`);
        onConnectedChange(false);
      } else if (s.type === 'reconnect') {
        log(`reconnected to ${s.server}`);
        onConnectedChange(true);
      }
    }
  })();
  return nc;
}
