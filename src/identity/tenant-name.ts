/**
 * Names of tenants as the rest of Switchyard sees them. A name is kept
 * readable (`t:acme`) when it is short printable ASCII; anything longer or
 * stranger is hashed whole (`t#<sha256>`), never truncated, so two different
 * names can never share a budget, a rate limit or a cache partition. The two
 * forms cannot collide: one starts `t:`, the other `t#`.
 */
import { createHash } from 'node:crypto';

/** Longest name kept as is. */
export const MAX_READABLE = 128;
const READABLE = /^[\x21-\x7e]+$/;

/**
 * @example
 * namedTenant('acme');            // 't:acme'
 * namedTenant('x'.repeat(300));   // 't#9c1b…' (64 hex digits)
 */
export function namedTenant(name: string, prefix = 't'): string {
  if (name.length <= MAX_READABLE && READABLE.test(name)) return `${prefix}:${name}`;
  return `${prefix}#${createHash('sha256').update(name, 'utf8').digest('hex')}`;
}

const digests = new Map<string, string>();

/**
 * The tenant of a presented credential in `none` mode: `k:` and 24 hex digits
 * (96 bits) of its SHA-256. `kind` separates a Basic user from a bearer token
 * with the same text. Never the credential itself.
 *
 * @example
 * credentialTenant('bearer', 'key-a'); // 'k:…'
 */
export function credentialTenant(kind: 'key' | 'basic', value: string): string {
  const memo = kind === 'key' ? value : `\0basic\0${value}`;
  let d = digests.get(memo);
  if (d === undefined) {
    d = `k:${createHash('sha256').update(memo, 'utf8').digest('hex').slice(0, 24)}`;
    if (digests.size > 10_000) digests.clear();
    digests.set(memo, d);
  }
  return d;
}

/**
 * A budget or rate-limit identity from any string: kept when short and
 * printable, else hashed whole (`#<sha256>`).
 */
export function boundedId(id: string): string {
  // An id that itself starts with `#` is hashed too, so nobody can name another id's hashed form.
  if (id.length <= MAX_READABLE && id[0] !== '#' && READABLE.test(id)) return id;
  return `#${createHash('sha256').update(id, 'utf8').digest('hex')}`;
}
