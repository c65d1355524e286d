/**
 * Virtual keys: `sy-<id>.<secret>`. The id (12 lower-case base-36
 * characters) is public: it names the key in lists, logs and the store. The
 * secret is 32 random bytes (base64url). Only the peppered digest
 * HMAC-SHA-256(pepper, key) is stored; the pepper comes from the environment,
 * so a stolen store (file or Redis) alone cannot check guesses.
 */
import { createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';

const KEY = /^sy-([a-z0-9]{8,32})\.([A-Za-z0-9_-]{20,128})$/;
const ID_CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** A key's id, or undefined when the text is not shaped like a virtual key. */
export function keyIdOf(key: string): string | undefined {
  return KEY.exec(key)?.[1];
}

/** hex HMAC-SHA-256(pepper, key). */
export function hashKey(key: string, pepper: string): string {
  return createHmac('sha256', pepper).update(key, 'utf8').digest('hex');
}

/** Does `key` hash to `hash` (constant time)? */
export function keyMatches(key: string, hash: string, pepper: string): boolean {
  const a = Buffer.from(hashKey(key, pepper), 'hex');
  const b = Buffer.from(hash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * A new key and its digest.
 *
 * @example
 * const { id, key, hash } = newKey(process.env.SWITCHYARD_KEY_PEPPER!);
 * // key: 'sy-k3j9x0a1b2c3.Zq…' (show once), hash: stored
 */
export function newKey(pepper: string, id?: string): { id: string; key: string; hash: string } {
  const kid = id ?? Array.from({ length: 12 }, () => ID_CHARS[randomInt(ID_CHARS.length)]).join('');
  const key = `sy-${kid}.${randomBytes(32).toString('base64url')}`;
  return { id: kid, key, hash: hashKey(key, pepper) };
}
