/** Between Envoy's `HeaderMap` (values in `raw_value` bytes or `value`) and the core's header bag. */
import type { HeaderBag } from '../../core/parse.js';
import type { HeaderMap, HeaderValue, HeaderValueOption } from './wire.js';

/** Request headers as the core wants them, plus the pseudo-headers Envoy sends. */
export interface RequestHead {
  method: string;
  /** `:path`, query string included. */
  path: string;
  headers: HeaderBag;
}

/** A header's value: `raw_value` bytes (what current Envoy sends) or `value`. */
function text(h: HeaderValue): string {
  const raw = h.raw_value;
  if (raw && raw.length > 0) return Buffer.isBuffer(raw) ? raw.toString('utf8') : Buffer.from(raw.buffer, raw.byteOffset, raw.length).toString('utf8');
  return h.value ?? '';
}

/** Flattens a HeaderMap into lower-case names; repeated names become arrays. */
export function headerBag(map: HeaderMap | undefined): HeaderBag {
  const out: HeaderBag = {};
  for (const h of map?.headers ?? []) {
    const name = h.key.toLowerCase();
    const value = text(h);
    const prev = out[name];
    if (prev === undefined) out[name] = value;
    else out[name] = Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  return out;
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** `:method`, `:path` and the regular headers of a request's HeaderMap. */
export function requestHead(map: HeaderMap | undefined): RequestHead {
  const headers = headerBag(map);
  return { method: (first(headers[':method']) ?? 'GET').toUpperCase(), path: first(headers[':path']) ?? '/', headers };
}

/** What the response side needs of a response's HeaderMap. */
export interface ResponseHead {
  status: number;
  contentType: string | undefined;
  contentEncoding: string | undefined;
  /** `content-length`, when present and valid. */
  contentLength: number | undefined;
}

/** `:status`, `content-type`, `content-encoding` and `content-length` of a response's HeaderMap (other headers are not decoded). */
export function responseHead(map: HeaderMap | undefined): ResponseHead {
  const out: ResponseHead = { status: 0, contentType: undefined, contentEncoding: undefined, contentLength: undefined };
  for (const h of map?.headers ?? []) {
    const k = h.key;
    if (k !== ':status' && k !== 'content-type' && k !== 'content-encoding' && k !== 'content-length') continue;
    const v = text(h);
    if (k === ':status') out.status = Number.parseInt(v, 10) || 0;
    else if (k === 'content-type') out.contentType = v;
    else if (k === 'content-encoding') out.contentEncoding = v;
    else if (/^\d+$/.test(v)) out.contentLength = Number(v);
  }
  return out;
}

const UNSAFE = /[\r\n\0]/g;

/**
 * Header mutations that set (overwrite or add) each header. A CR, LF or NUL
 * in a value would make Envoy fail the whole exchange with a 500
 * (mutation_utils.cc); they become spaces.
 */
export function setHeaders(h: Iterable<readonly [string, string]>): HeaderValueOption[] {
  const out: HeaderValueOption[] = [];
  for (const [key, value] of h) {
    const safe = UNSAFE.test(value) ? value.replace(UNSAFE, ' ') : value;
    UNSAFE.lastIndex = 0;
    out.push({ header: { key, raw_value: Buffer.from(safe, 'utf8') }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' });
  }
  return out;
}
