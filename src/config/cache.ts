/**
 * Configuration of the response cache (exact and semantic). Composed into the
 * main schema (`schema.ts`); `createResponseCache` in `src/cache/index.ts`
 * turns it into a cache.
 *
 * @example
 * ```yaml
 * cache:
 *   store: redis
 *   ttlSeconds: 600
 *   redis: { url: redis://cache:6379, keyPrefix: "switchyard:" }
 *   semantic:
 *     vectorStore: redis
 *     threshold: 0.85
 *   routes:
 *     /v1/messages: { enabled: false }
 * ```
 */
import { z } from 'zod';
import { DEFAULT_QUESTION_CHARS } from '../cache/key.js';
import { DEFAULT_SIMILARITY_THRESHOLD } from '../cache/verify.js';
import { embeddingSchema } from './embedding.js';
import { keyPrefix, redisConnectionSchema, redisConnectionShape } from './redis.js';

/** The LLM routes a per-route override may name. */
export const CACHE_ROUTES = ['/v1/chat/completions', '/v1/completions', '/v1/messages'] as const;
export type CacheRoute = (typeof CACHE_ROUTES)[number];

const ttl = z.number().int().positive().max(365 * 24 * 3600);
const threshold = z.number().min(0).max(1);

export const cacheRedisSchema = z
  .object({
    /** url, cluster, commandTimeoutMs (past it a lookup is a miss), breaker: see `redis.ts`. */
    ...redisConnectionShape,
    /** Prefix of every key the cache writes (exact entries, vector hashes, the RediSearch index name). */
    keyPrefix: keyPrefix.default('switchyard:'),
  })
  .strict();

export const cacheMemorySchema = z
  .object({
    /** Approximate bytes the exact in-process store may hold (keys, answer text, metadata). */
    maxBytes: z.number().int().positive().default(64 * 1024 * 1024),
    maxEntries: z.number().int().positive().default(100_000),
  })
  .strict();

export const semanticCacheSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Smallest cosine similarity of a candidate hit (then checked by the verifier). */
    threshold: threshold.default(DEFAULT_SIMILARITY_THRESHOLD),
    /** Second-stage check of a candidate (`verifyCandidate`): numbers, names, negations must agree. */
    verifier: z.boolean().default(true),
    /** Smallest verifier probability that serves a hit; unset → the verifier's default. */
    verifierMinScore: z.number().min(0).max(1).optional(),
    /**
     * Longest question the semantic cache embeds, in characters. A longer last
     * user turn is split: its last line (or sentence) is embedded, everything
     * before it must match exactly (a digest in the partition). At most 2000,
     * what the default embedder reads.
     */
    questionChars: z.number().int().min(64).max(2000).default(DEFAULT_QUESTION_CHARS),
    /** Candidates fetched from the index per lookup; the best one that passes is served. */
    candidates: z.number().int().min(1).max(32).default(4),
    vectorStore: z.enum(['memory', 'redis']).default('memory'),
    /** Most vectors the in-process index holds; the least recently used go first. */
    maxEntries: z.number().int().positive().default(100_000),
    /**
     * Approximate bytes the in-process index may hold (vectors as allocated, HNSW graphs, cached answers,
     * kept prompt text), least recently used out first, across partitions. About 3 KB per entry with
     * a 512-dimension embedder and a short answer.
     */
    maxBytes: z.number().int().positive().default(256 * 1024 * 1024),
    /**
     * Keep the question's text with its entry. Off: entries hold no prompt text; the verifier reads
     * a signature stored instead (32-bit digests of the words, names and numbers it compares).
     */
    keepPromptText: z.boolean().default(false),
    /** File the in-process index is restored from at start and written to at close. */
    snapshotPath: z.string().min(1).optional(),
    /** Also snapshot every this many seconds (unset: only at close). */
    snapshotIntervalSeconds: z.number().int().positive().optional(),
    /** RediSearch index name (vector store `redis`); default `<keyPrefix>semantic`. */
    indexName: z.string().min(1).optional(),
    /**
     * Where the RediSearch index lives when it is not on `cache.redis` (e.g.
     * the exact cache on a Redis Cluster, vectors on one Redis 8 node).
     */
    redis: redisConnectionSchema.optional(),
    /** RediSearch lookup attributes (vector store `redis`); unset: the server chooses. See docs/topology.md. */
    redisQuery: z
      .object({
        hybridPolicy: z.enum(['ADHOC_BF', 'BATCHES']).optional(),
        batchSize: z.number().int().positive().optional(),
        efRuntime: z.number().int().positive().optional(),
      })
      .strict()
      .optional(),
    embedding: embeddingSchema.default(embeddingSchema.parse(undefined)),
  })
  .strict();

export const cacheRouteSchema = z
  .object({
    enabled: z.boolean().optional(),
    threshold: threshold.optional(),
    ttlSeconds: ttl.optional(),
    /** Semantic lookups on this route (exact lookups follow `enabled`). */
    semantic: z.boolean().optional(),
  })
  .strict();

export const cacheSchema = z
  .object({
    enabled: z.boolean().default(true),
    ttlSeconds: ttl.default(3600),
    /** Where exact entries live. */
    store: z.enum(['memory', 'redis']).default('memory'),
    redis: cacheRedisSchema.default(cacheRedisSchema.parse({})),
    memory: cacheMemorySchema.default(cacheMemorySchema.parse({})),
    semantic: semanticCacheSchema.default(semanticCacheSchema.parse({})),
    /** Store answers that call tools (they await tool results; off by default). */
    cacheToolCalls: z.boolean().default(false),
    /** Only these requested models or tiers (model groups) are cached; unset → all. */
    models: z.array(z.string().min(1)).optional(),
    /** Per-route overrides of `enabled`, the similarity threshold and the TTL. */
    routes: z.partialRecord(z.enum(CACHE_ROUTES), cacheRouteSchema).optional(),
  })
  .strict();

/** Cache configuration as written. */
export type CacheConfigInput = z.input<typeof cacheSchema>;
/** Cache configuration after validation (defaults filled). */
export type CacheConfig = z.output<typeof cacheSchema>;
export type CacheRouteConfig = z.output<typeof cacheRouteSchema>;
export type SemanticCacheConfig = z.output<typeof semanticCacheSchema>;
export type CacheRedisConfig = z.output<typeof cacheRedisSchema>;
export type CacheMemoryConfig = z.output<typeof cacheMemorySchema>;
