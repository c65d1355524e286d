/**
 * Configuration of the router (`routing`): which tiers the complexity score
 * walks, the thresholds between them, operator rules, the privacy policy and
 * the constraints (SLA, load, A/B weights), and the feedback learning that
 * nudges the thresholds. Composed into the main schema (`schema.ts`); without
 * a `routing` section `switchyard/auto` goes to `defaultModel` (or the first
 * tier) as before. Tier names are checked against `tiers` when the router is
 * built (`routingIssues` in `src/routing/validate.ts`).
 *
 * @example
 * ```yaml
 * tiers:
 *   - { name: LOW, models: [local-llama] }
 *   - { name: MEDIUM, models: [gpt-4o-mini, claude-3-5-haiku-latest] }
 *   - { name: HIGH, models: [claude-sonnet-4-5, gpt-4o] }
 *   - { name: AGENTIC, models: [claude-sonnet-4-5] }
 * routing:
 *   ladder: [LOW, MEDIUM, HIGH]        # cheapest → strongest
 *   thresholds: [0.25, 0.70]           # complexity < 0.25 → LOW, < 0.70 → MEDIUM, else HIGH
 *   taskThresholds: { summarization: [0.70, 0.85] }  # per task type (`switchyard shadow report --apply`)
 *   agenticTier: AGENTIC               # tools or an agentic task
 *   rules: [{ name: legal, pattern: '\b(contract|lawsuit)\b', flags: i }]
 *   ruleTiers: { legal: HIGH }         # or `local-only`
 *   privacy: { localOnly: true }       # e-mail, cards, keys… never leave the machine
 *   sla: { maxLatencyMs: 5000, tiers: { LOW: 2000 } }
 *   load: { maxInFlight: { local: 4 }, maxQueue: 8, sidecars: [{ upstream: local }] }
 *   ab: { key: tenant, tiers: { HIGH: { claude-sonnet-4-5: 3, gpt-4o: 1 } } }
 *   learning: { store: redis, guardRail: 0.1 }
 *   learned: { model: ./router-model.json, scope: tenant }   # see docs/routing-learned.md
 * ```
 */
import { z } from 'zod';
import { SENSITIVE_KINDS, type SensitiveKind } from '../routing/signals/privacy.js';
import { TASK_TYPES, type TaskType } from '../routing/signals/task.js';
import { redisConnectionShape } from './redis.js';
import { routingLearnedSchema } from './routing-learned.js';
import { routingRulesSchema } from './routing-rules.js';

/** A `ruleTiers` target that keeps the request on local upstreams instead of naming a tier. */
export const LOCAL_ONLY = 'local-only';

const unit = z.number().min(0).max(1);
const ms = z.number().int().positive();
const httpUrl = z.url({ protocol: /^https?$/, error: 'Invalid URL (expected http:// or https://)' });

export const routingPrivacySchema = z
  .object({
    /** Requests carrying sensitive data go to `local: true` upstreams only (503 when none is usable). */
    localOnly: z.boolean().default(true),
    /** Which detector kinds count. */
    kinds: z.array(z.enum(SENSITIVE_KINDS as unknown as [SensitiveKind, ...SensitiveKind[]])).default([...SENSITIVE_KINDS]),
    /** Also override an explicitly named cloud model (not only `switchyard/*`). */
    explicitModels: z.boolean().default(true),
  })
  .strict();

export const routingSlaSchema = z
  .object({
    /** Default latency SLA; the `x-switchyard-max-latency-ms` header overrides it per request. */
    maxLatencyMs: ms.optional(),
    /** Per API route (`/v1/chat/completions`, `/v1/messages`, ...). */
    routes: z.record(z.string(), ms).default({}),
    /** Per tier (case-insensitive names). */
    tiers: z.record(z.string(), ms).default({}),
  })
  .strict();

export const sidecarPollSchema = z
  .object({
    /** The upstream (usually the llama.cpp sidecar) whose queue is polled. */
    upstream: z.string().min(1),
    /** Health JSON with a `queue` field (a number, or `{ waiting }` as `switchyard sidecar` reports); default `<origin of baseUrl>/health`. */
    healthUrl: httpUrl.optional(),
    intervalMs: ms.default(1_000),
    timeoutMs: ms.default(500),
  })
  .strict();

export const routingLoadSchema = z
  .object({
    /** Upstream name → in-flight requests at which it counts as saturated. */
    maxInFlight: z.record(z.string(), z.number().int().positive()).default({}),
    /** Queue length past which a sidecar counts as saturated (spill over to the next tier's cloud models). */
    maxQueue: z.number().int().min(0).default(8),
    /** Sidecars whose `/health` queue length is polled. */
    sidecars: z.array(sidecarPollSchema).default([]),
  })
  .strict();

export const routingAbSchema = z
  .object({
    /** What the split hashes: each request on its own, or each tenant sticking to one arm. */
    key: z.enum(['request', 'tenant']).default('request'),
    /** Tier → model → weight; the weighted pick goes first, the rest stay as fallbacks. */
    tiers: z.record(z.string(), z.record(z.string(), z.number().nonnegative())).default({}),
  })
  .strict();

const learningRedisSchema = z
  .object({
    ...redisConnectionShape,
    /** The hash holding every (task, tier) estimate (one key: one cluster slot). */
    key: z.string().min(1).default('switchyard:routing:quality'),
  })
  .strict();

export const routingLearningSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Where the per (task, tier) quality estimates live across restarts. */
    store: z.enum(['memory', 'redis', 'file']).default('memory'),
    redis: learningRedisSchema.default(learningRedisSchema.parse({})),
    /** JSON file for `store: file`. */
    file: z.string().min(1).optional(),
    /** Quality a tier should reach; above it its upper threshold rises (more traffic stays there), below it falls. */
    targetQuality: unit.default(0.8),
    /** Threshold shift per unit of (quality − target), before the guard rail. */
    gain: z.number().positive().max(10).default(0.5),
    /** Largest shift of any threshold from its configured value. */
    guardRail: z.number().min(0).max(0.5).default(0.1),
    /** Evidence at which a shift reaches half its full size. */
    minSamples: z.number().positive().default(10),
    /** Old feedback counts half after this long. */
    halfLifeHours: z.number().positive().default(168),
    /** Evidence cap per (task, tier): keeps estimates responsive. */
    maxEvidence: z.number().positive().default(500),
    /** Recent request ids remembered for feedback (oldest dropped first). */
    recentRequests: z.number().int().positive().default(10_000),
    /**
     * Whose routing client feedback moves. `tenant`: a tenant's feedback moves only its own
     * thresholds (kept in memory, on top of the shared estimate). `global`: the shared estimate,
     * which only admin feedback (the admin token) and shadow tests may move.
     */
    scope: z.enum(['tenant', 'global']).default('tenant'),
    /** Tenants with their own learned estimate kept (least recently updated dropped first); `tenant` scope. */
    maxTenants: z.number().int().positive().default(1_000),
  })
  .strict();

const tierName = z.string().min(1);

export const routingSchema = z
  .object({
    /** Tier names, cheapest to strongest, walked by the complexity score. */
    ladder: z.array(tierName).min(1).default(['LOW', 'MEDIUM', 'HIGH']),
    /** Ascending complexity thresholds between ladder steps (one fewer than the ladder); default evenly spaced, or 0.25/0.70 for three steps. */
    thresholds: z.array(unit).optional(),
    /** Per task type, thresholds replacing `thresholds` (same length, ascending), e.g. written by `switchyard shadow report --apply`. */
    taskThresholds: z.partialRecord(z.enum(TASK_TYPES as unknown as [TaskType, ...TaskType[]]), z.array(unit)).default({}),
    /** Tier for requests with tools or an agentic task; unset → the tier named `AGENTIC` when there is one, else none; `null` for none. */
    agenticTier: tierName.nullable().optional(),
    /** Operator keyword rules (signals). */
    rules: routingRulesSchema,
    /** Rule name → tier name or `local-only`; the first matching rule with a target wins. */
    ruleTiers: z.record(z.string(), tierName).default({}),
    privacy: routingPrivacySchema.default(routingPrivacySchema.parse({})),
    sla: routingSlaSchema.default(routingSlaSchema.parse({})),
    load: routingLoadSchema.default(routingLoadSchema.parse({})),
    ab: routingAbSchema.default(routingAbSchema.parse({})),
    learning: routingLearningSchema.default(routingLearningSchema.parse({})),
    /** The outcome-trained router (`src/routing/learned.ts`); absent: complexity thresholds only. */
    learned: routingLearnedSchema.optional(),
  })
  .strict()
  .superRefine((r, ctx) => {
    const th = r.thresholds;
    if (th) {
      if (th.length !== r.ladder.length - 1) {
        ctx.addIssue({ code: 'custom', path: ['thresholds'], message: `needs ${r.ladder.length - 1} threshold(s) for a ladder of ${r.ladder.length}` });
      }
      th.forEach((t, i) => {
        if (i > 0 && t < th[i - 1]!) ctx.addIssue({ code: 'custom', path: ['thresholds', i], message: 'thresholds must be ascending' });
      });
    }
    for (const [task, tt] of Object.entries(r.taskThresholds)) {
      if (tt.length !== r.ladder.length - 1) {
        ctx.addIssue({ code: 'custom', path: ['taskThresholds', task], message: `needs ${r.ladder.length - 1} threshold(s) for a ladder of ${r.ladder.length}` });
      }
      tt.forEach((t, i) => {
        if (i > 0 && t < tt[i - 1]!) ctx.addIssue({ code: 'custom', path: ['taskThresholds', task, i], message: 'thresholds must be ascending' });
      });
    }
    const rules = new Set(r.rules.map((x) => x.name));
    for (const name of Object.keys(r.ruleTiers)) {
      if (!rules.has(name)) ctx.addIssue({ code: 'custom', path: ['ruleTiers', name], message: `no rule named "${name}" in routing.rules` });
    }
    if (r.learning.enabled && r.learning.store === 'file' && !r.learning.file) {
      ctx.addIssue({ code: 'custom', path: ['learning', 'file'], message: 'store: file needs a file path' });
    }
  })
  .transform((r) => ({ ...r, thresholds: r.thresholds ?? defaultThresholds(r.ladder.length) }));

/** Thresholds for a ladder of `n` steps when none are configured. */
export function defaultThresholds(n: number): number[] {
  if (n === 3) return [0.25, 0.7];
  return Array.from({ length: n - 1 }, (_, i) => Number(((i + 1) / n).toFixed(4)));
}

/** The routing section after validation (defaults filled, thresholds resolved). */
export type RoutingConfig = z.output<typeof routingSchema>;
export type RoutingLearningConfig = z.output<typeof routingLearningSchema>;
export type RoutingLoadConfig = z.output<typeof routingLoadSchema>;
