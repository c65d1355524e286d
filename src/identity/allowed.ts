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
 * The candidates a key may be routed to, in order. Throws 403 when none is left.
 */
export function filterAllowed(key: VirtualKey, candidates: Deployment[], cfg: SwitchyardConfig): Deployment[] {
  let allowed: Set<string> | undefined;
  if (key.models && !key.models.some((m) => m.startsWith(VIRTUAL_PREFIX))) allowed = new Set(key.models);
  if (key.tiers) {
    const inTiers = new Set<string>();
    const wanted = new Set(key.tiers.map((t) => t.toLowerCase()));
    for (const t of cfg.tiers) if (wanted.has(t.name.toLowerCase())) for (const m of t.models) inTiers.add(m);
    allowed = allowed ? new Set([...allowed].filter((m) => inTiers.has(m))) : inTiers;
  }
  if (!allowed) return candidates;
  const out = candidates.filter((d) => allowed.has(d.model.name));
  if (out.length === 0 && candidates.length > 0) {
    throw new SwitchyardError('model_not_allowed', `this API key may not use the model(s) this request routes to (${candidates.map((d) => d.model.name).join(', ')})`, { param: 'model' });
  }
  return out;
}
