/**
 * Key-space helpers the Redis cache stores share. Connections come from the
 * one factory in `src/store/` (deadline, breaker, cluster); these walk keys
 * on every master with SCAN, a page at a time, so Redis is never blocked.
 */
import { createClient } from 'redis';
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

/**
 * @deprecated A bare node-redis client, kept for code not yet on the shared
 * factory: use `acquireRedis` (`src/store/redis-pool.ts`), whose calls have a
 * deadline that fires, a breaker, cluster support and a /healthz entry.
 */
export type CacheRedisClient = ReturnType<typeof createClient>;

/** Options of {@link openCacheRedis}. */
export interface CacheRedisOptions {
  url: string;
  commandTimeoutMs?: number;
  /** Connection errors (each reconnect attempt); default: ignored. */
  onError?: (err: Error) => void;
}

/**
 * @deprecated Use `acquireRedis` (`src/store/redis-pool.ts`). Opens a bare
 * client (its `commandTimeoutMs` is not enforced once a command is on the
 * socket: wrap calls in a deadline) and starts connecting without waiting; commands fail with
 * `ClientOfflineError` until the connection is up.
 *
 * @example
 * ```ts
 * const client = openCacheRedis({ url: 'redis://127.0.0.1:6379' });
 * ```
 */
export function openCacheRedis(opts: CacheRedisOptions): CacheRedisClient {
  const client = createClient({
    url: opts.url,
    disableOfflineQueue: true,
    commandOptions: { timeout: opts.commandTimeoutMs ?? 250 },
    socket: {
      connectTimeout: 2_000,
      reconnectStrategy: (retries: number) => Math.min(100 * 2 ** Math.min(retries, 5), 3_000),
    },
  });
  // Without a listener an 'error' event would crash the process.
  client.on('error', (err: Error) => opts.onError?.(err));
  client.connect().catch((err: unknown) => opts.onError?.(err instanceof Error ? err : new Error(String(err))));
  return client;
}

/** @deprecated With {@link openCacheRedis}. Closes a client whether or not it ever connected. */
export async function closeCacheRedis(client: CacheRedisClient): Promise<void> {
  try {
    if (client.isReady) await client.close();
    else client.destroy();
  } catch {
    client.destroy();
  }
}
