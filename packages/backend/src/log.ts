// pino, shared by Fastify and the background machinery. Credentials are
// redacted wherever they could appear in a logged object.
import { type Logger, pino } from 'pino';

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'authorization',
  'token',
  'password',
  '*.token',
  '*.password',
  '*.new_password',
  '*.old_password',
  '*.secret',
];

export function createLogger(level: string, name = 'kanade-backend'): Logger {
  return pino({ name, level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } });
}
export type { Logger };
