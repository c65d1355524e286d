/**
 * Configuration of metrics, logs, decision records, tracing and the live
 * view. Composed into the main schema (`schema.ts`) as `observability`.
 *
 * @example
 * ```yaml
 * observability:
 *   metrics: { tenants: [t:acme, t:globex], tenantBuckets: 16 }
 *   records: { sink: jsonl, path: /var/log/switchyard/decisions.jsonl }
 *   logging: { decisions: true }
 * ```
 */
import { z } from 'zod';
import { redisConnectionShape } from './redis.js';

export const metricsConfigSchema = z
  .object({
    /** Path of the Prometheus endpoint on `serve` (and the Express face when it opts in). */
    path: z.string().startsWith('/').default('/metrics'),
    /** Serve metrics without the admin token (a scraper on an open network); default: admin only (docs/security.md). */
    public: z.boolean().default(false),
    /** Node's default process metrics (CPU, memory, event loop, GC). */
    processMetrics: z.boolean().default(true),
    /**
     * Tenants that get their own `tenant` label value on the cost metric.
     * Every other tenant is `other`, or one of `tenantBuckets` hashed buckets:
     * the label set stays bounded whatever the traffic.
     */
    tenants: z.array(z.string().min(1)).default([]),
    /** Hash unlisted tenants into this many buckets (`bucket-00`…); 0 puts them all in `other`. */
    tenantBuckets: z.number().int().min(0).max(256).default(0),
  })
  .strict();

const recordsRedisSchema = z
  .object({
    ...redisConnectionShape,
    stream: z.string().min(1).default('switchyard:decisions'),
    /** Approximate length the stream is trimmed to (XADD MAXLEN ~). */
    maxLen: z.number().int().positive().default(100_000),
  })
  .strict();

export const recordsSchema = z
  .object({
    /** Where each decision record goes, for later analysis. */
    sink: z.enum(['none', 'jsonl', 'redis-stream']).default('none'),
    /** JSONL file (appended), for `sink: jsonl`. */
    path: z.string().min(1).optional(),
    redis: recordsRedisSchema.default(recordsRedisSchema.parse({})),
  })
  .strict()
  .refine((r) => r.sink !== 'jsonl' || Boolean(r.path), { message: '`path` is required when `sink` is "jsonl"', path: ['path'] });

export const loggingSchema = z
  .object({
    /** Log every decision record at `info` (keys, tokens and detected PII are redacted). */
    decisions: z.boolean().default(false),
  })
  .strict();

export const tracingSchema = z
  .object({
    /** Start a gen_ai span per request (a no-op unless the host registers an OpenTelemetry SDK). */
    enabled: z.boolean().default(true),
  })
  .strict();

export const liveSchema = z
  .object({
    /** `/switchyard/dashboard`, `/switchyard/events` and `/switchyard/stats` on `serve`. */
    enabled: z.boolean().default(true),
    /** Decision records kept for the latency percentiles of the stats snapshot. */
    window: z.number().int().min(16).max(100_000).default(2048),
  })
  .strict();

export const observabilitySchema = z
  .object({
    metrics: metricsConfigSchema.default(metricsConfigSchema.parse({})),
    records: recordsSchema.default(recordsSchema.parse({})),
    logging: loggingSchema.default(loggingSchema.parse({})),
    tracing: tracingSchema.default(tracingSchema.parse({})),
    live: liveSchema.default(liveSchema.parse({})),
  })
  .strict();

/** The `observability` section after validation. */
export type ObservabilityConfig = z.output<typeof observabilitySchema>;
export type MetricsConfig = z.output<typeof metricsConfigSchema>;
export type RecordsConfig = z.output<typeof recordsSchema>;
