/**
 * Outcome → ProcessingResponse: the messages Switchyard answers Envoy with.
 * Pure builders; the state machine in `processor.ts` decides which to send.
 *
 * Envoy honours `mode_override` only on answers to *header* messages (it is
 * ignored on body and trailer answers), so the modes are switched there: on
 * the request headers (LLM route → buffer the request body and send the
 * response headers; anything else → skip the rest), and on the response
 * headers (JSON → BUFFERED body, SSE → STREAMED body, nothing to learn →
 * NONE).
 */
import type { RespondOutcome } from '../../core/outcome.js';
import { setHeaders } from './headers.js';
import type { BodySendMode, CommonResponse, ProcessingMode, ProcessingResponse, RequestKind } from './wire.js';

/** Not an LLM route: Envoy sends nothing more for this request. */
export const PASS_MODE: Readonly<ProcessingMode> = Object.freeze({
  request_header_mode: 'SKIP',
  request_body_mode: 'NONE',
  request_trailer_mode: 'SKIP',
  response_header_mode: 'SKIP',
  response_body_mode: 'NONE',
  response_trailer_mode: 'SKIP',
});

/** An LLM route: the whole request body next, then the response headers. */
export const LLM_REQUEST_MODE: Readonly<ProcessingMode> = Object.freeze({
  request_header_mode: 'SEND',
  request_body_mode: 'BUFFERED',
  request_trailer_mode: 'SKIP',
  response_header_mode: 'SEND',
  response_body_mode: 'NONE',
  response_trailer_mode: 'SKIP',
});

/** After the response headers: how (whether) the response body comes. Trailers mark the end when the body does not. */
export function responseBodyMode(body: BodySendMode): ProcessingMode {
  return {
    request_header_mode: 'SKIP',
    request_body_mode: 'NONE',
    request_trailer_mode: 'SKIP',
    response_header_mode: 'SEND',
    response_body_mode: body,
    response_trailer_mode: body === 'NONE' ? 'SKIP' : 'SEND',
  };
}

/** Request headers of a path that is not Switchyard's: continue untouched, skip everything after. */
export function passHeaders(): ProcessingResponse {
  return { request_headers: { response: {} }, mode_override: { ...PASS_MODE } };
}

/** Request headers of an LLM route: continue, and ask for the buffered body and the response headers. */
export function continueToBody(): ProcessingResponse {
  return { request_headers: { response: {} }, mode_override: { ...LLM_REQUEST_MODE } };
}

/** A `respond` outcome (cache hit, listing, rejection) as an ImmediateResponse in the client's protocol. */
export function immediate(out: RespondOutcome): ProcessingResponse {
  const headers: Record<string, string> = { ...out.headers, 'content-type': `${out.contentType}; charset=utf-8` };
  if (out.contentType === 'text/event-stream') headers['cache-control'] = 'no-cache';
  const code = out.headers['x-switchyard-error'] ?? (out.ctx ? `cache_${out.ctx.cache}` : 'local');
  return {
    immediate_response: {
      status: { code: out.status },
      headers: { set_headers: setHeaders(headers) },
      body: Buffer.from(out.body, 'utf8'),
      details: `switchyard_${code.replace(/[^a-zA-Z0-9_]/g, '_')}`,
    },
  };
}

/** What a routed request becomes on the way to the upstream. */
export interface ForwardMutation {
  /** Headers to set on the upstream request: the routing header, decision headers, the upstream's auth, content-length and `:path` when they change. */
  headers: Record<string, string>;
  /** The rewritten body, when it differs from the client's. */
  body?: string;
  /** Headers to remove from the upstream request: the client's own credentials (never the upstream's). */
  remove?: string[];
}

/**
 * The answer that routes a request: header (and body) mutations with the
 * route cache cleared. Normally the answer to the buffered request body; on
 * request headers (a body-less request) the body mutation cannot apply, and
 * the response headers are asked for here since a body answer cannot.
 */
export function forwardRequest(m: ForwardMutation, kind: 'request_headers' | 'request_body' = 'request_body'): ProcessingResponse {
  const response: CommonResponse = {
    header_mutation: { set_headers: setHeaders(m.headers), ...(m.remove && m.remove.length > 0 ? { remove_headers: m.remove } : {}) },
    clear_route_cache: true,
  };
  if (kind === 'request_headers') return { request_headers: { response }, mode_override: responseBodyMode('NONE') };
  if (m.body !== undefined) response.body_mutation = { body: Buffer.from(m.body, 'utf8') };
  return { request_body: { response } };
}

/** The answer to the response headers: decision headers for the client, and how the body should come. */
export function observeResponse(decisionHeaders: Record<string, string>, body: BodySendMode): ProcessingResponse {
  return {
    response_headers: { response: { header_mutation: { set_headers: setHeaders(decisionHeaders) } } },
    mode_override: responseBodyMode(body),
  };
}

/** The no-op answer to a message of the given kind (continue unchanged). */
export function continueUnchanged(kind: RequestKind): ProcessingResponse {
  switch (kind) {
    case 'request_headers':
      return { request_headers: { response: {} } };
    case 'response_headers':
      return { response_headers: { response: {} } };
    case 'request_body':
      return { request_body: { response: {} } };
    case 'response_body':
      return { response_body: { response: {} } };
    case 'request_trailers':
      return { request_trailers: {} };
    case 'response_trailers':
      return { response_trailers: {} };
  }
}
