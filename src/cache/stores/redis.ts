/**
 * Exact-cache store in Redis: one string per entry at
 * `<prefix>x:<partition id>:<question digest>`, JSON of the answer and its
 * partition, written with `SET ... EX`. Partition ids are hex and `:` only and
 * begin with the tenant digest, then the model-group digest, so a purge is a
 * SCAN for `<prefix>x:<tenant digest>:*` (or `...:<group digest>:*`) with
 * nothing to keep in sync and no risk of matching another tenant's keys.
 * Every command touches one key, so entries spread over a Redis Cluster's
 * slots (no hash tag); a purge scans every master. Each call runs under the
 * connection's deadline: a late or failed call is a miss (the facade).
 */
import type { CanonicalResponse } from '../../protocol/canonical.js';
import type { ExactEntry, ExactStore } from '../types.js';
import type { RedisStore } from '../../store/redis.js';
import { countMatching, escapeGlob, unlinkMatching } from './redis-client.js';

/** Options of {@link RedisExactStore}. */
export interface RedisExactStoreOptions {
  redis: RedisStore;
  /** e.g. `switchyard:`; entries live under `<keyPrefix>x:`. */
  keyPrefix: string;
  /** Shortest interval between two background entry counts for `size()`. */
  countEveryMs?: number;
}

interface StoredEntry {
  v: 1;
  t: string;
  g: string;
  s: number;
  r: CanonicalResponse;
}

/**
 * Exact entries in Redis, shared by every replica.
 *
 * @example
 * ```ts
 * const store = new RedisExactStore({ redis: acquireRedis('cache', config.cache.redis).store, keyPrefix: 'switchyard:' });
 * ```
 */
export class RedisExactStore implements ExactStore {
  readonly kind = 'redis' as const;
  private readonly base: string;
  private count = 0;
  private countedAt = 0;
  private counting = false;

  constructor(private readonly opts: RedisExactStoreOptions) {
    this.base = `${opts.keyPrefix}x:`;
  }

  /** The Redis key of an exact key. */
  redisKey(key: string): string {
    return this.base + key;
  }

  async get(key: string): Promise<ExactEntry | undefined> {
    const k = this.redisKey(key);
    const raw = await this.opts.redis.call('get', (c) => c.get(k));
    if (raw === null) return undefined;
    const e = JSON.parse(raw) as StoredEntry;
    if (e.v !== 1) return undefined;
    return { response: e.r, tenant: e.t, modelGroup: e.g, storedAt: e.s };
  }

  async set(key: string, entry: ExactEntry, ttlSeconds: number): Promise<void> {
    const stored: StoredEntry = { v: 1, t: entry.tenant, g: entry.modelGroup, s: entry.storedAt, r: entry.response };
    const k = this.redisKey(key);
    const v = JSON.stringify(stored);
    await this.opts.redis.call('set', (c) => c.set(k, v, { expiration: { type: 'EX', value: ttlSeconds } }));
  }

  async purge(partitionPrefix: string): Promise<number> {
    const n = await unlinkMatching(this.opts.redis, `${escapeGlob(this.base + partitionPrefix)}*`);
    this.count = Math.max(0, this.count - n);
    return n;
  }

  /** The last count taken (SCAN); a new one starts in the background when it is stale. */
  size(): number {
    const every = this.opts.countEveryMs ?? 30_000;
    if (!this.counting && Date.now() - this.countedAt >= every && this.opts.redis.available) {
      this.counting = true;
      countMatching(this.opts.redis, `${escapeGlob(this.base)}*`)
        .then((n) => {
          this.count = n;
          this.countedAt = Date.now();
        })
        .catch(() => undefined)
        .finally(() => {
          this.counting = false;
        });
    }
    return this.count;
  }

  /** Counts entries now (SCAN). */
  async countNow(): Promise<number> {
    this.count = await countMatching(this.opts.redis, `${escapeGlob(this.base)}*`);
    this.countedAt = Date.now();
    return this.count;
  }

  /** The client is shared and closed by its owner. */
  async close(): Promise<void> {}
}
