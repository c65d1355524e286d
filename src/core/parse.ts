/**
 * From raw HTTP input to a canonical request: method, content type, size,
 * JSON, then the protocol's own validation. Every failure is a SwitchyardError
 * the faces render in the caller's protocol.
 */
import { SwitchyardError } from '../errors.js';
import { parseAnthropicMessages } from '../protocol/anthropic.js';
import type { CanonicalRequest } from '../protocol/canonical.js';
import { parseOpenAIChat, parseOpenAICompletion, parseOpenAIEmbedding } from '../protocol/openai.js';
import type { CacheControl, Endpoint } from './context.js';

export type HeaderBag = Record<string, string | string[] | undefined>;

/** An HTTP request as any face sees it. Header names are lower-case. */
export interface IncomingRequest {
  method: string;
  path: string;
  headers: HeaderBag;
  /** Raw bytes or text, or a value a body parser already produced. */
  body: Buffer | string | unknown;
  /** The TCP peer's address: the client, or the proxy in front of Switchyard (Envoy, nginx). */
  peer?: string | undefined;
  /** Node's `req.rawHeaders` (name, value, …), so repeated auth headers Node folds away are still seen. */
  rawHeaders?: readonly string[] | undefined;
  /** The face it came through (`serve`, `express`, `envoy`, `nginx`), for refusal records. */
  face?: string | undefined;
}

export function header(h: HeaderBag, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

export function checkContentType(h: HeaderBag): void {
  const ct = header(h, 'content-type');
  if (ct === undefined || ct === '') return;
  const mime = ct.split(';', 1)[0]!.trim().toLowerCase();
  if (mime !== 'application/json' && !mime.endsWith('+json')) {
    throw new SwitchyardError('unsupported_media_type', `Content-Type must be application/json, got "${mime}"`);
  }
}

/** Parses the body into a JSON object, enforcing the size limit on raw bodies. */
export function parseJsonBody(body: unknown, limit: number): Record<string, unknown> {
  let value: unknown = body;
  if (Buffer.isBuffer(body) || typeof body === 'string') {
    const size = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
    if (size > limit) throw new SwitchyardError('body_too_large', `request body is ${size} bytes; the limit is ${limit}`);
    if (size === 0) throw new SwitchyardError('invalid_json', 'request body is empty; expected a JSON object');
    try {
      value = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
    } catch (e) {
      throw new SwitchyardError('invalid_json', `request body is not valid JSON: ${(e as Error).message}`);
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SwitchyardError('invalid_request', 'request body must be a JSON object');
  }
  return value as Record<string, unknown>;
}

export function toCanonical(ep: Endpoint, raw: Record<string, unknown>): CanonicalRequest {
  if (ep.protocol === 'anthropic') return parseAnthropicMessages(raw);
  if (ep.operation === 'completion') return parseOpenAICompletion(raw);
  if (ep.operation === 'embedding') return parseOpenAIEmbedding(raw);
  return parseOpenAIChat(raw);
}

/** `cache-control: no-cache` skips the lookup; `no-store` skips lookup and store. */
export function cacheControl(h: HeaderBag): CacheControl {
  const v = header(h, 'cache-control');
  if (!v) return { noCache: false, noStore: false };
  const lc = v.toLowerCase();
  const noStore = lc.includes('no-store');
  return { noCache: noStore || lc.includes('no-cache'), noStore };
}
