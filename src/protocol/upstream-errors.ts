/**
 * Classifying an upstream's non-2xx answer into a Switchyard error code, and
 * keeping credentials out of the message passed back to the client.
 */
import type { ErrorCode } from '../errors.js';
import { ERROR_CODES } from '../errors.js';
import type { Protocol } from './canonical.js';
import { isObject } from './wire-util.js';
import { redactForClient } from '../observability/known-secrets.js';

/** What an upstream failure means for the caller. */
export interface UpstreamErrorClass {
  code: ErrorCode;
  /** Safe to show the client: credentials redacted, length capped. */
  message: string;
  /** Worth retrying (the same or another upstream): 408, 429 (not quota), 5xx. */
  retryable: boolean;
  /** The HTTP status to answer with: the upstream's own for `upstream_client_error`, else the code's. */
  status: number;
}

const CONTEXT_RE =
  /context[_ ]length[_ ]exceeded|maximum context length|context (?:window|size|limit)|prompt is too long|too many (?:input )?tokens|input is too long|exceeds? (?:the )?(?:model'?s? )?(?:maximum )?context/i;
const POLICY_RE = /content[_ ]policy|content[_ ]filter|content management policy|safety system|flagged as potentially/i;
const MAX_MESSAGE = 500;

/**
 * Classifies an upstream error response.
 *
 * Recognises context-length errors (OpenAI `context_length_exceeded`,
 * "maximum context length", Anthropic "prompt is too long", llama.cpp
 * "exceeds the available context size"), content-policy refusals, auth
 * failures (401/403), retryable statuses (408, 429 except exhausted quota,
 * 5xx, Anthropic 529) and other 4xx (`upstream_client_error`, status kept).
 *
 * @example
 * classifyUpstreamError(400, '{"error":{"code":"context_length_exceeded","message":"..."}}', 'openai');
 * // { code: 'context_length_exceeded', retryable: false, status: 400, message: 'upstream error (HTTP 400): ...' }
 */
export function classifyUpstreamError(status: number, bodyText: string, protocol: Protocol): UpstreamErrorClass {
  const info = readErrorBody(bodyText);
  const detail = redactSecrets(info.message ?? snippet(bodyText));
  const message = truncate(`upstream ${protocol} error (HTTP ${status})${detail ? `: ${detail}` : ''}`);
  const haystack = `${info.code ?? ''} ${info.type ?? ''} ${info.message ?? ''}`;
  const make = (code: ErrorCode, retryable: boolean, st: number = ERROR_CODES[code].status): UpstreamErrorClass =>
    ({ code, message, retryable, status: st });

  if (status === 401 || status === 403 || info.type === 'authentication_error' || info.type === 'permission_error') {
    return make('authentication_error', false);
  }
  if (status === 429) {
    const quota = /insufficient_quota|billing|credit balance/i.test(haystack);
    return make('rate_limited', !quota);
  }
  if (status === 408 || status === 504) return make('upstream_timeout', true);
  if (status >= 500) return make('upstream_unavailable', true);
  if (status >= 400) {
    if (CONTEXT_RE.test(haystack) || info.type === 'exceed_context_size_error') return make('context_length_exceeded', false);
    if (POLICY_RE.test(haystack)) return make('content_policy_violation', false);
    return make('upstream_client_error', false, status);
  }
  return make('upstream_unavailable', false);
}

interface ErrorInfo {
  message?: string;
  code?: string;
  type?: string;
}

/** Reads OpenAI (`{error:{message,type,code}}`), Anthropic (`{type:"error",error:{type,message}}`) and bare `{message}` bodies. */
function readErrorBody(text: string): ErrorInfo {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return {};
  }
  if (!isObject(json)) return {};
  const e = isObject(json.error) ? json.error : json;
  const info: ErrorInfo = {};
  if (typeof e.message === 'string') info.message = e.message;
  else if (typeof json.error === 'string') info.message = json.error;
  if (typeof e.code === 'string') info.code = e.code;
  if (typeof e.type === 'string') info.type = e.type;
  return info;
}

/** A short plain-text excerpt of a non-JSON body (HTML error pages are not worth echoing). */
function snippet(text: string): string {
  const t = text.trim();
  if (t === '' || t.startsWith('<')) return '';
  return t.slice(0, 200);
}

function truncate(s: string): string {
  return s.length > MAX_MESSAGE ? `${s.slice(0, MAX_MESSAGE - 1)}…` : s;
}

/**
 * Replaces the configured secret values and anything that looks like a
 * credential with `[redacted]` (see `observability/known-secrets.ts`).
 *
 * @example
 * redactSecrets('Incorrect API key provided: sk-proj-abc123XYZ'); // 'Incorrect API key provided: [redacted]'
 */
export function redactSecrets(text: string): string {
  return redactForClient(text);
}
