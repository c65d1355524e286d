/**
 * The one factory of Redis connections. Features ask for a connection with
 * their own `redis:` section; sections with the same connection settings
 * (URL or cluster nodes, deadline, breaker) share one {@link RedisStore},
 * which is closed when its last user releases it. `redisHealth()` lists
 * every open connection for /healthz and /readyz.
 */
import type { RedisConnectionConfig } from '../config/redis.js';
import { RedisStore, type StoreHealth } from './redis.js';

/** A feature's hold on a shared connection. */
export interface RedisLease {
  readonly store: RedisStore;
  /** Lets go of the connection; the last release closes it. */
  release(): Promise<void>;
}

interface Entry {
  store: RedisStore;
  users: Map<symbol, { feature: string; onError: (err: Error) => void }>;
}

const pool = new Map<string, Entry>();

/** The part of a section that decides which connection it gets. */
export function connectionKey(cfg: Pick<RedisConnectionConfig, 'url' | 'cluster' | 'commandTimeoutMs' | 'breaker'>): string {
  return JSON.stringify([cfg.cluster?.rootNodes ?? cfg.url, cfg.commandTimeoutMs, cfg.breaker.failures, cfg.breaker.cooldownMs]);
}

/**
 * A connection for `feature` (a name for logs and health: `cache`,
 * `accounting`, `learning`, `shadow`, `records`, ...).
 *
 * @example
 * ```ts
 * const lease = acquireRedis('cache', config.cache.redis, (err) => log.warn(err.message));
 * await lease.store.call('get', (c) => c.get('k'));
 * await lease.release();
 * ```
 */
export function acquireRedis(
  feature: string,
  cfg: Pick<RedisConnectionConfig, 'url' | 'cluster' | 'commandTimeoutMs' | 'breaker'>,
  onError: (err: Error) => void = () => undefined,
): RedisLease {
  const key = connectionKey(cfg);
  let e = pool.get(key);
  if (e === undefined) {
    const users: Entry['users'] = new Map();
    const store = new RedisStore(feature, cfg, (err) => {
      for (const u of users.values()) u.onError(err);
    });
    e = { store, users };
    pool.set(key, e);
  }
  const id = Symbol(feature);
  e.users.set(id, { feature, onError });
  e.store.name = nameOf(e);
  const entry = e;
  let released = false;
  return {
    store: e.store,
    async release() {
      if (released) return;
      released = true;
      entry.users.delete(id);
      if (entry.users.size > 0) {
        entry.store.name = nameOf(entry);
        return;
      }
      if (pool.get(key) === entry) pool.delete(key);
      await entry.store.close();
    },
  };
}

function nameOf(e: Entry): string {
  return [...new Set([...e.users.values()].map((u) => u.feature))].sort().join('+');
}

/**
 * Health of every open Redis connection of this process.
 *
 * @example
 * ```ts
 * const degraded = redisHealth().some((h) => h.status !== 'ok');
 * ```
 */
export function redisHealth(): StoreHealth[] {
  return [...pool.values()].map((e) => e.store.health());
}
