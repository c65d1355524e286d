/** Constant-time comparison of secrets. */
import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Compares two strings in time independent of where they differ (both are
 * hashed first, so their lengths do not leak either).
 *
 * @example
 * safeEqual(presented, token); // true only for the exact token
 */
export function safeEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a, 'utf8').digest();
  const db = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(da, db);
}
