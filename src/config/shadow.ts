/**
 * Configuration of shadow degradation tests (`shadow`): which answered
 * requests are also sent, in the background, to a cheaper tier or model; how
 * the two answers are scored (embedding similarity, an optional LLM judge);
 * where results go; and how `switchyard shadow report` turns them into a
 * recommendation. Off by default. Composed into the main schema
 * (`schema.ts`); tier and model names are checked against the rest of the
 * config by `shadowIssues` (`src/shadow/plan.ts`) when the core is built or
 * reloaded.
 *
 * @example
 * ```yaml
 * shadow:
 *   enabled: true
 *   minTier: HIGH                      # answers from HIGH (and stronger) are shadowed
 *   rate: 0.05                         # 5% of them, by request-id hash
 *   taskRates: { code: 0.2 }           # per task type
 *   target: { tier: MEDIUM }           # default: one ladder step down
 *   dailyBudgetUsd: 2
 *   judge: { baseUrl: https://api.openai.com/v1, model: gpt-4o-mini, apiKeyEnv: OPENAI_API_KEY }
 *   store: { kind: redis-stream }
 *   report: { targetAgreement: 0.9, minSamples: 30 }
 * ```
 */
import { z } from 'zod';
import { redisConnectionShape } from './redis.js';
import { TASK_TYPES, type TaskType } from '../routing/signals/task.js';

const unit = z.number().min(0).max(1);
const ms = z.number().int().positive();
const usd = z.number().nonnegative();
const httpUrl = z.url({ protocol: /^https?$/, error: 'Invalid URL (expected http:// or https://)' });
const taskEnum = z.enum(TASK_TYPES as unknown as [TaskType, ...TaskType[]]);

export const shadowTargetSchema = z
  .object({
    /** A tier (usually lower on the ladder) whose first usable model answers the shadow request. */
    tier: z.string().min(1).optional(),
    /** A configured model instead of a tier. */
    model: z.string().min(1).optional(),
  })
  .strict()
  .refine((t) => (t.tier === undefined) !== (t.model === undefined), { message: 'name exactly one of `tier` or `model`' });

export const shadowJudgeSchema = z
  .object({
    /** Any OpenAI-compatible API, called through the `openai` SDK. */
    baseUrl: httpUrl,
    model: z.string().min(1),
    /** Environment variable holding the API key (none: a placeholder is sent). */
    apiKeyEnv: z.string().min(1).optional(),
    timeoutMs: ms.default(30_000),
    /** Replaces the built-in rubric (the system prompt); it must ask for a 1–10 score. */
    rubric: z.string().min(1).optional(),
    /** Characters of the request and of each answer shown to the judge. */
    maxChars: z.number().int().positive().default(6_000),
    /** Judge prices, counted against `dailyBudgetUsd`. */
    inputPricePer1M: usd.default(0),
    outputPricePer1M: usd.default(0),
  })
  .strict();

export const shadowAgreementSchema = z
  .object({
    /** Cosine similarity of the two answers at or above which they agree. */
    similarity: unit.default(0.85),
    /** Judge score (1–10) at or above which the cheap answer is acceptable. */
    judge: z.number().min(1).max(10).default(7),
    /** `all`: every score present must pass; `any`: one passing score is enough. */
    require: z.enum(['all', 'any']).default('all'),
  })
  .strict();

const shadowRedisSchema = z
  .object({
    ...redisConnectionShape,
    stream: z.string().min(1).default('switchyard:shadow'),
    /** Approximate length the stream is trimmed to (XADD MAXLEN ~). */
    maxLen: z.number().int().positive().default(100_000),
  })
  .strict();

export const shadowStoreSchema = z
  .object({
    kind: z.enum(['redis-stream', 'jsonl']).default('redis-stream'),
    /** JSONL file (appended), for `kind: jsonl`. */
    path: z.string().min(1).optional(),
    redis: shadowRedisSchema.default(shadowRedisSchema.parse({})),
  })
  .strict()
  .refine((s) => s.kind !== 'jsonl' || Boolean(s.path), { message: '`path` is required when `kind` is "jsonl"', path: ['path'] });

export const shadowReportSchema = z
  .object({
    /** Complexity band edges (the routing thresholds are always added). */
    bands: z.array(unit).default([0.25, 0.5, 0.7, 0.85]),
    /** Agreement rate a downgrade must reach, judged on the Wilson lower bound. */
    targetAgreement: unit.default(0.9),
    /** Fewest scored samples before a band gets a verdict. */
    minSamples: z.number().int().positive().default(30),
    /** One-sided confidence of the Wilson bounds. */
    confidence: z.number().min(0.5).max(0.999).default(0.95),
  })
  .strict();

export const shadowAutoSchema = z
  .object({
    /**
     * Feed each scored sample (1 agreed, 0 did not) to the router's learned
     * quality of the shadow tier for its task (`router.recordQuality`): the
     * thresholds then move within `routing.learning.guardRail`.
     */
    enabled: z.boolean().default(false),
  })
  .strict();

export const shadowSchema = z
  .object({
    enabled: z.boolean().default(false),
    /** Ladder tier from which answers are shadowed (it and stronger ones); default the second ladder step. */
    minTier: z.string().min(1).optional(),
    /** Fraction of eligible requests shadowed (deterministic by request id). */
    rate: unit.default(0.05),
    /** Per task type, replacing `rate`. */
    taskRates: z.partialRecord(taskEnum, unit).default({}),
    /** What answers the shadow request; default one ladder step below the tier that answered. */
    target: shadowTargetSchema.optional(),
    /** Shadow calls in flight at once; a sample beyond it is skipped (counted), never queued. */
    maxConcurrent: z.number().int().positive().default(2),
    /** Most spent on shadow and judge calls per UTC day (shared through Redis with a `redis-stream` store). */
    dailyBudgetUsd: usd.default(1),
    /** Longest wait for one shadow answer. */
    timeoutMs: ms.default(60_000),
    /** Score answers by embedding similarity (the semantic cache's embedder, else one built from `cache.semantic.embedding`). */
    similarity: z.boolean().default(true),
    judge: shadowJudgeSchema.optional(),
    agreement: shadowAgreementSchema.default(shadowAgreementSchema.parse({})),
    store: shadowStoreSchema.default(shadowStoreSchema.parse({})),
    report: shadowReportSchema.default(shadowReportSchema.parse({})),
    auto: shadowAutoSchema.default(shadowAutoSchema.parse({})),
  })
  .strict();

/** Shadow configuration after validation (defaults filled). */
export type ShadowConfig = z.output<typeof shadowSchema>;
export type ShadowJudgeConfig = z.output<typeof shadowJudgeSchema>;
export type ShadowStoreConfig = z.output<typeof shadowStoreSchema>;
export type ShadowReportConfig = z.output<typeof shadowReportSchema>;
export type ShadowAgreementConfig = z.output<typeof shadowAgreementSchema>;
