/** Between Envoy's `HeaderMap` (values in `raw_value` bytes or `value`) and the core's header bag. */
import type { HeaderBag } from '../../core/parse.js';
import type { HeaderMap, HeaderValueOption } from './wire.js';

/** Request headers as the core wants them, plus the pseudo-headers Envoy sends. */
export interface RequestHead {
  method: string;
  /** `:path`, query string included. */
  path: string;
  headers: HeaderBag;
}

/** Flattens a HeaderMap into lower-case names; repeated names become arrays. */
export function headerBag(map: HeaderMap | undefined): HeaderBag {
  const out: HeaderBag = {};
  for (const h of map?.headers ?? []) {
    const name = h.key.toLowerCase();
    const value = h.raw_value && h.raw_value.length > 0 ? Buffer.from(h.raw_value).toString('utf8') : (h.value ?? '');
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

/** `:status` and `content-type` of a response's HeaderMap. */
export function responseHead(map: HeaderMap | undefined): { status: number; contentType: string | undefined } {
  const headers = headerBag(map);
  const status = Number.parseInt(first(headers[':status']) ?? '', 10);
  return { status: Number.isFinite(status) ? status : 0, contentType: first(headers['content-type']) };
}

/** Header mutations that set (overwrite or add) each header, values as `raw_value` bytes. */
export function setHeaders(h: Record<string, string>): HeaderValueOption[] {
  return Object.entries(h).map(([key, value]) => ({
    header: { key, raw_value: Buffer.from(value, 'utf8') },
    append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' as const,
  }));
}
