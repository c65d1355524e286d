/**
 * A virtual key's model and tier allow-lists. `models` names what a client
 * may put in `model` (concrete names, `switchyard/auto`, `switchyard/<tier>`);
 * `tiers` (and concrete `models`) bound where the router may send it, fallbacks
 * included. A request outside them gets 403 `model_not_allowed`.
 */
import type { VirtualKey } from '../config/auth.js';
import type { SwitchyardConfig } from '../config/schema.js';
import { SwitchyardError } from '../errors.js';
import { AUTO_MODEL, VIRTUAL_PREFIX } from '../routing/policy.js';
import type { Deployment } from '../upstream/registry.js';

/**
 * Throws 403 when the key may not ask for `model` ('' means the default, `switchyard/auto`).
 *
 * @example
 * checkModelAllowed({ ...key, models: ['gpt-4o-mini'] }, 'gpt-4o'); // throws model_not_allowed
 */
export function checkModelAllowed(key: VirtualKey, model: string): void {
  if (!key.models) return;
  const asked = model || AUTO_MODEL;
  if (key.models.includes(asked)) return;
  throw new SwitchyardError('model_not_allowed', `this API key may not use model "${asked}"; allowed: ${key.models.join(', ')}`, { param: 'model' });
}

/**
 * The candidates a key may be routed to, in order. When routing chose only
 * models outside the key's tiers (say `switchyard/auto` went to a strong tier
 * a cheap-tier key may not use), the key's own tiers serve it instead, in
 * their configured order, usable deployments first (pass `lookup` only for
 * virtual requests: a named model is never swapped for another). Throws 403
 * when nothing is left.
 */
export function filterAllowed(
  key: VirtualKey,
  candidates: Deployment[],
  cfg: SwitchyardConfig,
  /** Deployments by model name, for the fallback to the key's tiers; only for a virtual request (`switchyard/…`), never a named model. */
  lookup?: (model: string) => Deployment | undefined,
): Deployment[] {
  let allowed: Set<string> | undefined;
  if (key.models && !key.models.some((m) => m.startsWith(VIRTUAL_PREFIX))) allowed = new Set(key.models);
  let inTiers: string[] | undefined;
  if (key.tiers) {
    const wanted = new Set(key.tiers.map((t) => t.toLowerCase()));
    inTiers = [];
    for (const t of cfg.tiers) if (wanted.has(t.name.toLowerCase())) for (const m of t.models) if (!inTiers.includes(m)) inTiers.push(m);
    const tierSet = new Set(inTiers);
    allowed = allowed ? new Set([...allowed].filter((m) => tierSet.has(m))) : tierSet;
  }
  if (!allowed) return candidates;
  let out = candidates.filter((d) => allowed.has(d.model.name));
  if (out.length === 0 && inTiers && lookup) {
    const own = inTiers.filter((m) => allowed.has(m)).map(lookup).filter((d): d is Deployment => d !== undefined);
    out = [...own.filter((d) => d.usable()), ...own.filter((d) => !d.usable())];
  }
  if (out.length === 0) {
    throw new SwitchyardError('model_not_allowed', `this API key may not use the model(s) this request routes to (${candidates.map((d) => d.model.name).join(', ') || 'none'})`, { param: 'model' });
  }
  return out;
}
