/**
 * One error class with stable codes. The table maps each code to its HTTP
 * status and to the error `type` each protocol uses, so every face renders
 * the same failure the same way.
 */
import { redactForClient } from './observability/known-secrets.js';

export const ERROR_CODES = {
  invalid_json: { status: 400, openai: 'invalid_request_error', anthropic: 'invalid_request_error' },
  invalid_request: { status: 400, openai: 'invalid_request_error', anthropic: 'invalid_request_error' },
  unsupported_media_type: { status: 415, openai: 'invalid_request_error', anthropic: 'invalid_request_error' },
  body_too_large: { status: 413, openai: 'invalid_request_error', anthropic: 'request_too_large' },
  model_not_found: { status: 404, openai: 'invalid_request_error', anthropic: 'not_found_error' },
  context_length_exceeded: { status: 400, openai: 'invalid_request_error', anthropic: 'invalid_request_error' },
  content_policy_violation: { status: 400, openai: 'invalid_request_error', anthropic: 'invalid_request_error' },
  upstream_client_error: { status: 400, openai: 'invalid_request_error', anthropic: 'invalid_request_error' },
  authentication_error: { status: 401, openai: 'authentication_error', anthropic: 'authentication_error' },
  invalid_credentials: { status: 400, openai: 'invalid_request_error', anthropic: 'invalid_request_error' },
  header_too_large: { status: 431, openai: 'invalid_request_error', anthropic: 'invalid_request_error' },
  permission_denied: { status: 403, openai: 'permission_error', anthropic: 'permission_error' },
  model_not_allowed: { status: 403, openai: 'permission_error', anthropic: 'permission_error' },
  auth_unavailable: { status: 503, openai: 'service_unavailable', anthropic: 'api_error' },
  budget_exceeded: { status: 429, openai: 'insufficient_quota', anthropic: 'rate_limit_error' },
  rate_limited: { status: 429, openai: 'rate_limit_error', anthropic: 'rate_limit_error' },
  no_upstream_available: { status: 503, openai: 'service_unavailable', anthropic: 'overloaded_error' },
  upstream_unavailable: { status: 502, openai: 'api_error', anthropic: 'api_error' },
  upstream_timeout: { status: 504, openai: 'api_error', anthropic: 'api_error' },
  stream_interrupted: { status: 502, openai: 'api_error', anthropic: 'api_error' },
  not_found: { status: 404, openai: 'invalid_request_error', anthropic: 'not_found_error' },
  method_not_allowed: { status: 405, openai: 'invalid_request_error', anthropic: 'invalid_request_error' },
  internal_error: { status: 500, openai: 'api_error', anthropic: 'api_error' },
  store_unavailable: { status: 503, openai: 'service_unavailable', anthropic: 'overloaded_error' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface SwitchyardErrorOptions {
  /** The request parameter at fault, when there is one (OpenAI `param`). */
  param?: string;
  /** Override the table's status (e.g. an upstream 4xx passed through). */
  status?: number;
  /** Seconds the caller should wait (429/503). */
  retryAfter?: number;
  cause?: unknown;
}

/**
 * The one error type Switchyard throws and renders.
 *
 * @example
 * throw new SwitchyardError('invalid_request', '`messages` must be a non-empty array', { param: 'messages' });
 */
export class SwitchyardError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly param?: string;
  readonly retryAfter?: number;

  constructor(code: ErrorCode, message: string, opts: SwitchyardErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'SwitchyardError';
    this.code = code;
    this.status = opts.status ?? ERROR_CODES[code].status;
    if (opts.param !== undefined) this.param = opts.param;
    if (opts.retryAfter !== undefined) this.retryAfter = opts.retryAfter;
  }
}

export function isSwitchyardError(e: unknown): e is SwitchyardError {
  return e instanceof SwitchyardError;
}

/**
 * Renders an error as the JSON body of the caller's protocol. The message is
 * what a client sees, so configured secret values and credential-shaped text
 * are redacted here, whatever produced it.
 */
export function errorBody(err: SwitchyardError, protocol: 'openai' | 'anthropic'): Record<string, unknown> {
  const row = ERROR_CODES[err.code];
  const message = redactForClient(err.message);
  if (protocol === 'anthropic') {
    return { type: 'error', error: { type: row.anthropic, message } };
  }
  return { error: { message, type: row.openai, param: err.param ?? null, code: err.code } };
}

/** Wraps anything thrown into a SwitchyardError (unknown errors become `internal_error`). */
export function toSwitchyardError(e: unknown): SwitchyardError {
  if (e instanceof SwitchyardError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new SwitchyardError('internal_error', `internal error: ${message}`, { cause: e });
}
