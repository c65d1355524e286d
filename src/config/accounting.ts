/**
 * Configuration of cost accounting: pricing (and the savings reference),
 * budgets and rate limits. Composed into the main schema (`schema.ts`) as
 * `accounting`; `src/accounting/index.ts` turns it into the admission and
 * settlement hooks the core calls.
 *
 * @example
 * ```yaml
 * accounting:
 *   store: redis
 *   redis: { url: redis://127.0.0.1:6379, keyPrefix: "switchyard:acct:" }
 *   pricing: { referenceModel: gpt-4o }
 *   budgets:
 *     by: header
 *     header: x-team
 *     default: { dailyUsd: 5, monthlyUsd: 100 }
 *     limits:
 *       research: { dailyUsd: 50, softRatio: 0.9 }
 *   rateLimits:
 *     default: { requestsPerMinute: 600, tokensPerMinute: 200000 }
 *     tenants:
 *       "t:batch": { requestsPerMinute: 60 }
 * ```
 */
import { z } from 'zod';
import { keyPrefix, redisConnectionShape } from './redis.js';

const usd = z.number().nonnegative();
const perMinute = z.number().int().nonnegative();

export const accountingRedisSchema = z
  .object({
    /** url, cluster, commandTimeoutMs (past it `onStoreError` decides), breaker: see `redis.ts`. */
    ...redisConnectionShape,
    /** Prefix of every budget and rate-limit key. */
    keyPrefix: keyPrefix.default('switchyard:acct:'),
  })
  .strict();

export const pricingSchema = z
  .object({
    /**
     * The model savings are measured against (a configured model or one in
     * the built-in table). Unset: the most expensive configured model.
     */
    referenceModel: z.string().min(1).optional(),
    /** What a local upstream (`local: true`) costs per 1M tokens; zero by default. */
    localInputPer1M: usd.default(0),
    localOutputPer1M: usd.default(0),
  })
  .strict();

export const budgetCapSchema = z
  .object({
    dailyUsd: usd.optional(),
    monthlyUsd: usd.optional(),
    /** Fraction of a cap at which the router is asked to downgrade; default the section's `softRatio`. */
    softRatio: z.number().min(0).max(1).optional(),
  })
  .strict();

export const budgetsSchema = z
  .object({
    /**
     * Whom a budget belongs to: the resolved tenant, the caller's key (a
     * virtual key's id `key:<id>`, else the credential digest `k:<hex>`), the
     * team (keys or proxy header), the end user within its tenant
     * (`<tenant>/<user>`: OpenAI `user`, Anthropic `metadata.user_id`) or the
     * value of `header` (as is when a trusted proxy set it, `auth.mode:
     * header`; otherwise `<tenant>/<value>`). A virtual key with its own
     * `budget` always counts against itself.
     */
    by: z.enum(['tenant', 'api-key', 'team', 'user', 'header']).default('tenant'),
    header: z.string().toLowerCase().optional(),
    /** Fraction of a cap past which spend is `soft` (the router downgrades). */
    softRatio: z.number().min(0).max(1).default(0.8),
    /** Caps of every identity not listed in `limits`. */
    default: budgetCapSchema.default({}),
    /** Caps by identity; these also get a `switchyard_budget_remaining_usd` series. */
    limits: z.record(z.string(), budgetCapSchema).default({}),
    /** Completion tokens assumed when reserving for a request without `max_tokens`. */
    defaultOutputTokens: z.number().int().positive().default(1024),
    /** A reservation never settled (a face that lost the request) is released after this long. */
    reservationTtlMs: z.number().int().positive().default(15 * 60_000),
  })
  .strict()
  .refine((b) => b.by !== 'header' || Boolean(b.header), { message: '`header` is required when `by` is "header"', path: ['header'] });

export const rateLimitSchema = z
  .object({
    requestsPerMinute: perMinute.optional(),
    /** Prompt + expected completion tokens per minute (corrected to the real usage afterwards). */
    tokensPerMinute: perMinute.optional(),
  })
  .strict();

export const rateLimitsSchema = z
  .object({
    /** Limits of every tenant not listed in `tenants`. */
    default: rateLimitSchema.default({}),
    /** Limits by tenant (`t:<header value>`, `k:<key digest>` or `anonymous`). */
    tenants: z.record(z.string(), rateLimitSchema).default({}),
  })
  .strict();

export const accountingSchema = z
  .object({
    /** Where budget and rate-limit counters live: one process (`memory`) or shared by replicas (`redis`). */
    store: z.enum(['memory', 'redis']).default('memory'),
    redis: accountingRedisSchema.default(accountingRedisSchema.parse({})),
    /**
     * When the shared store cannot answer in time (deadline, breaker open):
     * `open` admits the request and counts it in this process only (limits
     * hold per replica until Redis is back); `closed` refuses it with 503
     * `store_unavailable`.
     */
    onStoreError: z.enum(['open', 'closed']).default('open'),
    pricing: pricingSchema.default(pricingSchema.parse({})),
    budgets: budgetsSchema.default(budgetsSchema.parse({})),
    rateLimits: rateLimitsSchema.default(rateLimitsSchema.parse({})),
  })
  .strict();

/** The `accounting` section after validation. */
export type AccountingConfig = z.output<typeof accountingSchema>;
export type BudgetsConfig = z.output<typeof budgetsSchema>;
export type BudgetCap = z.output<typeof budgetCapSchema>;
export type RateLimitsConfig = z.output<typeof rateLimitsSchema>;
export type RateLimit = z.output<typeof rateLimitSchema>;
export type PricingConfig = z.output<typeof pricingSchema>;
