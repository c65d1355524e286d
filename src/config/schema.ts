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
import { authSchema } from './auth.js';
import { serverLimitsShape } from './server-limits.js';
import { envoySchema } from './envoy.js';

const positiveMs = z.number().int().positive();

/** An http(s) URL. Plain `z.string().url()` accepts `localhost:8081/v1` (scheme "localhost:"), a common typo. */
const httpUrl = z.url({ protocol: /^https?$/, error: 'Invalid URL (expected http:// or https://)' });

export const modelSchema = z
  .object({
    /** The name clients use and the name shown in `/v1/models`. Unique across upstreams. */
    name: z.string().min(1),
    /** The name sent to the upstream, when it differs from `name`. */
    upstreamModel: z.string().min(1).optional(),
    /**
     * Tokens the model accepts (prompt + completion). Optional: an undeclared
     * window never rules a model out, and a context overflow may move to it.
     */
    contextWindow: z.number().int().positive().optional(),
    /** Largest completion the model can produce; used to clamp max_tokens. */
    maxOutputTokens: z.number().int().positive().optional(),
    /**
     * Completion tokens assumed when reserving budget for a request to this
     * model that sets no `max_tokens` (default: `accounting.budgets.defaultOutputTokens`).
     */
    defaultOutputTokens: z.number().int().positive().optional(),
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

/** Retries on the same deployment, per failure class (after the first attempt). */
export const retryOnSchema = z
  .object({
    /** Connection refused, DNS, TLS, connect timeout. */
    connect: z.number().int().min(0).max(10).default(1),
    /** Connection reset or closed before a complete answer, before any byte reached the client. */
    reset: z.number().int().min(0).max(10).default(1),
    /** A 5xx answer (or an unreadable 2xx body). */
    '5xx': z.number().int().min(0).max(10).default(1),
    /** A 429 answer (its Retry-After is honoured up to `maxRetryAfterMs`). */
    '429': z.number().int().min(0).max(10).default(1),
    /** No first byte before `firstTokenMs` (a silent upstream), or a 408: by default the next candidate instead. */
    timeout: z.number().int().min(0).max(10).default(0),
  })
  .strict();

export const retrySchema = z
  .object({
    /** Most retries of the same deployment after the first attempt, whatever the failure classes. */
    max: z.number().int().min(0).max(10).default(1),
    /** Retries per failure class, each also capped by `max`. */
    on: retryOnSchema.default(retryOnSchema.parse({})),
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
    /**
     * Marks a local tier (llama.cpp sidecar): allowed for privacy-sensitive
     * requests, and probed (`GET /health`, else `GET <baseUrl>/models`) so a
     * sidecar that is not running is skipped with a reason instead of refused per request.
     */
    local: z.boolean().default(false),
    /** How often a `local: true` upstream is probed. */
    probeIntervalMs: positiveMs.default(5_000),
    /**
     * The upstream accepts an assistant prefill (a final assistant message it
     * continues): used to resume a stream that failed mid-answer. Anthropic
     * upstreams always do; set it for OpenAI-compatible servers that do.
     */
    prefill: z.boolean().default(false),
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
    /** Removed: see `auth` (a client-sent tenant header is no longer trusted). Kept only to explain the load error. */
    tenantHeader: z
      .unknown()
      .optional()
      .refine((v) => v === undefined, {
        message:
          'server.tenantHeader was removed: a client-sent tenant header is no longer trusted. Use auth.mode: header with auth.header.tenantHeader behind a trusted proxy, or auth.mode: keys (docs/security.md)',
      }),
    /** Graceful shutdown: how long in-flight requests may finish. */
    shutdownGraceMs: z.number().int().min(0).default(10_000),
    /** Slow-client and connection limits (server-limits.ts). */
    ...serverLimitsShape,
  })
  .strict();

export const proxySchema = z
  .object({
    /** Where non-LLM paths go (Express face and `serve`); unset → next() / 404. */
    target: httpUrl.optional(),
  })
  .strict();

export const resumeSchema = z
  .object({
    /** Continuations per request after a stream failed mid-answer; 0 turns resume off (in-band error, as before). */
    maxResumes: z.number().int().min(0).max(5).default(1),
    /** Cache an answer that was spliced from more than one attempt. */
    cacheResumed: z.boolean().default(false),
  })
  .strict();

export const configSchema = z
  .object({
    server: serverSchema.default(serverSchema.parse({})),
    /** Identity and access: auth mode, virtual keys, trusted proxies, admin token, nginx decide trust. */
    auth: authSchema.default(authSchema.parse({})),
    upstreams: z.array(upstreamSchema).default([]),
    tiers: z.array(tierSchema).default([]),
    /** Model name → models to try, in order, when it fails. */
    fallbacks: z.record(z.string(), z.array(z.string().min(1))).default({}),
    /** Mid-stream resume: continue an answer that failed after bytes reached the client on the next candidate. */
    resume: resumeSchema.default(resumeSchema.parse({})),
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
    /** The Envoy face (ext_proc): buffer limits. */
    envoy: envoySchema.default(envoySchema.parse({})),
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
    const cycle = fallbackCycle(cfg.fallbacks);
    if (cycle) {
      ctx.addIssue({ code: 'custom', path: ['fallbacks', cycle[0]!], message: `fallback chains must not loop: ${cycle.join(' -> ')}` });
    }
    if (cfg.defaultModel !== undefined && !known(cfg.defaultModel)) {
      ctx.addIssue({ code: 'custom', path: ['defaultModel'], message: `unknown model "${cfg.defaultModel}"` });
    }
    if (cfg.embeddingsUpstream !== undefined && !upstreamNames.has(cfg.embeddingsUpstream)) {
      ctx.addIssue({ code: 'custom', path: ['embeddingsUpstream'], message: `unknown upstream "${cfg.embeddingsUpstream}"` });
    }
  });

/**
 * A loop in the fallback graph (chains are followed transitively), as the
 * model names along it, first repeated at the end; undefined when there is none.
 *
 * @example
 * fallbackCycle({ a: ['b'], b: ['a'] }); // ['a', 'b', 'a']
 */
export function fallbackCycle(fallbacks: Record<string, readonly string[]>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (m: string): string[] | undefined => {
    const s = state.get(m);
    if (s === 'done') return undefined;
    if (s === 'open') return [...path.slice(path.indexOf(m)), m];
    state.set(m, 'open');
    path.push(m);
    for (const next of fallbacks[m] ?? []) {
      const found = visit(next);
      if (found) return found;
    }
    path.pop();
    state.set(m, 'done');
    return undefined;
  };
  for (const m of Object.keys(fallbacks)) {
    const found = visit(m);
    if (found) return found;
  }
  return undefined;
}

/** Configuration as written (defaults optional). */
export type SwitchyardConfigInput = z.input<typeof configSchema>;
/** Configuration after validation (defaults filled). */
export type SwitchyardConfig = z.output<typeof configSchema>;
export type UpstreamConfig = z.output<typeof upstreamSchema>;
export type ModelConfig = z.output<typeof modelSchema>;
export type TierConfig = z.output<typeof tierSchema>;
export type TimeoutsConfig = z.output<typeof timeoutsSchema>;
export type RetryConfig = z.output<typeof retrySchema>;
export type ResumeConfig = z.output<typeof resumeSchema>;
export type BreakerConfig = z.output<typeof breakerSchema>;
