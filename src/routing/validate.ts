/**
 * Cross-checks of the `routing` section against the rest of the config (tier,
 * model and upstream names), which the section's own schema cannot see. The
 * router runs them when it is built or reloaded and refuses a config that
 * fails, so a typo in a tier name is a start-up (or reload) error with a path,
 * never a silent mis-route.
 */
import { LOCAL_ONLY } from '../config/routing.js';
import type { SwitchyardConfig, TierConfig } from '../config/schema.js';

/** One problem, as `{ path, message }` (the shape `ConfigError` reports). */
export interface RoutingIssue {
  path: string;
  message: string;
}

/** The tier with this name, matched case-insensitively. */
export function findTier(cfg: SwitchyardConfig, name: string): TierConfig | undefined {
  const lower = name.toLowerCase();
  for (const t of cfg.tiers) if (t.name.toLowerCase() === lower) return t;
  return undefined;
}

/**
 * Lists the routing section's dangling references; empty when it is sound.
 *
 * @example
 * routingIssues(cfg); // [{ path: 'routing.ladder.2', message: 'no tier named "HIGH" under tiers' }]
 */
export function routingIssues(cfg: SwitchyardConfig): RoutingIssue[] {
  const r = cfg.routing;
  if (!r) return [];
  const out: RoutingIssue[] = [];
  const tier = (name: string, path: string) => {
    if (!findTier(cfg, name)) out.push({ path, message: `no tier named "${name}" under tiers (have: ${cfg.tiers.map((t) => t.name).join(', ') || 'none'})` });
  };
  r.ladder.forEach((name, i) => tier(name, `routing.ladder.${i}`));
  if (r.agenticTier != null) tier(r.agenticTier, 'routing.agenticTier');
  for (const [rule, target] of Object.entries(r.ruleTiers)) if (target !== LOCAL_ONLY) tier(target, `routing.ruleTiers.${rule}`);
  for (const name of Object.keys(r.sla.tiers)) tier(name, `routing.sla.tiers.${name}`);
  for (const [name, weights] of Object.entries(r.ab.tiers)) {
    const t = findTier(cfg, name);
    if (!t) tier(name, `routing.ab.tiers.${name}`);
    else {
      for (const m of Object.keys(weights)) {
        if (!t.models.includes(m)) out.push({ path: `routing.ab.tiers.${name}.${m}`, message: `model "${m}" is not in tier "${t.name}"` });
      }
    }
  }
  const upstreams = new Set(cfg.upstreams.map((u) => u.name));
  for (const name of Object.keys(r.load.maxInFlight)) {
    if (!upstreams.has(name)) out.push({ path: `routing.load.maxInFlight.${name}`, message: `unknown upstream "${name}"` });
  }
  r.load.sidecars.forEach((s, i) => {
    if (!upstreams.has(s.upstream)) out.push({ path: `routing.load.sidecars.${i}.upstream`, message: `unknown upstream "${s.upstream}"` });
  });
  return out;
}
