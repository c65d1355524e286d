/**
 * Outcome → ProcessingResponse: the messages Switchyard answers Envoy with.
 * Pure builders; the state machine in `processor.ts` decides which to send.
 *
 * Envoy honours `mode_override` only on answers to *header* messages (it is
 * ignored on body and trailer answers: `onReceiveMessage` in ext_proc.cc
 * applies it only while `inHeaderProcessState()`), so the modes are switched
 * there: on the request headers (LLM route → buffer the request body and
 * send the response headers; anything else → skip the rest), and on the
 * response headers (how, or whether, the body comes).
 *
 * `clear_route_cache` is honoured only together with a header mutation
 * (`clearRouteCache` in processor_state.cc), so every answer that sets or
 * removes the routing header carries both.
 */
import type { RespondOutcome } from '../../core/outcome.js';
import { setHeaders } from './headers.js';
import type { BodySendMode, HeaderMutation, HeaderValueOption, ProcessingMode, ProcessingResponse, RequestKind } from './wire.js';
import { ROUTING_HEADER } from './forward.js';

/** The filter's static mode in envoy/envoy.yaml: request headers only; the rest per request through `mode_override`. */
export const STATIC_MODE: Readonly<ProcessingMode> = Object.freeze({
  request_header_mode: 'SEND',
  request_body_mode: 'NONE',
  request_trailer_mode: 'SKIP',
  response_header_mode: 'SKIP',
  response_body_mode: 'NONE',
  response_trailer_mode: 'SKIP',
});

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

function bodyMode(body: BodySendMode): Readonly<ProcessingMode> {
  return Object.freeze({
    request_header_mode: 'SKIP',
    request_body_mode: 'NONE',
    request_trailer_mode: 'SKIP',
    response_header_mode: 'SEND',
    response_body_mode: body,
    // Trailers (HTTP/2 upstreams) mark the end when the body does not.
    response_trailer_mode: body === 'NONE' ? 'SKIP' : 'SEND',
  } as const);
}

const BODY_MODES: Readonly<Record<BodySendMode, Readonly<ProcessingMode>>> = {
  NONE: bodyMode('NONE'),
  STREAMED: bodyMode('STREAMED'),
  BUFFERED: bodyMode('BUFFERED'),
  BUFFERED_PARTIAL: bodyMode('BUFFERED_PARTIAL'),
};

/** After the response headers: how (whether) the response body comes. */
export function responseBodyMode(body: BodySendMode): Readonly<ProcessingMode> {
  return BODY_MODES[body];
}

// Answers without per-request content are shared, never rebuilt (the serializer only reads them).
const PASS: ProcessingResponse = Object.freeze({ request_headers: Object.freeze({ response: Object.freeze({}) }), mode_override: PASS_MODE });
const TO_BODY: ProcessingResponse = Object.freeze({ request_headers: Object.freeze({ response: Object.freeze({}) }), mode_override: LLM_REQUEST_MODE });
/** Removes a client-sent routing header (defence when envoy.yaml's early header mutation is missing) and re-picks the route. */
const DROP_ROUTING = Object.freeze({ header_mutation: Object.freeze({ remove_headers: Object.freeze([ROUTING_HEADER]) as string[] }), clear_route_cache: true });
const PASS_DROPPING: ProcessingResponse = Object.freeze({ request_headers: Object.freeze({ response: DROP_ROUTING }), mode_override: PASS_MODE });
const TO_BODY_DROPPING: ProcessingResponse = Object.freeze({ request_headers: Object.freeze({ response: DROP_ROUTING }), mode_override: LLM_REQUEST_MODE });

/** Request headers of a path that is not Switchyard's: continue untouched (minus a spoofed routing header), skip everything after. */
export function passHeaders(spoofed = false): ProcessingResponse {
  return spoofed ? PASS_DROPPING : PASS;
}

/** Request headers of an LLM route: continue, and ask for the buffered body and the response headers. */
export function continueToBody(spoofed = false): ProcessingResponse {
  return spoofed ? TO_BODY_DROPPING : TO_BODY;
}

/** A `respond` outcome (cache hit, listing, rejection) as an ImmediateResponse in the client's protocol. */
export function immediate(out: RespondOutcome): ProcessingResponse {
  const headers: [string, string][] = Object.entries(out.headers);
  headers.push(['content-type', `${out.contentType}; charset=utf-8`]);
  if (out.contentType === 'text/event-stream') headers.push(['cache-control', 'no-cache']);
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
  /** Headers to set on the upstream request: the routing header, the upstream's auth, accept-encoding, content-length and `:path` when they change. */
  headers: [string, string][];
  /** The rewritten body (the client's bytes with the model spliced in), when it differs from the client's. */
  body?: Buffer;
  /** Client headers to drop (the client's own credentials, which the upstream must not see). */
  remove?: string[];
}

/**
 * The answer that routes a request: header (and body) mutations with the
 * route cache cleared. Normally the answer to the buffered request body; on
 * request headers (a body-less request) the body mutation cannot apply, and
 * the response headers are asked for here since a body answer cannot.
 */
export function forwardRequest(m: ForwardMutation, kind: 'request_headers' | 'request_body' = 'request_body'): ProcessingResponse {
  const header_mutation: HeaderMutation = { set_headers: setHeaders(m.headers) };
  if (m.remove) header_mutation.remove_headers = m.remove;
  if (kind === 'request_headers') {
    return { request_headers: { response: { header_mutation, clear_route_cache: true } }, mode_override: LLM_REQUEST_MODE };
  }
  return {
    request_body: {
      response: { header_mutation, clear_route_cache: true, ...(m.body !== undefined ? { body_mutation: { body: m.body } } : {}) },
    },
  };
}

/** The answer to the response headers: decision headers for the client, and how the body should come. */
export function observeResponse(decisionHeaders: HeaderValueOption[], body: BodySendMode): ProcessingResponse {
  return { response_headers: { response: { header_mutation: { set_headers: decisionHeaders } } }, mode_override: BODY_MODES[body] };
}

/**
 * The answer to a BUFFERED response body that replaces it (a redacted error
 * body), with the matching `content-length`: Envoy fails a replaced body
 * whose length disagrees with the header.
 *
 * @example
 * replaceResponseBody(Buffer.from('{"error":{"message":"bad key [redacted]"}}'));
 */
export function replaceResponseBody(body: Buffer): ProcessingResponse {
  return {
    response_body: {
      response: { header_mutation: { set_headers: setHeaders([['content-length', String(body.length)]]) }, body_mutation: { body } },
    },
  };
}

/**
 * The answer to a STREAMED response chunk that replaces it (a redacted in-band
 * error, or bytes held back to the next chunk); no header can change any more.
 */
export function replaceResponseChunk(body: Buffer): ProcessingResponse {
  return { response_body: { response: { body_mutation: { body } } } };
}

const NOOP: Readonly<Record<RequestKind, ProcessingResponse>> = Object.freeze({
  request_headers: Object.freeze({ request_headers: Object.freeze({ response: Object.freeze({}) }) }),
  response_headers: Object.freeze({ response_headers: Object.freeze({ response: Object.freeze({}) }) }),
  request_body: Object.freeze({ request_body: Object.freeze({ response: Object.freeze({}) }) }),
  response_body: Object.freeze({ response_body: Object.freeze({ response: Object.freeze({}) }) }),
  request_trailers: Object.freeze({ request_trailers: Object.freeze({}) }),
  response_trailers: Object.freeze({ response_trailers: Object.freeze({}) }),
});

/** The no-op answer to a message of the given kind (continue unchanged); shared, never mutated. */
export function continueUnchanged(kind: RequestKind): ProcessingResponse {
  return NOOP[kind];
}
