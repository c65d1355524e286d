/**
 * Virtual keys in Redis: one string per key at `<prefix>{<id>}` (the hash tag
 * keeps everything about one identity in one Redis Cluster slot) holding the
 * JSON record, and a set `<prefix>{index}` of ids for `keys list`. Every
 * command touches one key, so a Redis Cluster serves the store. The
 * connection comes from the shared factory (`acquireRedis`): every call has
 * a deadline that fires and goes through the connection's breaker; a Redis
 * that does not answer in time is an error the resolver turns into 503 (or a
 * still-fresh cached record), never a stall.
 */
import type { VirtualKey } from '../config/auth.js';
import { virtualKeySchema } from '../config/auth.js';
import type { RedisConnectionConfig } from '../config/redis.js';
import { publish, RedisSubscription } from '../store/pubsub.js';
import { acquireRedis, type RedisLease } from '../store/redis-pool.js';
import type { KeyStore } from './key-store.js';

/** The key store's `redis:` section: a shared connection plus the key prefix. */
export type RedisKeyStoreOptions = Pick<RedisConnectionConfig, 'url' | 'commandTimeoutMs'> &
  Partial<Pick<RedisConnectionConfig, 'cluster' | 'breaker'>> & { keyPrefix: string };

const DEFAULT_BREAKER = { failures: 5, cooldownMs: 2_000 };

/**
 * @example
 * ```ts
 * const store = new RedisKeyStore({ url: 'redis://127.0.0.1:6379', keyPrefix: 'switchyard:keys:', commandTimeoutMs: 250 });
 * const rec = await store.get('k3j9x0a1b2c3');
 * await store.close();
 * ```
 */
export class RedisKeyStore implements KeyStore {
  readonly kind = 'redis' as const;
  private readonly lease: RedisLease;
  /** Deadline of the administrative calls (`keys` CLI, admin API): they may wait for a first connection. */
  private readonly adminMs: number;
  private sub: RedisSubscription | undefined;

  constructor(
    private readonly opts: RedisKeyStoreOptions,
    onError?: (e: Error) => void,
  ) {
    this.lease = acquireRedis('keys', { ...opts, breaker: opts.breaker ?? DEFAULT_BREAKER }, onError);
    this.adminMs = Math.max(opts.commandTimeoutMs * 4, 2_000);
  }

  private keyOf(id: string): string {
    return `${this.opts.keyPrefix}{${id}}`;
  }

  /** The channel on which every change of a record is announced (its id). */
  get channel(): string {
    return `${this.opts.keyPrefix}invalidate`;
  }

  /** Tells every gateway instance to drop its cached copy of `id` (after the write, so a re-read sees the change). */
  private async announce(id: string): Promise<void> {
    await publish(this.lease.store, this.channel, id, this.adminMs);
  }

  watch(fn: (id?: string) => void): void {
    void this.sub?.close();
    this.sub = new RedisSubscription(this.opts, this.channel, { message: (id) => fn(id), up: () => fn(undefined) });
  }

  /** Whether invalidations arrive now (else cached records live up to `cacheTtlMs`). */
  get watching(): boolean {
    return this.sub?.active ?? false;
  }

  private get indexKey(): string {
    return `${this.opts.keyPrefix}{index}`;
  }

  async get(id: string): Promise<VirtualKey | undefined> {
    const redis = this.lease.store;
    // The first lookup of a process may wait for the connection once (a deadline of its own), then the call's.
    await redis.ready(this.opts.commandTimeoutMs);
    const raw = await redis.call('keys-get', (c) => c.get(this.keyOf(id)));
    if (raw === null) return undefined;
    const parsed = virtualKeySchema.safeParse(JSON.parse(raw));
    if (!parsed.success) throw new Error(`key store: the record of "${id}" is not valid`);
    return parsed.data;
  }

  async list(): Promise<VirtualKey[]> {
    const redis = this.lease.store;
    await redis.ready(this.adminMs);
    const ids = await redis.call('keys-list', (c) => c.sMembers(this.indexKey), this.adminMs);
    const out: VirtualKey[] = [];
    for (const id of ids.sort()) {
      const rec = await this.get(id);
      if (rec) out.push(rec);
    }
    return out;
  }

  async put(key: VirtualKey): Promise<void> {
    const redis = this.lease.store;
    await redis.ready(this.adminMs);
    await redis.call('keys-put', (c) => c.set(this.keyOf(key.id), JSON.stringify(key)), this.adminMs);
    await redis.call('keys-index', (c) => c.sAdd(this.indexKey, key.id), this.adminMs);
    await this.announce(key.id);
  }

  async delete(id: string): Promise<boolean> {
    const redis = this.lease.store;
    await redis.ready(this.adminMs);
    const n = await redis.call('keys-delete', (c) => c.del(this.keyOf(id)), this.adminMs);
    await redis.call('keys-index', (c) => c.sRem(this.indexKey, id), this.adminMs);
    await this.announce(id);
    return n > 0;
  }

  async close(): Promise<void> {
    await this.sub?.close();
    this.sub = undefined;
    await this.lease.release();
  }
}
