/**
 * The Redis connection the cache stores share. Built to fail fast: commands
 * are rejected while the client is offline (no offline queue) and time out
 * after `commandTimeoutMs`, so a dead Redis turns lookups into misses instead
 * of stalled requests. Reconnection runs in the background.
 */
import { createClient } from 'redis';

/** A connected (or reconnecting) `redis` v5 client with the modules `redis` bundles (`ft.*`). */
export type CacheRedisClient = ReturnType<typeof createClient>;

/** Options of {@link openCacheRedis}. */
export interface CacheRedisOptions {
  url: string;
  commandTimeoutMs?: number;
  /** Connection errors (each reconnect attempt); default: ignored. */
  onError?: (err: Error) => void;
}

/**
 * Opens a client and starts connecting without waiting; commands fail with
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

/** Closes a client whether or not it ever connected. */
export async function closeCacheRedis(client: CacheRedisClient): Promise<void> {
  try {
    if (client.isReady) await client.close();
    else client.destroy();
  } catch {
    client.destroy();
  }
}

/** Escapes a literal for a Redis glob pattern (SCAN MATCH). */
export function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\^]/g, (c) => `\\${c}`);
}

/**
 * Deletes (UNLINK) every key matching `pattern`, a batch per SCAN page.
 * Cursor-based, so Redis is never blocked, and safe to run while entries are
 * written and expire.
 */
export async function unlinkMatching(client: CacheRedisClient, pattern: string): Promise<number> {
  let n = 0;
  for await (const keys of client.scanIterator({ MATCH: pattern, COUNT: 1000 })) {
    if (keys.length > 0) n += await client.unlink(keys);
  }
  return n;
}

/** Counts keys matching `pattern` (SCAN; for stats, not hot paths). */
export async function countMatching(client: CacheRedisClient, pattern: string): Promise<number> {
  let n = 0;
  for await (const keys of client.scanIterator({ MATCH: pattern, COUNT: 1000 })) n += keys.length;
  return n;
}
