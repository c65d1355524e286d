/**
 * JSON logs (pino) that never carry keys, tokens or detected PII: field
 * names known to hold credentials are censored by pino's `redact`, and every
 * string of a log line (message and fields) is scrubbed for known secret
 * values, bearer credentials and what the privacy detector finds
 * (`redact.ts`).
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import { scrubText, scrubValue } from './redact.js';

export { addKnownSecrets, scrubText, scrubValue } from './redact.js';

const SECRET_FIELDS = ['authorization', 'proxy-authorization', 'cookie', 'set-cookie', '"x-api-key"', 'apiKey', 'api_key', 'token', 'accessToken', 'access_token', 'password', 'secret'];

/** Paths pino censors: secret-named fields at the top level and up to three levels down (e.g. `req.headers.authorization`). */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'headers.authorization',
  'headers["x-api-key"]',
  ...SECRET_FIELDS.flatMap((f) => {
    const key = f.startsWith('"') ? `[${f}]` : `.${f}`;
    const top = f.startsWith('"') ? `[${f}]` : f;
    return [top, `*${key}`, `*.*${key}`, `*.*.*${key}`];
  }),
];

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Where lines go (default stdout); tests pass a stream to read them back. */
  destination?: DestinationStream;
}

/**
 * @example
 * const log = createLogger('info');
 * log.info({ headers: req.headers }, 'request'); // authorization → "[redacted]"
 */
export function createLogger(level = process.env.SWITCHYARD_LOG_LEVEL ?? 'info', opts: LoggerOptions = {}): Logger {
  const options = {
    level,
    base: { service: 'switchyard' },
    redact: { paths: [...new Set(REDACT_PATHS)], censor: '[redacted]' },
    formatters: { log: (obj: Record<string, unknown>) => scrubValue(obj) as Record<string, unknown> },
    hooks: {
      logMethod(this: Logger, args: Parameters<Logger['info']>, method: (...a: unknown[]) => void) {
        for (let i = 0; i < args.length; i++) if (typeof args[i] === 'string') (args as unknown[])[i] = scrubText(args[i] as string);
        method.apply(this, args);
      },
    },
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

export type { Logger };
