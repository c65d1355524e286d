/**
 * Who may send routing feedback, and how often: the caller's identity is
 * resolved like any request's (a caller that cannot prove one gets 401), the
 * admin token makes it admin-sourced, and each tenant gets
 * `auth.feedbackPerMinute` per minute (429 beyond, per process).
 */
import { SwitchyardError } from '../errors.js';
import type { IdentityInput, IdentityResolver } from './resolver.js';

/** Who is rating. */
export interface FeedbackSource {
  tenant?: string;
  admin: boolean;
}

/**
 * @example
 * const gate = new FeedbackGate();
 * const by = await gate.check(sy.identity, { headers, peer }, 60); // throws 401/429
 */
export class FeedbackGate {
  private readonly counts = new Map<string, number>();
  private minute = 0;

  async check(ids: IdentityResolver, input: IdentityInput, perMinute: number): Promise<FeedbackSource> {
    if (ids.admin.presentsToken(input.headers)) return { admin: true };
    const r = ids.resolve(input);
    const who = r instanceof Promise ? await r : r;
    const now = Math.floor(Date.now() / 60_000);
    if (now !== this.minute) {
      this.minute = now;
      this.counts.clear();
    }
    const n = (this.counts.get(who.tenant) ?? 0) + 1;
    if (n > perMinute) {
      const retryAfter = Math.max(1, 60 - Math.floor((Date.now() % 60_000) / 1000));
      throw new SwitchyardError('rate_limited', `feedback is limited to ${perMinute} per minute per tenant; retry after ${retryAfter}s`, { retryAfter });
    }
    this.counts.set(who.tenant, n);
    return { tenant: who.tenant, admin: false };
  }
}
