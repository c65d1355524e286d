/**
 * What the shared stores mean for readiness. A degraded or unreachable Redis
 * does not make an instance unready: requests still complete (the cache
 * misses, learning is skipped, accounting counts in memory), and marking
 * every replica unready at once because their shared Redis is down would
 * turn a degraded service into an outage. The check reports it as
 * `degraded` instead. The exception: with `accounting.onStoreError: closed`,
 * a down accounting store refuses every budgeted request, so the instance
 * is unready until it is back.
 */
import type { SwitchyardConfig } from '../config/schema.js';
import type { StoreHealth } from './redis.js';

/** The `redis` readiness check's verdict. */
export interface StoreReadiness {
  ok: boolean;
  /** Why not ready, or what is degraded while still ready. */
  reason?: string;
  status: 'ok' | 'degraded' | 'down';
}

/**
 * @example
 * ```ts
 * storeReadiness(redisHealth(), config.accounting.onStoreError === 'closed');
 * // { ok: true, status: 'degraded', reason: 'redis (cache) degraded: 3 timeouts, last: …' }
 * ```
 */
export function storeReadiness(stores: readonly StoreHealth[], accountingFailsClosed: boolean): StoreReadiness {
  const bad = stores.filter((s) => s.status !== 'ok');
  if (bad.length === 0) return { ok: true, status: 'ok' };
  const reason = bad.map((s) => `redis (${s.name}) ${s.status}${s.lastError ? `: ${s.lastError}` : ''}`).join('; ');
  const blocking = accountingFailsClosed && bad.some((s) => s.status === 'down' && s.name.split('+').includes('accounting'));
  return { ok: !blocking, status: bad.some((s) => s.status === 'down') ? 'down' : 'degraded', reason: blocking ? `${reason} (accounting.onStoreError: closed refuses requests)` : reason };
}

/** Whether a config has any feature keep its state in Redis (then `/readyz` lists a `redis` check). */
export function usesRedis(cfg: SwitchyardConfig): boolean {
  const c = cfg.cache;
  return (
    (c.enabled && (c.store === 'redis' || (c.semantic.enabled && c.semantic.vectorStore === 'redis'))) ||
    cfg.accounting.store === 'redis' ||
    cfg.routing?.learning.store === 'redis' ||
    (cfg.shadow.enabled && cfg.shadow.store.kind === 'redis-stream') ||
    cfg.observability.records.sink === 'redis-stream'
  );
}
