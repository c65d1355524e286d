/**
 * Policy: from the requested model (real or virtual) to an ordered list of
 * candidate deployments, each filtered by what can serve it now.
 * Virtual models: `switchyard/auto` (the router picks a tier) and
 * `switchyard/<tier>` (a pinned tier).
 */
import type { SwitchyardConfig } from '../config/schema.js';
import { SwitchyardError } from '../errors.js';
import type { CanonicalRequest } from '../protocol/canonical.js';
import type { Deployment, UpstreamRegistry } from '../upstream/registry.js';

export const VIRTUAL_PREFIX = 'switchyard/';
export const AUTO_MODEL = 'switchyard/auto';

export interface RouteDecision {
  /** The model the client asked for. */
  requested: string;
  tier?: string;
  /** Ordered: first is the choice, the rest are fallbacks. */
  candidates: Deployment[];
  /** Human-readable why, sent as `x-switchyard-route`. */
  reason: string;
}

function pushUnique(out: Deployment[], d: Deployment | undefined): void {
  if (d && !out.includes(d)) out.push(d);
}

/** The chain for a model: itself, then its configured fallbacks. */
function chainFor(model: string, cfg: SwitchyardConfig, reg: UpstreamRegistry): Deployment[] {
  const out: Deployment[] = [];
  pushUnique(out, reg.deployment(model));
  for (const f of cfg.fallbacks[model] ?? []) pushUnique(out, reg.deployment(f));
  return out;
}

function tierCandidates(tierName: string, cfg: SwitchyardConfig, reg: UpstreamRegistry): Deployment[] | undefined {
  const tier = cfg.tiers.find((t) => t.name.toLowerCase() === tierName.toLowerCase());
  if (!tier) return undefined;
  const out: Deployment[] = [];
  for (const m of tier.models) for (const d of chainFor(m, cfg, reg)) pushUnique(out, d);
  return out;
}

/**
 * Resolves the request's model into candidates. Unusable candidates (no key,
 * breaker open, cooling down) are moved behind usable ones rather than
 * dropped, so the attempt log can say why each was skipped.
 */
export function route(req: CanonicalRequest, cfg: SwitchyardConfig, reg: UpstreamRegistry): RouteDecision {
  const requested = req.model || AUTO_MODEL;
  let decision: RouteDecision;
  if (requested === AUTO_MODEL) {
    const tier = cfg.defaultModel ? undefined : cfg.tiers[0];
    const candidates = tier
      ? tierCandidates(tier.name, cfg, reg)!
      : cfg.defaultModel
        ? chainFor(cfg.defaultModel, cfg, reg)
        : [...reg.allDeployments()];
    decision = {
      requested,
      ...(tier ? { tier: tier.name } : {}),
      candidates,
      reason: tier ? `auto: default tier ${tier.name}` : cfg.defaultModel ? `auto: default model ${cfg.defaultModel}` : 'auto: any model',
    };
  } else if (requested.startsWith(VIRTUAL_PREFIX)) {
    const name = requested.slice(VIRTUAL_PREFIX.length);
    const candidates = tierCandidates(name, cfg, reg);
    if (!candidates) {
      throw new SwitchyardError('model_not_found', `unknown virtual model "${requested}": no tier named "${name}"`, { param: 'model' });
    }
    decision = { requested, tier: name, candidates, reason: `pinned tier ${name}` };
  } else {
    const candidates = chainFor(requested, cfg, reg);
    if (candidates.length === 0) {
      throw new SwitchyardError('model_not_found', `The model "${requested}" does not exist or is not configured in Switchyard`, {
        param: 'model',
      });
    }
    decision = { requested, candidates, reason: 'explicit model' };
  }
  const op = req.operation;
  const supported = decision.candidates.filter((d) => d.upstream.provider.supports(op));
  const now = Date.now();
  decision.candidates = [...supported.filter((d) => d.upstream.usable(now)), ...supported.filter((d) => !d.upstream.usable(now))];
  return decision;
}
