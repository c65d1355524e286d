/**
 * Rate limits: requests and tokens per minute per tenant.
 *
 * The window is the two-bucket sliding approximation (as Cloudflare and
 * nginx's limit_req users know it): one counter for the current fixed minute
 * and one for the previous; the rate at a moment `f` (0..1) into the current
 * minute is `previous × (1 − f) + current`. It needs two small keys per
 * tenant and limit instead of a sorted-set entry per request, costs O(1) per
 * check, and is exact when traffic is even across the previous minute (it
 * assumes that; a burst at the end of the previous minute is
 * under-weighted by at most that burst × f). Tokens are counted at admission
 * as prompt estimate + expected completion, then corrected by the difference
 * to the real usage when the request settles.
 */
import type { RateLimitsConfig } from '../config/accounting.js';

/** One minute. */
export const WINDOW_MS = 60_000;

/** Limits of one tenant; -1 = unlimited. */
export interface RateLimitPlan {
  tenant: string;
  rpm: number;
  tpm: number;
}

/** Which fixed window a moment is in, and how far into it (0..1). */
export interface WindowPosition {
  index: number;
  fraction: number;
}

export function windowAt(now: number): WindowPosition {
  const index = Math.floor(now / WINDOW_MS);
  return { index, fraction: (now - index * WINDOW_MS) / WINDOW_MS };
}

/** Does any tenant have a limit? */
export function rateLimitsActive(cfg: RateLimitsConfig): boolean {
  const has = (l: { requestsPerMinute?: number | undefined; tokensPerMinute?: number | undefined }) =>
    l.requestsPerMinute !== undefined || l.tokensPerMinute !== undefined;
  return has(cfg.default) || Object.values(cfg.tenants).some(has);
}

/** A virtual key's own limits (counted under `key:<id>`), or undefined when it sets none. */
export function keyLimits(id: string, l: { requestsPerMinute?: number | undefined; tokensPerMinute?: number | undefined }): RateLimitPlan | undefined {
  if (l.requestsPerMinute === undefined && l.tokensPerMinute === undefined) return undefined;
  return { tenant: `key:${id}`, rpm: l.requestsPerMinute ?? -1, tpm: l.tokensPerMinute ?? -1 };
}

/** The limits of a tenant, or undefined when it has none. */
export function limitsFor(cfg: RateLimitsConfig, tenant: string): RateLimitPlan | undefined {
  const l = cfg.tenants[tenant] ?? cfg.default;
  if (l.requestsPerMinute === undefined && l.tokensPerMinute === undefined) return undefined;
  return { tenant, rpm: l.requestsPerMinute ?? -1, tpm: l.tokensPerMinute ?? -1 };
}

/** The approximated count over the last minute. */
export function slidingCount(previous: number, current: number, fraction: number): number {
  return previous * (1 - fraction) + current;
}

/** Would adding `cost` exceed `limit`? (the check the Lua script mirrors) */
export function exceeds(limit: number, previous: number, current: number, fraction: number, cost: number): boolean {
  return slidingCount(previous, current, fraction) + cost > limit;
}

/**
 * Whole seconds until `cost` more fits under `limit`, assuming no other
 * traffic: the previous bucket's weight decays through the current minute,
 * then the current bucket becomes the previous one and decays in turn.
 *
 * @example
 * retryAfterSeconds(10, 0, 10, 0.5, 1); // 36: 30 s to the next minute, then 10 × (1 − f) ≤ 9 at f = 0.1
 */
export function retryAfterSeconds(limit: number, previous: number, current: number, fraction: number, cost: number): number {
  if (cost > limit) return Math.ceil(((1 - fraction) * WINDOW_MS + WINDOW_MS) / 1000);
  const room = limit - current - cost;
  let waitFraction: number;
  if (room >= 0) {
    // Still this minute: previous × (1 − f') ≤ room.
    const needed = previous > 0 ? 1 - room / previous : fraction;
    waitFraction = Math.max(0, needed - fraction);
  } else {
    // Next minute: current × (1 − f') + cost ≤ limit.
    const needed = current > 0 ? 1 - (limit - cost) / current : 0;
    waitFraction = 1 - fraction + Math.max(0, needed);
  }
  return Math.max(1, Math.ceil((waitFraction * WINDOW_MS) / 1000));
}
