/**
 * The breaker in front of one Redis connection. Consecutive failures (a
 * deadline passed, the connection is gone) open it; while open, calls fail
 * at once instead of waiting out their deadline; after the cool-down one
 * probe is let through and its outcome closes or re-opens the breaker.
 * Reply errors (a wrong type, an unknown command) prove the server answers
 * and count as successes here.
 */

/** Where a breaker stands. */
export type BreakerState = 'closed' | 'open' | 'half-open';

/**
 * @example
 * ```ts
 * const b = new StoreBreaker({ failures: 5, cooldownMs: 2000 });
 * if (!b.allow()) throw new StoreUnavailableError('cache');
 * ```
 */
export class StoreBreaker {
  private consecutive = 0;
  private openedAt = 0;
  private probing = false;
  private st: BreakerState = 'closed';
  /** Calls refused while open, since start. */
  rejected = 0;
  /** Times the breaker opened, since start. */
  opened = 0;

  constructor(
    private readonly cfg: { failures: number; cooldownMs: number },
    private readonly onChange?: (state: BreakerState) => void,
  ) {}

  get state(): BreakerState {
    return this.st;
  }

  /** Consecutive failures so far (0 after any success). */
  get failures(): number {
    return this.consecutive;
  }

  /**
   * Whether a call may go out now. In `half-open` only one call (the probe)
   * is allowed at a time; `probe` is true for it.
   */
  allow(now = Date.now()): { ok: boolean; probe: boolean } {
    if (this.st === 'closed') return { ok: true, probe: false };
    if (this.st === 'open' && now - this.openedAt >= this.cfg.cooldownMs) this.set('half-open');
    if (this.st === 'half-open' && !this.probing) {
      this.probing = true;
      return { ok: true, probe: true };
    }
    this.rejected++;
    return { ok: false, probe: false };
  }

  /** Milliseconds until a probe may run (0 when closed or due). */
  retryInMs(now = Date.now()): number {
    return this.st === 'open' ? Math.max(0, this.cfg.cooldownMs - (now - this.openedAt)) : 0;
  }

  success(probe: boolean): void {
    this.consecutive = 0;
    if (probe) this.probing = false;
    if (this.st !== 'closed') this.set('closed');
  }

  failure(probe: boolean, now = Date.now()): void {
    this.consecutive++;
    if (probe) this.probing = false;
    if (this.st === 'half-open' || (this.st === 'closed' && this.consecutive >= this.cfg.failures)) {
      this.openedAt = now;
      this.opened++;
      this.set('open');
    }
  }

  private set(s: BreakerState): void {
    this.st = s;
    this.onChange?.(s);
  }
}
