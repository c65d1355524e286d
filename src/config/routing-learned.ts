/**
 * Configuration of the outcome-trained router (`routing.learned`): where the
 * labelled outcomes live (memory, Redis or a file; per tenant or global;
 * bounded, oldest first out), the neighbour estimate of
 * P(a cheaper tier is good enough | request) and the targets below which a
 * request goes up the ladder. Composed into `routing` (`routing.ts`).
 *
 * @example
 * ```yaml
 * routing:
 *   ladder: [MEDIUM, HIGH]
 *   learned:
 *     model: ./router-model.json      # from `switchyard route-fit` (optional)
 *     scope: tenant                   # each tenant learns from its own outcomes
 *     store: redis
 *     target: 0.8                     # p(MEDIUM ok) below 0.8 -> HIGH
 * ```
 */
import { z } from 'zod';
import { redisConnectionShape } from './redis.js';

const unit = z.number().min(0).max(1);

/**
 * The outcome stream's Redis: the shared connection section (single node or
 * cluster, deadline, breaker) plus the stream key (one key: one cluster slot).
 * `timeoutMs`, the former name of the deadline, is still read.
 */
const learnedRedisSchema = z
  .object({
    ...redisConnectionShape,
    /** Deadline of each Redis call; a late call is skipped (learning pauses, routing goes on). */
    commandTimeoutMs: z.number().int().positive().default(200),
    /** @deprecated The former name of `commandTimeoutMs`; when set it wins. */
    timeoutMs: z.number().int().positive().optional(),
    /** Stream holding the outcomes (shared by every gateway instance). */
    key: z.string().min(1).default('switchyard:routing:outcomes'),
    /** How often other instances' outcomes are read. */
    syncMs: z.number().int().positive().default(2_000),
  })
  .strict()
  .transform(({ timeoutMs, ...r }) => (timeoutMs === undefined ? r : { ...r, commandTimeoutMs: timeoutMs }));

export const routingLearnedSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** A model file written by `switchyard route-fit` (prior + seed outcomes); relative paths resolve from the working directory. */
    model: z.string().min(1).optional(),
    /** `global`: one pool of outcomes; `tenant`: each tenant's own (the model's seed outcomes are shared). */
    scope: z.enum(['global', 'tenant']).default('global'),
    /** Where online outcomes (feedback, shadow tests) persist. */
    store: z.enum(['memory', 'redis', 'file']).default('memory'),
    redis: learnedRedisSchema.default(learnedRedisSchema.parse({})),
    /** File for `store: file` (rewritten atomically, at most every `flushMs`). */
    file: z.string().min(1).optional(),
    flushMs: z.number().int().positive().default(5_000),
    /**
     * Local file for a snapshot of the outcome graphs, written on close and after a full rebuild and read at start, so a
     * restart loads the graphs instead of inserting every outcome again. It is checked against the outcomes the store
     * returns (checksums, outcome identities); a corrupt or stale file is ignored and rebuilt. Default with
     * `store: file`: `<file>.graph`; with `store: redis`: none (set a path local to the instance).
     */
    snapshot: z.string().min(1).optional(),
    /** Most online outcomes kept (per scope); the oldest go first. */
    maxOutcomes: z.number().int().positive().default(100_000),
    /** Outcomes older than this are dropped. */
    maxAgeHours: z.number().positive().default(24 * 30),
    /** Neighbours read per estimate (default: the model's, else 32). */
    neighbours: z.number().int().min(1).max(256).optional(),
    /** Neighbours less similar than this (cosine) do not count (default: the model's, else 0.5). */
    minSimilarity: z.number().min(-1).max(1).optional(),
    /** Weight of a neighbour: exp((similarity − 1) / sharpness); smaller = the nearest count more (default: the model's, else 0.2). */
    sharpness: z.number().positive().optional(),
    /** Pseudo-neighbours the prior counts as: with little evidence the estimate stays near the prior (default: the model's, else 2). */
    priorWeight: z.number().min(0).optional(),
    /** Default target: a tier whose p(ok) falls below it sends the request one step up (default: the model's fitted target for its tier, else 0.8). */
    target: unit.optional(),
    /** Per tier (case-insensitive names) targets. */
    targets: z.record(z.string(), unit).default({}),
    /** Guard rail: steps the learned choice may move from the complexity choice, either way. */
    maxSteps: z.number().int().min(0).default(1),
    /** Which online sources feed the outcome store. */
    sources: z
      .object({ feedback: z.boolean().default(true), shadow: z.boolean().default(true) })
      .strict()
      .default({ feedback: true, shadow: true }),
  })
  .strict()
  .superRefine((l, ctx) => {
    if (l.enabled && l.store === 'file' && !l.file) ctx.addIssue({ code: 'custom', path: ['file'], message: 'store: file needs a file path' });
  });

/** The `routing.learned` section after validation. */
export type RoutingLearnedConfig = z.output<typeof routingLearnedSchema>;
