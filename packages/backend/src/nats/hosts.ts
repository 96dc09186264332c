// Broker addresses and tokens, shared by the configuration (the embedded
// broker's listen address and token), the embedded broker itself, and agent
// installers (the URL and token they give new agents).

/** 127.x, ::1 and localhost (brackets allowed): reachable from this machine only. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\./.test(h);
}

/** 0.0.0.0 or ::: every interface of this machine. */
export function isWildcardHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  return h === '0.0.0.0' || h === '::';
}

/** `nats://host:port`, an IPv6 address in brackets. */
export function natsUrlOf(host: string, port: number): string {
  return `nats://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`;
}

/**
 * The characters a broker token may have here: it is written unquoted into nats-server's config file and
 * into agent.env (a systemd EnvironmentFile), where whitespace, quotes, `\`, `$` or `#` would change it.
 */
export const BROKER_TOKEN_RE = /^[A-Za-z0-9._~+/=-]+$/;
export const BROKER_TOKEN_CHARS = 'letters, digits and . _ ~ + / = -';
