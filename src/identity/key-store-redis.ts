/**
 * Virtual keys in Redis: one string per key at `<prefix>{<id>}` (the hash tag
 * keeps everything about one identity in one Redis Cluster slot) holding the
 * JSON record, and a set `<prefix>{index}` of ids for `keys list`. Every call
 * has a deadline: a Redis that does not answer in time is an error the
 * resolver turns into 503 (or a still-fresh cached record), never a stall.
 */
import type { VirtualKey } from '../config/auth.js';
import { virtualKeySchema } from '../config/auth.js';
import { closeCacheRedis, openCacheRedis, type CacheRedisClient } from '../cache/stores/redis-client.js';
import type { KeyStore } from './key-store.js';

export interface RedisKeyStoreOptions {
  url: string;
  keyPrefix: string;
  commandTimeoutMs: number;
}

/** Rejects after `ms` unless `p` settles first. */
export function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer from Redis within ${ms} ms`)), ms);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

export class RedisKeyStore implements KeyStore {
  readonly kind = 'redis' as const;
  private readonly client: CacheRedisClient;
  /** Settles at the first connection (one listener, however many callers wait). */
  private readonly connected: Promise<void>;

  constructor(
    private readonly opts: RedisKeyStoreOptions,
    onError?: (e: Error) => void,
  ) {
    // The one place this store's client is made: switch it to the shared factory here.
    this.client = openCacheRedis({ url: opts.url, commandTimeoutMs: opts.commandTimeoutMs, ...(onError ? { onError } : {}) });
    this.connected = new Promise<void>((resolve) => this.client.once('ready', () => resolve()));
  }

  private keyOf(id: string): string {
    return `${this.opts.keyPrefix}{${id}}`;
  }

  private get indexKey(): string {
    return `${this.opts.keyPrefix}{index}`;
  }

  /** Waits (up to `ms`) for the connection; at once when it is up. */
  private ready(ms = Math.max(this.opts.commandTimeoutMs, 2_000)): Promise<void> {
    if (this.client.isReady) return Promise.resolve();
    return withDeadline(this.connected, ms, 'key store connect');
  }

  async get(id: string): Promise<VirtualKey | undefined> {
    if (!this.client.isReady) await this.ready(this.opts.commandTimeoutMs);
    const raw = await withDeadline(this.client.get(this.keyOf(id)), this.opts.commandTimeoutMs, 'key store get');
    if (raw === null) return undefined;
    const parsed = virtualKeySchema.safeParse(JSON.parse(raw));
    if (!parsed.success) throw new Error(`key store: the record of "${id}" is not valid`);
    return parsed.data;
  }

  async list(): Promise<VirtualKey[]> {
    await this.ready();
    const ids = await withDeadline(this.client.sMembers(this.indexKey), this.opts.commandTimeoutMs * 4, 'key store list');
    const out: VirtualKey[] = [];
    for (const id of ids.sort()) {
      const rec = await this.get(id);
      if (rec) out.push(rec);
    }
    return out;
  }

  async put(key: VirtualKey): Promise<void> {
    await this.ready();
    await withDeadline(this.client.set(this.keyOf(key.id), JSON.stringify(key)), this.opts.commandTimeoutMs * 4, 'key store put');
    await withDeadline(this.client.sAdd(this.indexKey, key.id), this.opts.commandTimeoutMs * 4, 'key store index');
  }

  async delete(id: string): Promise<boolean> {
    await this.ready();
    const n = await withDeadline(this.client.del(this.keyOf(id)), this.opts.commandTimeoutMs * 4, 'key store delete');
    await withDeadline(this.client.sRem(this.indexKey, id), this.opts.commandTimeoutMs * 4, 'key store index');
    return n > 0;
  }

  async close(): Promise<void> {
    await closeCacheRedis(this.client);
  }
}
