/**
 * Health of upstreams and deployments, for `/healthz`, start-up reporting
 * and the built-in `upstreams` readiness check.
 */
import type { UpstreamRegistry } from '../upstream/registry.js';
import type { ReadinessResult } from './readiness.js';

/** One upstream in `/healthz`: its connection state and its deployments (models). */
export interface UpstreamHealth {
  name: string;
  /** Its API key variable is set (or it needs none). */
  available: boolean;
  /** The connection breaker (connection-level failures). */
  breaker: string;
  reason?: string;
  deployments: { model: string; usable: boolean; breaker: string; ttftMs?: number; latencyMs?: number; reason?: string }[];
}

export type HealthStatus = 'ok' | 'degraded' | 'unavailable';

/**
 * Every upstream with its deployments, as `/healthz` shows them.
 *
 * @example
 * upstreamHealth(sy.registry)[0].deployments; // [{ model: 'gpt-4o', usable: false, breaker: 'open', reason: '...' }]
 */
export function upstreamHealth(registry: UpstreamRegistry, now = Date.now()): UpstreamHealth[] {
  return [...registry.allUpstreams()].map((u) => {
    const why = u.whyUnusable(now);
    return {
      name: u.name,
      available: u.available,
      breaker: u.breaker.state,
      ...(why ? { reason: why } : {}),
      deployments: registry.deploymentsOf(u).map((d) => {
        const dWhy = d.whyUnusable(now);
        return {
          model: d.model.name,
          usable: dWhy === undefined,
          breaker: d.breaker.state,
          ...(d.ttftMs.value !== undefined ? { ttftMs: Math.round(d.ttftMs.value) } : {}),
          ...(d.latencyMs.value !== undefined ? { latencyMs: Math.round(d.latencyMs.value) } : {}),
          ...(dWhy ? { reason: dWhy } : {}),
        };
      }),
    };
  });
}

/**
 * `ok`: every deployment whose key is set is usable; `degraded`: some are
 * not (a breaker open, cooling down, a local sidecar down); `unavailable`: none is.
 */
export function healthStatus(health: UpstreamHealth[]): HealthStatus {
  const all = health.filter((u) => u.available).flatMap((u) => u.deployments);
  const usable = all.filter((d) => d.usable).length;
  if (usable === 0) return 'unavailable';
  return usable === all.length ? 'ok' : 'degraded';
}

/** The built-in readiness check: at least one deployment takes requests now; otherwise why none does. */
export function upstreamsReadiness(registry: UpstreamRegistry, now = Date.now()): ReadinessResult {
  const reasons: string[] = [];
  for (const d of registry.allDeployments()) {
    const why = d.whyUnusable(now);
    if (why === undefined) return { ok: true };
    reasons.push(`${d.model.name}: ${why}`);
  }
  if (reasons.length === 0) return { ok: false, reason: 'no upstream is configured: add one under `upstreams` in the config' };
  return { ok: false, reason: `no deployment is usable (${[...new Set(reasons)].join('; ')})` };
}
