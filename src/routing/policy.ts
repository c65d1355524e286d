/**
 * Policy: from the requested model (real or virtual) to an ordered list of
 * candidate deployments. Virtual models: `switchyard/auto` (the router picks
 * a tier) and `switchyard/<tier>` (a pinned tier). With a `routing` section
 * the {@link Router} decides from signals and constraints; without one,
 * {@link route} keeps the plain behaviour: `auto` → `defaultModel` or the
 * first tier, and unusable candidates behind usable ones.
 */
import type { SwitchyardConfig } from '../config/schema.js';
import { SwitchyardError } from '../errors.js';
import type { CanonicalRequest } from '../protocol/canonical.js';
import type { Deployment, UpstreamRegistry } from '../upstream/registry.js';
import type { LearnedChoice } from './learned.js';
import type { Signals, TaskType } from './signals/index.js';
import { chainFor, tierCandidates } from './tiers.js';
import { findTier } from './validate.js';

export const VIRTUAL_PREFIX = 'switchyard/';
export const AUTO_MODEL = 'switchyard/auto';

/** The router's answer for one request. */
export interface RouteDecision {
  /** The model the client asked for. */
  requested: string;
  /** The tier the first candidate was chosen from. */
  tier?: string;
  /** Ordered: first is the choice, the rest are fallbacks. */
  candidates: Deployment[];
  /** Human-readable why, sent as `x-switchyard-route` (ASCII only: it is a header). */
  reason: string;
  /** The signals, when the router computed them (`switchyard/auto`). */
  signals?: Signals;
  /** The task type the decision is learned under. */
  task?: TaskType;
  /** The complexity thresholds in effect (configured + learned), for `switchyard/auto`. */
  thresholds?: number[];
  /** Candidates were restricted to local upstreams (privacy or a rule). */
  localOnly?: boolean;
  /** The learned router's estimates, when it decided (`routing.learned`). */
  learned?: LearnedChoice;
}

/** A request headed for the router, with what the pipeline knows about it. */
export interface RouteInput {
  req: CanonicalRequest;
  /** Request id (`x-switchyard-request-id`): the A/B key and the feedback handle. */
  id?: string;
  tenant?: string;
  /** The last user turn's embedding, computed by the semantic cache (never here). */
  embedding?: Float32Array;
  /** Budget standing from accounting: `soft` downgrades. */
  budget?: 'ok' | 'soft' | 'hard';
  /** Request headers (`x-switchyard-max-latency-ms`). */
  headers?: Readonly<Record<string, string | string[] | undefined>>;
  /** API path, for per-route SLAs. */
  path?: string;
}

/** The 404 for a model or tier nobody configured. */
export function unknownModel(requested: string): SwitchyardError {
  if (requested.startsWith(VIRTUAL_PREFIX)) {
    const name = requested.slice(VIRTUAL_PREFIX.length);
    return new SwitchyardError('model_not_found', `unknown virtual model "${requested}": no tier named "${name}"`, { param: 'model' });
  }
  return new SwitchyardError('model_not_found', `The model "${requested}" does not exist or is not configured in Switchyard`, { param: 'model' });
}

/** Keeps candidates that can serve the operation, usable ones first. */
export function usableFirst(cands: readonly Deployment[], req: CanonicalRequest): Deployment[] {
  const supported = cands.filter((d) => d.upstream.provider.supports(req.operation));
  const now = Date.now();
  return [...supported.filter((d) => d.usable(now)), ...supported.filter((d) => !d.usable(now))];
}

/**
 * The plain policy (no `routing` section). Unusable candidates (no key,
 * breaker open, cooling down) are moved behind usable ones rather than
 * dropped, so the attempt log can say why each was skipped.
 *
 * @example
 * route(req, cfg, registry).candidates[0]?.model.name; // 'gpt-4o-mini' for switchyard/auto with defaultModel
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
    if (!findTier(cfg, name)) throw unknownModel(requested);
    decision = { requested, tier: name, candidates: tierCandidates(name, cfg, reg)!, reason: `pinned tier ${name}` };
  } else {
    const candidates = chainFor(requested, cfg, reg);
    if (candidates.length === 0) throw unknownModel(requested);
    decision = { requested, candidates, reason: 'explicit model' };
  }
  decision.candidates = usableFirst(decision.candidates, req);
  return decision;
}
