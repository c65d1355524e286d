/**
 * Key-space helpers the Redis cache stores share. Connections come from the
 * one factory in `src/store/` (deadline, breaker, cluster); these walk keys
 * on every master with SCAN, a page at a time, so Redis is never blocked.
 */
import type { RedisStore } from '../../store/redis.js';

/** Escapes a literal for a Redis glob pattern (SCAN MATCH). */
export function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\^{}]/g, (c) => `\\${c}`);
}

/**
 * Deletes (UNLINK) every key matching `pattern`, a batch per SCAN page.
 * Safe to run while entries are written and expire.
 *
 * @example
 * ```ts
 * await unlinkMatching(redis, `${escapeGlob('switchyard:x:')}*`);
 * ```
 */
export async function unlinkMatching(redis: RedisStore, pattern: string): Promise<number> {
  let n = 0;
  for await (const keys of redis.scan(pattern)) n += await redis.unlink(keys);
  return n;
}

/** Counts keys matching `pattern` (SCAN; for stats, not hot paths). */
export async function countMatching(redis: RedisStore, pattern: string): Promise<number> {
  let n = 0;
  for await (const keys of redis.scan(pattern)) n += keys.length;
  return n;
}

