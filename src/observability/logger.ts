/** JSON logs (pino) that never carry keys or tokens. */
import { pino, type Logger } from 'pino';

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'headers.authorization',
  'headers["x-api-key"]',
  '*.apiKey',
  '*.api_key',
  'apiKey',
];

export function createLogger(level = process.env.SWITCHYARD_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { service: 'switchyard' }, redact: { paths: REDACT_PATHS, censor: '[redacted]' } });
}

export type { Logger };
