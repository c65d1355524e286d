/**
 * The credential a request presents, read from `Authorization` (Bearer or
 * Basic), `x-api-key` (Anthropic style) or `api-key` (Azure style). Strict on
 * purpose: a repeated auth header, two headers naming different credentials,
 * an unknown scheme, an empty or unprintable token or an oversized one is an
 * error the caller sees in its own protocol, never a guess.
 */
import { SwitchyardError } from '../errors.js';
import type { HeaderBag } from '../core/parse.js';

/** What was presented. */
export type Credential =
  | { kind: 'key'; value: string; from: 'authorization' | 'x-api-key' | 'api-key' }
  | { kind: 'basic'; user: string; password: string };

const AUTH_HEADERS = ['authorization', 'x-api-key', 'api-key'] as const;
const TOKEN = /^[\x21-\x7e]+$/;

/** The raw header lines, for counting repeats Node folds away (it keeps only the first `Authorization`). */
export type RawHeaders = readonly string[] | undefined;

function occurrences(name: string, headers: HeaderBag, raw: RawHeaders): number {
  if (raw) {
    let n = 0;
    for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === name.length && raw[i]!.toLowerCase() === name) n++;
    return n;
  }
  const v = headers[name];
  return v === undefined ? 0 : Array.isArray(v) ? v.length : 1;
}

function single(name: string, headers: HeaderBag, raw: RawHeaders, max: number): string | undefined {
  const v = headers[name];
  if (v === undefined) return undefined;
  if (occurrences(name, headers, raw) > 1) {
    throw new SwitchyardError('invalid_credentials', `the \`${name}\` header is sent more than once; send one credential`);
  }
  const s = (Array.isArray(v) ? v[0]! : v).trim();
  if (Buffer.byteLength(s) > max) throw new SwitchyardError('header_too_large', `the \`${name}\` header is longer than ${max} bytes`);
  return s;
}

function token(name: string, s: string): string {
  if (s === '') throw new SwitchyardError('authentication_error', `the \`${name}\` header is empty`);
  if (!TOKEN.test(s)) throw new SwitchyardError('authentication_error', `the \`${name}\` header holds characters a key cannot contain`);
  return s;
}

function fromAuthorization(v: string): Credential {
  const sp = v.indexOf(' ');
  const scheme = (sp === -1 ? v : v.slice(0, sp)).toLowerCase();
  const rest = sp === -1 ? '' : v.slice(sp + 1).trim();
  if (scheme === 'bearer') return { kind: 'key', value: token('Authorization: Bearer', rest), from: 'authorization' };
  if (scheme === 'basic') {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(rest)) throw new SwitchyardError('authentication_error', '`Authorization: Basic` must carry base64 of `user:password`');
    const text = Buffer.from(rest, 'base64').toString('utf8');
    const colon = text.indexOf(':');
    if (colon <= 0) throw new SwitchyardError('authentication_error', '`Authorization: Basic` must carry base64 of `user:password` with a non-empty user');
    return { kind: 'basic', user: text.slice(0, colon), password: text.slice(colon + 1) };
  }
  throw new SwitchyardError('authentication_error', `unsupported Authorization scheme "${scheme.slice(0, 20)}"; use Bearer`);
}

/**
 * The one credential of a request, or undefined when it presents none.
 * Throws SwitchyardError (400/401/431) for anything ambiguous or malformed.
 *
 * @example
 * readCredential({ authorization: 'Bearer sy-abc.def' }, undefined, 2048); // { kind: 'key', value: 'sy-abc.def', from: 'authorization' }
 */
export function readCredential(headers: HeaderBag, raw: RawHeaders, maxBytes: number): Credential | undefined {
  let found: Credential | undefined;
  for (const name of AUTH_HEADERS) {
    const v = single(name, headers, raw, maxBytes);
    if (v === undefined) continue;
    const c = name === 'authorization' ? fromAuthorization(v) : ({ kind: 'key', value: token(name, v), from: name } as const);
    if (found) {
      const same = found.kind === 'key' && c.kind === 'key' && found.value === c.value;
      if (!same) throw new SwitchyardError('invalid_credentials', 'the request carries two different credentials (Authorization, x-api-key, api-key); send one');
      continue;
    }
    found = c;
  }
  return found;
}
