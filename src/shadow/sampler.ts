/**
 * Which answered requests get a shadow test, and who answers it. A request
 * qualifies when the router chose its tier from signals (`switchyard/auto`),
 * it was not kept local for privacy, it got a complete text answer from a
 * ladder tier at or above `shadow.minTier`, and the hash of its id falls
 * under the task's rate. The shadow side is the configured target, or one
 * ladder step down; it must be cheaper than what answered, usable, and idle
 * enough: shadow calls yield to user traffic (a saturated or queueing
 * upstream is skipped, see `penalty` with `maxQueue: 0`).
 */
import { createHash } from 'node:crypto';
import { ConfigError } from '../config/load.js';
import type { ShadowConfig } from '../config/shadow.js';
import type { SwitchyardConfig, TierConfig } from '../config/schema.js';
import type { RequestContext } from '../core/context.js';
import { penalty, type Judge } from '../routing/constraints.js';
import type { LoadMonitor } from '../routing/load.js';
import { tierDeployments } from '../routing/tiers.js';
import { findTier } from '../routing/validate.js';
import type { Deployment, UpstreamRegistry } from '../upstream/registry.js';

/** A shadow test to run: the user's side and the candidates for the cheap side, best first. */
export interface ShadowPick {
  task: string;
  complexity: number;
  byComplexity: boolean;
  tier: string;
  shadowTier?: string;
  targets: Deployment[];
}

/** The config facts sampling needs, resolved once per config. */
export interface SamplingPlan {
  readonly cfg: ShadowConfig;
  readonly config: SwitchyardConfig;
  /** Ladder tiers, cheapest first. */
  readonly ladder: readonly TierConfig[];
  /** Ladder position of `minTier`. */
  readonly minStep: number;
}

/** A dangling name in the `shadow` section, as `{ path, message }`. */
export interface ShadowIssue {
  path: string;
  message: string;
}

/**
 * Cross-checks `shadow` against the rest of the config; empty when sound.
 *
 * @example
 * shadowIssues(cfg); // [{ path: 'shadow.minTier', message: 'not a routing.ladder tier: "HUGE"' }]
 */
export function shadowIssues(cfg: SwitchyardConfig): ShadowIssue[] {
  const s = cfg.shadow;
  if (!s.enabled) return [];
  const out: ShadowIssue[] = [];
  const ladder = cfg.routing?.ladder.map((n) => n.toLowerCase()) ?? [];
  if (!cfg.routing) out.push({ path: 'shadow.enabled', message: 'shadow tests need a `routing` section (tiers by task and complexity)' });
  if (s.minTier !== undefined && !ladder.includes(s.minTier.toLowerCase())) out.push({ path: 'shadow.minTier', message: `not a routing.ladder tier: "${s.minTier}"` });
  if (s.target?.tier !== undefined && !findTier(cfg, s.target.tier)) out.push({ path: 'shadow.target.tier', message: `no tier named "${s.target.tier}" under tiers` });
  if (s.target?.model !== undefined && !cfg.upstreams.some((u) => u.models.some((m) => m.name === s.target!.model))) {
    out.push({ path: 'shadow.target.model', message: `unknown model "${s.target.model}"` });
  }
  return out;
}

/**
 * Resolves the sampling plan of a config.
 *
 * @throws {ConfigError} when `shadow` names unknown tiers or models
 */
export function compilePlan(config: SwitchyardConfig): SamplingPlan {
  const issues = shadowIssues(config);
  if (issues.length > 0) throw new ConfigError(issues);
  const ladder = (config.routing?.ladder ?? []).map((n) => findTier(config, n)).filter((t): t is TierConfig => t !== undefined);
  const min = config.shadow.minTier?.toLowerCase();
  const minStep = min === undefined ? Math.min(1, ladder.length - 1) : ladder.findIndex((t) => t.name.toLowerCase() === min);
  return { cfg: config.shadow, config, ladder, minStep };
}

/**
 * A request id's place in [0, 1): the same id always gets the same value, so
 * sampling is reproducible (and every face agrees on it).
 *
 * @example
 * sampleFraction('4f1c…') < 0.05; // this request is in the 5% sample
 */
export function sampleFraction(id: string): number {
  return createHash('sha256').update(id).digest().readUInt32BE(0) / 2 ** 32;
}

function stepOf(plan: SamplingPlan, tier: string | undefined): number {
  if (tier === undefined) return -1;
  const lower = tier.toLowerCase();
  return plan.ladder.findIndex((t) => t.name.toLowerCase() === lower);
}

/** The ladder step that answered: the routed tier when it holds the model, else the model's own ladder tier. */
function answeredStep(plan: SamplingPlan, ctx: RequestContext, d: Deployment, reg: UpstreamRegistry): number {
  const routed = stepOf(plan, ctx.route?.tier);
  if (routed >= 0 && tierDeployments(plan.ladder[routed]!, plan.config, reg).includes(d)) return routed;
  const own = plan.ladder.findIndex((t) => t.models.includes(d.model.name));
  return own >= 0 ? own : routed;
}

/**
 * Decides whether an answered request gets a shadow test (cheap, synchronous:
 * it runs on the response path) and who would answer it: undefined when the
 * request is not sampled, `'no-target'` when it is but no cheaper deployment
 * is usable and idle.
 */
export function pickShadow(plan: SamplingPlan, ctx: RequestContext, answered: Deployment, reg: UpstreamRegistry, load: LoadMonitor): ShadowPick | 'no-target' | undefined {
  const s = plan.cfg;
  const route = ctx.route;
  const signals = route?.signals;
  if (!route || !signals || route.localOnly) return undefined;
  const task = signals.task.type;
  const rate = s.taskRates[task] ?? s.rate;
  if (rate <= 0) return undefined;
  const step = answeredStep(plan, ctx, answered, reg);
  if (step < 0 || step < plan.minStep) return undefined;
  if (sampleFraction(ctx.id) >= rate) return undefined;

  let pool: Deployment[];
  let shadowTier: string | undefined;
  if (s.target?.model !== undefined) {
    const d = reg.deployment(s.target.model);
    pool = d ? [d] : [];
    const own = plan.ladder.findIndex((t) => t.models.includes(s.target!.model!));
    shadowTier = own >= 0 ? plan.ladder[own]!.name : undefined;
    if (own >= step) return 'no-target';
  } else {
    const tier = s.target?.tier !== undefined ? findTier(plan.config, s.target.tier) : plan.ladder[step - 1];
    if (!tier) return 'no-target';
    const tStep = stepOf(plan, tier.name);
    if (tStep >= 0 && tStep >= step) return 'no-target';
    pool = tierDeployments(tier, plan.config, reg);
    shadowTier = tier.name;
  }
  const judge: Judge = {
    now: Date.now(),
    tokens: signals.tokens,
    maxOutput: ctx.req.maxTokens ?? 0,
    slaMs: undefined,
    stream: false,
    load,
    maxInFlight: plan.config.routing?.load.maxInFlight ?? {},
    maxQueue: 0,
  };
  const targets = pool.filter((d) => d !== answered && d.upstream.provider.supports(ctx.operation) && penalty(d, judge) === 0);
  if (targets.length === 0) return 'no-target';
  return {
    task,
    complexity: signals.complexity,
    byComplexity: route.reason.startsWith('auto: complexity'),
    tier: plan.ladder[step]!.name,
    ...(shadowTier !== undefined ? { shadowTier } : {}),
    targets,
  };
}
