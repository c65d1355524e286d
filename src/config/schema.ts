/**
 * The configuration schema: the one source of truth. Types are inferred from
 * it; `load.ts` parses YAML, substitutes `${ENV}` and validates with it.
 * Feature sections (cache, routing, ...) live in their own files beside this
 * one and are composed here.
 */
import { z } from 'zod';
import { cacheSchema } from './cache.js';
import { mockSchema } from './mock.js';
import { accountingSchema } from './accounting.js';
import { observabilitySchema } from './observability.js';
import { routingSchema } from './routing.js';
import { shadowSchema } from './shadow.js';

const positiveMs = z.number().int().positive();

/** An http(s) URL. Plain `z.string().url()` accepts `localhost:8081/v1` (scheme "localhost:"), a common typo. */
const httpUrl = z.url({ protocol: /^https?$/, error: 'Invalid URL (expected http:// or https://)' });

export const modelSchema = z
  .object({
    /** The name clients use and the name shown in `/v1/models`. Unique across upstreams. */
    name: z.string().min(1),
    /** The name sent to the upstream, when it differs from `name`. */
    upstreamModel: z.string().min(1).optional(),
    contextWindow: z.number().int().positive().default(8192),
    /** Largest completion the model can produce; used to clamp max_tokens. */
    maxOutputTokens: z.number().int().positive().optional(),
    inputPricePer1M: z.number().nonnegative().default(0),
    outputPricePer1M: z.number().nonnegative().default(0),
  })
  .strict();

export const timeoutsSchema = z
  .object({
    /** TCP + TLS connect. */
    connectMs: positiveMs.default(5_000),
    /** Request sent → response headers (non-stream: → whole body). */
    firstTokenMs: positiveMs.default(60_000),
    /** Longest silence between two chunks of a streamed answer. */
    idleMs: positiveMs.default(30_000),
    /** Whole attempt, stream included. */
    totalMs: positiveMs.default(600_000),
  })
  .strict();

export const retrySchema = z
  .object({
    /** Retries of the same upstream after the first attempt. */
    max: z.number().int().min(0).max(10).default(1),
    baseDelayMs: z.number().int().min(0).default(200),
    maxDelayMs: z.number().int().min(0).default(5_000),
    /** Longest Retry-After honoured by waiting; longer ones move to the next fallback. */
    maxRetryAfterMs: z.number().int().min(0).default(10_000),
  })
  .strict();

export const breakerSchema = z
  .object({
    /** Failure percentage over the rolling window that opens the breaker. */
    errorThresholdPercentage: z.number().min(1).max(100).default(50),
    /** Fewest calls in the window before the percentage is judged. */
    volumeThreshold: z.number().int().min(1).default(5),
    /** Time open before a half-open probe. */
    resetTimeoutMs: positiveMs.default(10_000),
    rollingCountTimeoutMs: positiveMs.default(10_000),
  })
  .strict();

export const upstreamSchema = z
  .object({
    name: z.string().regex(/^[a-zA-Z0-9_.-]+$/, 'letters, digits, "_", "." and "-" only'),
    /** `mock`: a deterministic fake provider run in-process (no key, no network; see `mock`). */
    kind: z.enum(['openai-compatible', 'anthropic', 'mock']),
    /** Base URL including the version prefix, e.g. `https://api.openai.com/v1`. Required except for `kind: mock`. */
    baseUrl: httpUrl.optional(),
    /** Name of the environment variable holding the API key. Unset → the upstream is unavailable. */
    apiKeyEnv: z.string().min(1).optional(),
    /** Marks a local tier (llama.cpp sidecar): allowed for privacy-sensitive requests. */
    local: z.boolean().default(false),
    /** Extra headers sent to the upstream (values may use `${ENV}`). */
    headers: z.record(z.string(), z.string()).default({}),
    models: z.array(modelSchema).min(1),
    /** Whether `/v1/embeddings` may be sent here. */
    embeddings: z.boolean().default(false),
    timeouts: timeoutsSchema.default(timeoutsSchema.parse({})),
    retry: retrySchema.default(retrySchema.parse({})),
    breaker: breakerSchema.default(breakerSchema.parse({})),
    /** Keep-alive connection pool size. */
    maxConnections: z.number().int().positive().default(256),
    /** Ask OpenAI-compatible upstreams for usage in streams (`stream_options.include_usage`). */
    streamUsage: z.boolean().default(true),
    /** Settings of a `kind: mock` upstream (defaults: echo, OpenAI protocol, no delay, no fault). */
    mock: mockSchema.optional(),
  })
  .strict()
  .superRefine(
    (u, ctx) => {
      // Runs even when other keys are invalid (`when`), so a missing baseUrl is reported with them.
      const kind = (u as { kind?: unknown }).kind;
      if (typeof kind !== 'string' || kind === 'mock') return;
      if ((u as { baseUrl?: unknown }).baseUrl === undefined) {
        ctx.addIssue({ code: 'custom', path: ['baseUrl'], message: `required for kind ${kind} (expected an http(s) URL)` });
      }
      if ((u as { mock?: unknown }).mock !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['mock'], message: 'mock settings apply to kind: mock only' });
      }
    },
    { when: (payload) => typeof payload.value === 'object' && payload.value !== null },
  );

export const tierSchema = z
  .object({
    name: z.string().min(1),
    /** Model names, in order of preference. */
    models: z.array(z.string().min(1)).min(1),
  })
  .strict();

export const serverSchema = z
  .object({
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8080),
    /** Largest request body accepted. */
    bodyLimitBytes: z.number().int().positive().default(4 * 1024 * 1024),
    /** Header naming the tenant; otherwise the tenant is a digest of the API key. */
    tenantHeader: z.string().toLowerCase().default('x-switchyard-tenant'),
    /** Graceful shutdown: how long in-flight requests may finish. */
    shutdownGraceMs: z.number().int().min(0).default(10_000),
  })
  .strict();

export const proxySchema = z
  .object({
    /** Where non-LLM paths go (Express face and `serve`); unset → next() / 404. */
    target: httpUrl.optional(),
  })
  .strict();

export const configSchema = z
  .object({
    server: serverSchema.default(serverSchema.parse({})),
    upstreams: z.array(upstreamSchema).default([]),
    tiers: z.array(tierSchema).default([]),
    /** Model name → models to try, in order, when it fails. */
    fallbacks: z.record(z.string(), z.array(z.string().min(1))).default({}),
    /** Model used when a request names none or names `switchyard/auto` and no router is configured. */
    defaultModel: z.string().optional(),
    /** Upstream for `/v1/embeddings` when the model names none. */
    embeddingsUpstream: z.string().optional(),
    proxy: proxySchema.default(proxySchema.parse({})),
    cache: cacheSchema.default(cacheSchema.parse({})),
    accounting: accountingSchema.default(accountingSchema.parse({})),
    observability: observabilitySchema.default(observabilitySchema.parse({})),
    /** The router (`switchyard/auto` by signals, constraints, learning); absent → `defaultModel` / first tier. */
    routing: routingSchema.optional(),
    /** Shadow degradation tests: a sample of answers also sent to a cheaper tier and scored (off by default). */
    shadow: shadowSchema.default(shadowSchema.parse({})),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const upstreamNames = new Set<string>();
    const models = new Map<string, string>();
    cfg.upstreams.forEach((u, i) => {
      if (upstreamNames.has(u.name)) {
        ctx.addIssue({ code: 'custom', path: ['upstreams', i, 'name'], message: `duplicate upstream name "${u.name}"` });
      }
      upstreamNames.add(u.name);
      u.models.forEach((m, j) => {
        const other = models.get(m.name);
        if (other !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['upstreams', i, 'models', j, 'name'],
            message: `model "${m.name}" is already declared by upstream "${other}"`,
          });
        }
        models.set(m.name, u.name);
      });
    });
    const known = (name: string) => models.has(name);
    cfg.tiers.forEach((t, i) =>
      t.models.forEach((m, j) => {
        if (!known(m)) ctx.addIssue({ code: 'custom', path: ['tiers', i, 'models', j], message: `unknown model "${m}"` });
      }),
    );
    for (const [from, chain] of Object.entries(cfg.fallbacks)) {
      if (!known(from)) ctx.addIssue({ code: 'custom', path: ['fallbacks', from], message: `unknown model "${from}"` });
      chain.forEach((m, j) => {
        if (!known(m)) ctx.addIssue({ code: 'custom', path: ['fallbacks', from, j], message: `unknown model "${m}"` });
      });
    }
    if (cfg.defaultModel !== undefined && !known(cfg.defaultModel)) {
      ctx.addIssue({ code: 'custom', path: ['defaultModel'], message: `unknown model "${cfg.defaultModel}"` });
    }
    if (cfg.embeddingsUpstream !== undefined && !upstreamNames.has(cfg.embeddingsUpstream)) {
      ctx.addIssue({ code: 'custom', path: ['embeddingsUpstream'], message: `unknown upstream "${cfg.embeddingsUpstream}"` });
    }
  });

/** Configuration as written (defaults optional). */
export type SwitchyardConfigInput = z.input<typeof configSchema>;
/** Configuration after validation (defaults filled). */
export type SwitchyardConfig = z.output<typeof configSchema>;
export type UpstreamConfig = z.output<typeof upstreamSchema>;
export type ModelConfig = z.output<typeof modelSchema>;
export type TierConfig = z.output<typeof tierSchema>;
export type TimeoutsConfig = z.output<typeof timeoutsSchema>;
export type RetryConfig = z.output<typeof retrySchema>;
export type BreakerConfig = z.output<typeof breakerSchema>;
