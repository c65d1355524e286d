/**
 * Who may send routing feedback, and how often: the caller's identity is
 * resolved like any request's (a caller that cannot prove one gets 401), the
 * admin token makes it admin-sourced, and each tenant gets
 * `auth.feedbackPerMinute` per minute (429 beyond).
 *
 * With a Redis store configured (accounting's, else routing learning's), the
 * count is shared by every gateway instance: one INCR per feedback on
 * `<prefix>feedback:{<tenant>}:<minute>` (expiring after two minutes), through
 * the shared Redis layer (deadline, breaker). Policy on a store error (a
 * deadline, an open breaker): the per-process count decides, so each
 * instance still holds the limit on its own; feedback is never refused just
 * because Redis is down, and never unlimited.
 */
import type { RedisConnectionConfig } from '../config/redis.js';
import type { SwitchyardConfig } from '../config/schema.js';
import { SwitchyardError } from '../errors.js';
import { acquireRedis, connectionKey, type RedisLease } from '../store/redis-pool.js';
import type { IdentityInput, IdentityResolver } from './resolver.js';

/** Who is rating. */
export interface FeedbackSource {
  tenant?: string;
  admin: boolean;
}

/** The Redis the count is shared through, and the prefix of its keys. */
export type SharedFeedbackStore = Pick<RedisConnectionConfig, 'url' | 'cluster' | 'commandTimeoutMs' | 'breaker'> & { prefix: string };

/**
 * @example
 * const gate = new FeedbackGate();
 * const by = await gate.check(sy.identity, { headers, peer }, 60); // throws 401/429
 */
export class FeedbackGate {
  private readonly counts = new Map<string, number>();
  private minute = 0;
  private lease: { key: string; lease: RedisLease } | undefined;

  async check(ids: IdentityResolver, input: IdentityInput, perMinute: number, shared?: SharedFeedbackStore): Promise<FeedbackSource> {
    if (ids.admin.presentsToken(input.headers)) return { admin: true };
    const r = ids.resolve(input);
    const who = r instanceof Promise ? await r : r;
    const now = Math.floor(Date.now() / 60_000);
    if (now !== this.minute) {
      this.minute = now;
      this.counts.clear();
    }
    const local = (this.counts.get(who.tenant) ?? 0) + 1;
    this.counts.set(who.tenant, local);
    const n = shared ? ((await this.sharedCount(shared, who.tenant, now)) ?? local) : local;
    if (n > perMinute) {
      const retryAfter = Math.max(1, 60 - Math.floor((Date.now() % 60_000) / 1000));
      throw new SwitchyardError('rate_limited', `feedback is limited to ${perMinute} per minute per tenant; retry after ${retryAfter}s`, { retryAfter });
    }
    return { tenant: who.tenant, admin: false };
  }

  /** This minute's count across instances, or undefined when Redis did not answer (the local count decides). */
  private async sharedCount(cfg: SharedFeedbackStore, tenant: string, minute: number): Promise<number | undefined> {
    const key = connectionKey(cfg);
    if (this.lease?.key !== key) {
      void this.lease?.lease.release();
      this.lease = { key, lease: acquireRedis('feedback', cfg) };
    }
    const store = this.lease.lease.store;
    const k = `${cfg.prefix}feedback:{${tenant}}:${minute}`;
    try {
      const n = await store.call('feedback-incr', (c) => c.incr(k));
      if (n === 1) await store.call('feedback-expire', (c) => c.expire(k, 120));
      return n;
    } catch {
      return undefined;
    }
  }

  async close(): Promise<void> {
    const l = this.lease;
    this.lease = undefined;
    await l?.lease.release();
  }
}

/** The Redis the feedback count is shared through: accounting's, else routing learning's; none when both are in memory. */
export function sharedFeedbackStore(cfg: SwitchyardConfig): SharedFeedbackStore | undefined {
  if (cfg.accounting?.store === 'redis') return { ...cfg.accounting.redis, prefix: cfg.accounting.redis.keyPrefix };
  const l = cfg.routing?.learning;
  if (l?.enabled && l.store === 'redis') return { ...l.redis, prefix: `${l.redis.key}:` };
  return undefined;
}
