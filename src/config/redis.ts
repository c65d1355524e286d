/**
 * How a feature reaches Redis. Every `redis:` section (cache, accounting,
 * routing learning, shadow store, decision records) extends this one
 * connection schema, so each accepts a single node, a Redis Cluster and the
 * same deadline and breaker settings. Sections with identical connection
 * settings share one client (`src/store/redis-pool.ts`).
 *
 * A cluster is named either by its root nodes or by a `redis+cluster://`
 * URL listing them (`redis+cluster://10.0.0.1:6379,10.0.0.2:6379`; use
 * `rediss+cluster://` for TLS).
 *
 * @example
 * ```yaml
 * accounting:
 *   store: redis
 *   onStoreError: open
 *   redis:
 *     cluster: { rootNodes: [redis://10.0.0.1:6379, redis://10.0.0.2:6379] }
 *     commandTimeoutMs: 250
 *     breaker: { failures: 5, cooldownMs: 2000 }
 * ```
 */
import { z } from 'zod';

const REDIS_URL = /^(rediss?)(\+cluster)?:\/\//;

/** When the client stops calling a Redis that keeps timing out. */
export const redisBreakerSchema = z
  .object({
    /** Consecutive failed calls (timeouts, connection errors) that open the breaker. */
    failures: z.number().int().min(1).default(5),
    /** How long calls fail fast once open; then one probe (PING) decides. */
    cooldownMs: z.number().int().positive().default(2_000),
  })
  .strict();

export const redisClusterSchema = z
  .object({
    /** Some nodes of the cluster (`redis://host:port`); the client discovers the rest. */
    rootNodes: z.array(z.string().regex(/^rediss?:\/\//, 'a redis:// or rediss:// URL')).min(1),
  })
  .strict();

/** The connection fields every feature's `redis:` section has. */
export const redisConnectionShape = {
  /** `redis://`, `rediss://`, or `redis+cluster://host:port,host:port` for a cluster. */
  url: z.string().regex(REDIS_URL, 'a redis://, rediss://, redis+cluster:// or rediss+cluster:// URL').default('redis://127.0.0.1:6379'),
  /** A Redis Cluster; takes precedence over `url`. */
  cluster: redisClusterSchema.optional(),
  /** Deadline of every call: past it the call fails (a cache miss, a skipped write, the accounting policy). */
  commandTimeoutMs: z.number().int().positive().default(250),
  breaker: redisBreakerSchema.default(redisBreakerSchema.parse({})),
};

/** A bare connection section (no feature fields). */
export const redisConnectionSchema = z.object(redisConnectionShape).strict();

/** The connection part of any feature's `redis:` section, after validation. */
export type RedisConnectionConfig = z.output<typeof redisConnectionSchema>;
export type RedisBreakerConfig = z.output<typeof redisBreakerSchema>;

/** A key prefix: no braces, which Redis Cluster reads as a hash tag. */
export const keyPrefix = z
  .string()
  .min(1)
  .refine((s) => !/[{}]/.test(s), 'no "{" or "}" (Switchyard adds its own hash tags for Redis Cluster)');
