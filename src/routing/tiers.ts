/**
 * Tiers → deployments, and signals → tier: the first half of the policy.
 * A tier's candidates are its models in order, each followed by its
 * configured fallbacks. The automatic choice walks the ladder by complexity
 * (thresholds possibly shifted by learning) after operator rules and the
 * agentic check had their say.
 */
import { LOCAL_ONLY, type RoutingConfig } from '../config/routing.js';
import type { SwitchyardConfig, TierConfig } from '../config/schema.js';
import type { Deployment, UpstreamRegistry } from '../upstream/registry.js';
import type { Signals } from './signals/index.js';
import { findTier } from './validate.js';

function pushUnique(out: Deployment[], d: Deployment | undefined): void {
  if (d && !out.includes(d)) out.push(d);
}

/**
 * The chain for a model: itself, then its configured fallbacks, followed
 * transitively breadth first (A → [B, X], B → [C]: A, B, X, C), each model
 * once. Cycles are rejected when the config loads.
 */
export function chainFor(model: string, cfg: SwitchyardConfig, reg: UpstreamRegistry, out: Deployment[] = []): Deployment[] {
  const queue = [model];
  const seen = new Set<string>(queue);
  for (let i = 0; i < queue.length; i++) {
    const m = queue[i]!;
    pushUnique(out, reg.deployment(m));
    for (const f of cfg.fallbacks[m] ?? []) {
      if (!seen.has(f)) {
        seen.add(f);
        queue.push(f);
      }
    }
  }
  return out;
}

/** A tier's models with their fallbacks, in order, appended to `out`. */
export function tierDeployments(tier: TierConfig, cfg: SwitchyardConfig, reg: UpstreamRegistry, out: Deployment[] = []): Deployment[] {
  for (const m of tier.models) chainFor(m, cfg, reg, out);
  return out;
}

/** A tier's candidates by (case-insensitive) name, or undefined for an unknown tier. */
export function tierCandidates(name: string, cfg: SwitchyardConfig, reg: UpstreamRegistry): Deployment[] | undefined {
  const tier = findTier(cfg, name);
  return tier ? tierDeployments(tier, cfg, reg) : undefined;
}

/** The automatic tier choice. */
export interface TierPick {
  tier: TierConfig;
  /** Position on the ladder, or -1 (agentic or rule tier off the ladder). */
  step: number;
  /** Why, e.g. `complexity 0.82 >= 0.70 -> HIGH`. */
  why: string;
  /** A rule asked for local-only. */
  localOnlyRule?: string;
  /** The complexity ladder decided (not a rule, not tools/agentic): the learned router may move it. */
  byComplexity?: boolean;
}

const f2 = (x: number) => x.toFixed(2);

function shiftText(shift: number): string {
  return shift === 0 ? '' : `(${shift > 0 ? '+' : ''}${f2(shift)} learned)`;
}

/**
 * Picks the tier for `switchyard/auto`: a rule with a tier target, then
 * tools/agentic, then the complexity ladder. `shifts[i]` is the learned
 * offset of `thresholds[i]` for the request's task.
 *
 * @example
 * pickTier(signals, routing, ladder, agentic, [0, 0]).why; // 'complexity 0.82 >= 0.70 -> HIGH'
 */
export function pickTier(
  s: Signals,
  r: RoutingConfig,
  ladder: readonly TierConfig[],
  agentic: TierConfig | undefined,
  byName: (name: string) => TierConfig | undefined,
  shifts: ArrayLike<number> | undefined,
): TierPick {
  let localOnlyRule: string | undefined;
  for (const rule of s.rules) {
    const target = r.ruleTiers[rule];
    if (target === undefined) continue;
    if (target === LOCAL_ONLY) {
      localOnlyRule ??= rule;
      continue;
    }
    const tier = byName(target)!;
    return { tier, step: ladder.indexOf(tier), why: `rule ${rule} -> ${tier.name}`, ...(localOnlyRule ? { localOnlyRule } : {}) };
  }
  const extra = localOnlyRule ? { localOnlyRule } : {};
  if (agentic && (s.tools || s.task.type === 'agentic')) {
    return { tier: agentic, step: ladder.indexOf(agentic), why: `${s.tools ? 'tools' : 'agentic task'} -> ${agentic.name}`, ...extra };
  }
  const th = r.thresholds;
  const c = s.complexity;
  let step = 0;
  while (step < th.length && c >= th[step]! + (shifts?.[step] ?? 0)) step++;
  const tier = ladder[step]!;
  const cx = `complexity ${f2(c)}`;
  let why: string;
  if (th.length === 0) why = `${cx} -> ${tier.name}`;
  else if (step === th.length) why = `${cx} >= ${f2(th[step - 1]!)}${shiftText(shifts?.[step - 1] ?? 0)} -> ${tier.name}`;
  else why = `${cx} < ${f2(th[step]!)}${shiftText(shifts?.[step] ?? 0)} -> ${tier.name}`;
  return { tier, step, why, byComplexity: true, ...extra };
}
